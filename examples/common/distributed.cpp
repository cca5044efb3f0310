// SPDX-License-Identifier: Apache-2.0
#include "distributed.hpp"

#include <cstdio>

#include <fmt/format.h>

namespace fresco::cli {

std::shared_ptr<dist::ProcessGroup> join_world() {
  auto group = dist::world();
  if (group->rank() != 0) {
    std::fflush(stdout);
    if (!std::freopen("/dev/null", "w", stdout))
      fmt::print(stderr, "rank {}: cannot silence stdout; its lines will repeat rank 0's\n", group->rank());
  } else if (group->world_size() > 1) {
    fmt::print("data parallel: {} processes ({}); rank 0 prints and writes the files\n", group->world_size(),
               group->backend());
  }
  return group;
}

}  // namespace fresco::cli
