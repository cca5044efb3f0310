// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file
/// `vq::TextToVideo`: the token transformer writing clips (VideoGPT, Yan et al.
/// 2021, in small): the image tokenizer applied to each frame, and one
/// `vq::ImageGpt` with `frames` > 1 over `[caption tokens, <|image|>, frame 0's
/// codes, frame 1's codes, ...]`, whose image slots carry a time embedding
/// beside their row and column. Tokenizer, transformer and image tokenizer
/// in one safetensors file (metadata "format" = "fresco-token-text2video").

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <fresco/tensor/tensor.hpp>
#include <fresco/text/tokenizer.hpp>
#include <fresco/vq/image_gpt.hpp>
#include <fresco/vq/image_tokenizer.hpp>

namespace fresco::vq {

/// Writes a text-to-video model file. Throws `fresco::Error` when the parts do not fit
/// together (codes, grid, vocabulary) or the transformer writes single images (frames 1).
void save_text_to_video(const std::string& path, const text::BpeTokenizer& tokenizer, const ImageGpt& gpt,
                        const ImageTokenizer& image_tokenizer, const ImageSampleOptions& sampling = {});

/// The codes of clips [N · T, grid²] -> their frames [N, T, C, S, S] in [0, 1].
/// Throws `fresco::Error` when the codes are not N · T · grid² ids of the image tokenizer's codebook.
Tensor decode_clips(const ImageTokenizer& image_tokenizer, const std::vector<int64_t>& codes, int64_t clips,
                    int64_t frames);

/// The transformer family's text-to-video model.
///
///     auto model = fresco::vq::TextToVideo::load("run/model.safetensors");
///     fresco::Tensor clips = model.generate({"a big red circle moves from left to right"}, 7);   // [1, 8, 3, 32, 32]
///
/// `generate` is const and keeps no state between calls: one model may serve
/// several threads at once (do not change `sampling()` meanwhile).
class TextToVideo {
public:
  /// Takes ownership of the parts. Throws `fresco::Error` when they do not fit together
  /// or the transformer writes single images.
  TextToVideo(text::BpeTokenizer tokenizer, std::unique_ptr<ImageGpt> gpt, std::unique_ptr<ImageTokenizer> image_tokenizer,
              ImageSampleOptions sampling = {});
  /// Reads a file written by `save` / `save_text_to_video`. Throws `fresco::IoError`/`fresco::Error` naming the file.
  static TextToVideo load(const std::string& path);
  /// Writes the model (`save_text_to_video`: atomic, temporary file + rename).
  void save(const std::string& path) const;

  /// One clip per caption: [N, T, C, S, S] in [0, 1], sampled with `sampling()` in
  /// batches of 64 captions. Clip i depends only on (caption i, seed, i).
  Tensor generate(const std::vector<std::string>& captions, uint64_t seed) const;
  /// The codes `generate` decodes: N · T · grid² ids, frame after frame.
  std::vector<int64_t> generate_codes(const std::vector<std::string>& captions, uint64_t seed) const;

  /// Frames per clip.
  int64_t frames() const { return gpt_->config().frames; }
  /// How `generate` samples (guidance, temperature, top-k, top-p); saved with the model.
  ImageSampleOptions& sampling() { return sampling_; }
  const ImageSampleOptions& sampling() const { return sampling_; }
  /// The parts.
  const text::BpeTokenizer& tokenizer() const { return tokenizer_; }
  const ImageGpt& image_gpt() const { return *gpt_; }
  const ImageTokenizer& image_tokenizer() const { return *image_tokenizer_; }

private:
  text::BpeTokenizer tokenizer_;
  std::unique_ptr<ImageGpt> gpt_;
  std::unique_ptr<ImageTokenizer> image_tokenizer_;
  ImageSampleOptions sampling_;
};

/// True when the file at `path` is a text-to-video model (metadata "format"); throws
/// `fresco::IoError` when it cannot be read as safetensors.
bool is_text_to_video(const std::string& path);

}  // namespace fresco::vq
