// SPDX-License-Identifier: Apache-2.0
// Loads safetensors files (checkpoints, models) whole and prints what they hold: the
// format and step from the metadata, the tensor count, and a digest of the tensors alone
// (names, shapes, values; not the metadata). A file that does not load is an error.
// What scripts/kill_test.sh uses to check the checkpoints a killed run left, and to
// compare two models tensor for tensor.
//
//   checkpoint_info run/checkpoint.safetensors run/image_tokenizer/checkpoint.safetensors
//   checkpoint_info --digest run/model.safetensors
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include <fmt/format.h>

#include <fresco/io/safetensors.hpp>
#include <fresco/tensor/tensor.hpp>

#include "common/cli.hpp"

namespace {

struct Args {
  std::vector<std::string> files;
  bool digest_only = false;
};

// FNV-1a, 64 bits: enough to tell two models apart, and no dependency.
class Fnv1a {
public:
  void add(const void* data, size_t n) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (size_t i = 0; i < n; ++i) hash_ = (hash_ ^ p[i]) * 0x100000001b3ull;
  }
  uint64_t value() const { return hash_; }

private:
  uint64_t hash_ = 0xcbf29ce484222325ull;
};

int info(const Args& a) {
  for (const std::string& path : a.files) {
    const auto meta = fresco::io::load_safetensors_metadata(path);
    const auto tensors = fresco::io::load_safetensors(path);   // every byte read and validated
    Fnv1a h;
    int64_t values = 0;
    for (const auto& [name, t] : tensors) {   // sorted by name
      h.add(name.data(), name.size() + 1);
      for (int64_t d : t.shape()) h.add(&d, sizeof d);
      const std::vector<float> v = t.contiguous().to_vector();
      h.add(v.data(), v.size() * sizeof(float));
      values += static_cast<int64_t>(v.size());
    }
    auto field = [&](const char* key) {
      auto it = meta.find(key);
      return it == meta.end() ? std::string("-") : it->second;
    };
    if (a.digest_only)
      fmt::print("{:016x}  {}\n", h.value(), path);
    else
      fmt::print("{}: format {}, step {}, {} tensors, {} values, digest {:016x}\n", path, field("format"),
                 field("step"), tensors.size(), values, h.value());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Loads safetensors files (checkpoints, models) whole and prints their format, step, tensor\n"
               "count and a digest of the tensors alone; a file that does not load is an error.",
               "checkpoint_info"};
  app.footer("Examples:\n  checkpoint_info run/checkpoint.safetensors\n  checkpoint_info --digest run/model.safetensors");
  Args args;
  app.add_option("files", args.files, "the safetensors files")->required()->check(CLI::ExistingFile);
  app.add_flag("--digest", args.digest_only, "print only the digest and the path, one line a file");
  return fresco::cli::run(app, argc, argv, [&] { return info(args); });
}
