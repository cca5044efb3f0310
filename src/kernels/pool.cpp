// SPDX-License-Identifier: Apache-2.0
// Pooling: each (n, c) plane is independent, so planes are the parallel unit and the
// backward scatters need no atomics. Small problems stay on one thread.
// Legend: N batch, C channels, H W input size, R S window size, P Q output size.
#include "kernels/conv.hpp"

#include <algorithm>
#include <cstdint>

namespace fresco::kernels {

namespace {
constexpr int64_t kPoolParallelMin = 1 << 15;  // output elements
}

void max_pool2d_forward(float* y, int32_t* argmax, const float* x, const PoolGeometry& g) {
  const int64_t planes = g.N * g.C;
#pragma omp parallel for if (planes * g.P * g.Q >= kPoolParallelMin)
  for (int64_t nc = 0; nc < planes; ++nc) {
    const float* xp = x + nc * g.H * g.W;
    float* yp = y + nc * g.P * g.Q;
    int32_t* ap = argmax ? argmax + nc * g.P * g.Q : nullptr;
    for (int64_t p = 0; p < g.P; ++p)
      for (int64_t q = 0; q < g.Q; ++q) {
        const int64_t h0 = p * g.stride_h, w0 = q * g.stride_w;
        // First maximum wins, and a NaN propagates (as PyTorch).
        int64_t best = h0 * g.W + w0;
        float best_v = xp[best];
        for (int64_t r = 0; r < g.R; ++r)
          for (int64_t s = 0; s < g.S; ++s) {
            const int64_t i = (h0 + r) * g.W + (w0 + s);
            if (xp[i] > best_v || (xp[i] != xp[i] && best_v == best_v)) {
              best_v = xp[i];
              best = i;
            }
          }
        yp[p * g.Q + q] = best_v;
        if (ap) ap[p * g.Q + q] = static_cast<int32_t>(best);
      }
  }
}

void max_pool2d_backward(float* dx, const float* dy, const int32_t* argmax, const PoolGeometry& g) {
  const int64_t planes = g.N * g.C;
#pragma omp parallel for if (planes * g.H * g.W >= kPoolParallelMin)
  for (int64_t nc = 0; nc < planes; ++nc) {
    float* dxp = dx + nc * g.H * g.W;
    const float* dyp = dy + nc * g.P * g.Q;
    const int32_t* ap = argmax + nc * g.P * g.Q;
    std::fill(dxp, dxp + g.H * g.W, 0.0f);
    // Overlapping windows may pick the same input: gradients add up.
    for (int64_t o = 0; o < g.P * g.Q; ++o) dxp[ap[o]] += dyp[o];
  }
}

void avg_pool2d_forward(float* y, const float* x, const PoolGeometry& g) {
  const int64_t planes = g.N * g.C;
  const float inv = 1.0f / float(g.R * g.S);
#pragma omp parallel for if (planes * g.P * g.Q >= kPoolParallelMin)
  for (int64_t nc = 0; nc < planes; ++nc) {
    const float* xp = x + nc * g.H * g.W;
    float* yp = y + nc * g.P * g.Q;
    for (int64_t p = 0; p < g.P; ++p)
      for (int64_t q = 0; q < g.Q; ++q) {
        const float* xw = xp + p * g.stride_h * g.W + q * g.stride_w;
        float s = 0;
        for (int64_t r = 0; r < g.R; ++r)
          for (int64_t c = 0; c < g.S; ++c) s += xw[r * g.W + c];
        yp[p * g.Q + q] = s * inv;
      }
  }
}

void avg_pool2d_backward(float* dx, const float* dy, const PoolGeometry& g) {
  const int64_t planes = g.N * g.C;
  const float inv = 1.0f / float(g.R * g.S);
#pragma omp parallel for if (planes * g.H * g.W >= kPoolParallelMin)
  for (int64_t nc = 0; nc < planes; ++nc) {
    float* dxp = dx + nc * g.H * g.W;
    const float* dyp = dy + nc * g.P * g.Q;
    std::fill(dxp, dxp + g.H * g.W, 0.0f);
    for (int64_t p = 0; p < g.P; ++p)
      for (int64_t q = 0; q < g.Q; ++q) {
        float* dxw = dxp + p * g.stride_h * g.W + q * g.stride_w;
        const float d = dyp[p * g.Q + q] * inv;
        for (int64_t r = 0; r < g.R; ++r)
          for (int64_t c = 0; c < g.S; ++c) dxw[r * g.W + c] += d;
      }
  }
}

}  // namespace fresco::kernels
