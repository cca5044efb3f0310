// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file
/// `gan::TextToImage`: the finished model, tokenizer + GPT + (EMA) generator
/// in one safetensors file, turning captions into images.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <fresco/gan/generator.hpp>
#include <fresco/tensor/tensor.hpp>
#include <fresco/text/gpt.hpp>
#include <fresco/text/tokenizer.hpp>
#include <fresco/text_to_image.hpp>

namespace fresco::gan {

/// Images of `captions` from `generator` conditioned by `gpt`: row i uses the
/// noise stream (seed, i). Runs in eval mode without a graph and restores the
/// generator's mode. -> [N, C, S, S] in [0, 1].
Tensor generate_images(Generator& generator, const text::Gpt& gpt, const text::BpeTokenizer& tokenizer,
                       const std::vector<std::string>& captions, uint64_t seed);

/// The text-to-image model. The file holds the tensors "gpt.*" and
/// "generator.*" (parameters and BatchNorm statistics) and the metadata
/// "format" = "fresco-text2image", the configs ("gpt.*", "generator.*") and
/// "tokenizer" (its JSON).
///
/// Threads: one model may serve `generate` and `animate` to several threads at
/// once (they only read it: the model is always in eval mode); each call gives
/// the bits it gives alone. Moving, assigning or changing the parts
/// (`generator().train()`, loading weights) must not overlap any call
/// (docs/architecture.md, Threads).
///
///     auto model = fresco::gan::TextToImage::load("model.safetensors");
///     fresco::Tensor images = model.generate({"a red circle at the top left"}, 7);   // [1, 3, 32, 32] in [0, 1]
class TextToImage final : public TextToImageModel {
public:
  /// Takes ownership of the parts. Throws `fresco::Error` when the generator's
  /// text_dim differs from the GPT's d_model or the tokenizer is larger than its vocabulary.
  TextToImage(text::BpeTokenizer tokenizer, std::unique_ptr<text::Gpt> gpt, std::unique_ptr<Generator> generator);
  TextToImage(TextToImage&&) noexcept;
  TextToImage& operator=(TextToImage&&) noexcept;
  ~TextToImage() override;

  /// Builds the model from copies of the weights of `gpt` and `generator` (e.g. a trainer's EMA generator).
  static TextToImage from_parts(const text::BpeTokenizer& tokenizer, const text::Gpt& gpt,
                                const Generator& generator);
  /// Reads a file written by `save`. Throws `fresco::IoError`/`fresco::Error` naming the file;
  /// a file whose metadata claims a larger model than its tensors fails before the model is
  /// built (`io::LoadLimit`).
  static TextToImage load(const std::string& path);
  /// Writes the model to one safetensors file (temporary file + rename).
  void save(const std::string& path) const override;

  /// One image per caption: [N, C, S, S] in [0, 1]. The same (captions, seed)
  /// give the same images bit for bit; image i depends only on (caption i, seed, i).
  /// Throws `fresco::Error` for an empty list or a caption longer than the text model's context.
  Tensor generate(const std::vector<std::string>& captions, uint64_t seed) const override;
  std::string family() const override { return "gan"; }
  /// `frames` images (each [C, S, S] in [0, 1]) morphing from `caption_a` to
  /// `caption_b`: sentence and word vectors are interpolated linearly, the
  /// noise spherically (slerp) from stream (seed, 0) to (seed, 1). frames >= 2.
  std::vector<Tensor> animate(const std::string& caption_a, const std::string& caption_b, int64_t frames,
                              uint64_t seed) const;

  const text::BpeTokenizer& tokenizer() const { return tokenizer_; }
  const text::Gpt& gpt() const { return *gpt_; }
  Generator& generator() const { return *generator_; }

private:
  text::BpeTokenizer tokenizer_;
  std::unique_ptr<text::Gpt> gpt_;
  std::unique_ptr<Generator> generator_;
};

}  // namespace fresco::gan
