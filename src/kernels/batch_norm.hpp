// SPDX-License-Identifier: Apache-2.0
#pragma once
// Fused batch norm over contiguous [N, C, H, W] tensors: statistics per channel over
// N, H, W. Legend: N batch, C channels, HW = H·W elements per plane.

#include <cstdint>

namespace fresco::kernels {

/// Training: mean[c] and var[c] (biased) over N, H, W, rstd[c] = 1 / sqrt(var[c] + eps),
/// y = (x − mean) · rstd ⊙ weight + bias. weight and bias may be null (1 and 0).
void batch_norm_forward_train(float* y, float* mean, float* var, float* rstd, const float* x, const float* weight,
                              const float* bias, int64_t N, int64_t C, int64_t HW, float eps);

/// With given statistics (eval): y = (x − mean) · rstd ⊙ weight + bias, weight and bias may be null.
void batch_norm_forward_stats(float* y, const float* x, const float* mean, const float* rstd, const float* weight,
                              const float* bias, int64_t N, int64_t C, int64_t HW);

/// From dy [N, C, H, W]: dweight [C] = Σ dy ⊙ x̂, dbias [C] = Σ dy and dx, x̂ = (x − mean) · rstd, all
/// overwritten. With `batch_stats` (training) mean and rstd are functions of x:
///   dx = rstd · w · (dy − mean(dy) − x̂ · mean(dy ⊙ x̂));
/// otherwise they are constants and dx = rstd · w · dy. Any output may be null; weight may be null (1).
void batch_norm_backward(float* dx, float* dweight, float* dbias, const float* dy, const float* x, const float* mean,
                         const float* rstd, const float* weight, int64_t N, int64_t C, int64_t HW, bool batch_stats);

}  // namespace fresco::kernels
