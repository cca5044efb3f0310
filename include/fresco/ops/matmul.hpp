// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file
/// Matrix products, on oneDNN's GEMM. Transposed operands (views from
/// `transpose`) are read in place, without copies.

#include <fresco/tensor/tensor.hpp>

namespace fresco {

/// As torch.matmul: [M,K] x [K,N] -> [M,N]; [...,M,K] x [...,K,N] -> [...,M,N] with
/// broadcast batch dims; 1-d operands are promoted and the added dim removed.
Tensor matmul(const Tensor& a, const Tensor& b);

/// x · weightᵀ + bias, as torch.nn.functional.linear: x [..., in], weight [out, in],
/// bias [out] or undefined -> [..., out]. One GEMM with the bias fused.
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = {});

/// gelu(linear(x, weight, bias)), same shapes. When no gradient is recorded, one GEMM
/// applies the bias and gelu to its result while it is in cache (no second pass over
/// [..., out]); otherwise exactly the composed ops.
Tensor linear_gelu(const Tensor& x, const Tensor& weight, const Tensor& bias = {});

}  // namespace fresco
