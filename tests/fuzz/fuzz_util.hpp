// SPDX-License-Identifier: Apache-2.0
#pragma once
// Shared by the libFuzzer targets: the input as a file, for loaders that take a path,
// and the tiny models and trainers whose files make the seed corpora.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include <unistd.h>

#include <fresco/error.hpp>

namespace fresco::fuzz {

/// A directory of this process for scratch files: under /dev/shm when it exists
/// (no disk writes at thousands of inputs a second), else the system's temporary directory.
inline const std::filesystem::path& scratch_dir() {
  static const std::filesystem::path dir = [] {
    std::filesystem::path base = std::filesystem::is_directory("/dev/shm") ? std::filesystem::path("/dev/shm")
                                                                           : std::filesystem::temp_directory_path();
    auto d = base / ("fresco-fuzz-" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    // libFuzzer ends with exit(): a finished run leaves nothing behind. The path is copied to
    // plain storage, which outlives `dir` (destroyed before this handler runs).
    static char to_remove[4096];
    std::snprintf(to_remove, sizeof to_remove, "%s", d.c_str());
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(to_remove, ec);
    });
    return d;
  }();
  return dir;
}

/// The input as the file `name` of `scratch_dir()`, removed again when it goes out of
/// scope; one path per name, reused by every input.
class InputFile {
public:
  InputFile(const uint8_t* data, size_t size, const std::string& name = "input.safetensors")
      : path_((scratch_dir() / name).string()) {
    std::FILE* f = std::fopen(path_.c_str(), "wb");
    if (!f) std::abort();  // the harness, not the loader, failed
    if (size && std::fwrite(data, 1, size, f) != size) std::abort();
    std::fclose(f);
  }
  ~InputFile() { std::remove(path_.c_str()); }
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;
  const std::string& path() const { return path_; }

private:
  std::string path_;
};

/// Runs `load`; a `fresco::Error` is the expected answer to a bad input. Any other
/// exception escapes and libFuzzer reports it (through std::terminate) as a finding.
template <class F>
void expect_load_or_error(F&& load) {
  try {
    load();
  } catch (const fresco::Error&) {
  }
}

}  // namespace fresco::fuzz
