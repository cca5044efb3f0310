// SPDX-License-Identifier: Apache-2.0
#include "kernels/layer_norm.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/parallel.hpp"
#include "kernels/vec_math.hpp"

namespace fresco::kernels {
namespace {
// Rows per block of the dweight/dbias partial sums: fixed, so the order of
// additions does not depend on the thread count.
constexpr int64_t kRowBlock = 64;

int64_t row_grain(int64_t C) { return std::max<int64_t>(1, 16384 / std::max<int64_t>(C, 1)); }

// Interleaved partial sums of the row reductions (lane_sum).
constexpr int kLanes = 16;

}  // namespace

void layer_norm_forward(float* out, float* mean, float* rstd, const float* x, const float* weight, const float* bias,
                        int64_t R, int64_t C, float eps) {
  parallel_for(R, row_grain(C), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* xr = x + r * C;
      float* o = out + r * C;
      const float m = lane_sum<kLanes>(C, [xr](int64_t c) { return xr[c]; }) / static_cast<float>(C);
      // Two-pass variance: no cancellation when |mean| ≫ std.
      const float v = lane_sum<kLanes>(C, [xr, m](int64_t c) { return (xr[c] - m) * (xr[c] - m); });
      const float rs = 1.f / std::sqrt(v / static_cast<float>(C) + eps);
      if (weight && bias)
        for (int64_t c = 0; c < C; ++c) o[c] = (xr[c] - m) * rs * weight[c] + bias[c];
      else if (weight)
        for (int64_t c = 0; c < C; ++c) o[c] = (xr[c] - m) * rs * weight[c];
      else if (bias)
        for (int64_t c = 0; c < C; ++c) o[c] = (xr[c] - m) * rs + bias[c];
      else
        for (int64_t c = 0; c < C; ++c) o[c] = (xr[c] - m) * rs;
      mean[r] = m;
      rstd[r] = rs;
    }
  });
}

void layer_norm_backward(float* dx, float* dweight, float* dbias, const float* dout, const float* x, const float* mean,
                         const float* rstd, const float* weight, int64_t R, int64_t C) {
  const bool params = dweight || dbias;
  const int64_t blocks = (R + kRowBlock - 1) / kRowBlock;
  // Per-block partial sums [blocks, C] of dout ⊙ x̂ and dout, reduced in block order below.
  std::vector<float> pw(params ? blocks * C : 0), pb(params ? blocks * C : 0);
  parallel_for(blocks, std::max<int64_t>(1, row_grain(C) / kRowBlock), [&](int64_t b0, int64_t b1) {
    std::vector<float> dxhat(C);
    for (int64_t blk = b0; blk < b1; ++blk) {
      float* sw = params ? pw.data() + blk * C : nullptr;
      float* sb = params ? pb.data() + blk * C : nullptr;
      if (params) std::fill(sw, sw + C, 0.f), std::fill(sb, sb + C, 0.f);
      for (int64_t r = blk * kRowBlock; r < std::min(R, (blk + 1) * kRowBlock); ++r) {
        const float* g = dout + r * C;
        const float* xr = x + r * C;
        const float m = mean[r], rs = rstd[r];
        if (params)
          for (int64_t c = 0; c < C; ++c) {
            sw[c] += g[c] * (xr[c] - m) * rs;
            sb[c] += g[c];
          }
        if (!dx) continue;
        // x̂ = (x − mean)·rstd; dx = rstd·(dx̂ − mean(dx̂) − x̂·mean(dx̂ ⊙ x̂)): the
        // two means are the gradients flowing through mean and rstd.
        if (weight)
          for (int64_t c = 0; c < C; ++c) dxhat[c] = g[c] * weight[c];
        else
          std::copy(g, g + C, dxhat.begin());
        const float* d = dxhat.data();
        const float a = lane_sum<kLanes>(C, [d](int64_t c) { return d[c]; }) / static_cast<float>(C);
        const float b = lane_sum<kLanes>(C, [d, xr, m, rs](int64_t c) { return d[c] * (xr[c] - m) * rs; }) / static_cast<float>(C);
        float* o = dx + r * C;
        for (int64_t c = 0; c < C; ++c) o[c] = rs * (dxhat[c] - a - (xr[c] - m) * rs * b);
      }
    }
  });
  if (!params) return;
  if (dweight) std::fill(dweight, dweight + C, 0.f);
  if (dbias) std::fill(dbias, dbias + C, 0.f);
  for (int64_t blk = 0; blk < blocks; ++blk)
    for (int64_t c = 0; c < C; ++c) {
      if (dweight) dweight[c] += pw[blk * C + c];
      if (dbias) dbias[c] += pb[blk * C + c];
    }
}

}  // namespace fresco::kernels
