// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file
/// `vq::TextToImage`: the finished model of the transformer family, the BPE
/// tokenizer + the token transformer (`vq::ImageGpt`) + the image tokenizer
/// (`vq::ImageTokenizer`) in one safetensors file, turning captions into images.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <fresco/tensor/tensor.hpp>
#include <fresco/text/tokenizer.hpp>
#include <fresco/text_to_image.hpp>
#include <fresco/vq/image_gpt.hpp>
#include <fresco/vq/image_tokenizer.hpp>

namespace fresco::vq {

/// Writes a transformer-family model file: tensors "image_gpt.*" and "vq.*", metadata
/// "format" = "fresco-token-text2image", the configs ("image_gpt.*", "vq.*"), the
/// sampling defaults ("sample.*") and "tokenizer" (its JSON). Atomic (temporary file + rename).
/// Throws `fresco::Error` when the parts do not fit together (codes, grid, vocabulary).
void save_text_to_image(const std::string& path, const text::BpeTokenizer& tokenizer, const ImageGpt& gpt,
                        const ImageTokenizer& image_tokenizer, const ImageSampleOptions& sampling = {});

/// Captions as the transformer reads them: `<|bos|>` caption `<|eos|>` then `<|pad|>`
/// up to `caption_length`, row after row. Throws `fresco::Error` naming the caption
/// when one needs more than `caption_length` tokens.
std::vector<int64_t> caption_rows(const text::BpeTokenizer& tokenizer, const std::vector<std::string>& captions,
                                  int64_t caption_length);

/// The codes of one image (or clip) per caption (N · image_tokens() ids, row-major), written by
/// `gpt` with `sampling` in batches of up to 64 captions (fewer for the longer sequences of clips);
/// image i draws from stream (seed, i), whatever the batches. Throws
/// `fresco::Error` for an empty list or a caption longer than the model's caption_length.
std::vector<int64_t> sample_codes(const ImageGpt& gpt, const text::BpeTokenizer& tokenizer,
                                  const std::vector<std::string>& captions, const ImageSampleOptions& sampling,
                                  uint64_t seed);

/// The transformer-family text-to-image model.
///
///     auto model = fresco::vq::TextToImage::load("run/model.safetensors");
///     model.sampling().guidance = 2.f;
///     fresco::Tensor images = model.generate({"a red circle at the top left"}, 7);   // [1, 3, 32, 32] in [0, 1]
///
/// `generate` is const and keeps no state between calls: one model may serve
/// several threads at once (do not change `sampling()` meanwhile).
class TextToImage final : public TextToImageModel {
public:
  /// Takes ownership of the parts. Throws `fresco::Error` when they do not fit together.
  TextToImage(text::BpeTokenizer tokenizer, std::unique_ptr<ImageGpt> gpt, std::unique_ptr<ImageTokenizer> image_tokenizer,
              ImageSampleOptions sampling = {});
  /// Reads a file written by `save` / `save_text_to_image`. Throws `fresco::IoError`/`fresco::Error` naming the file.
  static TextToImage load(const std::string& path);
  void save(const std::string& path) const override;

  /// One image per caption: [N, C, S, S] in [0, 1], sampled with `sampling()`
  /// in batches of 64 captions. Image i depends only on (caption i, seed, i).
  Tensor generate(const std::vector<std::string>& captions, uint64_t seed) const override;
  /// The image codes `generate` decodes: N · grid² ids, row-major.
  std::vector<int64_t> generate_codes(const std::vector<std::string>& captions, uint64_t seed) const;
  std::string family() const override { return "transformer"; }

  /// How `generate` samples (guidance, temperature, top-k, top-p); saved with the model.
  ImageSampleOptions& sampling() { return sampling_; }
  const ImageSampleOptions& sampling() const { return sampling_; }
  const text::BpeTokenizer& tokenizer() const { return tokenizer_; }
  const ImageGpt& image_gpt() const { return *gpt_; }
  const ImageTokenizer& image_tokenizer() const { return *image_tokenizer_; }

private:
  text::BpeTokenizer tokenizer_;
  std::unique_ptr<ImageGpt> gpt_;
  std::unique_ptr<ImageTokenizer> image_tokenizer_;
  ImageSampleOptions sampling_;
};

}  // namespace fresco::vq
