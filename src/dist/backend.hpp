// SPDX-License-Identifier: Apache-2.0
#pragma once
// The MPI backend's entry points (src/dist/mpi_group.cpp, compiled only when
// FRESCO_WITH_MPI is on). Private to the library: no public header sees MPI.
#include <memory>

#include <fresco/dist/process_group.hpp>

#ifndef FRESCO_WITH_MPI
#define FRESCO_WITH_MPI 0
#endif

namespace fresco::dist::detail {

#if FRESCO_WITH_MPI
/// Starts MPI (unless the program did) and returns the world's group.
std::shared_ptr<ProcessGroup> mpi_world();
/// MPI_Abort on the world when MPI runs with several processes; otherwise nothing.
void mpi_abort(int code);
#endif

}  // namespace fresco::dist::detail
