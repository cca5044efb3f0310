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

#include <fresco/eval/retrieval.hpp>
#include <fresco/tensor/tensor.hpp>
#include <fresco/text/tokenizer.hpp>
#include <fresco/text_to_image.hpp>
#include <fresco/vq/image_gpt.hpp>
#include <fresco/vq/image_tokenizer.hpp>

namespace fresco::vq {

/// What keeps or rejects the images a transformer-family model draws
/// (`ImageSampleOptions::candidates`, as DALL-E reranks its samples with CLIP): an
/// image–text encoder trained on the training pairs, and the cosine similarity of an
/// image to its caption from which a candidate is accepted.
///
///     auto enc = fresco::eval::ImageTextEncoder::create(captions, {.image = {.image_size = 32}});
///     fresco::eval::train_image_text_encoder(*enc, train_set, {.minutes = 2});
///     float t = fresco::vq::Reranker::calibrate(*enc, real_images, their_captions, 0.01);
///     fresco::vq::TextToImage model(bpe, std::move(gpt), std::move(vq), {.candidates = 8}, {std::move(enc), t});
struct Reranker {
  std::unique_ptr<eval::ImageTextEncoder> encoder;   ///< null: no reranker
  /// A candidate whose similarity to its caption reaches this is accepted.
  float threshold = 0;

  /// The `quantile` (in [0, 1)) of the similarities of real pairs, images [N, C, S, S] in
  /// [-1, 1] and their N captions (N >= 1): with 0.01, 99% of real pairs would be accepted.
  /// Throws `fresco::Error` for a quantile out of range or counts that differ.
  static float calibrate(eval::ImageTextEncoder& encoder, const Tensor& images, const std::vector<std::string>& captions,
                         double quantile);
};

/// Writes a transformer-family model file: tensors "image_gpt.*" and "vq.*", metadata
/// "format" = "fresco-token-text2image", the configs ("image_gpt.*", "vq.*"), the
/// sampling defaults ("sample.*") and "tokenizer" (its JSON); with a `reranker`, its
/// encoder under "rerank." and "rerank.threshold". Atomic (temporary file + rename).
/// Throws `fresco::Error` when the parts do not fit together (codes, grid, vocabulary,
/// the reranker's image size and channels).
void save_text_to_image(const std::string& path, const text::BpeTokenizer& tokenizer, const ImageGpt& gpt,
                        const ImageTokenizer& image_tokenizer, const ImageSampleOptions& sampling = {},
                        const Reranker* reranker = nullptr);

/// Captions as the transformer reads them: `<|bos|>` caption `<|eos|>` then `<|pad|>`
/// up to `caption_length`, row after row. Throws `fresco::Error` naming the caption
/// when one needs more than `caption_length` tokens.
std::vector<int64_t> caption_rows(const text::BpeTokenizer& tokenizer, const std::vector<std::string>& captions,
                                  int64_t caption_length);

/// The codes of one image (or clip) per caption (N · image_tokens() ids, row-major), written by
/// `gpt` with `sampling` in batches of up to 64 captions (fewer for the longer sequences of clips);
/// image i draws from stream `image_stream(seed, i)`, whatever the batches (one image per
/// caption: `sampling.candidates` is a reranking model's business). Throws
/// `fresco::Error` for an empty list or a caption longer than the model's caption_length.
std::vector<int64_t> sample_codes(const ImageGpt& gpt, const text::BpeTokenizer& tokenizer,
                                  const std::vector<std::string>& captions, const ImageSampleOptions& sampling,
                                  uint64_t seed);
/// The same with caption i drawing from the stream seeded by `streams[i]` (one per caption).
std::vector<int64_t> sample_codes(const ImageGpt& gpt, const text::BpeTokenizer& tokenizer,
                                  const std::vector<std::string>& captions, const ImageSampleOptions& sampling,
                                  const std::vector<uint64_t>& streams);

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
  /// Takes ownership of the parts (the reranker is optional). Throws `fresco::Error` when
  /// they do not fit together (the reranker must read the images the model draws).
  TextToImage(text::BpeTokenizer tokenizer, std::unique_ptr<ImageGpt> gpt, std::unique_ptr<ImageTokenizer> image_tokenizer,
              ImageSampleOptions sampling = {}, Reranker reranker = {});
  /// Reads a file written by `save` / `save_text_to_image`. Throws `fresco::IoError`/`fresco::Error` naming the file.
  static TextToImage load(const std::string& path);
  void save(const std::string& path) const override;

  /// One image per caption: [N, C, S, S] in [0, 1], sampled with `sampling()`
  /// in batches of 64 captions. Image i depends only on (caption i, seed, i). With
  /// `sampling().candidates` c > 1, image i is the first of its c candidates (candidate
  /// k drawn from `candidate_stream(image_stream(seed, i), k)`, candidate 0 the image c = 1
  /// draws) whose similarity to caption i reaches the reranker's threshold, else the most
  /// similar one (ties: the first); candidates are drawn only while images are still
  /// unaccepted. Throws `fresco::Error` for c > 1 on a model without a reranker.
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
  /// The reranker (`reranker().encoder` null: none).
  const Reranker& reranker() const { return reranker_; }

private:
  text::BpeTokenizer tokenizer_;
  std::unique_ptr<ImageGpt> gpt_;
  std::unique_ptr<ImageTokenizer> image_tokenizer_;
  ImageSampleOptions sampling_;
  Reranker reranker_;
};

}  // namespace fresco::vq
