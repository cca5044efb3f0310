// SPDX-License-Identifier: Apache-2.0
// The transformer family's model file and its generation: captions -> padded
// rows -> codes sampled by the ImageGpt -> images decoded by the ImageTokenizer.
#include <fresco/vq/text_to_image.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include <fmt/format.h>

#include <fresco/autograd/autograd.hpp>
#include <fresco/error.hpp>
#include <fresco/io/checkpoint.hpp>
#include <fresco/io/metadata.hpp>
#include <fresco/io/safetensors.hpp>
#include <fresco/ops/elementwise.hpp>
#include <fresco/ops/reduce.hpp>
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
  field("candidates", o.candidates, int64_t{1});
}

// Images the reranker reads at once.
constexpr int64_t kRerankChunk = 256;

// The reranker must read the images the image tokenizer decodes.
void check_reranker(const Reranker& r, const ImageTokenizer& image_tokenizer, const char* fn) {
  if (!r.encoder) return;
  const auto& e = r.encoder->config().image;
  const auto& v = image_tokenizer.config();
  FRESCO_CHECK(e.image_size == v.image_size && e.channels == v.channels,
               "{}: the reranker reads {}-channel {}x{} images, the image tokenizer decodes {}-channel {}x{} ones", fn,
               e.channels, e.image_size, e.image_size, v.channels, v.image_size, v.image_size);
  FRESCO_CHECK(std::isfinite(r.threshold), "{}: the reranker's threshold must be finite, got {}", fn, r.threshold);
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
                      const ImageGpt& gpt, const ImageTokenizer& image_tokenizer, const ImageSampleOptions& sampling,
                      const Reranker* reranker) {
  check_parts(tokenizer, gpt, image_tokenizer, fn);
  sampling.validate();
  if (reranker != nullptr) check_reranker(*reranker, image_tokenizer, fn);
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
  if (reranker != nullptr && reranker->encoder) {
    reranker->encoder->write_parts(tensors, meta, "rerank.");
    io::MetadataWriter rerank("rerank.");
    rerank("threshold", reranker->threshold);
    meta.merge(rerank.metadata);
  }
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
    if (!clips && meta.contains("rerank.threshold")) {
      io::MetadataReader(meta, "rerank.", context)("threshold", parts.reranker.threshold);
      parts.reranker.encoder = eval::ImageTextEncoder::read_parts(limit, tensors, "rerank.", path);
      check_reranker(parts.reranker, *parts.image_tokenizer, "the reranker");
    }
    FRESCO_CHECK(parts.sampling.candidates == 1 || parts.reranker.encoder != nullptr,
                 "sample.candidates {} needs a reranker, and the file holds none", parts.sampling.candidates);
    return parts;
  } catch (const IoError&) {
    throw;
  } catch (const Error& e) {
    throw Error(fmt::format("{}: {}: {}", context, path, e.what()));
  }
}

}  // namespace detail

float Reranker::calibrate(eval::ImageTextEncoder& encoder, const Tensor& images,
                          const std::vector<std::string>& captions, double quantile) {
  FRESCO_CHECK(quantile >= 0 && quantile < 1, "Reranker::calibrate: the quantile must be in [0, 1), got {}", quantile);
  FRESCO_CHECK(images.defined() && images.dim() == 4 && images.size(0) == static_cast<int64_t>(captions.size()) &&
                   !captions.empty(),
               "Reranker::calibrate: expected N >= 1 images [N, C, S, S] and N captions, got {} and {} captions",
               images.defined() ? shape_str(images.shape()) : "an undefined tensor", captions.size());
  NoGradGuard no_grad;
  const int64_t n = images.size(0);
  std::vector<float> sims;
  sims.reserve(static_cast<size_t>(n));
  for (int64_t first = 0; first < n; first += kRerankChunk) {
    const int64_t last = std::min(n, first + kRerankChunk);
    const std::vector<std::string> some(captions.begin() + first, captions.begin() + last);
    for (float v : encoder.similarity(images.slice(0, first, last).contiguous(), some).to_vector()) sims.push_back(v);
  }
  std::sort(sims.begin(), sims.end());
  return sims[static_cast<size_t>(std::floor(quantile * static_cast<double>(n)))];
}

void save_text_to_image(const std::string& path, const text::BpeTokenizer& tokenizer, const ImageGpt& gpt,
                        const ImageTokenizer& image_tokenizer, const ImageSampleOptions& sampling,
                        const Reranker* reranker) {
  detail::check_token_kind(gpt, /*clips=*/false, "save_text_to_image");
  detail::save_token_model(path, kFormat, "save_text_to_image", tokenizer, gpt, image_tokenizer, sampling, reranker);
}

TextToImage::TextToImage(text::BpeTokenizer tokenizer, std::unique_ptr<ImageGpt> gpt,
                         std::unique_ptr<ImageTokenizer> image_tokenizer, ImageSampleOptions sampling,
                         Reranker reranker)
    : tokenizer_(std::move(tokenizer)),
      gpt_(std::move(gpt)),
      image_tokenizer_(std::move(image_tokenizer)),
      sampling_(sampling),
      reranker_(std::move(reranker)) {
  detail::check_token_model(tokenizer_, gpt_.get(), image_tokenizer_.get(), sampling_, /*clips=*/false,
                            "vq::TextToImage");
  check_reranker(reranker_, *image_tokenizer_, "vq::TextToImage");
  FRESCO_CHECK(sampling_.candidates == 1 || reranker_.encoder != nullptr,
               "vq::TextToImage: candidates {} needs a reranker, and none is given", sampling_.candidates);
  gpt_->eval();
  image_tokenizer_->eval();
  if (reranker_.encoder) reranker_.encoder->eval();
}

TextToImage TextToImage::load(const std::string& path) {
  auto parts = detail::load_token_model(path, kFormat, "vq::TextToImage::load",
                                        "a transformer-family model (train one with train_text2image --family transformer)",
                                        /*clips=*/false);
  return TextToImage(std::move(parts.tokenizer), std::move(parts.gpt), std::move(parts.image_tokenizer),
                     parts.sampling, std::move(parts.reranker));
}

void TextToImage::save(const std::string& path) const {
  save_text_to_image(path, tokenizer_, *gpt_, *image_tokenizer_, sampling_, &reranker_);
}

std::vector<int64_t> sample_codes(const ImageGpt& gpt, const text::BpeTokenizer& tokenizer,
                                  const std::vector<std::string>& captions, const ImageSampleOptions& sampling,
                                  uint64_t seed) {
  std::vector<uint64_t> streams;
  streams.reserve(captions.size());
  for (size_t i = 0; i < captions.size(); ++i) streams.push_back(image_stream(seed, static_cast<int64_t>(i)));
  return sample_codes(gpt, tokenizer, captions, sampling, streams);
}

std::vector<int64_t> sample_codes(const ImageGpt& gpt, const text::BpeTokenizer& tokenizer,
                                  const std::vector<std::string>& captions, const ImageSampleOptions& sampling,
                                  const std::vector<uint64_t>& streams) {
  FRESCO_CHECK(!captions.empty(), "generate: no caption given");
  FRESCO_CHECK(streams.size() == captions.size(), "sample_codes: {} streams for {} captions", streams.size(),
               captions.size());
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
    const std::vector<uint64_t> some(streams.begin() + first, streams.begin() + first + b);
    const auto c = gpt.sample(chunk, b, empty, sampling, some);
    codes.insert(codes.end(), c.begin(), c.end());
  }
  return codes;
}

std::vector<int64_t> TextToImage::generate_codes(const std::vector<std::string>& captions, uint64_t seed) const {
  const int64_t candidates = sampling_.candidates;
  if (candidates == 1) return sample_codes(*gpt_, tokenizer_, captions, sampling_, seed);
  FRESCO_CHECK(reranker_.encoder != nullptr,
               "vq::TextToImage: candidates {} needs a reranker, and this model has none (train one with "
               "train_text2image --rerank-share, or draw 1 candidate)",
               candidates);
  FRESCO_CHECK(!captions.empty(), "generate: no caption given");
  sampling_.validate();
  NoGradGuard no_grad;
  const auto n = static_cast<int64_t>(captions.size());
  const int64_t N = gpt_->config().image_tokens();
  std::vector<int64_t> kept(static_cast<size_t>(n * N));
  std::vector<float> best(static_cast<size_t>(n), -std::numeric_limits<float>::infinity());
  std::vector<int64_t> pending(static_cast<size_t>(n));   // images no candidate has been accepted for
  for (int64_t i = 0; i < n; ++i) pending[static_cast<size_t>(i)] = i;
  const Tensor text = reranker_.encoder->embed_captions(captions);   // [n, D], read once for every draw
  for (int64_t k = 0; k < candidates && !pending.empty(); ++k) {
    std::vector<std::string> some;
    std::vector<uint64_t> streams;
    for (int64_t i : pending) {
      some.push_back(captions[static_cast<size_t>(i)]);
      const uint64_t stream = image_stream(seed, i);
      streams.push_back(k == 0 ? stream : candidate_stream(stream, k));
    }
    const std::vector<int64_t> codes = sample_codes(*gpt_, tokenizer_, some, sampling_, streams);
    const auto P = static_cast<int64_t>(pending.size());
    std::vector<float> sims;
    sims.reserve(static_cast<size_t>(P));
    for (int64_t first = 0; first < P; first += kRerankChunk) {
      const int64_t last = std::min(P, first + kRerankChunk);
      const std::vector<int64_t> chunk(codes.begin() + first * N, codes.begin() + last * N);
      const Tensor images = image_tokenizer_->decode(chunk, last - first) * 2.f - 1.f;
      const Tensor own = index_select(text, 0, std::vector<int64_t>(pending.begin() + first, pending.begin() + last));
      for (float v : sum(reranker_.encoder->embed_images(images) * own, {1}).to_vector()) sims.push_back(v);
    }
    std::vector<int64_t> still;
    for (int64_t j = 0; j < P; ++j) {
      const auto i = static_cast<size_t>(pending[static_cast<size_t>(j)]);
      const float sim = sims[static_cast<size_t>(j)];
      if (k == 0 || sim > best[i]) {
        best[i] = sim;
        std::copy_n(codes.begin() + j * N, N, kept.begin() + static_cast<int64_t>(i) * N);
      }
      if (!(sim >= reranker_.threshold)) still.push_back(static_cast<int64_t>(i));
    }
    pending = std::move(still);
  }
  return kept;
}

Tensor TextToImage::generate(const std::vector<std::string>& captions, uint64_t seed) const {
  return image_tokenizer_->decode(generate_codes(captions, seed), static_cast<int64_t>(captions.size()));
}

}  // namespace fresco::vq
