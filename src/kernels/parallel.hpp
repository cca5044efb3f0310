// SPDX-License-Identifier: Apache-2.0
#pragma once
// Parallel loops for the memory-bound kernels. The split of [0, n) into
// chunks depends only on n and the thread count, never on scheduling, so
// reductions built on it are bitwise repeatable.

#include <cstdint>
#include <functional>

namespace fresco::kernels {

/// Threads the library uses (OpenMP's and oneDNN's).
int threads();
void set_threads(int n);

/// Calls body(begin, end) over disjoint chunks covering [0, n), in parallel when
/// n is at least `grain`. Chunk boundaries are a pure function of n, grain and threads().
void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& body);

}  // namespace fresco::kernels
