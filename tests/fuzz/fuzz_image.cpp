// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for image decoding (PNG, JPEG, BMP through stb_image):
// every input must either decode or throw fresco::Error.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <fresco/error.hpp>
#include <fresco/io/image.hpp>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    (void)fresco::io::decode_image(std::string_view(reinterpret_cast<const char*>(data), size), "<fuzz>",
                                   {.max_pixels = 1 << 16});
  } catch (const fresco::Error&) {
  }
  return 0;
}
