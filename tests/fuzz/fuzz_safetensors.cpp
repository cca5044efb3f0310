// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for the safetensors loader: every input must either load
// or throw fresco::Error; anything else (a crash, a sanitizer report, another
// exception type) is a bug. Build with clang -fsanitize=fuzzer,address.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <fresco/error.hpp>
#include <fresco/io/safetensors.hpp>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    auto tensors = fresco::io::parse_safetensors(std::string_view(reinterpret_cast<const char*>(data), size), "<fuzz>");
    for (auto& [name, t] : tensors) (void)t.to_vector();
  } catch (const fresco::Error&) {
  }
  return 0;
}
