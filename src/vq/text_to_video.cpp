// SPDX-License-Identifier: Apache-2.0
// The text-to-video model: the token model file with a clip transformer, its
// codes sampled as one long sequence and decoded frame by frame.
#include <fresco/vq/text_to_video.hpp>

#include <fmt/format.h>

#include <fresco/error.hpp>
#include <fresco/io/safetensors.hpp>
#include <fresco/vq/text_to_image.hpp>

#include "vq/token_model.hpp"

namespace fresco::vq {

namespace {

constexpr const char* kFormat = "fresco-token-text2video";

}  // namespace

void save_text_to_video(const std::string& path, const text::BpeTokenizer& tokenizer, const ImageGpt& gpt,
                        const ImageTokenizer& image_tokenizer, const ImageSampleOptions& sampling) {
  detail::check_token_kind(gpt, /*clips=*/true, "save_text_to_video");
  detail::save_token_model(path, kFormat, "save_text_to_video", tokenizer, gpt, image_tokenizer, sampling);
}

Tensor decode_clips(const ImageTokenizer& image_tokenizer, const std::vector<int64_t>& codes, int64_t clips,
                    int64_t frames) {
  FRESCO_CHECK(clips >= 1 && frames >= 1, "decode_clips: expected clips and frames >= 1, got {} and {}", clips, frames);
  const Tensor images = image_tokenizer.decode(codes, clips * frames);   // [N·T, C, S, S]
  return images.reshape({clips, frames, images.size(1), images.size(2), images.size(3)});
}

namespace {

// No reranker reads clips: one clip is drawn per caption.
void check_one_candidate(const ImageSampleOptions& sampling) {
  FRESCO_CHECK(sampling.candidates == 1,
               "vq::TextToVideo: candidates {}: a clip is drawn once per caption (no reranker reads clips); use 1",
               sampling.candidates);
}

}  // namespace

TextToVideo::TextToVideo(text::BpeTokenizer tokenizer, std::unique_ptr<ImageGpt> gpt,
                         std::unique_ptr<ImageTokenizer> image_tokenizer, ImageSampleOptions sampling)
    : tokenizer_(std::move(tokenizer)),
      gpt_(std::move(gpt)),
      image_tokenizer_(std::move(image_tokenizer)),
      sampling_(sampling) {
  detail::check_token_model(tokenizer_, gpt_.get(), image_tokenizer_.get(), sampling_, /*clips=*/true,
                            "vq::TextToVideo");
  check_one_candidate(sampling_);
  gpt_->eval();
  image_tokenizer_->eval();
}

TextToVideo TextToVideo::load(const std::string& path) {
  auto parts = detail::load_token_model(path, kFormat, "vq::TextToVideo::load",
                                        "a text-to-video model (train one with train_text2video)", /*clips=*/true);
  return TextToVideo(std::move(parts.tokenizer), std::move(parts.gpt), std::move(parts.image_tokenizer),
                     parts.sampling);
}

void TextToVideo::save(const std::string& path) const {
  save_text_to_video(path, tokenizer_, *gpt_, *image_tokenizer_, sampling_);
}

std::vector<int64_t> TextToVideo::generate_codes(const std::vector<std::string>& captions, uint64_t seed) const {
  check_one_candidate(sampling_);
  return sample_codes(*gpt_, tokenizer_, captions, sampling_, seed);
}

Tensor TextToVideo::generate(const std::vector<std::string>& captions, uint64_t seed) const {
  return decode_clips(*image_tokenizer_, generate_codes(captions, seed), static_cast<int64_t>(captions.size()),
                      frames());
}

bool is_text_to_video(const std::string& path) {
  const auto meta = io::load_safetensors_metadata(path);
  const auto format = meta.find("format");
  return format != meta.end() && format->second == kFormat;
}

}  // namespace fresco::vq
