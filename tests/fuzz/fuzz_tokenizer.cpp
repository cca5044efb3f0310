// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: the BPE tokenizer's JSON (text::BpeTokenizer::from_json); a tokenizer that loads also encodes and decodes a caption.
// Every input must either load or throw fresco::Error; anything else (a crash,
// a sanitizer report, another exception type) is a bug.
#include <cstddef>
#include <cstdint>

#include <string>
#include <string_view>

#include <fresco/text/tokenizer.hpp>
#include "fuzz/fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fresco::fuzz::expect_load_or_error([&] {
    const auto tok = fresco::text::BpeTokenizer::from_json(std::string_view(reinterpret_cast<const char*>(data), size));
    (void)tok.decode(tok.encode("a red circle at the top left"));
  });
  return 0;
}
