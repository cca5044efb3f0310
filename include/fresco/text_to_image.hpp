// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file
/// `fresco::TextToImageModel`: what every text-to-image family offers (the
/// GAN, `gan::TextToImage`, and the token transformer, `vq::TextToImage`),
/// and `load_text_to_image`, which reads either from its file and tells them
/// apart by the file's metadata.
///
///     auto model = fresco::load_text_to_image("run/model.safetensors");
///     fmt::print("{}\n", model->family());                                // "gan" or "transformer"
///     fresco::Tensor images = model->generate({"a red circle at the top left"}, 7);   // [1, 3, 32, 32]

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <fresco/tensor/tensor.hpp>

namespace fresco {

/// A trained text-to-image model in one file. Implementations are safe to
/// call `generate` on from several threads at once.
class TextToImageModel {
public:
  virtual ~TextToImageModel();

  /// One image per caption: [N, C, S, S] in [0, 1]. The same (captions, seed)
  /// give the same images bit for bit. Throws `fresco::Error` for an empty list
  /// or a caption the model cannot read (too long).
  virtual Tensor generate(const std::vector<std::string>& captions, uint64_t seed) const = 0;
  /// Writes the model to one safetensors file (temporary file + rename).
  virtual void save(const std::string& path) const = 0;
  /// "gan" or "transformer".
  virtual std::string family() const = 0;
};

/// The family of the model file at `path` ("gan" or "transformer") from its
/// metadata; throws `fresco::IoError` naming the file when it is not a text-to-image model.
std::string text_to_image_family(const std::string& path);

/// Reads a model file of either family (`gan::TextToImage::save`,
/// `vq::TextToImage::save`). Throws `fresco::IoError`/`fresco::Error` naming the file.
std::unique_ptr<TextToImageModel> load_text_to_image(const std::string& path);

}  // namespace fresco
