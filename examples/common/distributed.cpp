// SPDX-License-Identifier: Apache-2.0
#include "distributed.hpp"

#include <cstdio>

#include <unistd.h>

#include <fmt/format.h>

namespace fresco::cli {

namespace {
std::FILE* g_errors = nullptr;
std::shared_ptr<dist::ProcessGroup> g_world;
}  // namespace

std::shared_ptr<dist::ProcessGroup> joined_world() { return g_world; }

std::FILE* error_stream() { return g_errors ? g_errors : stderr; }

std::shared_ptr<dist::ProcessGroup> join_world() {
  auto group = dist::world();
  g_world = group;
  if (group->rank() != 0 && !g_errors) {
    std::fflush(stdout);
    std::fflush(stderr);
    // Keep the terminal for the error that may end this process, then silence both streams.
    if (const int fd = ::dup(STDERR_FILENO); fd >= 0) g_errors = ::fdopen(fd, "w");
    if (!std::freopen("/dev/null", "w", stdout) || !std::freopen("/dev/null", "w", stderr))
      fmt::print(error_stream(), "rank {}: cannot silence its output; its lines will repeat rank 0's\n",
                 group->rank());
  } else if (group->world_size() > 1) {
    fmt::print("data parallel: {} processes ({}); rank 0 prints and writes the files\n", group->world_size(),
               group->backend());
  }
  return group;
}

}  // namespace fresco::cli
