// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: the classifier and judges files (eval::Classifier::load, eval::load_judges).
// Every input must either load or throw fresco::Error; anything else (a crash,
// a sanitizer report, another exception type) is a bug.
#include <cstddef>
#include <cstdint>

#include <fresco/eval/classifier.hpp>
#include "fuzz/fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const fresco::fuzz::InputFile file(data, size);
  fresco::fuzz::expect_load_or_error([&] { (void)fresco::eval::load_judges(file.path()); });
  fresco::fuzz::expect_load_or_error([&] { (void)fresco::eval::Classifier::load(file.path()); });
  return 0;
}
