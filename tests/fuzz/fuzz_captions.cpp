// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: the captions files of the image-folder dataset (data::ImageFolder).
// The first byte picks the format (even: captions.tsv, odd: captions.jsonl), the rest
// is the file, read beside two tiny images "a.png" and "b.png".
// Every input must either load or throw fresco::Error; anything else (a crash,
// a sanitizer report, another exception type) is a bug.
#include <cstddef>
#include <cstdint>
#include <string>

#include <fresco/data/image_folder.hpp>
#include <fresco/io/image.hpp>
#include <fresco/tensor/tensor.hpp>

#include "fuzz/fuzz_util.hpp"

namespace {

/// The folder of the images, written once.
const std::string& folder() {
  static const std::string dir = [] {
    const auto d = fresco::fuzz::scratch_dir() / "images";
    std::filesystem::create_directories(d);
    fresco::io::write_image(fresco::full({3, 4, 4}, 0.5f), (d / "a.png").string());
    fresco::io::write_image(fresco::full({1, 2, 3}, 0.25f), (d / "b.png").string());
    return d.string();
  }();
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string name = data[0] % 2 == 0 ? "captions.tsv" : "captions.jsonl";
  (void)folder();
  const fresco::fuzz::InputFile file(data + 1, size - 1, "images/" + name);
  fresco::fuzz::expect_load_or_error([&] {
    fresco::data::ImageFolder f({.root = folder(), .image_size = 2, .channels = 3, .captions_file = name,
                                 .max_pixels = 64});
    for (int64_t i = 0; i < f.size(); ++i) (void)f.get(i);
  });
  return 0;
}
