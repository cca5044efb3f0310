// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file
/// Normalisation layers: `nn::LayerNorm` and `nn::BatchNorm2d`.

#include <fresco/nn/module.hpp>

namespace fresco::nn {

/// Normalises over the trailing `normalized_shape` dims (biased variance),
/// then scales by `weight` and shifts by `bias` (both of `normalized_shape`,
/// initialised to ones and zeros). [..., *normalized_shape] -> same shape.
///
///     fresco::nn::LayerNorm ln({128});
///     fresco::Tensor y = ln(fresco::randn({8, 16, 128}));   // [8, 16, 128]
class LayerNorm : public Module {
public:
  explicit LayerNorm(Shape normalized_shape, float eps = 1e-5f);

  Tensor forward(const Tensor& x) const;
  Tensor operator()(const Tensor& x) const { return forward(x); }

  const Shape& normalized_shape() const { return shape_; }
  float eps() const { return eps_; }

  Tensor weight, bias;

private:
  Shape shape_;
  float eps_;
};

/// Options of `BatchNorm2d`, with PyTorch's defaults.
struct BatchNormOptions {
  /// Added to the variance before the square root.
  float eps = 1e-5f;
  /// running = (1 - momentum) · running + momentum · batch statistic.
  float momentum = 0.1f;
  /// Learn a per-channel `weight` and `bias`.
  bool affine = true;
};

/// Batch normalisation over N, H, W per channel, [N, C, H, W] -> same shape.
/// Training mode normalises with the batch's mean and biased variance and
/// updates the buffers `running_mean` (zeros at start) and `running_var`
/// (ones; updated with the unbiased variance). Eval mode uses the buffers.
///
///     fresco::nn::BatchNorm2d bn(64, {.momentum = 0.1f});
///     fresco::Tensor y = bn(fresco::randn({8, 64, 16, 16}));   // [8, 64, 16, 16]
class BatchNorm2d : public Module {
public:
  explicit BatchNorm2d(int64_t channels, BatchNormOptions options = {});

  /// Not const: in training mode it updates the running statistics.
  Tensor forward(const Tensor& x);
  Tensor operator()(const Tensor& x) { return forward(x); }

  int64_t channels() const { return channels_; }
  const BatchNormOptions& options() const { return options_; }

  Tensor weight, bias;                ///< [C] (undefined unless affine)
  Tensor running_mean, running_var;   ///< [C] buffers

private:
  int64_t channels_;
  BatchNormOptions options_;
};

}  // namespace fresco::nn
