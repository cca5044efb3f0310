// SPDX-License-Identifier: Apache-2.0
#pragma once
// Fused optimizer updates: one pass over a parameter's contiguous memory
// reads param, grad and the state once and writes param and state once.
// Legend: n = elements of the parameter.

#include <cstdint>

namespace fresco::kernels {

/// Hyperparameters of one SGD step.
struct SgdStep {
  float lr, momentum, dampening, weight_decay;
  bool nesterov;
  /// First step of this parameter: the momentum buffer is set to the gradient.
  bool first;
};

/// In place: param (n), momentum_buffer (n; unused when momentum == 0); reads grad (n).
void sgd_update(float* param, float* momentum_buffer, const float* grad, int64_t n, const SgdStep& s);

/// Hyperparameters of one Adam / AdamW step.
struct AdamStep {
  float lr, beta1, beta2, eps, weight_decay;
  /// AdamW: decay the parameter directly (p *= 1 - lr·wd) instead of adding wd·p to the gradient.
  bool decoupled;
  /// This parameter's step number t, from 1 (for the bias corrections).
  int64_t step;
};

/// In place: param, exp_avg (m), exp_avg_sq (v), all n; reads grad (n).
void adam_update(float* param, float* exp_avg, float* exp_avg_sq, const float* grad, int64_t n, const AdamStep& s);

/// Σ x² in double precision.
double sum_squares(const float* x, int64_t n);

/// x *= scale, in place.
void scale_inplace(float* x, int64_t n, float scale);

}  // namespace fresco::kernels
