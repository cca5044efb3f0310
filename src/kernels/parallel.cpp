// SPDX-License-Identifier: Apache-2.0
#include "kernels/parallel.hpp"

#include <algorithm>
#include <atomic>
#include <omp.h>

namespace fresco::kernels {
namespace {
// Read by every kernel on every thread: atomic, and the same for all of them (OpenMP's own
// count, omp_set_num_threads, belongs to the thread that sets it), so that a user's threads
// split work, and round reductions, exactly as the main thread does.
std::atomic<int> g_threads{0};  // 0: not set yet, use OpenMP's default
}  // namespace

int threads() {
  int n = g_threads.load(std::memory_order_relaxed);
  if (n == 0) {
    int expected = 0;
    g_threads.compare_exchange_strong(expected, std::max(1, omp_get_max_threads()), std::memory_order_relaxed);
    n = g_threads.load(std::memory_order_relaxed);
  }
  return n;
}

void set_threads(int n) {
  g_threads.store(std::max(1, n), std::memory_order_relaxed);
  omp_set_num_threads(std::max(1, n));
}

void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& body) {
  if (n <= 0) return;
  const int64_t t = threads();
  int64_t chunks = std::min<int64_t>(t, (n + std::max<int64_t>(grain, 1) - 1) / std::max<int64_t>(grain, 1));
  if (chunks <= 1 || omp_in_parallel()) {
    body(0, n);
    return;
  }
  // Static split: chunk c covers [c*n/chunks, (c+1)*n/chunks), whichever thread runs it.
#pragma omp parallel for num_threads(chunks) schedule(static, 1)
  for (int64_t c = 0; c < chunks; ++c) body(c * n / chunks, (c + 1) * n / chunks);
}

}  // namespace fresco::kernels
