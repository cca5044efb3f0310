// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file
/// Pooling and upsampling layers on NCHW images (no parameters).

#include <fresco/nn/module.hpp>

namespace fresco::nn {

/// Max over k×k windows, [N, C, H, W] -> [N, C, (H-k)/s+1, (W-k)/s+1]; the
/// stride defaults to the kernel size (0 means "same as kernel"), as PyTorch.
///
///     fresco::nn::MaxPool2d pool(2);
///     fresco::Tensor y = pool(fresco::randn({8, 64, 16, 16}));   // [8, 64, 8, 8]
class MaxPool2d : public Module {
public:
  explicit MaxPool2d(int64_t kernel, int64_t stride = 0);
  Tensor forward(const Tensor& x) const;
  Tensor operator()(const Tensor& x) const { return forward(x); }

private:
  int64_t kernel_, stride_;
};

/// Mean over k×k windows; sizes as MaxPool2d.
///
///     fresco::nn::AvgPool2d pool(2);
///     fresco::Tensor y = pool(fresco::randn({8, 64, 16, 16}));   // [8, 64, 8, 8]
class AvgPool2d : public Module {
public:
  explicit AvgPool2d(int64_t kernel, int64_t stride = 0);
  Tensor forward(const Tensor& x) const;
  Tensor operator()(const Tensor& x) const { return forward(x); }

private:
  int64_t kernel_, stride_;
};

/// Nearest-neighbour upsampling by an integer factor, [N, C, H, W] -> [N, C, H·s, W·s].
///
///     fresco::nn::Upsample up(2);
///     fresco::Tensor y = up(fresco::randn({8, 64, 8, 8}));   // [8, 64, 16, 16]
class Upsample : public Module {
public:
  explicit Upsample(int64_t scale_factor);
  Tensor forward(const Tensor& x) const;
  Tensor operator()(const Tensor& x) const { return forward(x); }

  /// The integer factor s of [N, C, H, W] -> [N, C, H·s, W·s].
  int64_t scale_factor() const { return scale_; }

private:
  int64_t scale_;
};

}  // namespace fresco::nn
