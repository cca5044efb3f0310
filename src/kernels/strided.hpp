// SPDX-License-Identifier: Apache-2.0
#pragma once
// Loops over strided n-d views: the shared machinery of copies, broadcasting
// binary ops and reductions. Dimensions that can be merged are merged first,
// so most calls run one flat inner loop.

#include <cstdint>
#include <vector>

namespace fresco::kernels {

/// Geometry of up to three operands over one iteration shape (strides in elements).
struct StridedLoop {
  std::vector<int64_t> shape;
  std::vector<int64_t> strides[3];
  int operands = 1;
};

/// Builds a loop over `shape` for operands with the given strides, merging
/// adjacent dims that are contiguous for every operand and dropping size-1 dims.
StridedLoop make_loop(const std::vector<int64_t>& shape, const std::vector<std::vector<int64_t>>& strides);

/// dst (contiguous, row-major in `shape`) = src viewed with `strides`.
void copy_strided(float* dst, const float* src, const std::vector<int64_t>& shape,
                  const std::vector<int64_t>& strides);

}  // namespace fresco::kernels

namespace fresco::kernels {
/// dst viewed with `dst_strides` = src viewed with `src_strides`, both over `shape`.
void copy_strided2(float* dst, const std::vector<int64_t>& dst_strides, const float* src,
                   const std::vector<int64_t>& src_strides, const std::vector<int64_t>& shape);
}  // namespace fresco::kernels
