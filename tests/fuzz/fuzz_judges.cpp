// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: the evaluation's model files (eval::Classifier::load, eval::load_judges,
// eval::ImageTextEncoder::load).
// Every input must either load or throw fresco::Error; anything else (a crash,
// a sanitizer report, another exception type) is a bug.
#include <cstddef>
#include <cstdint>

#include <fresco/eval/classifier.hpp>
#include <fresco/eval/retrieval.hpp>
#include "fuzz/fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const fresco::fuzz::InputFile file(data, size);
  fresco::fuzz::expect_load_or_error([&] { (void)fresco::eval::load_judges(file.path()); });
  fresco::fuzz::expect_load_or_error([&] { (void)fresco::eval::Classifier::load(file.path()); });
  fresco::fuzz::expect_load_or_error([&] { (void)fresco::eval::ImageTextEncoder::load(file.path()); });
  return 0;
}
