// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file
/// Reductions. `dims` may be negative (counted from the end); `keepdim`
/// keeps reduced dims with size 1. Results are bitwise repeatable for a
/// given thread count (the work is split the same way every time).

#include <fresco/tensor/tensor.hpp>

namespace fresco {

/// Sum of all elements -> 0-d tensor.
Tensor sum(const Tensor& x);
/// Sum over `dims`: [2,3,4] over {1} -> [2,4] (or [2,1,4] with keepdim).
Tensor sum(const Tensor& x, Shape dims, bool keepdim = false);
/// Mean of all elements -> 0-d tensor.
Tensor mean(const Tensor& x);
Tensor mean(const Tensor& x, Shape dims, bool keepdim = false);
/// Maximum along `dim` (values; the gradient goes to the first maximal element).
Tensor max(const Tensor& x, int64_t dim, bool keepdim = false);
/// Index of the first maximum along `dim`, as floats holding integers. Not differentiable.
Tensor argmax(const Tensor& x, int64_t dim);
/// Sum of `x` over its broadcast dims so that it has `shape` (undoes broadcasting;
/// the one place broadcast gradients are reduced).
Tensor sum_to(const Tensor& x, const Shape& shape);

}  // namespace fresco
