// SPDX-License-Identifier: Apache-2.0
// The text-conditioned generator: conditional BatchNorm upsampling blocks and
// a word-level cross-attention block. Legend: B batch, C channels, H W image
// height and width, T words, D text_dim.
#include <fresco/gan/generator.hpp>

#include <fresco/autograd/autograd.hpp>
#include <fresco/error.hpp>
#include <fresco/io/metadata.hpp>
#include <fresco/nn/init.hpp>
#include <fresco/ops/conv.hpp>
#include <fresco/ops/elementwise.hpp>
#include <fresco/ops/shape.hpp>


namespace fresco::gan {

void GeneratorConfig::validate() const {
  const bool pow2 = image_size >= 8 && image_size <= 256 && (image_size & (image_size - 1)) == 0;
  FRESCO_CHECK(pow2, "GeneratorConfig: image_size must be a power of two in [8, 256], got {}", image_size);
  FRESCO_CHECK(channels == 1 || channels == 3, "GeneratorConfig: channels must be 1 or 3, got {}", channels);
  FRESCO_CHECK(noise_dim >= 1, "GeneratorConfig: noise_dim must be positive, got {}", noise_dim);
  FRESCO_CHECK(text_dim >= 1, "GeneratorConfig: text_dim must be positive, got {}", text_dim);
  FRESCO_CHECK(min_width >= 1, "GeneratorConfig: min_width must be positive, got {}", min_width);
  FRESCO_CHECK(base_width >= min_width, "GeneratorConfig: base_width ({}) must be >= min_width ({})", base_width,
               min_width);
  FRESCO_CHECK(attention_heads >= 1, "GeneratorConfig: attention_heads must be positive, got {}", attention_heads);
  if (cross_attention) {
    const int64_t c = width(num_blocks() - 2);
    FRESCO_CHECK(c % attention_heads == 0,
                 "GeneratorConfig: the cross-attention width {} (at {}x{}) is not a multiple of attention_heads {}",
                 c, image_size / 2, image_size / 2, attention_heads);
  }
}

int64_t GeneratorConfig::num_blocks() const {
  int64_t n = 0;
  for (int64_t s = 4; s < image_size; s *= 2) ++n;
  return n;
}

int64_t GeneratorConfig::width(int64_t block) const {
  int64_t w = base_width;
  for (int64_t i = 0; i <= block; ++i) w /= 2;
  return std::max(w, min_width);
}

namespace {

// Each field once, for both directions of the metadata.
template <class Config, class Field>
void fields(Config& c, Field&& field) {
  field("image_size", c.image_size), field("channels", c.channels), field("noise_dim", c.noise_dim);
  field("text_dim", c.text_dim), field("base_width", c.base_width), field("min_width", c.min_width);
  field("cross_attention", c.cross_attention), field("attention_heads", c.attention_heads), field("seed", c.seed);
}

}  // namespace

std::map<std::string, std::string> GeneratorConfig::to_metadata(const std::string& prefix) const {
  io::MetadataWriter writer(prefix);
  fields(*this, writer);
  return writer.metadata;
}

GeneratorConfig GeneratorConfig::from_metadata(const std::map<std::string, std::string>& m,
                                               const std::string& prefix) {
  GeneratorConfig c;
  fields(c, io::MetadataReader(m, prefix, "GeneratorConfig::from_metadata"));
  c.validate();
  return c;
}

ConditionalBatchNorm::ConditionalBatchNorm(int64_t channels, int64_t text_dim)
    : bn(channels, {.affine = false}), affine(text_dim, 2 * channels), channels_(channels) {
  register_module("bn", bn);
  register_module("affine", affine);
}

Tensor ConditionalBatchNorm::forward(const Tensor& x, const Tensor& sentence) {
  const int64_t b = x.size(0);
  FRESCO_CHECK_SHAPE(sentence.dim() == 2 && sentence.size(0) == b && sentence.size(1) == affine.in_features(),
                     "ConditionalBatchNorm: expected sentence [{}, {}], got {}", b, affine.in_features(),
                     shape_str(sentence.shape()));
  Tensor gb = affine(sentence);   // [B, 2C]
  Tensor gamma = gb.slice(1, 0, channels_).reshape({b, channels_, 1, 1});
  Tensor beta = gb.slice(1, channels_, 2 * channels_).reshape({b, channels_, 1, 1});
  // Gain 1 + γ: with γ = β = 0 at the start this is plain (unit-affine) BatchNorm.
  return bn(x) * (gamma + 1.f) + beta;
}

WordAttention::WordAttention(int64_t channels, int64_t text_dim, int64_t height, int64_t width, int64_t heads)
    : norm({channels}),
      word_proj(text_dim, channels),
      position(channels, {height, width}, {.kind = nn::PositionalEncodingKind::sinusoidal_2d}),
      attention(channels, heads) {
  register_module("norm", norm);
  register_module("word_proj", word_proj);
  register_module("position", position);
  register_module("attention", attention);
}

Tensor WordAttention::forward(const Tensor& x, const Tensor& words, const Tensor& pad_mask) const {
  FRESCO_CHECK_SHAPE(x.dim() == 4 && x.size(1) == norm.normalized_shape()[0],
                     "WordAttention: expected x [B, {}, H, W], got {}", norm.normalized_shape()[0],
                     shape_str(x.shape()));
  FRESCO_CHECK(words.defined(), "WordAttention: the word vectors are undefined (the generator has cross_attention)");
  FRESCO_CHECK_SHAPE(words.dim() == 3 && words.size(0) == x.size(0) && words.size(2) == word_proj.in_features(),
                     "WordAttention: expected words [{}, T, {}], got {}", x.size(0), word_proj.in_features(),
                     shape_str(words.shape()));
  const int64_t b = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  Tensor q = position(norm(x.flatten(2).transpose(1, 2)));   // [B, H·W, C]
  Tensor kv = word_proj(words);                               // [B, T, C]
  nn::MultiHeadAttentionMask mask;
  if (pad_mask.defined()) {
    FRESCO_CHECK_SHAPE(pad_mask.dim() == 2 && pad_mask.size(0) == b && pad_mask.size(1) == words.size(1),
                       "WordAttention: expected pad_mask [{}, {}], got {}", b, words.size(1),
                       shape_str(pad_mask.shape()));
    mask.key_padding_mask = pad_mask;
  }
  Tensor a = attention(q, kv, kv, mask);                      // [B, H·W, C]
  return x + a.transpose(1, 2).reshape({b, c, h, w});
}

UpBlock::UpBlock(int64_t in, int64_t out, int64_t text_dim)
    : conv(in, out, 3, {.padding = 1, .bias = false}), norm(out, text_dim) {
  register_module("conv", conv);
  register_module("norm", norm);
}

Tensor UpBlock::forward(const Tensor& x, const Tensor& sentence) {
  // Upsampling and the 3×3 convolution as one op (four 2×2 convolutions of x); a wrong input
  // goes through the plain modules for their error messages.
  if (x.defined() && x.dim() == 4 && x.size(1) == conv.weight.size(1))
    return relu(norm(upsample2_conv3x3(x, conv.weight, conv.bias), sentence));
  return relu(norm(conv(upsample_nearest2d(x, 2)), sentence));
}

Generator::Generator(GeneratorConfig config)
    : fc((config.validate(), config.noise_dim + config.text_dim), config.base_width * 16),
      fc_norm(config.base_width, config.text_dim),
      to_image(config.width(config.num_blocks() - 1), config.channels, 3, {.padding = 1}),
      config_(config) {
  register_module("fc", fc);
  register_module("fc_norm", fc_norm);
  int64_t in = config.base_width;
  for (int64_t i = 0; i < config.num_blocks(); ++i) {
    blocks.emplace_back(in, config.width(i), config.text_dim);
    in = config.width(i);
  }
  register_module("blocks", blocks);
  if (config.cross_attention) {
    attention_after_ = config.num_blocks() - 2;
    const int64_t side = config.image_size / 2;
    attention = std::make_unique<WordAttention>(config.width(attention_after_), config.text_dim, side, side,
                                                config.attention_heads);
    register_module("attention", *attention);
  }
  register_module("to_image", to_image);
  sentence_mean = register_buffer("sentence_mean", zeros({config.text_dim}));
  sentence_scale = register_buffer("sentence_scale", ones({1}));

  // The config's seed alone fixes the initial weights (the layers drew from the global generator).
  NoGradGuard guard;
  nn::init::reset_uniform_(*this, config.seed);
  // Conditioning starts neutral: cBN as plain BN, the attention as identity.
  nn::init::zeros_(fc_norm.affine.weight);
  for (auto& b : blocks) nn::init::zeros_(b.norm.affine.weight);
  if (attention) nn::init::zeros_(attention->attention.out_proj.weight);
}

Tensor Generator::forward(const Tensor& z, const Tensor& sentence, const Tensor& words, const Tensor& pad_mask) {
  FRESCO_CHECK(z.defined() && sentence.defined(), "Generator: z and sentence must be defined");
  FRESCO_CHECK_SHAPE(z.dim() == 2 && z.size(1) == config_.noise_dim, "Generator: expected z [B, {}], got {}",
                     config_.noise_dim, shape_str(z.shape()));
  const int64_t b = z.size(0);
  FRESCO_CHECK_SHAPE(sentence.dim() == 2 && sentence.size(0) == b && sentence.size(1) == config_.text_dim,
                     "Generator: expected sentence [{}, {}], got {}", b, config_.text_dim,
                     shape_str(sentence.shape()));
  const Tensor s = (sentence - sentence_mean.reshape({1, config_.text_dim})) * sentence_scale.reshape({1, 1});
  Tensor h = fc(cat({z, s}, 1)).reshape({b, config_.base_width, 4, 4});
  h = relu(fc_norm(h, s));
  if (attention && attention_after_ < 0) h = attention->forward(h, words, pad_mask);   // 8×8 images: at 4×4
  for (int64_t i = 0; i < blocks.size(); ++i) {
    h = blocks[i].forward(h, s);
    if (attention && i == attention_after_) h = attention->forward(h, words, pad_mask);
  }
  return tanh(to_image(h));
}

}  // namespace fresco::gan
