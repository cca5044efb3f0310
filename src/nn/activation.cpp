// SPDX-License-Identifier: Apache-2.0
#include <fresco/nn/activation.hpp>

#include <fresco/ops/elementwise.hpp>

namespace fresco::nn {

Tensor ReLU::forward(const Tensor& x) const { return relu(x); }
Tensor LeakyReLU::forward(const Tensor& x) const { return leaky_relu(x, slope_); }
Tensor GELU::forward(const Tensor& x) const { return gelu(x); }
Tensor Tanh::forward(const Tensor& x) const { return tanh(x); }
Tensor Sigmoid::forward(const Tensor& x) const { return sigmoid(x); }

}  // namespace fresco::nn
