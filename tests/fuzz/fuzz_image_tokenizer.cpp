// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: the image tokenizer file (vq::ImageTokenizer::load).
// Every input must either load or throw fresco::Error; anything else (a crash,
// a sanitizer report, another exception type) is a bug.
#include <cstddef>
#include <cstdint>

#include <fresco/vq/image_tokenizer.hpp>
#include "fuzz/fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const fresco::fuzz::InputFile file(data, size);
  fresco::fuzz::expect_load_or_error([&] { (void)fresco::vq::ImageTokenizer::load(file.path()); });
  return 0;
}
