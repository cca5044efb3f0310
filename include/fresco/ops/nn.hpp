// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file
/// Neural-network operations: fused softmax, log-softmax and layer norm
/// (one pass forward, one backward), embedding lookup and dropout.

#include <vector>

#include <fresco/tensor/random.hpp>
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

}  // namespace fresco
