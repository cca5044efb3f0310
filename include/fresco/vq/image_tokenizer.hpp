// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file
/// `vq::ImageTokenizer`: a convolutional encoder, a vector quantiser and a
/// convolutional decoder (VQGAN's autoencoder, Esser et al. 2021, in small):
/// `encode` turns images into a grid of code ids, `decode` turns ids back into
/// images. The token transformer writes those ids.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <fresco/nn/conv.hpp>
#include <fresco/nn/module.hpp>
#include <fresco/nn/module_list.hpp>
#include <fresco/tensor/tensor.hpp>
#include <fresco/vq/quantizer.hpp>

namespace fresco::vq {

/// Sizes of an `ImageTokenizer`. Checked by `validate()` (the constructor calls it).
struct ImageTokenizerConfig {
  /// Side of the square images: a power of two in [8, 256].
  int64_t image_size = 32;
  /// Image channels: 1 or 3.
  int64_t channels = 3;
  /// Downsampling factor: 2, 4, 8 or 16 (32×32 -> 8×8 tokens at 4); image_size / downsample >= 2.
  int64_t downsample = 4;
  /// Channels at full resolution; they double at each halving.
  int64_t width = 32;
  /// Most channels at any resolution.
  int64_t max_width = 128;
  /// Residual blocks at each resolution finer than the token grid, in the encoder and the decoder.
  int64_t res_blocks = 0;
  /// Residual blocks at the token grid's resolution (the coarsest), in the encoder and the
  /// decoder: capacity where it is cheapest.
  int64_t grid_blocks = 3;
  /// Codebook size K.
  int64_t codes = 512;
  /// Size D of a code vector (the encoder's output channels).
  int64_t code_dim = 16;
  /// Seed of the initial weights and of the codebook.
  uint64_t seed = 0;

  /// Throws `fresco::Error` naming the first field out of range.
  void validate() const;
  /// Halvings: log2(downsample).
  int64_t levels() const;
  /// Channels at level l (0: full resolution).
  int64_t level_width(int64_t level) const;
  /// Residual blocks at level l: res_blocks, or grid_blocks at the last level.
  int64_t level_blocks(int64_t level) const { return level == levels() ? grid_blocks : res_blocks; }
  /// Side of the token grid: image_size / downsample.
  int64_t grid() const { return image_size / downsample; }
  /// Tokens per image: grid()².
  int64_t tokens() const { return grid() * grid(); }
  /// The config as string metadata under `prefix`.
  std::map<std::string, std::string> to_metadata(const std::string& prefix = "vq.") const;
  /// Reads `to_metadata(prefix)` back; throws `fresco::Error` for a missing or malformed key.
  static ImageTokenizerConfig from_metadata(const std::map<std::string, std::string>& metadata,
                                            const std::string& prefix = "vq.");
};

/// x + conv3×3(LReLU(conv3×3(LReLU(x)))), channels unchanged.
class ResBlock : public nn::Module {
public:
  explicit ResBlock(int64_t channels);
  /// [B, channels, H, W] -> the same shape.
  Tensor forward(const Tensor& x) const;
  /// `forward(x)`.
  Tensor operator()(const Tensor& x) const { return forward(x); }
  nn::Conv2d conv1, conv2;   ///< 3×3, padding 1
};

/// Images [B, C, S, S] in [-1, 1] -> features [B, code_dim, S/f, S/f]:
/// conv3×3, then per level residual blocks and a 4×4 stride-2 conv, residual blocks, conv1×1.
class Encoder : public nn::Module {
public:
  /// The layers of `config` (checked by the caller: `ImageTokenizer` validates it first).
  explicit Encoder(const ImageTokenizerConfig& config);
  /// [B, C, S, S] -> [B, code_dim, S/f, S/f].
  Tensor forward(const Tensor& images) const;
  /// `forward(images)`.
  Tensor operator()(const Tensor& images) const { return forward(images); }
  nn::Conv2d conv_in;                 ///< C -> width, 3×3
  nn::ModuleList<ResBlock> blocks;    ///< level_blocks(l) at each level l, full resolution first
  nn::ModuleList<nn::Conv2d> downs;   ///< level l -> l + 1, 4×4 stride 2
  nn::Conv2d conv_out;                ///< -> code_dim, 1×1

private:
  ImageTokenizerConfig config_;
};

/// Codes [B, code_dim, g, g] -> images [B, C, g·f, g·f] (unbounded; about [-1, 1] once trained):
/// conv3×3, residual blocks, then per level nearest ×2 upsampling, a conv3×3 and residual blocks, conv3×3.
class Decoder : public nn::Module {
public:
  /// The layers of `config` (checked by the caller: `ImageTokenizer` validates it first).
  explicit Decoder(const ImageTokenizerConfig& config);
  /// [B, code_dim, g, g] -> [B, C, g·f, g·f].
  Tensor forward(const Tensor& codes) const;
  /// `forward(codes)`.
  Tensor operator()(const Tensor& codes) const { return forward(codes); }
  nn::Conv2d conv_in;                 ///< code_dim -> the coarsest level's width, 3×3
  nn::ModuleList<ResBlock> blocks;    ///< level_blocks(l) at each level l, coarsest first
  nn::ModuleList<nn::Conv2d> ups;     ///< after a nearest ×2 upsampling: level l -> l − 1, 3×3
  nn::Conv2d conv_out;   ///< the last layer (VQGAN's adaptive weight reads its gradients)

private:
  ImageTokenizerConfig config_;
};

/// The encoder, quantiser and decoder of one image tokenizer.
///
///     fresco::vq::ImageTokenizer tok({.image_size = 32, .downsample = 4});
///     std::vector<int64_t> ids = tok.encode(images);       // [B, 3, 32, 32] in [0, 1] -> B · 64 ids
///     fresco::Tensor back = tok.decode(ids, images.size(0));   // [B, 3, 32, 32] in [0, 1]
class ImageTokenizer : public nn::Module {
public:
  /// Validates `config`; the weights and the codebook are drawn from `config.seed` alone
  /// (`quantizer.seed` is replaced by one derived from it). By default the codes are searched by
  /// angle (`QuantizerOptions::normalize`), which trained faster on Shapes (docs/image-tokenizer.md).
  explicit ImageTokenizer(ImageTokenizerConfig config = {}, QuantizerOptions quantizer = {.normalize = true});

  /// What one pass of training reads.
  struct Output {
    Tensor reconstruction;   ///< [B, C, S, S], in the scale of the input ([-1, 1])
    Quantized quantized;     ///< the codes, ids, commitment loss and perplexity
  };
  /// Images [B, C, S, S] in [-1, 1] -> reconstruction through the codes (updates the codebook
  /// in training mode). Throws `ShapeError` for images of another shape.
  Output forward(const Tensor& images);
  /// `forward(images)`.
  Output operator()(const Tensor& images) { return forward(images); }

  /// Images [B, C, S, S] in [0, 1] -> B · tokens() code ids, image by image in row-major grid order.
  std::vector<int64_t> encode(const Tensor& images) const;
  /// `batch` · tokens() ids -> images [batch, C, S, S] in [0, 1] (clamped). Throws `fresco::Error`
  /// for a wrong count or an id outside [0, codes).
  Tensor decode(const std::vector<int64_t>& ids, int64_t batch) const;

  /// Writes weights, codebook, config and the quantiser's options to one safetensors file
  /// (format "fresco-image-tokenizer").
  void save(const std::string& path) const;
  /// Reads a file `save` wrote; throws `fresco::IoError` naming the file when it is not one.
  static std::unique_ptr<ImageTokenizer> load(const std::string& path);
  /// The config and the quantiser's options as metadata ("vq.*", "vq.quantizer.*"), as `save`
  /// writes them; for files that hold a tokenizer beside other models.
  std::map<std::string, std::string> metadata() const;
  /// A tokenizer built from `metadata()`'s keys, with freshly drawn weights (load its tensors
  /// next). Throws `fresco::IoError` naming `source` for missing or bad keys.
  static std::unique_ptr<ImageTokenizer> from_metadata(const std::map<std::string, std::string>& metadata,
                                                       const std::string& source);

  /// The sizes the tokenizer was built with.
  const ImageTokenizerConfig& config() const { return config_; }

  Encoder encoder;             ///< images -> features
  VectorQuantizer quantizer;   ///< features -> codes
  Decoder decoder;             ///< codes -> images

private:
  void check_images(const Tensor& images, const char* where) const;
  ImageTokenizerConfig config_;
};

}  // namespace fresco::vq
