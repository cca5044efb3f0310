// SPDX-License-Identifier: Apache-2.0
#pragma once
// Seeded re-initialisation of the GAN modules, so that a config's `seed`
// alone fixes the initial weights (the layers themselves draw from the
// global generator).
#include <cmath>
#include <string>

#include <fresco/autograd/autograd.hpp>
#include <fresco/nn/module.hpp>
#include <fresco/tensor/random.hpp>

namespace fresco::gan::detail {

/// Every parameter with two or more dims ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in))
/// (PyTorch's default for Linear and Conv2d), fan_in = numel / size(0);
/// one-dim parameters keep their constructor values (zero biases, unit
/// LayerNorm gains). Draws in `named_parameters()` order from Generator(seed).
inline void reinit_uniform(nn::Module& module, uint64_t seed) {
  NoGradGuard guard;
  fresco::Generator gen(seed);
  for (auto& [name, p] : module.named_parameters()) {
    if (p.dim() < 2) {
      if (name.size() >= 4 && name.compare(name.size() - 4, 4, "bias") == 0) {
        float* d = p.data();
        for (int64_t i = 0; i < p.numel(); ++i) d[i] = 0.f;
      }
      continue;
    }
    const float bound = 1.f / std::sqrt(static_cast<float>(p.numel() / p.size(0)));
    float* d = p.data();
    for (int64_t i = 0; i < p.numel(); ++i) d[i] = (2.f * gen.uniform() - 1.f) * bound;
  }
}

/// Sets every element of `t` (a contiguous parameter) to zero.
inline void fill_zero(Tensor& t) {
  NoGradGuard guard;
  float* d = t.data();
  for (int64_t i = 0; i < t.numel(); ++i) d[i] = 0.f;
}

}  // namespace fresco::gan::detail
