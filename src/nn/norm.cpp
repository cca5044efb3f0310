// SPDX-License-Identifier: Apache-2.0
// LayerNorm and BatchNorm2d on their fused ops.
#include <fresco/nn/norm.hpp>

#include <algorithm>

#include <fresco/error.hpp>
#include <fresco/ops/nn.hpp>

namespace fresco::nn {

LayerNorm::LayerNorm(Shape normalized_shape, float eps) : shape_(std::move(normalized_shape)), eps_(eps) {
  FRESCO_CHECK(!shape_.empty(), "LayerNorm: normalized_shape is empty");
  for (int64_t s : shape_)
    FRESCO_CHECK(s > 0, "LayerNorm: normalized_shape must have positive sizes, got {}", shape_str(shape_));
  FRESCO_CHECK(eps >= 0.f, "LayerNorm: eps must be >= 0, got {}", eps);
  weight = register_parameter("weight", ones(shape_));
  bias = register_parameter("bias", zeros(shape_));
}

Tensor LayerNorm::forward(const Tensor& x) const {
  FRESCO_CHECK(x.defined(), "LayerNorm: the input is undefined");
  const auto n = static_cast<int64_t>(shape_.size());
  FRESCO_CHECK_SHAPE(x.dim() >= n && std::equal(shape_.begin(), shape_.end(), x.shape().end() - n),
                     "LayerNorm: expected input [..., {}], got {}",
                     shape_str(shape_).substr(1, shape_str(shape_).size() - 2), shape_str(x.shape()));
  return layer_norm(x, shape_, weight, bias, eps_);
}

BatchNorm2d::BatchNorm2d(int64_t channels, BatchNormOptions options) : channels_(channels), options_(options) {
  FRESCO_CHECK(channels > 0, "BatchNorm2d: channels must be positive, got {}", channels);
  FRESCO_CHECK(options.eps >= 0.f, "BatchNorm2d: eps must be >= 0, got {}", options.eps);
  FRESCO_CHECK(options.momentum >= 0.f && options.momentum <= 1.f, "BatchNorm2d: momentum must be in [0, 1], got {}",
               options.momentum);
  if (options.affine) {
    weight = register_parameter("weight", ones({channels}));
    bias = register_parameter("bias", zeros({channels}));
  }
  running_mean = register_buffer("running_mean", zeros({channels}));
  running_var = register_buffer("running_var", ones({channels}));
}

Tensor BatchNorm2d::forward(const Tensor& x) {
  FRESCO_CHECK(x.defined(), "BatchNorm2d: the input is undefined");
  FRESCO_CHECK_SHAPE(x.dim() == 4 && x.size(1) == channels_, "BatchNorm2d: expected input [N, {}, H, W], got {}",
                     channels_, shape_str(x.shape()));
  if (!is_training()) return batch_norm_eval(x, running_mean, running_var, weight, bias, options_.eps);
  const int64_t n = x.size(0) * x.size(2) * x.size(3);
  FRESCO_CHECK(n > 1, "BatchNorm2d: training needs more than one value per channel, got input {}",
               shape_str(x.shape()));
  Tensor mean, var;  // of the batch; var biased: it normalises the batch
  Tensor y = batch_norm_train(x, weight, bias, options_.eps, mean, var);
  // running = (1 - m) · running + m · stat, with the unbiased variance
  // (n / (n - 1) · biased), as PyTorch. Written into the buffers' storage so
  // that every handle on them (and a loaded checkpoint) sees the update.
  const float m = options_.momentum;
  const float* bm = mean.data();
  const float* bv = var.data();
  float* rm = running_mean.data();
  float* rv = running_var.data();
  const double unbias = static_cast<double>(n) / static_cast<double>(n - 1);
  for (int64_t c = 0; c < channels_; ++c) {
    rm[c] = (1.f - m) * rm[c] + m * bm[c];
    rv[c] = (1.f - m) * rv[c] + m * static_cast<float>(bv[c] * unbias);
  }
  return y;
}

}  // namespace fresco::nn
