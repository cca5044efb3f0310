// SPDX-License-Identifier: Apache-2.0
#pragma once
// Fused inference ops behind nn::Sequential's layer fusion. Not part of the API.

#include <fresco/tensor/tensor.hpp>

namespace fresco::detail {

/// conv2d(upsample_nearest2d(x, 2), w, b, padding 1), then relu when `relu` (only when no
/// gradient is recorded). x [N, C, H, W], w [K, C, 3, 3], b [K] or undefined -> [N, K, 2H, 2W].
/// `w_scale` [K] (undefined, or only when no gradient is recorded) scales each output
/// channel's weights: a batch norm folded in. Recorded as one op when an input requires a
/// gradient. Equal to the separate ops up to float rounding, in value and gradients.
Tensor upsample2_conv3x3(const Tensor& x, const Tensor& w, const Tensor& b, bool relu,
                         const Tensor& w_scale = Tensor());

}  // namespace fresco::detail
