// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file
/// Elementwise operations. Binary operations broadcast as PyTorch does
/// (shapes aligned from the right; a size-1 dim stretches): [4,1,3] + [2,3]
/// -> [4,2,3]. All are differentiable, including twice (create_graph).

#include <fresco/tensor/tensor.hpp>

namespace fresco {

/// Broadcast shape of a and b; throws ShapeError naming `op` when they do not broadcast.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);

Tensor operator+(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a, const Tensor& b);
Tensor operator*(const Tensor& a, const Tensor& b);
Tensor operator/(const Tensor& a, const Tensor& b);
Tensor operator+(const Tensor& a, float b);
Tensor operator-(const Tensor& a, float b);
Tensor operator*(const Tensor& a, float b);
Tensor operator/(const Tensor& a, float b);
Tensor operator+(float a, const Tensor& b);
Tensor operator-(float a, const Tensor& b);
Tensor operator*(float a, const Tensor& b);
Tensor operator/(float a, const Tensor& b);
Tensor operator-(const Tensor& a);

/// Elementwise maximum / minimum of two broadcast tensors (gradient to the larger / smaller; ties to a).
Tensor maximum(const Tensor& a, const Tensor& b);
Tensor minimum(const Tensor& a, const Tensor& b);

Tensor exp(const Tensor& x);
/// Natural logarithm (log of 0 is -inf, of a negative number NaN, as in PyTorch).
Tensor log(const Tensor& x);
Tensor sqrt(const Tensor& x);
/// x ** exponent.
Tensor pow(const Tensor& x, float exponent);
Tensor abs(const Tensor& x);
/// max(x, 0).
Tensor relu(const Tensor& x);
/// x if x > 0 else slope * x.
Tensor leaky_relu(const Tensor& x, float slope = 0.01f);
/// Gaussian error linear unit, exact (erf) form as torch.nn.functional.gelu.
Tensor gelu(const Tensor& x);
Tensor tanh(const Tensor& x);
Tensor sigmoid(const Tensor& x);
/// log(1 + exp(x)), computed stably.
Tensor softplus(const Tensor& x);
/// Clamps into [low, high] (gradient 1 inside, 0 outside).
Tensor clamp(const Tensor& x, float low, float high);

/// 1 where x > 0, else 0 (not differentiable: a constant).
Tensor step(const Tensor& x);
/// The same values, with `op`'s per-element formula; for the library's own backward passes:
/// d/dx of gelu evaluated at x.
Tensor gelu_grad(const Tensor& x);

}  // namespace fresco
