// SPDX-License-Identifier: Apache-2.0
#pragma once
// Fused row softmax kernels over contiguous rows, parallel across rows.
// Legend: R rows, C row length; x input, y output, dy/dx gradients.

#include <cstdint>

namespace fresco::kernels {

/// y[r] = softmax(x[r]) (or log_softmax when `log`), one row of C at a time. y may alias x.
void softmax_forward(float* y, const float* x, int64_t R, int64_t C, bool log);

/// Backward of softmax_forward from its output y:
/// softmax:     dx = scale · y ⊙ (dy − Σ dy⊙y)
/// log_softmax: dx = scale · (dy − exp(y) Σ dy)
/// dx may alias dy.
void softmax_backward(float* dx, const float* dy, const float* y, int64_t R, int64_t C, bool log, float scale = 1.f);

/// Scores -> attention probabilities, in place over p [BH, Tq, Tk] (BH = batch·heads):
/// p = softmax(p·scale + mask) per row, where key j of query i is dropped when
/// `causal` and j > i (unless both are below `prefix`: a prefix read both ways),
/// or when the mask is -inf. A row with every key dropped becomes zeros. `mask` (may be null) is read at
/// mask[b·mask_strides[0] + h·mask_strides[1] + i·mask_strides[2] + j·mask_strides[3]]
/// for bh = b·H + h (strides 0 on broadcast dims).
void attention_softmax(float* p, int64_t B, int64_t H, int64_t Tq, int64_t Tk, float scale, const float* mask,
                       const int64_t mask_strides[4], bool causal, int64_t prefix = 0);

/// lse[r] = log Σ_c exp(x[r, c]) (computed stably).
void logsumexp_rows(float* lse, const float* x, int64_t R, int64_t C);

/// Cross-entropy gradient: dx[r] = coef · (exp(x[r] − lse[r]) − onehot(target[r])),
/// and dx[r] = 0 for rows whose target is `ignore_index`.
void cross_entropy_backward(float* dx, const float* x, const float* lse, const int64_t* target, int64_t R,
                            int64_t C, int64_t ignore_index, float coef);

}  // namespace fresco::kernels
