// SPDX-License-Identifier: Apache-2.0
// Batch norm with channels as the parallel unit: one channel's N planes are read once
// from memory for its statistics and then, while they are still in cache, again to
// normalise (forward) or to form dx (backward). Each channel's sums are added in a fixed
// order, so results do not depend on the thread count.
// Legend: N batch, C channels, HW elements per plane.
#include "kernels/batch_norm.hpp"

#include <algorithm>
#include <cmath>

#include "kernels/parallel.hpp"
#include "kernels/vec_math.hpp"

namespace fresco::kernels {
namespace {

constexpr int kLanes = 8;   // interleaved partial sums of the plane reductions (lane_sum)

/// y = x · scale + shift over channel c's N planes.
void normalise_channel(float* y, const float* x, float scale, float shift, int64_t c, int64_t N, int64_t C,
                       int64_t HW) {
  for (int64_t n = 0; n < N; ++n) {
    const float* xp = x + (n * C + c) * HW;
    float* yp = y + (n * C + c) * HW;
    for (int64_t i = 0; i < HW; ++i) yp[i] = xp[i] * scale + shift;
  }
}

/// Channels per parallel chunk: at least ~32K elements of work each.
int64_t channel_grain(int64_t N, int64_t HW) { return std::max<int64_t>(1, (1 << 15) / std::max<int64_t>(N * HW, 1)); }

}  // namespace

void batch_norm_forward_train(float* y, float* mean, float* var, float* rstd, const float* x, const float* weight,
                              const float* bias, int64_t N, int64_t C, int64_t HW, float eps) {
  const double count = static_cast<double>(N * HW);
  parallel_for(C, channel_grain(N, HW), [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      double s = 0;
      for (int64_t n = 0; n < N; ++n) {
        const float* xp = x + (n * C + c) * HW;
        s += lane_sum<kLanes>(HW, [xp](int64_t i) { return xp[i]; });
      }
      const float m = static_cast<float>(s / count);
      // Two-pass variance: no cancellation when |mean| ≫ std.
      double v = 0;
      for (int64_t n = 0; n < N; ++n) {
        const float* xp = x + (n * C + c) * HW;
        v += lane_sum<kLanes>(HW, [xp, m](int64_t i) { return (xp[i] - m) * (xp[i] - m); });
      }
      const float vc = static_cast<float>(v / count);
      const float rs = 1.f / std::sqrt(vc + eps);
      mean[c] = m;
      var[c] = vc;
      rstd[c] = rs;
      const float scale = rs * (weight ? weight[c] : 1.f);
      normalise_channel(y, x, scale, (bias ? bias[c] : 0.f) - m * scale, c, N, C, HW);
    }
  });
}

void batch_norm_forward_stats(float* y, const float* x, const float* mean, const float* rstd, const float* weight,
                              const float* bias, int64_t N, int64_t C, int64_t HW) {
  parallel_for(C, channel_grain(N, HW), [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      const float scale = rstd[c] * (weight ? weight[c] : 1.f);
      normalise_channel(y, x, scale, (bias ? bias[c] : 0.f) - mean[c] * scale, c, N, C, HW);
    }
  });
}

void batch_norm_backward(float* dx, float* dweight, float* dbias, const float* dy, const float* x, const float* mean,
                         const float* rstd, const float* weight, int64_t N, int64_t C, int64_t HW, bool batch_stats) {
  const double count = static_cast<double>(N * HW);
  const bool sums = dweight || dbias || (dx && batch_stats);
  parallel_for(C, channel_grain(N, HW), [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      const float m = mean[c], rs = rstd[c], w = weight ? weight[c] : 1.f;
      // Σ dy and Σ dy ⊙ (x − mean); the second times rstd is Σ dy ⊙ x̂.
      double sdy = 0, sdyx = 0;
      if (sums)
        for (int64_t n = 0; n < N; ++n) {
          const float* xp = x + (n * C + c) * HW;
          const float* gp = dy + (n * C + c) * HW;
          sdy += lane_sum<kLanes>(HW, [gp](int64_t i) { return gp[i]; });
          sdyx += lane_sum<kLanes>(HW, [gp, xp, m](int64_t i) { return gp[i] * (xp[i] - m); });
        }
      if (dweight) dweight[c] = static_cast<float>(sdyx * rs);
      if (dbias) dbias[c] = static_cast<float>(sdy);
      if (!dx) continue;
      // dx = k · dy + a · (x − mean) + b, with k = rstd·w and, under batch statistics,
      // a = −k · rstd² · mean(dy ⊙ (x − mean)) and b = −k · mean(dy).
      const float k = rs * w;
      const float a = batch_stats ? static_cast<float>(-k * rs * rs * (sdyx / count)) : 0.f;
      const float b = batch_stats ? static_cast<float>(-k * (sdy / count)) : 0.f;
      for (int64_t n = 0; n < N; ++n) {
        const float* xp = x + (n * C + c) * HW;
        const float* gp = dy + (n * C + c) * HW;
        float* dp = dx + (n * C + c) * HW;
        for (int64_t i = 0; i < HW; ++i) dp[i] = k * gp[i] + a * (xp[i] - m) + b;
      }
    }
  });
}

}  // namespace fresco::kernels
