// SPDX-License-Identifier: Apache-2.0
#include "kernels/parallel.hpp"

#include <algorithm>
#include <omp.h>

namespace fresco::kernels {
namespace {
int g_threads = 0;  // 0: not set yet, use OpenMP's default
}

int threads() {
  if (g_threads == 0) g_threads = std::max(1, omp_get_max_threads());
  return g_threads;
}

void set_threads(int n) {
  g_threads = std::max(1, n);
  omp_set_num_threads(g_threads);
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
