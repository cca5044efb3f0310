// SPDX-License-Identifier: Apache-2.0
#pragma once
// Fused inference ops behind nn::Sequential's layer fusion. Not part of the API.

#include <fresco/tensor/tensor.hpp>

namespace fresco::detail {

/// Inference (never recorded): conv2d(upsample_nearest2d(x, 2), w, b, padding 1), then relu when
/// `relu`. x [N, C, H, W], w [K, C, 3, 3], b [K] or undefined -> [N, K, 2H, 2W]. Equal to the
/// separate ops up to float rounding.
Tensor upsample2_conv3x3(const Tensor& x, const Tensor& w, const Tensor& b, bool relu);

}  // namespace fresco::detail
