// SPDX-License-Identifier: Apache-2.0
// Optimizer updates as single fused loops, with the papers' names.
// Memory-bound: each element is read and written once, chunks run in parallel.
#include "kernels/optim.hpp"

#include <cmath>

#include "kernels/parallel.hpp"

namespace fresco::kernels {

namespace {
constexpr int64_t kGrain = 1 << 14;
}

// SGD with momentum, as torch.optim.SGD (Sutskever et al. 2013 in PyTorch's form):
//   g ← g + λ·θ                       (weight decay λ)
//   b ← μ·b + (1 − τ)·g               (b ← g on the first step)
//   g ← g + μ·b  (Nesterov)  or  g ← b
//   θ ← θ − γ·g
void sgd_update(float* param, float* momentum_buffer, const float* grad, int64_t n, const SgdStep& s) {
  parallel_for(n, kGrain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      float g = grad[i];
      if (s.weight_decay != 0.f) g += s.weight_decay * param[i];
      if (s.momentum != 0.f) {
        float& b = momentum_buffer[i];
        b = s.first ? g : s.momentum * b + (1.f - s.dampening) * g;
        g = s.nesterov ? g + s.momentum * b : b;
      }
      param[i] -= s.lr * g;
    }
  });
}

// Adam (Kingma & Ba 2015, Algorithm 1) in PyTorch's arithmetic:
//   AdamW: θ ← θ·(1 − γλ)  (Loshchilov & Hutter 2019, decoupled)    Adam: g ← g + λθ (L2)
//   m ← β1·m + (1 − β1)·g
//   v ← β2·v + (1 − β2)·g²
//   θ ← θ − γ/(1 − β1ᵗ) · m / (sqrt(v)/sqrt(1 − β2ᵗ) + ε)
void adam_update(float* param, float* exp_avg, float* exp_avg_sq, const float* grad, int64_t n, const AdamStep& s) {
  const double t = static_cast<double>(s.step);
  const double bias_correction1 = 1.0 - std::pow(static_cast<double>(s.beta1), t);
  const double bias_correction2 = 1.0 - std::pow(static_cast<double>(s.beta2), t);
  const float step_size = static_cast<float>(s.lr / bias_correction1);
  const float inv_sqrt_bc2 = static_cast<float>(1.0 / std::sqrt(bias_correction2));
  const float decay = s.decoupled ? 1.f - s.lr * s.weight_decay : 1.f;
  const float l2 = s.decoupled ? 0.f : s.weight_decay;
  const float b1 = s.beta1, b2 = s.beta2, eps = s.eps;
  // Captured by value: pointers and constants then live in registers. Read through
  // references to the enclosing frame (which the stores might alias) the loop does
  // not vectorise, and runs ~4x slower.
  parallel_for(n, kGrain, [=](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      float p = param[i] * decay;
      const float g = grad[i] + l2 * param[i];
      const float m = b1 * exp_avg[i] + (1.f - b1) * g;
      const float v = b2 * exp_avg_sq[i] + (1.f - b2) * g * g;
      exp_avg[i] = m;
      exp_avg_sq[i] = v;
      param[i] = p - step_size * m / (std::sqrt(v) * inv_sqrt_bc2 + eps);
    }
  });
}

double sum_squares(const float* x, int64_t n) {
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += static_cast<double>(x[i]) * x[i];
  return s;
}

void scale_inplace(float* x, int64_t n, float scale) {
  parallel_for(n, kGrain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) x[i] *= scale;
  });
}

}  // namespace fresco::kernels
