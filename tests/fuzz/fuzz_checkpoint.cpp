// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: the trainers' checkpoints (load_checkpoint of GanTrainer, ImageTokenizerTrainer, ImageGptTrainer). The first byte picks the trainer (0, 1, 2 modulo 3), the rest is the file.
// Every input must either load or throw fresco::Error; anything else (a crash,
// a sanitizer report, another exception type) is a bug.
#include <cstddef>
#include <cstdint>

#include "fuzz/tiny_parts.hpp"
#include "fuzz/fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static fresco::fuzz::TinyTrainers trainers;
  const fresco::fuzz::InputFile file(data + 1, size - 1);
  fresco::fuzz::expect_load_or_error([&] {
    switch (data[0] % 3) {
      case 0: trainers.gan->load_checkpoint(file.path()); break;
      case 1: trainers.vq->load_checkpoint(file.path()); break;
      default: trainers.image_gpt_trainer->load_checkpoint(file.path()); break;
    }
  });
  return 0;
}
