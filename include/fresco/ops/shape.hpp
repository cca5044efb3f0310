// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file
/// Joining and gathering. (Views — reshape, permute, transpose, slice,
/// expand — are members of Tensor.)

#include <vector>

#include <fresco/tensor/tensor.hpp>

namespace fresco {

/// Joins tensors along an existing dim: [2,3] and [4,3] along 0 -> [6,3].
Tensor cat(const std::vector<Tensor>& tensors, int64_t dim);
/// Joins tensors along a new dim: two [2,3] along 0 -> [2,2,3].
Tensor stack(const std::vector<Tensor>& tensors, int64_t dim);
/// Picks entries of `dim` in the order of `index` (repeats allowed): [5,3], dim 0, {4,0,4} -> [3,3].
Tensor index_select(const Tensor& x, int64_t dim, const std::vector<int64_t>& index);

}  // namespace fresco
