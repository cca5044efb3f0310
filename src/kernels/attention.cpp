// SPDX-License-Identifier: Apache-2.0
// Fused attention, one (batch, head) block per task. Attention heads are small
// (T and D in the tens), where batched library GEMMs spend more time in setup
// than in arithmetic; here each block is copied once into small zero-padded
// buffers in L1 (k and v also transposed), and every product is a sum of
// rows, Σ_r a[r]·B[r, 8 lanes], over blocks of 8 output lanes kept in
// registers (`sum_rows`), with several partial sums in flight to hide the
// multiply-add latency.
//   S = q·kᵀ·scale + mask,  P = softmax(S),  O = P·v
//   dV = Pᵀ·dO,  dP = dO·vᵀ,  dS = P ⊙ (dP − rowsum(dP ⊙ P)),  dq = dS·k·scale,  dk = dSᵀ·q·scale
// With `causal`, query i sees keys j ≤ i only, or j < prefix for a query inside the prefix:
// loops over j stop at max(i + 1, prefix).
#include "kernels/attention.hpp"

#include <algorithm>
#include <limits>
#include <vector>

#include "kernels/parallel.hpp"
#include "kernels/vec_math.hpp"

namespace fresco::kernels {
namespace {

constexpr int64_t kLanes = 8;  // one AVX register of floats
constexpr int kChains = 4;     // independent partial sums in sum_rows8

inline int64_t padded(int64_t n) { return (n + kLanes - 1) / kLanes * kLanes; }

// Blocks per parallel chunk: at least 256k multiply-adds per chunk, so that one
// short sequence (a single caption: 4 heads of 32) runs on the calling thread
// rather than paying for waking the others.
int64_t block_grain(const AttentionShape& s) {
  const int64_t work = std::max<int64_t>(1, s.Tq * s.Tk * (s.D + s.Dv));
  return std::max<int64_t>(1, (int64_t{1} << 18) / work);
}

inline float* at(const HeadsRef& r, int64_t b, int64_t h, int64_t t) {
  return r.data + b * r.b_stride + h * r.h_stride + t * r.t_stride;
}


// c[0, 8) = Σ_{r < R} a[r·as] · B[r·ldb + (0, 8)]. The partial sums run in
// kChains chains (r mod kChains), added in a fixed order at the end.
inline void sum_rows8(float* c, const float* a, int64_t as, const float* B, int64_t ldb, int64_t R) {
  Vec8 acc[kChains] = {};
  int64_t r = 0;
  for (; r + kChains <= R; r += kChains)
    for (int u = 0; u < kChains; ++u) acc[u] += a[(r + u) * as] * load8(B + (r + u) * ldb);
  for (; r < R; ++r) acc[0] += a[r * as] * load8(B + r * ldb);
  store8(c, (acc[0] + acc[1]) + (acc[2] + acc[3]));
}

// c[0, width) = Σ_{r < R} a[r·as] · B[r·ldb + (0, width)], width a multiple of kLanes:
// four 8-lane blocks side by side share each a[r].
inline void sum_rows(float* c, const float* a, int64_t as, const float* B, int64_t ldb, int64_t R, int64_t width) {
  int64_t l = 0;
  for (; l + 4 * kLanes <= width; l += 4 * kLanes) {
    Vec8 a0 = {}, a1 = {}, a2 = {}, a3 = {};
    for (int64_t r = 0; r < R; ++r) {
      const float x = a[r * as];
      const float* br = B + r * ldb + l;
      a0 += x * load8(br);
      a1 += x * load8(br + 8);
      a2 += x * load8(br + 16);
      a3 += x * load8(br + 24);
    }
    store8(c + l, a0), store8(c + l + 8, a1), store8(c + l + 16, a2), store8(c + l + 24, a3);
  }
  for (; l < width; l += kLanes) sum_rows8(c + l, a, as, B + l, ldb, R);
}

// Two rows at once, sharing every load of B: c0 = Σ_r a0[r·as] B[r], c1 = Σ_r a1[r·as] B[r]
// over width lanes (a multiple of kLanes). Each 32-lane block keeps 8 sums in registers.
inline void sum_rows_pair(float* c0, float* c1, const float* a0, const float* a1, int64_t as, const float* B,
                          int64_t ldb, int64_t R, int64_t width) {
  int64_t l = 0;
  for (; l + 4 * kLanes <= width; l += 4 * kLanes) {
    Vec8 s0 = {}, s1 = {}, s2 = {}, s3 = {}, t0 = {}, t1 = {}, t2 = {}, t3 = {};
    for (int64_t r = 0; r < R; ++r) {
      const float x0 = a0[r * as], x1 = a1[r * as];
      const float* br = B + r * ldb + l;
      const Vec8 b0 = load8(br), b1 = load8(br + 8), b2 = load8(br + 16), b3 = load8(br + 24);
      s0 += x0 * b0, s1 += x0 * b1, s2 += x0 * b2, s3 += x0 * b3;
      t0 += x1 * b0, t1 += x1 * b1, t2 += x1 * b2, t3 += x1 * b3;
    }
    store8(c0 + l, s0), store8(c0 + l + 8, s1), store8(c0 + l + 16, s2), store8(c0 + l + 24, s3);
    store8(c1 + l, t0), store8(c1 + l + 8, t1), store8(c1 + l + 16, t2), store8(c1 + l + 24, t3);
  }
  for (; l < width; l += kLanes) {
    sum_rows8(c0 + l, a0, as, B + l, ldb, R);
    sum_rows8(c1 + l, a1, as, B + l, ldb, R);
  }
}

// Softmax over r[0, n) in place, r padded with -inf up to a multiple of kLanes
// (so every loop runs over whole 8-lane blocks); a row of -inf becomes zeros.
// The same values as softmax.cpp's rows, up to the order of the sum.
inline void softmax_padded(float* r, int64_t n) {
  const int64_t np = padded(n);
  std::fill(r + n, r + np, -std::numeric_limits<float>::infinity());
  float m8[kLanes];
  std::copy(r, r + kLanes, m8);
  for (int64_t j = kLanes; j < np; j += kLanes)
    for (int l = 0; l < kLanes; ++l) m8[l] = std::max(m8[l], r[j + l]);
  float m = m8[0];
  for (int l = 1; l < kLanes; ++l) m = std::max(m, m8[l]);
  if (!(m > -std::numeric_limits<float>::infinity())) {
    std::fill(r, r + np, 0.f);
    return;
  }
  float s8[kLanes] = {};
  for (int64_t j = 0; j < np; j += kLanes)
    for (int l = 0; l < kLanes; ++l) {
      const float e = exp_fast(r[j + l] - m);
      r[j + l] = e;
      s8[l] += e;
    }
  float sum = 0.f;
  for (int l = 0; l < kLanes; ++l) sum += s8[l];
  const float inv = 1.f / sum;
  for (int64_t j = 0; j < np; ++j) r[j] *= inv;
}

// dst [T, ld] = x[b, h] [T, n], zero-padded to ld columns.
void load_rows(float* dst, int64_t ld, const HeadsRef& x, int64_t b, int64_t h, int64_t T, int64_t n) {
  for (int64_t t = 0; t < T; ++t) {
    const float* row = at(x, b, h, t);
    std::copy(row, row + n, dst + t * ld);
    std::fill(dst + t * ld + n, dst + (t + 1) * ld, 0.f);
  }
}

// dst [8, ldd] = src [8, lds] transposed (one 8 x 8 tile): eight row loads, the shuffles,
// eight row stores.
inline void transpose8x8(float* dst, int64_t ldd, const float* src, int64_t lds) {
  Vec8 r[8];
  for (int i = 0; i < 8; ++i) r[i] = load8(src + i * lds);
  transpose8x8_regs(r);
  for (int i = 0; i < 8; ++i) store8(dst + i * ldd, r[i]);
}

// dst [n, ld] = x[b, h] [T, n] transposed, zero-padded to ld columns.
void load_transposed(float* dst, int64_t ld, const HeadsRef& x, int64_t b, int64_t h, int64_t T, int64_t n) {
  for (int64_t d = 0; d < n; ++d) std::fill(dst + d * ld + T, dst + (d + 1) * ld, 0.f);
  const float* base = at(x, b, h, 0);
  int64_t t = 0;
  for (; t + kLanes <= T; t += kLanes) {
    int64_t d = 0;
    for (; d + kLanes <= n; d += kLanes) transpose8x8(dst + d * ld + t, ld, base + t * x.t_stride + d, x.t_stride);
    for (; d < n; ++d)
      for (int64_t u = t; u < t + kLanes; ++u) dst[d * ld + u] = base[u * x.t_stride + d];
  }
  for (; t < T; ++t) {
    const float* row = base + t * x.t_stride;
    for (int64_t d = 0; d < n; ++d) dst[d * ld + t] = row[d];
  }
}

// out row [0, n) = the first n of the padded row c.
inline void store(float* out, const float* c, int64_t n) { std::copy(c, c + n, out); }

// out row [0, n) = scale · c[0, n).
inline void scaled_store(float* out, const float* c, int64_t n, float scale) {
  for (int64_t d = 0; d < n; ++d) out[d] = c[d] * scale;
}

// Keys query i may see: [0, n).
inline int64_t visible(const AttentionShape& s, int64_t i) {
  return s.causal ? std::min(std::max(i + 1, s.prefix), s.Tk) : s.Tk;
}
// Queries that may see key j: [i0, Tq).
inline int64_t first_query(const AttentionShape& s, int64_t j) {
  return s.causal && j >= s.prefix ? std::min(j, s.Tq) : 0;
}

}  // namespace

void attention_forward(HeadsRef out, float* p, HeadsRef q, HeadsRef k, HeadsRef v, const AttentionShape& s) {
  const int64_t Tq = s.Tq, Tk = s.Tk, D = s.D, Dv = s.Dv;
  const int64_t Tkp = padded(Tk), Dvp = padded(Dv);
  parallel_for(s.B * s.H, block_grain(s), [&](int64_t bh0, int64_t bh1) {
    std::vector<float> kt(static_cast<size_t>(D * Tkp)), vp(static_cast<size_t>(Tk * Dvp));
    std::vector<float> qp(static_cast<size_t>(Tq * D));
    std::vector<float> row(static_cast<size_t>(2 * Dvp)), srow(static_cast<size_t>(2 * Tkp));
    for (int64_t bh = bh0; bh < bh1; ++bh) {
      const int64_t b = bh / s.H, h = bh % s.H;
      load_rows(qp.data(), D, q, b, h, Tq, D);
      load_transposed(kt.data(), Tkp, k, b, h, Tk, D);
      load_rows(vp.data(), Dvp, v, b, h, Tk, Dv);
      // Rows in pairs (i, i + 1), the second of a pair seeing the most keys; the last
      // row of an odd count is paired with itself.
      for (int64_t i = 0; i < Tq; i += 2) {
        const int64_t i1 = std::min(i + 1, Tq - 1), n1 = visible(s, i1);
        float* sr[2] = {srow.data(), srow.data() + Tkp};
        // S[i, :n] = Σ_d q[i, d] kᵀ[d, :n], then · scale + mask, softmax
        sum_rows_pair(sr[0], sr[1], qp.data() + i * D, qp.data() + i1 * D, 1, kt.data(), Tkp, D, padded(n1));
        for (int u = 0; u < 2; ++u) {
          const int64_t r = u ? i1 : i, n = visible(s, r);
          float* x = sr[u];
          for (int64_t j = 0; j < n; ++j) x[j] *= s.scale;
          if (s.mask) {
            const int64_t* ms = s.mask_strides;
            const float* mr = s.mask + b * ms[0] + h * ms[1] + r * ms[2];
            for (int64_t j = 0; j < n; ++j) x[j] += mr[j * ms[3]];
          }
          softmax_padded(x, n);
          std::fill(x + padded(n), x + Tkp, 0.f);
          float* pr = p + (bh * Tq + r) * Tk;
          std::copy(x, x + Tk, pr);
        }
        // O[i] = Σ_{j < n} P[i, j] v[j]
        float* o[2] = {row.data(), row.data() + Dvp};
        sum_rows_pair(o[0], o[1], sr[0], sr[1], 1, vp.data(), Dvp, n1, Dvp);
        store(at(out, b, h, i), o[0], Dv);
        if (i1 != i) store(at(out, b, h, i1), o[1], Dv);
      }
    }
  });
}

void attention_backward(HeadsRef dq, HeadsRef dk, HeadsRef dv, float* ds, HeadsRef dout, const float* p, HeadsRef q,
                        HeadsRef k, HeadsRef v, const AttentionShape& s) {
  const int64_t Tq = s.Tq, Tk = s.Tk, D = s.D, Dv = s.Dv;
  const int64_t Tkp = padded(Tk), Dp = padded(D), Dvp = padded(Dv);
  const bool want_scores = dq.data || dk.data || ds;
  parallel_for(s.B * s.H, block_grain(s), [&](int64_t bh0, int64_t bh1) {
    std::vector<float> gp(static_cast<size_t>(Tq * Dvp)), vt(static_cast<size_t>(Dv * Tkp));
    std::vector<float> kp(static_cast<size_t>(Tk * Dp)), qp(static_cast<size_t>(Tq * Dp));
    const int64_t rw = std::max({Tkp, Dp, Dvp});
    std::vector<float> dsb(static_cast<size_t>(Tq * Tkp)), row(static_cast<size_t>(2 * rw));
    for (int64_t bh = bh0; bh < bh1; ++bh) {
      const int64_t b = bh / s.H, h = bh % s.H;
      const float* pb = p + bh * Tq * Tk;
      load_rows(gp.data(), Dvp, dout, b, h, Tq, Dv);
      // Rows in pairs as in the forward; where a pair's first row starts later
      // (causal), the second row's extra term is P = 0 or dS = 0.
      float* r0 = row.data();
      float* r1 = row.data() + rw;
      if (dv.data)  // dV[j] = Σ_{i ≥ i0} P[i, j] dO[i]
        for (int64_t j = 0; j < Tk; j += 2) {
          const int64_t j1 = std::min(j + 1, Tk - 1), i0 = first_query(s, j);
          sum_rows_pair(r0, r1, pb + i0 * Tk + j, pb + i0 * Tk + j1, Tk, gp.data() + i0 * Dvp, Dvp, Tq - i0, Dvp);
          store(at(dv, b, h, j), r0, Dv);
          if (j1 != j) store(at(dv, b, h, j1), r1, Dv);
        }
      if (!want_scores) continue;
      load_transposed(vt.data(), Tkp, v, b, h, Tk, Dv);
      for (int64_t i = 0; i < Tq; i += 2) {
        // dP[i, :n] = Σ_d dO[i, d] vᵀ[d, :n], then dS = P ⊙ (dP − ⟨dP, P⟩), zero past n
        const int64_t i1 = std::min(i + 1, Tq - 1);
        float* dsr[2] = {dsb.data() + i * Tkp, i1 != i ? dsb.data() + i1 * Tkp : r1};
        sum_rows_pair(dsr[0], dsr[1], gp.data() + i * Dvp, gp.data() + i1 * Dvp, 1, vt.data(), Tkp, Dv,
                      padded(visible(s, i1)));
        for (int u = 0; u < 2 && (u == 0 || i1 != i); ++u) {
          const int64_t r = u ? i1 : i, n = visible(s, r);
          const float* pr = pb + r * Tk;
          float* x = dsr[u];
          float dot = 0.f;
          for (int64_t j = 0; j < n; ++j) dot += x[j] * pr[j];
          for (int64_t j = 0; j < n; ++j) x[j] = pr[j] * (x[j] - dot);
          std::fill(x + n, x + Tkp, 0.f);
          if (ds) std::copy(x, x + Tk, ds + (bh * Tq + r) * Tk);
        }
      }
      if (dq.data) {  // dq[i] = scale Σ_{j < n} dS[i, j] k[j]
        load_rows(kp.data(), Dp, k, b, h, Tk, D);
        for (int64_t i = 0; i < Tq; i += 2) {
          const int64_t i1 = std::min(i + 1, Tq - 1);
          sum_rows_pair(r0, r1, dsb.data() + i * Tkp, dsb.data() + i1 * Tkp, 1, kp.data(), Dp, visible(s, i1), Dp);
          scaled_store(at(dq, b, h, i), r0, D, s.scale);
          if (i1 != i) scaled_store(at(dq, b, h, i1), r1, D, s.scale);
        }
      }
      if (dk.data) {  // dk[j] = scale Σ_{i ≥ i0} dS[i, j] q[i]
        load_rows(qp.data(), Dp, q, b, h, Tq, D);
        for (int64_t j = 0; j < Tk; j += 2) {
          const int64_t j1 = std::min(j + 1, Tk - 1), i0 = first_query(s, j);
          sum_rows_pair(r0, r1, dsb.data() + i0 * Tkp + j, dsb.data() + i0 * Tkp + j1, Tkp, qp.data() + i0 * Dp, Dp,
                        Tq - i0, Dp);
          scaled_store(at(dk, b, h, j), r0, D, s.scale);
          if (j1 != j) scaled_store(at(dk, b, h, j1), r1, D, s.scale);
        }
      }
    }
  });
}

}  // namespace fresco::kernels
