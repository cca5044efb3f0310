// SPDX-License-Identifier: Apache-2.0
// The projection discriminator. Legend: B batch, C channels, S image side, F feature_dim, D text_dim.
#include <fresco/gan/discriminator.hpp>

#include <algorithm>

#include <fresco/autograd/autograd.hpp>
#include <fresco/error.hpp>
#include <fresco/io/metadata.hpp>
#include <fresco/nn/init.hpp>
#include <fresco/ops/elementwise.hpp>
#include <fresco/ops/matmul.hpp>
#include <fresco/ops/reduce.hpp>


namespace fresco::gan {

void DiscriminatorConfig::validate() const {
  const bool pow2 = image_size >= 8 && image_size <= 256 && (image_size & (image_size - 1)) == 0;
  FRESCO_CHECK(pow2, "DiscriminatorConfig: image_size must be a power of two in [8, 256], got {}", image_size);
  FRESCO_CHECK(channels == 1 || channels == 3, "DiscriminatorConfig: channels must be 1 or 3, got {}", channels);
  FRESCO_CHECK(text_dim >= 1, "DiscriminatorConfig: text_dim must be positive, got {}", text_dim);
  FRESCO_CHECK(base_width >= 1, "DiscriminatorConfig: base_width must be positive, got {}", base_width);
  FRESCO_CHECK(max_width >= base_width, "DiscriminatorConfig: max_width ({}) must be >= base_width ({})", max_width,
               base_width);
  FRESCO_CHECK(slope >= 0.f && slope < 1.f, "DiscriminatorConfig: slope must be in [0, 1), got {}", slope);
  FRESCO_CHECK(embed_dim >= 1, "DiscriminatorConfig: embed_dim must be positive, got {}", embed_dim);
}

int64_t DiscriminatorConfig::num_downs() const {
  int64_t n = 0;
  for (int64_t s = image_size; s > 4; s /= 2) ++n;
  return n;
}

int64_t DiscriminatorConfig::width(int64_t conv) const {
  int64_t w = base_width;
  for (int64_t i = 0; i <= conv; ++i) w *= 2;
  return std::min(w, max_width);
}

int64_t DiscriminatorConfig::feature_dim() const { return width(num_downs() - 1) * 16; }

namespace {

// Each field once, for both directions of the metadata.
template <class Config, class Field>
void fields(Config& c, Field&& field) {
  field("image_size", c.image_size), field("channels", c.channels), field("text_dim", c.text_dim);
  field("base_width", c.base_width), field("max_width", c.max_width), field("slope", c.slope);
  field("embed_dim", c.embed_dim), field("seed", c.seed);
}

}  // namespace

std::map<std::string, std::string> DiscriminatorConfig::to_metadata(const std::string& prefix) const {
  io::MetadataWriter writer(prefix);
  fields(*this, writer);
  return writer.metadata;
}

DiscriminatorConfig DiscriminatorConfig::from_metadata(const std::map<std::string, std::string>& m,
                                                       const std::string& prefix) {
  DiscriminatorConfig c;
  fields(c, io::MetadataReader(m, prefix, "DiscriminatorConfig::from_metadata"));
  c.validate();
  return c;
}

Discriminator::Discriminator(DiscriminatorConfig config)
    : from_image((config.validate(), config.channels), config.base_width, 3, {.padding = 1}),
      out(config.feature_dim(), 1),
      proj(config.text_dim, config.feature_dim(), /*bias=*/false),
      image_embed(config.feature_dim(), config.embed_dim),
      text_embed(config.text_dim, config.embed_dim),
      config_(config) {
  register_module("from_image", from_image);
  int64_t in = config.base_width;
  for (int64_t i = 0; i < config.num_downs(); ++i) {
    downs.emplace_back(in, config.width(i), 4, nn::Conv2dOptions{.stride = 2, .padding = 1});
    in = config.width(i);
  }
  register_module("downs", downs);
  register_module("out", out);
  register_module("proj", proj);
  register_module("image_embed", image_embed);
  register_module("text_embed", text_embed);
  // The config's seed alone fixes the initial weights (the layers drew from the global generator).
  NoGradGuard guard;
  nn::init::reset_uniform_(*this, config.seed);
}

Tensor Discriminator::features(const Tensor& image) const {
  FRESCO_CHECK(image.defined(), "Discriminator: the image is undefined");
  FRESCO_CHECK_SHAPE(image.dim() == 4 && image.size(1) == config_.channels && image.size(2) == config_.image_size &&
                         image.size(3) == config_.image_size,
                     "Discriminator: expected images [B, {}, {}, {}], got {}", config_.channels, config_.image_size,
                     config_.image_size, shape_str(image.shape()));
  Tensor h = leaky_relu(from_image(image), config_.slope);
  for (const auto& conv : downs) h = leaky_relu(conv(h), config_.slope);
  return h.flatten(1);
}

namespace {

void check_sentence(const Tensor& sentence, int64_t rows, int64_t text_dim, const char* what) {
  FRESCO_CHECK(sentence.defined(), "Discriminator: the sentence vector is undefined");
  FRESCO_CHECK_SHAPE(sentence.dim() == 2 && (rows < 0 || sentence.size(0) == rows) && sentence.size(1) == text_dim,
                     "Discriminator::{}: expected sentence [{}, {}], got {}", what,
                     rows < 0 ? std::string("M") : std::to_string(rows), text_dim, shape_str(sentence.shape()));
}

void check_features(const Tensor& h, int64_t feature_dim, const char* what) {
  FRESCO_CHECK(h.defined(), "Discriminator::{}: the features are undefined", what);
  FRESCO_CHECK_SHAPE(h.dim() == 2 && h.size(1) == feature_dim,
                     "Discriminator::{}: expected features [B, {}] (from features()), got {}", what, feature_dim,
                     shape_str(h.shape()));
}

// Rows scaled to unit L2 norm (eps keeps a zero row finite).
Tensor unit_rows(const Tensor& x) { return x / sqrt(sum(x * x, {1}, true) + 1e-8f); }

}  // namespace

Tensor Discriminator::logits(const Tensor& h, const Tensor& sentence) const {
  check_features(h, config_.feature_dim(), "logits");
  check_sentence(sentence, h.size(0), config_.text_dim, "logits");
  // Projection term: <proj(s), h> scores how well the caption fits the image.
  return out(h).squeeze(1) + sum(proj(sentence) * h, {1});
}

Tensor Discriminator::forward(const Tensor& image, const Tensor& sentence) const {
  Tensor h = features(image);
  return logits(h, sentence);
}

namespace {

void check_similarity(const DiscriminatorConfig& c, const Tensor& h, const Tensor& sentence, float temperature) {
  check_features(h, c.feature_dim(), "similarity");
  check_sentence(sentence, -1, c.text_dim, "similarity");
  FRESCO_CHECK(temperature > 0, "Discriminator::similarity: temperature must be positive, got {}", temperature);
}

// cos(u_i, v_j) / τ for embeddings u [N, E], v [M, E].
Tensor scaled_cosines(const Tensor& u, const Tensor& v, float temperature) {
  return matmul(unit_rows(u), unit_rows(v).transpose(0, 1)) * (1.f / temperature);
}

}  // namespace

Tensor Discriminator::similarity(const Tensor& h, const Tensor& sentence, float temperature, bool centred) const {
  check_similarity(config_, h, sentence, temperature);
  FRESCO_CHECK(!centred || (h.size(0) >= 2 && sentence.size(0) >= 2),
               "Discriminator::similarity: centred needs at least 2 images and 2 sentences, got {} and {}", h.size(0),
               sentence.size(0));
  Tensor u = image_embed(h);         // [N, E]
  Tensor v = text_embed(sentence);   // [M, E]
  if (!centred) return scaled_cosines(u, v, temperature);
  return scaled_cosines(u - mean(u, {0}, true), v - mean(v, {0}, true), temperature);
}

Tensor Discriminator::similarity(const Tensor& h, const Tensor& sentence, float temperature,
                                 const Tensor& image_centre) const {
  check_similarity(config_, h, sentence, temperature);
  FRESCO_CHECK(sentence.size(0) >= 2, "Discriminator::similarity: centring needs at least 2 sentences, got {}",
               sentence.size(0));
  FRESCO_CHECK_SHAPE(image_centre.defined() && image_centre.dim() == 1 && image_centre.size(0) == config_.embed_dim,
                     "Discriminator::similarity: expected an image centre [{}], got {}", config_.embed_dim,
                     image_centre.defined() ? shape_str(image_centre.shape()) : std::string("an undefined tensor"));
  Tensor v = text_embed(sentence);
  return scaled_cosines(image_embed(h) - image_centre.reshape({1, config_.embed_dim}), v - mean(v, {0}, true),
                        temperature);
}

}  // namespace fresco::gan
