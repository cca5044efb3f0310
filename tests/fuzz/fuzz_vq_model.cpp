// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: the transformer family model file (vq::TextToImage::load), through the loader that picks
// the family (load_text_to_image), which reads the GAN family's files too, and the text-to-video model file
// (vq::TextToVideo::load).
// Every input must either load or throw fresco::Error; anything else (a crash,
// a sanitizer report, another exception type) is a bug.
#include <cstddef>
#include <cstdint>

#include <fresco/text_to_image.hpp>
#include <fresco/vq/text_to_video.hpp>
#include "fuzz/fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const fresco::fuzz::InputFile file(data, size);
  fresco::fuzz::expect_load_or_error([&] { (void)fresco::load_text_to_image(file.path()); });
  // The text-to-video model file: the same token model loader under another format.
  fresco::fuzz::expect_load_or_error([&] { (void)fresco::vq::TextToVideo::load(file.path()); });
  return 0;
}
