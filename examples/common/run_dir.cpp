// SPDX-License-Identifier: Apache-2.0
#include "run_dir.hpp"

#include <signal.h>

#include <cerrno>
#include <charconv>
#include <filesystem>
#include <string_view>
#include <system_error>
#include <vector>

#include <fresco/io/file.hpp>

namespace fresco::cli {

namespace {

// The writer's process id of "<file>.tmp.<pid>.<n>", or 0 for any other name.
long temporary_owner(std::string_view name) {
  const size_t at = name.rfind(".tmp.");
  if (at == std::string_view::npos || at == 0) return 0;
  std::string_view rest = name.substr(at + 5);
  const size_t dot = rest.find('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == rest.size()) return 0;
  long pid = 0, n = 0;
  auto [p1, e1] = std::from_chars(rest.data(), rest.data() + dot, pid);
  auto [p2, e2] = std::from_chars(rest.data() + dot + 1, rest.data() + rest.size(), n);
  if (e1 != std::errc() || p1 != rest.data() + dot || e2 != std::errc() || p2 != rest.data() + rest.size()) return 0;
  return pid > 0 ? pid : 0;
}

}  // namespace

int prepare_run_directory(const std::string& dir) {
  io::prepare_output_directory(dir);
  std::vector<std::filesystem::path> stale;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    const long pid = temporary_owner(it->path().filename().string());
    if (pid != 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) stale.push_back(it->path());
  }
  int removed = 0;
  for (const auto& p : stale) removed += std::filesystem::remove(p, ec) ? 1 : 0;
  return removed;
}

}  // namespace fresco::cli
