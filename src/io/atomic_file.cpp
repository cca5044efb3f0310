// SPDX-License-Identifier: Apache-2.0
#include "io/atomic_file.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <vector>

#include <fresco/error.hpp>

namespace fresco::io::detail {
namespace {

std::atomic<uint64_t> g_temp_counter{0};
uint64_t g_fail_after = 0;

std::string errno_text(int err) { return std::strerror(err); }

// The writer's process id in "<file>.tmp.<pid>.<n>" (AtomicFile's names), or 0 for any other name.
long temporary_owner(std::string_view name) {
  const size_t at = name.rfind(".tmp.");
  if (at == std::string_view::npos || at == 0) return 0;
  const std::string_view rest = name.substr(at + 5);
  const size_t dot = rest.find('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == rest.size()) return 0;
  long pid = 0;
  uint64_t n = 0;
  const auto [p1, e1] = std::from_chars(rest.data(), rest.data() + dot, pid);
  const auto [p2, e2] = std::from_chars(rest.data() + dot + 1, rest.data() + rest.size(), n);
  if (e1 != std::errc() || p1 != rest.data() + dot || e2 != std::errc() || p2 != rest.data() + rest.size()) return 0;
  return pid > 0 ? pid : 0;
}

}  // namespace

void set_write_failure_after_for_testing(uint64_t bytes) { g_fail_after = bytes; }

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)) {
  if (path_.empty()) throw IoError("write: empty file name; pass the path of the file to write");
  temp_path_ = fmt::format("{}.tmp.{}.{}", path_, static_cast<long>(::getpid()), g_temp_counter.fetch_add(1));
  fd_ = ::open(temp_path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (fd_ < 0) {
    int err = errno;
    throw IoError(fmt::format("{}: cannot create a temporary file to write it ({}); check that the directory "
                              "exists and is writable",
                              path_, errno_text(err)));
  }
}

AtomicFile::~AtomicFile() {
  if (!committed_) discard();
}

void AtomicFile::discard() noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  ::unlink(temp_path_.c_str());
}

void AtomicFile::write(std::string_view bytes) {
  if (fd_ < 0) throw IoError(fmt::format("{}: write after the file was closed", path_));
  const char* p = bytes.data();
  size_t left = bytes.size();
  while (left > 0) {
    size_t chunk = std::min<size_t>(left, size_t{1} << 30);
    if (g_fail_after != 0 && written_ + chunk > g_fail_after) {
      throw IoError(fmt::format("{}: write failed (No space left on device, simulated); the existing file was "
                                "left unchanged",
                                path_));
    }
    ssize_t n = ::write(fd_, p, chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int err = n == 0 ? ENOSPC : errno;   // no progress at all: the device takes no more
      throw IoError(fmt::format("{}: write failed ({}); the existing file was left unchanged; free some disk "
                                "space or choose another path",
                                path_, errno_text(err)));
    }
    p += n;
    left -= static_cast<size_t>(n);
    written_ += static_cast<uint64_t>(n);
  }
}

void AtomicFile::commit() {
  if (fd_ < 0) throw IoError(fmt::format("{}: commit after the file was closed", path_));
  if (::fsync(fd_) != 0) {
    int err = errno;
    throw IoError(fmt::format("{}: flushing to disk failed ({}); the existing file was left unchanged", path_,
                              errno_text(err)));
  }
  int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) {
    int err = errno;
    throw IoError(fmt::format("{}: closing failed ({}); the existing file was left unchanged", path_,
                              errno_text(err)));
  }
  if (::rename(temp_path_.c_str(), path_.c_str()) != 0) {
    int err = errno;
    throw IoError(fmt::format("{}: renaming the temporary file over it failed ({}); the existing file was left "
                              "unchanged",
                              path_, errno_text(err)));
  }
  committed_ = true;
  // Make the rename itself durable; best effort (some file systems refuse).
  std::filesystem::path dir = std::filesystem::path(path_).parent_path();
  if (dir.empty()) dir = std::filesystem::path(".");
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    (void)::fsync(dfd);
    ::close(dfd);
  }
}

}  // namespace fresco::io::detail

namespace fresco::io {

void write_file_atomic(const std::string& path, std::string_view bytes) {
  detail::AtomicFile f(path);
  f.write(bytes);
  f.commit();
}

namespace detail {

std::string read_file_range(const std::string& path, uint64_t offset, uint64_t max_count, uint64_t max_size,
                            std::string_view what, uint64_t* file_size) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT)
      throw IoError(fmt::format("{}: no such {} file; check the path", path, what));
    throw IoError(fmt::format("{}: cannot open the {} file ({})", path, what, detail::errno_text(err)));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw IoError(fmt::format("{}: not a regular file; pass the path of a {} file", path, what));
  }
  uint64_t size = static_cast<uint64_t>(st.st_size);
  if (file_size) *file_size = size;
  if (size > max_size) {
    ::close(fd);
    throw IoError(fmt::format("{}: the {} file is {} bytes, more than the limit of {} bytes", path, what, size,
                              max_size));
  }
  const uint64_t count = offset >= size ? 0 : std::min(max_count, size - offset);
  std::string bytes(count, '\0');
  size_t done = 0;
  while (done < count) {
    ssize_t n = ::pread(fd, bytes.data() + done, count - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      throw IoError(fmt::format("{}: reading the {} file failed ({})", path, what, detail::errno_text(err)));
    }
    if (n == 0) break;  // the file shrank while we read it
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  bytes.resize(done);
  return bytes;
}

}  // namespace detail

std::string read_file(const std::string& path, uint64_t max_bytes, std::string_view what) {
  return detail::read_file_range(path, 0, max_bytes, max_bytes, what, nullptr);
}

int remove_stale_temporaries(const std::string& dir) {
  std::vector<std::filesystem::path> stale;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    const long pid = detail::temporary_owner(it->path().filename().string());
    if (pid != 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) stale.push_back(it->path());
  }
  int removed = 0;
  for (const auto& p : stale) removed += std::filesystem::remove(p, ec) ? 1 : 0;
  return removed;
}

void prepare_output_directory(const std::string& dir) {
  if (dir.empty()) throw IoError("output directory: empty name; pass the directory to write into");
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec)
    throw IoError(fmt::format("output directory {}: cannot create it ({}); choose a directory you can write to",
                              dir, ec.message()));
  if (!std::filesystem::is_directory(dir, ec))
    throw IoError(fmt::format("output directory {}: exists and is not a directory; choose another path", dir));
  // A probe file written, flushed and removed: what the run will do, at a cost of a few system calls.
  const std::string probe = fmt::format("{}/.fresco-write-probe.{}", dir, static_cast<long>(::getpid()));
  auto fail = [&](const char* what, int err) {
    throw IoError(fmt::format("output directory {}: cannot {} a file in it ({}); choose a directory you can write "
                              "to, or free some space",
                              dir, what, detail::errno_text(err)));
  };
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (fd < 0) fail("create", errno);
  const char byte = '\n';
  ssize_t n;
  do n = ::write(fd, &byte, 1);
  while (n < 0 && errno == EINTR);
  int err = n == 1 ? 0 : n == 0 ? ENOSPC : errno;
  if (err == 0 && ::fsync(fd) != 0) err = errno;
  if (::close(fd) != 0 && err == 0) err = errno;
  ::unlink(probe.c_str());
  if (err != 0) fail("write", err);
}

}  // namespace fresco::io
