// SPDX-License-Identifier: Apache-2.0
// The projection discriminator. Legend: B batch, C channels, S image side, F feature_dim, D text_dim.
#include <fresco/gan/discriminator.hpp>

#include <algorithm>

#include <fresco/error.hpp>
#include <fresco/ops/elementwise.hpp>
#include <fresco/ops/reduce.hpp>

#include "config_util.hpp"
#include "init.hpp"

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

std::map<std::string, std::string> DiscriminatorConfig::to_metadata(const std::string& prefix) const {
  return {{prefix + "image_size", std::to_string(image_size)}, {prefix + "channels", std::to_string(channels)},
          {prefix + "text_dim", std::to_string(text_dim)},     {prefix + "base_width", std::to_string(base_width)},
          {prefix + "max_width", std::to_string(max_width)},   {prefix + "slope", fmt::format("{}", slope)},
          {prefix + "seed", std::to_string(seed)}};
}

DiscriminatorConfig DiscriminatorConfig::from_metadata(const std::map<std::string, std::string>& m,
                                                       const std::string& prefix) {
  DiscriminatorConfig c;
  c.image_size = detail::meta_int(m, prefix + "image_size");
  c.channels = detail::meta_int(m, prefix + "channels");
  c.text_dim = detail::meta_int(m, prefix + "text_dim");
  c.base_width = detail::meta_int(m, prefix + "base_width");
  c.max_width = detail::meta_int(m, prefix + "max_width");
  c.slope = static_cast<float>(detail::meta_double(m, prefix + "slope"));
  c.seed = static_cast<uint64_t>(detail::meta_int(m, prefix + "seed"));
  c.validate();
  return c;
}

Discriminator::Discriminator(DiscriminatorConfig config)
    : from_image((config.validate(), config.channels), config.base_width, 3, {.padding = 1}),
      out(config.feature_dim(), 1),
      proj(config.text_dim, config.feature_dim(), /*bias=*/false),
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
  detail::reinit_uniform(*this, config.seed);
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

Tensor Discriminator::forward(const Tensor& image, const Tensor& sentence) const {
  Tensor h = features(image);
  FRESCO_CHECK(sentence.defined(), "Discriminator: the sentence vector is undefined");
  FRESCO_CHECK_SHAPE(sentence.dim() == 2 && sentence.size(0) == image.size(0) && sentence.size(1) == config_.text_dim,
                     "Discriminator: expected sentence [{}, {}], got {}", image.size(0), config_.text_dim,
                     shape_str(sentence.shape()));
  // Projection term: <proj(s), h> scores how well the caption fits the image.
  return out(h).squeeze(1) + sum(proj(sentence) * h, {1});
}

}  // namespace fresco::gan
