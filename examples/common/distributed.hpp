// SPDX-License-Identifier: Apache-2.0
#pragma once
// What the training programs do when started by mpirun (or srun): join the
// world, and let rank 0 alone print and write files. The same command line
// runs one process or N.
#include <cstdio>
#include <memory>

#include <fresco/dist/process_group.hpp>

namespace fresco::cli {

/// `dist::world()`. On every rank but 0, stdout and stderr go to /dev/null
/// (`error_stream()` still reaches the terminal, for the error that ends a
/// run); on rank 0 of several, one line says how many processes train.
/// Call it before printing anything.
std::shared_ptr<dist::ProcessGroup> join_world();

/// The group `join_world` returned, or null before it was called.
std::shared_ptr<dist::ProcessGroup> joined_world();

/// Where the error that ends a run is printed: stderr, or on a silenced
/// rank a copy of the stderr it had.
std::FILE* error_stream();

/// True on the process that writes files and reports (rank 0).
inline bool writes_files(const dist::ProcessGroup& group) { return group.rank() == 0; }

}  // namespace fresco::cli
