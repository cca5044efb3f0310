// SPDX-License-Identifier: Apache-2.0
#pragma once
// PyTorch's default initialisations, drawn from the global generator under
// NoGradGuard so that manual_seed makes them repeatable.
#include <cmath>

#include <fresco/autograd/autograd.hpp>
#include <fresco/tensor/tensor.hpp>

namespace fresco::nn::detail {

/// Kaiming-uniform with a = sqrt(5) (torch.nn.init.kaiming_uniform_ as Linear and
/// Conv use it): gain = sqrt(2 / (1 + a²)) = sqrt(1/3), bound = gain · sqrt(3 / fan_in)
/// = 1 / sqrt(fan_in). The bias uses the same bound, so both are U(-b, b).
inline float default_bound(int64_t fan_in) { return fan_in > 0 ? 1.f / std::sqrt(static_cast<float>(fan_in)) : 0.f; }

inline Tensor uniform_init(const Shape& shape, float bound) {
  NoGradGuard guard;
  return uniform(shape, -bound, bound);
}

/// Xavier (Glorot) uniform: bound = sqrt(6 / (fan_in + fan_out)).
inline Tensor xavier_uniform_init(const Shape& shape, int64_t fan_in, int64_t fan_out) {
  return uniform_init(shape, std::sqrt(6.f / static_cast<float>(fan_in + fan_out)));
}

}  // namespace fresco::nn::detail
