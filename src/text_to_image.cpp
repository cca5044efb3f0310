// SPDX-License-Identifier: Apache-2.0
// Reading a text-to-image model file of either family.
#include <fresco/text_to_image.hpp>

#include <fmt/format.h>

#include <fresco/error.hpp>
#include <fresco/gan/text_to_image.hpp>
#include <fresco/io/safetensors.hpp>
#include <fresco/vq/text_to_image.hpp>

namespace fresco {

TextToImageModel::~TextToImageModel() = default;

std::string text_to_image_family(const std::string& path) {
  const auto meta = io::load_safetensors_metadata(path);
  const auto format = meta.find("format");
  const std::string found = format == meta.end() ? "" : format->second;
  if (found == "fresco-text2image") return "gan";
  if (found == "fresco-token-text2image") return "transformer";
  if (found == "fresco-token-text2video")
    throw IoError(fmt::format("{} is a text-to-video model, not a text-to-image one: read it with vq::TextToVideo "
                              "(generate --video)",
                              path));
  throw IoError(fmt::format("{} is not a text-to-image model: its metadata \"format\" is \"{}\", expected "
                            "\"fresco-text2image\" (GAN) or \"fresco-token-text2image\" (transformer); train one with "
                            "train_text2image",
                            path, found));
}

std::unique_ptr<TextToImageModel> load_text_to_image(const std::string& path) {
  if (text_to_image_family(path) == "gan") return std::make_unique<gan::TextToImage>(gan::TextToImage::load(path));
  return std::make_unique<vq::TextToImage>(vq::TextToImage::load(path));
}

}  // namespace fresco
