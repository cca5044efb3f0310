// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: the optimizer state file (io::load into an Adam optimizer of two parameters).
// Every input must either load or throw fresco::Error; anything else (a crash,
// a sanitizer report, another exception type) is a bug.
#include <cstddef>
#include <cstdint>

#include <fresco/io/checkpoint.hpp>

#include "fuzz/tiny_parts.hpp"
#include "fuzz/fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static fresco::fuzz::TinyOptimizer opt;
  const fresco::fuzz::InputFile file(data, size);
  fresco::fuzz::expect_load_or_error([&] { fresco::io::load(opt.adam, file.path()); });
  return 0;
}
