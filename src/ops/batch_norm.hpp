// SPDX-License-Identifier: Apache-2.0
#pragma once
// The fused batch-norm op behind nn::BatchNorm2d. Not part of the API: the module is.

#include <fresco/tensor/tensor.hpp>

namespace fresco::detail {

/// Training batch norm of x [N, C, H, W] over N, H, W:
/// (x − mean) / sqrt(var + eps) · weight + bias, with the batch's mean and biased
/// variance, which are also returned in `mean` and `var` ([C], not recorded).
/// weight and bias are [C] or undefined.
Tensor batch_norm_train(const Tensor& x, const Tensor& weight, const Tensor& bias, float eps, Tensor& mean,
                        Tensor& var);

/// Batch norm with given statistics (eval mode): (x − running_mean) / sqrt(running_var + eps)
/// · weight + bias. The statistics are constants; weight and bias are [C] or undefined.
Tensor batch_norm_eval(const Tensor& x, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                       const Tensor& bias, float eps);

}  // namespace fresco::detail
