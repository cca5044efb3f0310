// SPDX-License-Identifier: Apache-2.0
#include "kernels/strided.hpp"

#include <cstring>

#include "kernels/parallel.hpp"

namespace fresco::kernels {

StridedLoop make_loop(const std::vector<int64_t>& shape, const std::vector<std::vector<int64_t>>& strides) {
  StridedLoop loop;
  loop.operands = static_cast<int>(strides.size());
  // Walk from the innermost dim outwards, merging dim d into the current
  // innermost group when every operand steps contiguously across it.
  for (int64_t d = static_cast<int64_t>(shape.size()) - 1; d >= 0; --d) {
    if (shape[d] == 1) continue;
    if (!loop.shape.empty()) {
      bool mergeable = true;
      for (int o = 0; o < loop.operands; ++o)
        if (strides[o][d] != loop.strides[o].front() * loop.shape.front()) mergeable = false;
      if (mergeable) {
        loop.shape.front() *= shape[d];
        continue;
      }
    }
    loop.shape.insert(loop.shape.begin(), shape[d]);
    for (int o = 0; o < loop.operands; ++o) loop.strides[o].insert(loop.strides[o].begin(), strides[o][d]);
  }
  if (loop.shape.empty()) {  // a single element
    loop.shape.push_back(1);
    for (int o = 0; o < loop.operands; ++o) loop.strides[o].push_back(1);
  }
  return loop;
}

void copy_strided(float* dst, const float* src, const std::vector<int64_t>& shape,
                  const std::vector<int64_t>& strides) {
  int64_t n = 1;
  for (int64_t s : shape) n *= s;
  if (n == 0) return;
  std::vector<int64_t> dst_strides(shape.size());
  int64_t st = 1;
  for (int64_t d = static_cast<int64_t>(shape.size()) - 1; d >= 0; --d) {
    dst_strides[d] = st;
    st *= shape[d];
  }
  const StridedLoop loop = make_loop(shape, {strides, dst_strides});
  const int64_t inner = loop.shape.back();
  const int64_t sin = loop.strides[0].back();
  const int64_t rows = n / inner;
  const int64_t nd = static_cast<int64_t>(loop.shape.size());
  parallel_for(rows, std::max<int64_t>(1, 32768 / inner), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      // Offset of row r in the source: unravel r over the outer dims.
      int64_t rem = r, off = 0;
      for (int64_t d = nd - 2; d >= 0; --d) {
        off += (rem % loop.shape[d]) * loop.strides[0][d];
        rem /= loop.shape[d];
      }
      const float* s = src + off;
      float* t = dst + r * inner;
      if (sin == 1) {
        std::memcpy(t, s, sizeof(float) * inner);
      } else {
        for (int64_t i = 0; i < inner; ++i) t[i] = s[i * sin];
      }
    }
  });
}

}  // namespace fresco::kernels

namespace fresco::kernels {
void copy_strided2(float* dst, const std::vector<int64_t>& dst_strides, const float* src,
                   const std::vector<int64_t>& src_strides, const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t s : shape) n *= s;
  if (n == 0) return;
  const StridedLoop loop = make_loop(shape, {dst_strides, src_strides});
  const int64_t nd = static_cast<int64_t>(loop.shape.size());
  const int64_t inner = loop.shape.back();
  const int64_t sd = loop.strides[0].back(), ss = loop.strides[1].back();
  parallel_for(n / inner, std::max<int64_t>(1, 32768 / inner), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      int64_t rem = r, od = 0, os = 0;
      for (int64_t d = nd - 2; d >= 0; --d) {
        const int64_t idx = rem % loop.shape[d];
        rem /= loop.shape[d];
        od += idx * loop.strides[0][d];
        os += idx * loop.strides[1][d];
      }
      float* t = dst + od;
      const float* s = src + os;
      if (sd == 1 && ss == 1) {
        std::memcpy(t, s, sizeof(float) * inner);
      } else {
        for (int64_t i = 0; i < inner; ++i) t[i * sd] = s[i * ss];
      }
    }
  });
}
}  // namespace fresco::kernels
