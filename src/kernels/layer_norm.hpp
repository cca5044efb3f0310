// SPDX-License-Identifier: Apache-2.0
#pragma once
// Fused layer norm over contiguous rows, as llm.c's layernorm_forward/backward.
// Legend: R rows (B·T), C normalised features per row.

#include <cstdint>

namespace fresco::kernels {

/// out[r] = (x[r] − mean[r]) · rstd[r] ⊙ weight + bias, saving mean[r] and
/// rstd[r] = 1 / sqrt(var[r] + eps) (biased variance) for the backward.
/// weight and bias may be null (1 and 0).
void layer_norm_forward(float* out, float* mean, float* rstd, const float* x, const float* weight, const float* bias,
                        int64_t R, int64_t C, float eps);

/// From dout [R, C]: dx [R, C] = rstd · (dx̂ − mean(dx̂) − x̂ · mean(dx̂ ⊙ x̂)) with dx̂ = dout ⊙ weight,
/// dweight [C] = Σ_r dout ⊙ x̂, dbias [C] = Σ_r dout (all overwritten). Any output may be null;
/// weight may be null (1). The sums over rows use a fixed split: bitwise repeatable.
void layer_norm_backward(float* dx, float* dweight, float* dbias, const float* dout, const float* x, const float* mean,
                         const float* rstd, const float* weight, int64_t R, int64_t C);

}  // namespace fresco::kernels
