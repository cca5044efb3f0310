// SPDX-License-Identifier: Apache-2.0
#include "kernels/reduce.hpp"

#include <cmath>
#include <vector>

#include "kernels/parallel.hpp"
#include "kernels/vec_math.hpp"

namespace fresco::kernels {
namespace {

constexpr int kLanes = 16;
constexpr int64_t kChunk = 1 << 14;  // partial sums of long rows: fixed size, so the order is fixed

// Σ x[0..n) with 16 independent accumulators (vectorisable, and more accurate
// than one running sum), combined pairwise.
float sum_contiguous(const float* x, int64_t n) { return lane_sum<kLanes>(n, [x](int64_t i) { return x[i]; }); }

// y[0, 32) = Σ_{r < R} x[r·ld + (0, 32)], the running sums in four registers (a loop
// over y in memory loads and stores it once per row). Each column is summed in row
// order, as the generic loop does, so the results are the same.
inline void column_sums32(float* y, const float* x, int64_t R, int64_t ld) {
  Vec8 a0 = {}, a1 = {}, a2 = {}, a3 = {};
  for (int64_t r = 0; r < R; ++r) {
    const Vec8* row = reinterpret_cast<const Vec8*>(x + r * ld);
    a0 += row[0], a1 += row[1], a2 += row[2], a3 += row[3];
  }
  Vec8* out = reinterpret_cast<Vec8*>(y);
  out[0] = a0, out[1] = a1, out[2] = a2, out[3] = a3;
}

}  // namespace

void sum_block(float* out, const float* x, int64_t outer, int64_t R, int64_t inner) {
  if (inner == 1) {
    if (outer == 1 && R > 2 * kChunk) {
      // One long row: fixed chunks in parallel, then the partials in order.
      const int64_t chunks = (R + kChunk - 1) / kChunk;
      std::vector<float> partial(chunks);
      parallel_for(chunks, 1, [&](int64_t c0, int64_t c1) {
        for (int64_t c = c0; c < c1; ++c)
          partial[c] = sum_contiguous(x + c * kChunk, std::min(kChunk, R - c * kChunk));
      });
      out[0] = sum_contiguous(partial.data(), chunks);
      return;
    }
    parallel_for(outer, std::max<int64_t>(1, 32768 / std::max<int64_t>(R, 1)), [&](int64_t o0, int64_t o1) {
      for (int64_t o = o0; o < o1; ++o) out[o] = sum_contiguous(x + o * R, R);
    });
    return;
  }
  // Columns: each output row accumulates the R input rows in order.
  const int64_t tile = 256;
  const int64_t tiles = (inner + tile - 1) / tile;
  parallel_for(outer * tiles, std::max<int64_t>(1, 64 / std::max<int64_t>(R, 1)), [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t o = t / tiles, i0 = (t % tiles) * tile, i1 = std::min(inner, i0 + tile);
      float* y = out + o * inner;
      const float* base = x + o * R * inner;
      int64_t i = i0;
      for (; i + 32 <= i1; i += 32) column_sums32(y + i, base + i, R, inner);
      for (int64_t k = i; k < i1; ++k) y[k] = 0.f;
      for (int64_t r = 0; r < R && i < i1; ++r) {
        const float* row = base + r * inner;
        for (int64_t k = i; k < i1; ++k) y[k] += row[k];
      }
    }
  });
}

void max_rows(float* values, int64_t* indices, const float* x, int64_t rows, int64_t R) {
  parallel_for(rows, std::max<int64_t>(1, 32768 / std::max<int64_t>(R, 1)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* row = x + r * R;
      int64_t best = 0;
      float v = row[0];
      for (int64_t j = 1; j < R; ++j) {
        if (std::isnan(v)) break;
        if (row[j] > v || std::isnan(row[j])) {
          v = row[j];
          best = j;
        }
      }
      values[r] = v;
      if (indices) indices[r] = best;
    }
  });
}

}  // namespace fresco::kernels
