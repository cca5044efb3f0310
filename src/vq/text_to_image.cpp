// SPDX-License-Identifier: Apache-2.0
// The transformer family's model file and its generation: captions -> padded
// rows -> codes sampled by the ImageGpt -> images decoded by the ImageTokenizer.
#include <fresco/vq/text_to_image.hpp>

#include <algorithm>
#include <string>

#include <fmt/format.h>

#include <fresco/error.hpp>
#include <fresco/io/checkpoint.hpp>
#include <fresco/io/metadata.hpp>
#include <fresco/io/safetensors.hpp>
#include <fresco/ops/shape.hpp>

#include "vq/token_model.hpp"

namespace fresco::vq {

namespace {

constexpr const char* kFormat = "fresco-token-text2image";
// Captions per sampling batch: 64 for images at the defaults (88 slots: the key/value caches of
// 2 × 64 rows near 100 MB), fewer for longer sequences (clips) so that the caches stay that size.
int64_t chunk_of(const ImageGptConfig& c) { return std::clamp<int64_t>(64 * 96 / c.context(), 1, 64); }

template <class Options, class Field>
void sample_fields(Options& o, Field&& field) {
  field("guidance", o.guidance), field("temperature", o.temperature), field("top_k", o.top_k);
  field("top_p", o.top_p);
}
// Settings added later, with the value a file without their key means: written only when not at it.
template <class Options, class Field>
void optional_sample_fields(Options& o, Field&& field) {
  field("guidance_ramp", o.guidance_ramp, int64_t{0});
}

void check_parts(const text::BpeTokenizer& tokenizer, const ImageGpt& gpt, const ImageTokenizer& image_tokenizer,
                 const char* fn) {
  const auto& g = gpt.config();
  const auto& v = image_tokenizer.config();
  FRESCO_CHECK(tokenizer.vocab_size() <= g.text_vocab,
               "{}: the tokenizer has {} tokens but the transformer reads only {}", fn, tokenizer.vocab_size(),
               g.text_vocab);
  FRESCO_CHECK(g.codes == v.codes, "{}: the transformer writes {} codes but the image tokenizer has {}", fn, g.codes,
               v.codes);
  FRESCO_CHECK(g.grid == v.grid(), "{}: the transformer writes a {}x{} grid but the image tokenizer's is {}x{}", fn,
               g.grid, g.grid, v.grid(), v.grid());
}

}  // namespace

std::vector<int64_t> caption_rows(const text::BpeTokenizer& tokenizer, const std::vector<std::string>& captions,
                                  int64_t caption_length) {
  std::vector<int64_t> rows;
  rows.reserve(captions.size() * static_cast<size_t>(caption_length));
  for (const auto& caption : captions) {
    std::vector<int64_t> ids = tokenizer.encode(caption, /*add_bos=*/true, /*add_eos=*/true);
    FRESCO_CHECK(static_cast<int64_t>(ids.size()) <= caption_length,
                 "the caption \"{}\" is {} tokens long with <|bos|> and <|eos|>; the model reads at most {}", caption,
                 ids.size(), caption_length);
    ids.resize(static_cast<size_t>(caption_length), text::BpeTokenizer::kPadId);
    rows.insert(rows.end(), ids.begin(), ids.end());
  }
  return rows;
}

namespace detail {

void check_token_kind(const ImageGpt& gpt, bool clips, const char* fn) {
  const int64_t frames = gpt.config().frames;
  if (clips)
    FRESCO_CHECK(frames > 1, "{}: the transformer writes single images (frames 1); use vq::TextToImage", fn);
  else
    FRESCO_CHECK(frames == 1, "{}: the transformer writes clips of {} frames; use vq::TextToVideo", fn, frames);
}

void check_token_model(const text::BpeTokenizer& tokenizer, const ImageGpt* gpt, const ImageTokenizer* image_tokenizer,
                       const ImageSampleOptions& sampling, bool clips, const char* fn) {
  FRESCO_CHECK(gpt != nullptr && image_tokenizer != nullptr, "{}: a part is missing", fn);
  check_parts(tokenizer, *gpt, *image_tokenizer, fn);
  check_token_kind(*gpt, clips, fn);
  sampling.validate();
}

void save_token_model(const std::string& path, const char* format, const char* fn, const text::BpeTokenizer& tokenizer,
                      const ImageGpt& gpt, const ImageTokenizer& image_tokenizer, const ImageSampleOptions& sampling) {
  check_parts(tokenizer, gpt, image_tokenizer, fn);
  sampling.validate();
  std::map<std::string, Tensor> tensors = io::with_prefix(io::module_state(gpt), "image_gpt.");
  tensors.merge(io::with_prefix(io::module_state(image_tokenizer), "vq."));
  std::map<std::string, std::string> meta = gpt.config().to_metadata();
  meta.merge(image_tokenizer.metadata());
  io::MetadataWriter sample("sample.");
  sample_fields(sampling, sample);
  optional_sample_fields(sampling, [&](const char* key, const auto& value, const auto& fallback) {
    if (value != fallback) sample(key, value);
  });
  meta.merge(sample.metadata);
  meta["format"] = format;
  meta["family"] = "transformer";
  meta["tokenizer"] = tokenizer.to_json();
  io::save_safetensors(tensors, path, meta);
}

TokenModelParts load_token_model(const std::string& path, const char* format, const char* context, const char* what,
                                 bool clips) {
  // Reads and checks the tensor index first; no tensor is made past what the file can fill.
  const io::LoadLimit limit(path, context);
  const auto& meta = limit.header().metadata;
  io::require_format(meta, format, path, context, what);
  try {
    const auto tok = meta.find("tokenizer");
    FRESCO_CHECK(tok != meta.end(), "no \"tokenizer\" in its metadata");
    TokenModelParts parts;
    const io::MetadataReader sample(meta, "sample.", context);
    sample_fields(parts.sampling, sample);
    optional_sample_fields(parts.sampling, [&](const char* key, auto& value, const auto&) {
      if (meta.contains(std::string("sample.") + key)) sample(key, value);
    });
    parts.sampling.validate();   // here as well as in the model's constructor, so that the error names the file
    const ImageGptConfig config = ImageGptConfig::from_metadata(meta);
    FRESCO_CHECK(clips == (config.frames > 1),
                 "its transformer writes {} (frames {}), but the file's format \"{}\" is for {}",
                 config.frames > 1 ? "clips" : "single images", config.frames, format, clips ? "clips" : "images");
    text::expect_gpt_tensors(limit, config.gpt_config(), "image_gpt.gpt.");
    limit.expect_tensor("image_gpt.image_wte.weight", {config.codes + 1, config.d_model});
    limit.expect_tensor("image_gpt.image_head.weight", {config.codes, config.d_model});
    if (config.frames > 1) limit.expect_tensor("image_gpt.image_time.weight", {config.frames, config.d_model});
    if (config.relative_bias)
      limit.expect_tensor("image_gpt.image_relative.weight",
                          {config.frames * (2 * config.grid - 1) * (2 * config.grid - 1), config.heads});
    if (config.code_dim > 0) {
      limit.expect_tensor("image_gpt.image_code_vectors", {config.codes, config.code_dim});
      limit.expect_tensor("image_gpt.image_code_in", {config.code_dim, config.d_model});
      limit.expect_tensor("image_gpt.image_code_out", {config.code_dim, config.d_model});
    }
    parts.gpt = std::make_unique<ImageGpt>(config);
    parts.image_tokenizer = ImageTokenizer::from_metadata(meta, path);
    const auto tensors = io::load_safetensors(path);
    io::load_module_state(*parts.gpt, io::strip_prefix(tensors, "image_gpt."), path);
    io::load_module_state(*parts.image_tokenizer, io::strip_prefix(tensors, "vq."), path);
    parts.tokenizer = text::BpeTokenizer::from_json(tok->second);
    return parts;
  } catch (const IoError&) {
    throw;
  } catch (const Error& e) {
    throw Error(fmt::format("{}: {}: {}", context, path, e.what()));
  }
}

}  // namespace detail

void save_text_to_image(const std::string& path, const text::BpeTokenizer& tokenizer, const ImageGpt& gpt,
                        const ImageTokenizer& image_tokenizer, const ImageSampleOptions& sampling) {
  detail::check_token_kind(gpt, /*clips=*/false, "save_text_to_image");
  detail::save_token_model(path, kFormat, "save_text_to_image", tokenizer, gpt, image_tokenizer, sampling);
}

TextToImage::TextToImage(text::BpeTokenizer tokenizer, std::unique_ptr<ImageGpt> gpt,
                         std::unique_ptr<ImageTokenizer> image_tokenizer, ImageSampleOptions sampling)
    : tokenizer_(std::move(tokenizer)),
      gpt_(std::move(gpt)),
      image_tokenizer_(std::move(image_tokenizer)),
      sampling_(sampling) {
  detail::check_token_model(tokenizer_, gpt_.get(), image_tokenizer_.get(), sampling_, /*clips=*/false,
                            "vq::TextToImage");
  gpt_->eval();
  image_tokenizer_->eval();
}

TextToImage TextToImage::load(const std::string& path) {
  auto parts = detail::load_token_model(path, kFormat, "vq::TextToImage::load",
                                        "a transformer-family model (train one with train_text2image --family transformer)",
                                        /*clips=*/false);
  return TextToImage(std::move(parts.tokenizer), std::move(parts.gpt), std::move(parts.image_tokenizer),
                     parts.sampling);
}

void TextToImage::save(const std::string& path) const {
  save_text_to_image(path, tokenizer_, *gpt_, *image_tokenizer_, sampling_);
}

std::vector<int64_t> sample_codes(const ImageGpt& gpt, const text::BpeTokenizer& tokenizer,
                                  const std::vector<std::string>& captions, const ImageSampleOptions& sampling,
                                  uint64_t seed) {
  FRESCO_CHECK(!captions.empty(), "generate: no caption given");
  const int64_t Tc = gpt.config().caption_length, N = gpt.config().image_tokens();
  const std::vector<int64_t> rows = caption_rows(tokenizer, captions, Tc);
  const std::vector<int64_t> empty = caption_rows(tokenizer, {""}, Tc);
  const auto n = static_cast<int64_t>(captions.size());
  std::vector<int64_t> codes;
  codes.reserve(static_cast<size_t>(n * N));
  const int64_t chunk = chunk_of(gpt.config());
  for (int64_t first = 0; first < n; first += chunk) {
    const int64_t b = std::min(chunk, n - first);
    const std::vector<int64_t> chunk(rows.begin() + first * Tc, rows.begin() + (first + b) * Tc);
    const auto c = gpt.sample(chunk, b, empty, sampling, seed, first);
    codes.insert(codes.end(), c.begin(), c.end());
  }
  return codes;
}

std::vector<int64_t> TextToImage::generate_codes(const std::vector<std::string>& captions, uint64_t seed) const {
  return sample_codes(*gpt_, tokenizer_, captions, sampling_, seed);
}

Tensor TextToImage::generate(const std::vector<std::string>& captions, uint64_t seed) const {
  return image_tokenizer_->decode(generate_codes(captions, seed), static_cast<int64_t>(captions.size()));
}

}  // namespace fresco::vq
