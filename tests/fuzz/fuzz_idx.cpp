// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for gzip + IDX parsing (the Fashion-MNIST reader): every
// input must either parse or throw fresco::Error.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <fresco/data/fashion_mnist.hpp>
#include <fresco/error.hpp>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  try {
    (void)fresco::data::parse_idx(bytes, "<fuzz>");
  } catch (const fresco::Error&) {
  }
  try {
    (void)fresco::data::parse_idx(fresco::data::gunzip(bytes, "<fuzz>", 1 << 24), "<fuzz>");
  } catch (const fresco::Error&) {
  }
  return 0;
}
