// SPDX-License-Identifier: Apache-2.0
#pragma once
// The token transformer's model file, shared by vq::TextToImage and vq::TextToVideo:
// the BPE tokenizer, the ImageGpt and the image tokenizer in one safetensors file,
// told apart by its "format". Not installed.

#include <memory>
#include <string>

#include <fresco/text/tokenizer.hpp>
#include <fresco/vq/image_gpt.hpp>
#include <fresco/vq/image_tokenizer.hpp>
#include <fresco/vq/text_to_image.hpp>

namespace fresco::vq::detail {

struct TokenModelParts {
  text::BpeTokenizer tokenizer;
  std::unique_ptr<ImageGpt> gpt;
  std::unique_ptr<ImageTokenizer> image_tokenizer;
  ImageSampleOptions sampling;
  Reranker reranker;   // none unless the file holds one ("rerank.*")
};

/// Throws `fresco::Error` (prefixed by `fn`) unless the transformer writes clips (frames > 1)
/// when `clips`, single images (frames 1) otherwise, naming the class that reads the other kind.
void check_token_kind(const ImageGpt& gpt, bool clips, const char* fn);

/// The checks of a model's constructor: every part present, the parts fitting together
/// (vocabulary, codes, grid), the kind (`check_token_kind`) and the sampling options.
void check_token_model(const text::BpeTokenizer& tokenizer, const ImageGpt* gpt, const ImageTokenizer* image_tokenizer,
                       const ImageSampleOptions& sampling, bool clips, const char* fn);

/// Writes the parts with metadata "format" = `format` (atomic: temporary file + rename); errors name `fn`.
/// With a `reranker`, its encoder and threshold go in as well ("rerank.*").
void save_token_model(const std::string& path, const char* format, const char* fn, const text::BpeTokenizer& tokenizer,
                      const ImageGpt& gpt, const ImageTokenizer& image_tokenizer, const ImageSampleOptions& sampling,
                      const Reranker* reranker = nullptr);

/// Reads the parts of a file whose "format" is `format`, checking its tensor index against the
/// configs before anything is allocated, and that its transformer writes clips (frames > 1) when
/// `clips`, single images otherwise. Errors name `context` and the file; `what` says what the file
/// should have been (for a file of another format).
TokenModelParts load_token_model(const std::string& path, const char* format, const char* context, const char* what,
                                 bool clips);

}  // namespace fresco::vq::detail
