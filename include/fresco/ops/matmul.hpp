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

}  // namespace fresco
