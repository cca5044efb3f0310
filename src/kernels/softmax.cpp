// SPDX-License-Identifier: Apache-2.0
// Row softmax kernels. Each row is read a few times while it sits in cache
// (max, then exp and sum, then scale), so memory sees one read and one write.
#include "kernels/softmax.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

#include "kernels/parallel.hpp"
#include "kernels/vec_math.hpp"

namespace fresco::kernels {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// Rows per parallel chunk: enough work per chunk to be worth a thread.
int64_t row_grain(int64_t C) { return std::max<int64_t>(1, 16384 / std::max<int64_t>(C, 1)); }

// Reductions keep kLanes partial results (a fixed order, so repeatable) so
// that the compiler can vectorise them without reassociating floats.
constexpr int kLanes = 16;

inline float row_max(const float* x, int64_t C) {
  float acc[kLanes];
  std::fill(acc, acc + kLanes, kNegInf);
  int64_t c = 0;
  for (; c + kLanes <= C; c += kLanes)
    for (int l = 0; l < kLanes; ++l) acc[l] = acc[l] > x[c + l] ? acc[l] : x[c + l];
  float m = kNegInf;
  for (int l = 0; l < kLanes; ++l) m = std::max(m, acc[l]);
  for (; c < C; ++c) m = std::max(m, x[c]);
  return m;
}

// Σ_c exp(x[c] − shift), also storing each exp into y when kStore (y may alias x).
template <bool kStore>
inline float exp_sum(float* y, const float* x, float shift, int64_t C) {
  float acc[kLanes] = {};
  int64_t c = 0;
  for (; c + kLanes <= C; c += kLanes)
    for (int l = 0; l < kLanes; ++l) {
      const float e = exp_fast(x[c + l] - shift);
      if constexpr (kStore) y[c + l] = e;
      acc[l] += e;
    }
  float s = 0.f;
  for (int l = 0; l < kLanes; ++l) s += acc[l];
  for (; c < C; ++c) {
    const float e = exp_fast(x[c] - shift);
    if constexpr (kStore) y[c] = e;
    s += e;
  }
  return s;
}

}  // namespace

void softmax_forward(float* y, const float* x, int64_t R, int64_t C, bool log) {
  parallel_for(R, row_grain(C), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* xr = x + r * C;
      float* yr = y + r * C;
      const float m = row_max(xr, C);
      // A row of -inf has no finite maximum: shift by 0 so the result is NaN, as PyTorch.
      const float shift = std::isinf(m) && m < 0 ? 0.f : m;
      if (log) {
        const float lse = shift + std::log(exp_sum<false>(nullptr, xr, shift, C));
        for (int64_t c = 0; c < C; ++c) yr[c] = xr[c] - lse;
      } else {
        const float sum = exp_sum<true>(yr, xr, shift, C);
        const float inv = 1.f / sum;
        for (int64_t c = 0; c < C; ++c) yr[c] *= inv;
      }
    }
  });
}

void softmax_backward(float* dx, const float* dy, const float* y, int64_t R, int64_t C, bool log, float scale) {
  parallel_for(R, row_grain(C), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* g = dy + r * C;
      const float* yr = y + r * C;
      float* d = dx + r * C;
      float s = 0.f;
      if (log) {
        // d/dx of x − lse: dy − softmax · Σ dy, with softmax = exp(y).
        for (int64_t c = 0; c < C; ++c) s += g[c];
        for (int64_t c = 0; c < C; ++c) d[c] = scale * (g[c] - exp_fast(yr[c]) * s);
      } else {
        // Jacobian of softmax: diag(y) − y yᵀ, so dx = y ⊙ (dy − ⟨dy, y⟩).
        for (int64_t c = 0; c < C; ++c) s += g[c] * yr[c];
        for (int64_t c = 0; c < C; ++c) d[c] = scale * yr[c] * (g[c] - s);
      }
    }
  });
}

void attention_softmax(float* p, int64_t B, int64_t H, int64_t Tq, int64_t Tk, float scale, const float* mask,
                       const int64_t mask_strides[4], bool causal, int64_t prefix) {
  const int64_t rows = B * H * Tq;
  parallel_for(rows, row_grain(Tk), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t i = r % Tq, bh = r / Tq, h = bh % H, b = bh / H;
      float* pr = p + r * Tk;
      // Causal (top-left aligned, as PyTorch's is_causal): keys j ≤ i only, or j < prefix inside the prefix.
      const int64_t n = causal ? std::min(std::max(i + 1, prefix), Tk) : Tk;
      if (mask) {
        const float* mr = mask + b * mask_strides[0] + h * mask_strides[1] + i * mask_strides[2];
        const int64_t ms = mask_strides[3];
        if (ms == 1)
          for (int64_t j = 0; j < n; ++j) pr[j] = pr[j] * scale + mr[j];
        else
          for (int64_t j = 0; j < n; ++j) pr[j] = pr[j] * scale + mr[j * ms];
      } else {
        for (int64_t j = 0; j < n; ++j) pr[j] *= scale;
      }
      const float m = row_max(pr, n);
      if (!(m > kNegInf)) {  // every key dropped (or none left): zeros, not NaN
        std::fill(pr, pr + Tk, 0.f);
        continue;
      }
      const float inv = 1.f / exp_sum<true>(pr, pr, m, n);
      for (int64_t j = 0; j < n; ++j) pr[j] *= inv;
      std::fill(pr + n, pr + Tk, 0.f);
    }
  });
}

void logsumexp_rows(float* lse, const float* x, int64_t R, int64_t C) {
  parallel_for(R, row_grain(C), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* xr = x + r * C;
      const float m = row_max(xr, C);
      const float shift = std::isinf(m) ? 0.f : m;
      lse[r] = shift + std::log(exp_sum<false>(nullptr, xr, shift, C));
    }
  });
}

void cross_entropy_backward(float* dx, const float* x, const float* lse, const int64_t* target, int64_t R,
                            int64_t C, int64_t ignore_index, float coef) {
  parallel_for(R, row_grain(C), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      float* d = dx + r * C;
      if (target[r] == ignore_index) {
        std::fill(d, d + C, 0.f);
        continue;
      }
      const float* xr = x + r * C;
      const float l = lse[r];
      for (int64_t c = 0; c < C; ++c) d[c] = coef * exp_fast(xr[c] - l);
      d[target[r]] -= coef;
    }
  });
}

}  // namespace fresco::kernels
