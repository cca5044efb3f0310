// SPDX-License-Identifier: Apache-2.0
#pragma once
// Elementwise loops over contiguous memory, parallel across threads, with the
// per-element formula inlined (templates: the compiler vectorises each one).
// Legend: n elements; y output; a, b, c inputs.

#include <cstdint>
#include <vector>

#include "kernels/parallel.hpp"
#include "kernels/strided.hpp"

namespace fresco::kernels {

/// Elements per chunk below which a loop is not worth splitting across threads.
constexpr int64_t kElementwiseGrain = 1 << 15;

// Each chunk works on its own copy of f: a formula's captured values (a slope, a scale)
// then live in registers, where otherwise they are reloaded from memory that y might
// alias, and the loop does not vectorise.
template <class F>
void map1(float* y, const float* a, int64_t n, F f) {
  parallel_for(n, kElementwiseGrain, [&](int64_t b0, int64_t b1) {
    F fl = f;
    for (int64_t i = b0; i < b1; ++i) y[i] = fl(a[i]);
  });
}

template <class F>
void map2(float* y, const float* a, const float* b, int64_t n, F f) {
  parallel_for(n, kElementwiseGrain, [&](int64_t b0, int64_t b1) {
    F fl = f;
    for (int64_t i = b0; i < b1; ++i) y[i] = fl(a[i], b[i]);
  });
}

template <class F>
void map3(float* y, const float* a, const float* b, const float* c, int64_t n, F f) {
  parallel_for(n, kElementwiseGrain, [&](int64_t b0, int64_t b1) {
    F fl = f;
    for (int64_t i = b0; i < b1; ++i) y[i] = fl(a[i], b[i], c[i]);
  });
}

/// y (contiguous, `shape`) = f(a, b) where a and b are read with strides
/// `sa`, `sb` over `shape` (0 on broadcast dims).
template <class F>
void broadcast2(float* y, const float* a, const std::vector<int64_t>& sa, const float* b,
                const std::vector<int64_t>& sb, const std::vector<int64_t>& shape, F f) {
  int64_t n = 1;
  for (int64_t s : shape) n *= s;
  if (n == 0) return;
  std::vector<int64_t> sy(shape.size());
  for (int64_t d = static_cast<int64_t>(shape.size()) - 1, st = 1; d >= 0; --d) {
    sy[d] = st;
    st *= shape[d];
  }
  const StridedLoop loop = make_loop(shape, {sa, sb, sy});
  const int64_t nd = static_cast<int64_t>(loop.shape.size());
  const int64_t inner = loop.shape.back();
  const int64_t ia = loop.strides[0].back(), ib = loop.strides[1].back();
  const int64_t rows = n / inner;
  parallel_for(rows, std::max<int64_t>(1, kElementwiseGrain / inner), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      int64_t rem = r, oa = 0, ob = 0;
      for (int64_t d = nd - 2; d >= 0; --d) {
        const int64_t idx = rem % loop.shape[d];
        rem /= loop.shape[d];
        oa += idx * loop.strides[0][d];
        ob += idx * loop.strides[1][d];
      }
      const float* pa = a + oa;
      const float* pb = b + ob;
      float* py = y + r * inner;
      // The common stride patterns get their own loops so they vectorise.
      if (ia == 1 && ib == 1) {
        for (int64_t i = 0; i < inner; ++i) py[i] = f(pa[i], pb[i]);
      } else if (ia == 1 && ib == 0) {
        const float vb = *pb;
        for (int64_t i = 0; i < inner; ++i) py[i] = f(pa[i], vb);
      } else if (ia == 0 && ib == 1) {
        const float va = *pa;
        for (int64_t i = 0; i < inner; ++i) py[i] = f(va, pb[i]);
      } else {
        for (int64_t i = 0; i < inner; ++i) py[i] = f(pa[i * ia], pb[i * ib]);
      }
    }
  });
}

}  // namespace fresco::kernels
