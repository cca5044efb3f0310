// SPDX-License-Identifier: Apache-2.0
// Legend: B batch, C image channels, S image side, f downsample, g = S / f grid side, D code dim.
#include <fresco/vq/image_tokenizer.hpp>

#include <bit>

#include <fresco/autograd/autograd.hpp>
#include <fresco/error.hpp>
#include <fresco/io/checkpoint.hpp>
#include <fresco/io/metadata.hpp>
#include <fresco/io/safetensors.hpp>
#include <fresco/nn/init.hpp>
#include <fresco/ops/conv.hpp>
#include <fresco/ops/elementwise.hpp>

namespace fresco::vq {

namespace {

constexpr const char* kFormat = "fresco-image-tokenizer";
constexpr float kSlope = 0.2f;

bool power_of_two(int64_t v) { return v > 0 && (v & (v - 1)) == 0; }

}  // namespace

void ImageTokenizerConfig::validate() const {
  FRESCO_CHECK(power_of_two(image_size) && image_size >= 8 && image_size <= 256,
               "ImageTokenizerConfig: image_size must be a power of two in [8, 256], got {}", image_size);
  FRESCO_CHECK(channels == 1 || channels == 3, "ImageTokenizerConfig: channels must be 1 or 3, got {}", channels);
  FRESCO_CHECK(power_of_two(downsample) && downsample >= 2 && downsample <= 16 && image_size / downsample >= 2,
               "ImageTokenizerConfig: downsample must be 2, 4, 8 or 16 and leave a grid of at least 2x2, got {} for "
               "{}x{} images",
               downsample, image_size, image_size);
  FRESCO_CHECK(width >= 1 && max_width >= width && res_blocks >= 0 && grid_blocks >= 0,
               "ImageTokenizerConfig: need width >= 1, max_width >= width, res_blocks >= 0 and grid_blocks >= 0, got "
               "{}, {}, {} and {}",
               width, max_width, res_blocks, grid_blocks);
  FRESCO_CHECK(codes >= 2 && codes <= (1 << 20) && code_dim >= 1 && code_dim <= 4096,
               "ImageTokenizerConfig: need codes in [2, 2^20] and code_dim in [1, 4096], got {} and {}", codes,
               code_dim);
}

int64_t ImageTokenizerConfig::levels() const { return std::countr_zero(static_cast<uint64_t>(downsample)); }

int64_t ImageTokenizerConfig::level_width(int64_t level) const { return std::min(max_width, width << level); }

namespace {

// Each field once, for both directions of the metadata.
template <class Config, class Field>
void fields(Config& c, Field&& field) {
  field("image_size", c.image_size), field("channels", c.channels), field("downsample", c.downsample);
  field("width", c.width), field("max_width", c.max_width), field("res_blocks", c.res_blocks);
  field("grid_blocks", c.grid_blocks);
  field("codes", c.codes), field("code_dim", c.code_dim), field("seed", c.seed);
}

// The quantiser's training options (its seed derives from the config's).
template <class Options, class Field>
void quantizer_fields(Options& o, Field&& field) {
  field("commitment", o.commitment), field("decay", o.decay), field("epsilon", o.epsilon);
  field("dead_threshold", o.dead_threshold), field("normalize", o.normalize);
}

}  // namespace

std::map<std::string, std::string> ImageTokenizerConfig::to_metadata(const std::string& prefix) const {
  io::MetadataWriter writer(prefix);
  fields(*this, writer);
  return writer.metadata;
}

ImageTokenizerConfig ImageTokenizerConfig::from_metadata(const std::map<std::string, std::string>& m,
                                                         const std::string& prefix) {
  ImageTokenizerConfig c;
  // Files written before grid_blocks existed had res_blocks at every level.
  auto with_defaults = m;
  const auto res = m.find(prefix + "res_blocks");
  if (res != m.end()) with_defaults.try_emplace(prefix + "grid_blocks", res->second);
  fields(c, io::MetadataReader(with_defaults, prefix, "ImageTokenizerConfig::from_metadata"));
  c.validate();
  return c;
}

ResBlock::ResBlock(int64_t channels) : conv1(channels, channels, 3, {.padding = 1}), conv2(channels, channels, 3, {.padding = 1}) {
  register_module("conv1", conv1);
  register_module("conv2", conv2);
}

Tensor ResBlock::forward(const Tensor& x) const { return x + conv2(leaky_relu(conv1(leaky_relu(x, kSlope)), kSlope)); }

Encoder::Encoder(const ImageTokenizerConfig& c)
    : conv_in(c.channels, c.width, 3, {.padding = 1}),
      conv_out(c.level_width(c.levels()), c.code_dim, 1),
      config_(c) {
  register_module("conv_in", conv_in);
  for (int64_t l = 0; l <= c.levels(); ++l) {
    for (int64_t r = 0; r < c.level_blocks(l); ++r) blocks.emplace_back(c.level_width(l));
    if (l < c.levels()) downs.emplace_back(c.level_width(l), c.level_width(l + 1), 4, nn::Conv2dOptions{.stride = 2, .padding = 1});
  }
  register_module("blocks", blocks);
  register_module("downs", downs);
  register_module("conv_out", conv_out);
}

Tensor Encoder::forward(const Tensor& images) const {
  Tensor h = conv_in(images);
  int64_t block = 0;
  for (int64_t l = 0; l <= downs.size(); ++l) {
    for (int64_t r = 0; r < config_.level_blocks(l); ++r) h = blocks[block++](h);
    if (l < downs.size()) h = leaky_relu(downs[l](h), kSlope);
  }
  return conv_out(leaky_relu(h, kSlope));
}

Decoder::Decoder(const ImageTokenizerConfig& c)
    : conv_in(c.code_dim, c.level_width(c.levels()), 3, {.padding = 1}),
      conv_out(c.width, c.channels, 3, {.padding = 1}),
      config_(c) {
  register_module("conv_in", conv_in);
  for (int64_t l = c.levels(); l >= 0; --l) {
    for (int64_t r = 0; r < c.level_blocks(l); ++r) blocks.emplace_back(c.level_width(l));
    if (l > 0) ups.emplace_back(c.level_width(l), c.level_width(l - 1), 3, nn::Conv2dOptions{.padding = 1});
  }
  register_module("blocks", blocks);
  register_module("ups", ups);
  register_module("conv_out", conv_out);
}

Tensor Decoder::forward(const Tensor& codes) const {
  Tensor h = conv_in(codes);
  int64_t block = 0;
  for (int64_t l = 0; l <= ups.size(); ++l) {   // l steps of upsampling done: level levels() − l
    for (int64_t r = 0; r < config_.level_blocks(config_.levels() - l); ++r) h = blocks[block++](h);
    if (l < ups.size()) h = leaky_relu(ups[l](upsample_nearest2d(h, 2)), kSlope);
  }
  return conv_out(leaky_relu(h, kSlope));
}

ImageTokenizer::ImageTokenizer(ImageTokenizerConfig config, QuantizerOptions quantizer_options)
    : encoder((config.validate(), config)),
      quantizer(config.codes, config.code_dim, [&] {
        QuantizerOptions q = quantizer_options;
        q.seed = mix_seed(config.seed, 0x7155ull);
        return q;
      }()),
      decoder(config),
      config_(config) {
  register_module("encoder", encoder);
  register_module("quantizer", quantizer);
  register_module("decoder", decoder);
  nn::init::reset_uniform_(*this, config.seed);
}

void ImageTokenizer::check_images(const Tensor& images, const char* where) const {
  FRESCO_CHECK_SHAPE(images.dim() == 4 && images.size(1) == config_.channels && images.size(2) == config_.image_size &&
                         images.size(3) == config_.image_size && images.size(0) >= 1,
                     "ImageTokenizer::{}: expected images [B, {}, {}, {}], got {}", where, config_.channels,
                     config_.image_size, config_.image_size, shape_str(images.shape()));
}

ImageTokenizer::Output ImageTokenizer::forward(const Tensor& images) {
  check_images(images, "forward");
  Output out;
  out.quantized = quantizer(encoder(images));
  out.reconstruction = decoder(out.quantized.codes);
  return out;
}

std::vector<int64_t> ImageTokenizer::encode(const Tensor& images) const {
  check_images(images, "encode");
  NoGradGuard guard;
  return quantizer.nearest(encoder(images * 2.f - 1.f));
}

Tensor ImageTokenizer::decode(const std::vector<int64_t>& ids, int64_t batch) const {
  FRESCO_CHECK(batch >= 1 && static_cast<int64_t>(ids.size()) == batch * config_.tokens(),
               "ImageTokenizer::decode: expected {} ids ({} images of {} tokens), got {}", batch * config_.tokens(),
               batch, config_.tokens(), ids.size());
  NoGradGuard guard;
  const Tensor images = decoder(quantizer.lookup(ids, batch, config_.grid(), config_.grid()));
  return clamp(images * 0.5f + 0.5f, 0.f, 1.f);
}

std::map<std::string, std::string> ImageTokenizer::metadata() const {
  auto meta = config_.to_metadata();
  io::MetadataWriter quantizer_options("vq.quantizer.");
  quantizer_fields(quantizer.options(), quantizer_options);
  meta.merge(quantizer_options.metadata);
  return meta;
}

std::unique_ptr<ImageTokenizer> ImageTokenizer::from_metadata(const std::map<std::string, std::string>& meta,
                                                              const std::string& source) {
  ImageTokenizerConfig config;
  QuantizerOptions quantizer_options;
  try {
    config = ImageTokenizerConfig::from_metadata(meta);
    auto with_defaults = meta;
    with_defaults.try_emplace("vq.quantizer.normalize", "0");   // files from before the cosine search
    quantizer_fields(quantizer_options, io::MetadataReader(with_defaults, "vq.quantizer.", "ImageTokenizer::load"));
  } catch (const Error& e) {
    throw IoError(fmt::format("ImageTokenizer::load: {}: {}", source, e.what()));
  }
  return std::make_unique<ImageTokenizer>(config, quantizer_options);
}

void ImageTokenizer::save(const std::string& path) const {
  auto meta = metadata();
  meta["format"] = kFormat;
  io::save(*this, path, meta);
}

std::unique_ptr<ImageTokenizer> ImageTokenizer::load(const std::string& path) {
  const io::LoadLimit limit(path, "ImageTokenizer::load");   // no tensor past what the file can fill
  const auto meta = io::load_safetensors_metadata(path);
  io::require_format(meta, kFormat, path, "ImageTokenizer::load", "an image tokenizer");
  auto tok = from_metadata(meta, path);
  io::load_module_state(*tok, io::load_safetensors(path), path);
  tok->eval();
  return tok;
}

}  // namespace fresco::vq
