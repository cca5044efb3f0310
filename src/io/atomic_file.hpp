// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file
/// Writing a file so that readers see either the old content or the complete
/// new content, never a half-written file: the bytes go to a temporary file
/// in the same directory, which is flushed to disk and then renamed over the
/// target (rename is atomic within a file system on POSIX).

#include <cstdint>
#include <string>
#include <string_view>

#include <fresco/io/file.hpp>

namespace fresco::io::detail {

/// A file being written atomically. Bytes go to `<path>.tmp.<pid>.<n>`;
/// `commit()` flushes and renames it to `path`. Destroying the object
/// without a successful commit removes the temporary file and leaves
/// `path` untouched. Every failure throws `fresco::IoError` naming `path`.
///
///     AtomicFile f("model.safetensors");
///     f.write(header); f.write(data);
///     f.commit();
class AtomicFile {
public:
  explicit AtomicFile(std::string path);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  /// Appends `bytes` to the temporary file.
  void write(std::string_view bytes);
  /// Flushes the temporary file to disk and renames it over the target.
  void commit();
  /// The temporary file's path (for tests).
  const std::string& temp_path() const { return temp_path_; }

private:
  void discard() noexcept;

  std::string path_;
  std::string temp_path_;
  int fd_ = -1;
  uint64_t written_ = 0;
  bool committed_ = false;
};

/// Reads at most `max_count` bytes from `offset` of a regular file (fewer at its end);
/// `*file_size` (when not null) receives the file's size. Throws `fresco::IoError` naming
/// the file, as `io::read_file` does, also when the file is larger than `max_size`.
std::string read_file_range(const std::string& path, uint64_t offset, uint64_t max_count, uint64_t max_size,
                            std::string_view what, uint64_t* file_size);

/// Test hook: when nonzero, `AtomicFile::write` fails (as a full disk would)
/// once this many bytes have been written. Not thread-safe; tests only.
void set_write_failure_after_for_testing(uint64_t bytes);

}  // namespace fresco::io::detail
