// SPDX-License-Identifier: Apache-2.0
#pragma once
// Branch-free float exp and erfc-based helpers that the compiler vectorises
// inside elementwise loops (std::exp and std::erf are scalar library calls
// there, 10-20x slower per element).
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>

namespace fresco::kernels {

/// exp(x) = 2^n · exp(r), n = round(x / ln 2), |r| <= ln2 / 2 (Cody–Waite split of
/// ln 2); exp(r) by its Taylor series to degree 7 (relative error < 1e-8 before
/// rounding). Below -87.3 the result is flushed to 0, so exp(-inf) = 0; NaN propagates.
inline float exp_fast(float x) {
  const float xc = std::min(std::max(x, -87.3f), 88.3f);
  const float magic = 12582912.f;  // 1.5 · 2^23: adding it rounds to an integer in the low mantissa bits
  const float t = xc * 1.44269504088896341f + magic;
  const float n = t - magic;
  const int32_t ni = std::bit_cast<int32_t>(t) - std::bit_cast<int32_t>(magic);
  const float r = (xc - n * 0.693145751953125f) - n * 1.428606765330187e-06f;
  float p = 1.f / 5040.f;
  p = p * r + 1.f / 720.f;
  p = p * r + 1.f / 120.f;
  p = p * r + 1.f / 24.f;
  p = p * r + 1.f / 6.f;
  p = p * r + 0.5f;
  p = p * r + 1.f;
  p = p * r + 1.f;
  const float scale = std::bit_cast<float>(static_cast<int32_t>(static_cast<uint32_t>(ni + 127) << 23));
  const float e = p * scale;
  return x < -87.3f ? 0.f : e;
}

/// tanh(x) = sign(x) · (1 − e) / (1 + e), e = exp(−2|x|); below |x| = 0.125, where 1 − e
/// cancels, its Taylor series to x⁷ (relative error < 2e-9 there). Relative error < 1e-6
/// overall; ±1 beyond |x| ≈ 9, NaN propagates.
inline float tanh_fast(float x) {
  const float a = std::fabs(x);
  const float e = exp_fast(-2.f * a);
  const float big = (1.f - e) / (1.f + e);
  const float x2 = a * a;
  const float small = a * (1.f + x2 * (-1.f / 3.f + x2 * (2.f / 15.f + x2 * (-17.f / 315.f))));
  const float t = a < 0.125f ? small : big;
  return std::copysign(t, x);
}

/// erfc(a) for a >= 0 from e = exp(-a²) (Abramowitz & Stegun 7.1.26, absolute error
/// <= 1.5e-7), for callers that need exp(-a²) themselves and compute it once.
inline float erfc_from_exp(float a, float e) {
  const float t = 1.f / (1.f + 0.3275911f * a);
  const float poly = ((((1.061405429f * t - 1.453152027f) * t + 1.421413741f) * t - 0.284496736f) * t + 0.254829592f) * t;
  return poly * e;
}

/// 1 + erf(z), without the cancellation of computing erf first for negative z
/// (Abramowitz & Stegun 7.1.26: erfc(|z|) = P(t)·exp(-z²), t = 1/(1 + 0.3275911|z|),
/// absolute error <= 1.5e-7).
inline float one_plus_erf(float z) {
  const float a = std::fabs(z);
  const float erfc_a = erfc_from_exp(a, exp_fast(-a * a));
  return z >= 0.f ? 2.f - erfc_a : erfc_a;
}

/// Σ_{i < n} f(i) in `Lanes` interleaved float partial sums, combined pairwise. One running
/// float sum is a chain of dependent adds that the compiler may not reorder, so it runs one
/// element at a time (~3x slower for a layer-norm row of 128); the lanes vectorise.
template <int Lanes, class F>
float lane_sum(int64_t n, F f) {
  static_assert(Lanes > 0 && (Lanes & (Lanes - 1)) == 0, "lane_sum: Lanes must be a power of two");
  float acc[Lanes] = {};
  int64_t i = 0;
  for (; i + Lanes <= n; i += Lanes)
    for (int l = 0; l < Lanes; ++l) acc[l] += f(i + l);
  for (int l = 0; i < n; ++i, ++l) acc[l] += f(i);
  for (int w = Lanes / 2; w > 0; w /= 2)
    for (int l = 0; l < w; ++l) acc[l] += acc[l + w];
  return acc[0];
}

/// Eight floats in one AVX register. GCC/Clang vector types keep running sums in
/// registers (plain float arrays get spilled to the stack on every step);
/// aligned(4) makes loads and stores unaligned ones.
typedef float Vec8 __attribute__((vector_size(32), aligned(4)));

inline Vec8 load8(const float* x) { return *reinterpret_cast<const Vec8*>(x); }
inline void store8(float* x, Vec8 v) { *reinterpret_cast<Vec8*>(x) = v; }

/// The 8 × 8 tile r (row i = r[i]) transposed in place: three rounds of lane shuffles,
/// where element-wise copies cost 64 scattered stores. __builtin_shufflevector (constant
/// lane indices, 0-7 from the first operand, 8-15 from the second) exists in GCC and Clang.
inline void transpose8x8_regs(Vec8 (&r)[8]) {
  Vec8 t[8];
  for (int i = 0; i < 8; i += 2) {  // interleave rows pairwise within 128-bit halves
    t[i] = __builtin_shufflevector(r[i], r[i + 1], 0, 8, 1, 9, 4, 12, 5, 13);
    t[i + 1] = __builtin_shufflevector(r[i], r[i + 1], 2, 10, 3, 11, 6, 14, 7, 15);
  }
  for (int i = 0; i < 8; i += 4)  // then pairs of pairs
    for (int j = 0; j < 2; ++j) {
      r[i + 2 * j] = __builtin_shufflevector(t[i + j], t[i + j + 2], 0, 1, 8, 9, 4, 5, 12, 13);
      r[i + 2 * j + 1] = __builtin_shufflevector(t[i + j], t[i + j + 2], 2, 3, 10, 11, 6, 7, 14, 15);
    }
  for (int i = 0; i < 4; ++i) {  // then the 128-bit halves of rows i and i + 4
    t[i] = __builtin_shufflevector(r[i], r[i + 4], 0, 1, 2, 3, 8, 9, 10, 11);
    t[i + 4] = __builtin_shufflevector(r[i], r[i + 4], 4, 5, 6, 7, 12, 13, 14, 15);
  }
  for (int i = 0; i < 8; ++i) r[i] = t[i];
}

}  // namespace fresco::kernels
