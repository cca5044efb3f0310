// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file
/// `gan::Generator`: noise + caption vectors -> image. The text-conditioned
/// generator of the text-to-image model (DESIGN.md, "The text-to-image model").

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <fresco/nn/attention.hpp>
#include <fresco/nn/conv.hpp>
#include <fresco/nn/linear.hpp>
#include <fresco/nn/module.hpp>
#include <fresco/nn/module_list.hpp>
#include <fresco/nn/norm.hpp>
#include <fresco/nn/positional.hpp>
#include <fresco/tensor/tensor.hpp>

namespace fresco::gan {

/// Sizes of a `Generator`. Checked by `validate()` (the constructor calls it).
struct GeneratorConfig {
  /// Side of the square images: a power of two in [8, 256] (32 or 64 in practice).
  int64_t image_size = 32;
  /// Image channels: 1 (grey) or 3 (RGB).
  int64_t channels = 3;
  /// Size of the noise vector z.
  int64_t noise_dim = 64;
  /// Size of the sentence vector and of each word vector (the GPT's d_model).
  int64_t text_dim = 128;
  /// Channels of the 4×4 map; each upsampling block halves them, down to `min_width`.
  int64_t base_width = 256;
  /// Fewest channels of any block.
  int64_t min_width = 32;
  /// Put a cross-attention block (image positions attend to the word vectors)
  /// at the second-to-last resolution (16×16 for 32×32 images).
  bool cross_attention = true;
  /// Heads of the cross-attention (must divide the channels there).
  int64_t attention_heads = 4;
  /// Seed of the initial weights.
  uint64_t seed = 0;

  /// Throws `fresco::Error` naming the first field out of range.
  void validate() const;
  /// Channels after upsampling block i (i = 0 is the 8×8 block).
  int64_t width(int64_t block) const;
  /// Number of upsampling blocks: log2(image_size / 4).
  int64_t num_blocks() const;
  /// The config as string metadata under `prefix` ("generator.image_size" -> "32", ...).
  std::map<std::string, std::string> to_metadata(const std::string& prefix = "generator.") const;
  /// Reads `to_metadata(prefix)` back; throws `fresco::Error` for a missing or malformed key.
  static GeneratorConfig from_metadata(const std::map<std::string, std::string>& metadata,
                                       const std::string& prefix = "generator.");
};

/// Batch normalisation without a learned affine whose per-sample gain and bias
/// are predicted from the sentence vector (conditional BatchNorm, de Vries et
/// al. 2017): y = BN(x) · (1 + γ(s)) + β(s), [γ, β] = Linear(s). The Linear
/// starts at zero, so the block starts as plain BatchNorm.
///
///     fresco::gan::ConditionalBatchNorm cbn(64, 128);
///     fresco::Tensor y = cbn(fresco::randn({8, 64, 16, 16}), fresco::randn({8, 128}));   // [8, 64, 16, 16]
class ConditionalBatchNorm : public nn::Module {
public:
  ConditionalBatchNorm(int64_t channels, int64_t text_dim);
  /// x [B, C, H, W], sentence [B, text_dim] -> [B, C, H, W].
  Tensor forward(const Tensor& x, const Tensor& sentence);
  Tensor operator()(const Tensor& x, const Tensor& sentence) { return forward(x, sentence); }
  nn::BatchNorm2d bn;   ///< affine = false; running statistics for eval mode
  nn::Linear affine;    ///< text_dim -> 2C: (γ, β)
private:
  int64_t channels_;
};

/// Image positions attend to the word vectors (Vaswani et al. 2017 cross
/// attention, as AttnGAN's word-level attention): with p the 2-D sinusoidal
/// encoding of the positions,
///     x ← x + Attn(LN(x + p), W·words, W·words, key_padding_mask)
/// on the flattened positions [B, H·W, C].
///
///     fresco::gan::WordAttention att(64, 128, 16, 16, 4);
///     fresco::Tensor y = att(fresco::randn({8, 64, 16, 16}), fresco::randn({8, 12, 128}), {});   // [8, 64, 16, 16]
class WordAttention : public nn::Module {
public:
  WordAttention(int64_t channels, int64_t text_dim, int64_t height, int64_t width, int64_t heads);
  /// x [B, C, H, W], words [B, T, text_dim], pad_mask [B, T] (nonzero = padding; may be undefined) -> [B, C, H, W].
  Tensor forward(const Tensor& x, const Tensor& words, const Tensor& pad_mask) const;
  Tensor operator()(const Tensor& x, const Tensor& words, const Tensor& pad_mask) const {
    return forward(x, words, pad_mask);
  }
  nn::LayerNorm norm;               ///< over C, on the queries
  nn::Linear word_proj;             ///< text_dim -> C, keys and values
  nn::PositionalEncoding position;  ///< 2-D sinusoidal, [C, H, W]
  nn::MultiHeadAttention attention;
};

/// One upsampling block: nearest ×2 -> conv 3×3 -> conditional BatchNorm -> ReLU.
class UpBlock : public nn::Module {
public:
  UpBlock(int64_t in, int64_t out, int64_t text_dim);
  /// [B, in, H, W], sentence [B, text_dim] -> [B, out, 2H, 2W].
  Tensor forward(const Tensor& x, const Tensor& sentence);
  nn::Conv2d conv;
  ConditionalBatchNorm norm;
};

/// The generator:
///
///     h = Linear(z ++ s) -> [B, base_width, 4, 4];  h = cBN(h), ReLU
///     h = UpBlock_i(h, s) for each block (×2 each)    (WordAttention after the block reaching image_size / 2)
///     image = tanh(conv3×3(h))                          -> [B, channels, image_size, image_size] in (-1, 1)
///
/// z [B, noise_dim] ~ N(0, 1); s [B, text_dim] the sentence vector; words
/// [B, T, text_dim] the word vectors with pad_mask [B, T] (nonzero = padding).
/// Without cross-attention, words and pad_mask may be undefined.
///
///     fresco::gan::Generator g({.image_size = 32, .base_width = 128});
///     fresco::Tensor img = g(fresco::randn({8, 64}), sentence, words, pad_mask);   // [8, 3, 32, 32]
class Generator : public nn::Module {
public:
  explicit Generator(GeneratorConfig config = {});
  /// See the class comment. Not const: training mode updates BatchNorm statistics.
  /// Throws ShapeError naming the mismatching input.
  Tensor forward(const Tensor& z, const Tensor& sentence, const Tensor& words = {}, const Tensor& pad_mask = {});
  Tensor operator()(const Tensor& z, const Tensor& sentence, const Tensor& words = {},
                    const Tensor& pad_mask = {}) {
    return forward(z, sentence, words, pad_mask);
  }
  const GeneratorConfig& config() const { return config_; }

  nn::Linear fc;                      ///< noise_dim + text_dim -> base_width·16
  ConditionalBatchNorm fc_norm;       ///< on the 4×4 map
  nn::ModuleList<UpBlock> blocks;     ///< log2(image_size / 4) blocks
  std::unique_ptr<WordAttention> attention;   ///< null without cross_attention
  nn::Conv2d to_image;                ///< last width -> channels, 3×3
  /// Buffers that standardise the sentence vector before any layer reads it,
  /// s ← (s − sentence_mean) · sentence_scale: [text_dim] zeros and [1] one at
  /// construction (no change). The GAN trainer sets them after alignment to the
  /// mean and 1 / RMS deviation of the training captions' vectors, whose
  /// caption-dependent part can be a small fraction of their norm (all have
  /// norm √text_dim after layer norm). They are saved with the generator.
  Tensor sentence_mean, sentence_scale;

private:
  GeneratorConfig config_;
  int64_t attention_after_ = -1;   // index of the block followed by the attention
};

}  // namespace fresco::gan
