// SPDX-License-Identifier: Apache-2.0
#pragma once
// Reductions over a contiguous [outer, R, inner] block: out[o, i] = Σ_r x[o, r, i].
// The order of additions depends only on the sizes, never on the thread
// count or scheduling, so results are bitwise repeatable.

#include <cstdint>

namespace fresco::kernels {

void sum_block(float* out, const float* x, int64_t outer, int64_t R, int64_t inner);
/// Per row of [rows, R]: the maximum and the index of its first occurrence (NaN counts as largest).
void max_rows(float* values, int64_t* indices, const float* x, int64_t rows, int64_t R);

}  // namespace fresco::kernels
