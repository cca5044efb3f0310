// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file
/// Losses, reduced by the mean as PyTorch's defaults.

#include <vector>

#include <fresco/tensor/tensor.hpp>

namespace fresco {

/// Fused log-softmax + negative log-likelihood. logits [N, C] (or [C]); one target class per
/// row; rows whose target is `ignore_index` do not count. Mean over counted rows.
Tensor cross_entropy(const Tensor& logits, const std::vector<int64_t>& targets, int64_t ignore_index = -100);
/// Mean of max(x,0) - x·t + log(1 + exp(-|x|)); logits and targets of one shape.
Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& targets);
/// Mean of (a - b)².
Tensor mse_loss(const Tensor& a, const Tensor& b);
/// Mean of |a - b|.
Tensor l1_loss(const Tensor& a, const Tensor& b);

}  // namespace fresco
