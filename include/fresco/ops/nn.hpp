// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file
/// Neural-network operations: fused softmax, log-softmax, layer norm and
/// batch norm (one pass forward, one backward), embedding lookup and dropout.

#include <vector>

#include <fresco/tensor/tensor.hpp>

namespace fresco {

/// exp(x) / sum(exp(x)) along `dim`, computed stably.
Tensor softmax(const Tensor& x, int64_t dim);
/// x - logsumexp(x) along `dim`.
Tensor log_softmax(const Tensor& x, int64_t dim);
/// Normalises over the trailing `normalized_shape` dims: (x - mean) / sqrt(var + eps) * weight + bias,
/// biased variance, as torch.nn.functional.layer_norm. weight and bias have
/// `normalized_shape` or are undefined.
Tensor layer_norm(const Tensor& x, Shape normalized_shape, const Tensor& weight, const Tensor& bias,
                  float eps = 1e-5f);
/// Rows of `weight` [num, dim] picked by `ids` -> ids_shape + [dim]. Ids out of range throw.
Tensor embedding(const Tensor& weight, const std::vector<int64_t>& ids, Shape ids_shape);
/// In training, zeroes each element with probability p and scales the rest by 1/(1-p);
/// identity otherwise. Draws from the global generator.
Tensor dropout(const Tensor& x, float p, bool training);

/// Batch norm in training of x [N, C, H, W] over N, H and W, as torch.nn.functional.batch_norm
/// with training=True: (x − mean) / sqrt(var + eps) · weight + bias, with the batch's mean and
/// biased variance, which are also returned in `mean` and `var` ([C], not recorded: the caller
/// updates its running statistics from them). weight and bias are [C] or undefined. Needs
/// N·H·W > 0. Gradients flow through the batch statistics.
///
///     fresco::Tensor mean, var;
///     fresco::Tensor y = fresco::batch_norm_train(x, gamma, beta, 1e-5f, mean, var);   // [N, C, H, W]
Tensor batch_norm_train(const Tensor& x, const Tensor& weight, const Tensor& bias, float eps, Tensor& mean,
                        Tensor& var);

/// Batch norm with given statistics (eval mode), as torch.nn.functional.batch_norm with
/// training=False: (x − running_mean) / sqrt(running_var + eps) · weight + bias on x
/// [N, C, H, W]. The statistics ([C]) are constants, copied when the op runs; weight and
/// bias are [C] or undefined.
///
///     fresco::Tensor y = fresco::batch_norm_eval(x, running_mean, running_var, gamma, beta, 1e-5f);
Tensor batch_norm_eval(const Tensor& x, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                       const Tensor& bias, float eps = 1e-5f);

}  // namespace fresco
