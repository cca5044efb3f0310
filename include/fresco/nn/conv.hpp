// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file
/// Convolution layers on NCHW images: `nn::Conv2d`, `nn::ConvTranspose2d`.

#include <fresco/nn/module.hpp>

namespace fresco::nn {

/// Options of `Conv2d`, with PyTorch's defaults (square kernels, same value for H and W).
struct Conv2dOptions {
  int64_t stride = 1;
  int64_t padding = 0;
  int64_t dilation = 1;
  /// Channels are split into `groups` independent convolutions; in and out must divide by it.
  int64_t groups = 1;
  bool bias = true;
};

/// 2-D convolution, [N, in, H, W] -> [N, out, OH, OW] with
/// OH = (H + 2·padding - dilation·(kernel-1) - 1) / stride + 1.
/// `weight` [out, in/groups, k, k] and `bias` [out], initialised as PyTorch's:
/// U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = in/groups · k · k.
///
///     fresco::nn::Conv2d conv(3, 64, 4, {.stride = 2, .padding = 1, .bias = false});
///     fresco::Tensor y = conv(fresco::randn({8, 3, 32, 32}));   // [8, 64, 16, 16]
class Conv2d : public Module {
public:
  Conv2d(int64_t in, int64_t out, int64_t kernel, Conv2dOptions options = {});

  Tensor forward(const Tensor& x) const;
  Tensor operator()(const Tensor& x) const { return forward(x); }

  const Conv2dOptions& options() const { return options_; }

  Tensor weight, bias;

private:
  int64_t in_, out_, kernel_;
  Conv2dOptions options_;
};

/// Options of `ConvTranspose2d`, with PyTorch's defaults.
struct ConvTranspose2dOptions {
  int64_t stride = 1;
  int64_t padding = 0;
  /// Extra rows/cols on one side of the output (smaller than stride); picks
  /// among the output sizes that the same convolution would map back.
  int64_t output_padding = 0;
  bool bias = true;
};

/// Transposed convolution (the gradient of Conv2d w.r.t. its input),
/// [N, in, H, W] -> [N, out, OH, OW] with OH = (H-1)·stride - 2·padding + kernel + output_padding.
/// `weight` [in, out, k, k] and `bias` [out], initialised as PyTorch's (fan_in = out · k · k).
///
///     fresco::nn::ConvTranspose2d up(64, 32, 4, {.stride = 2, .padding = 1});
///     fresco::Tensor y = up(fresco::randn({8, 64, 8, 8}));   // [8, 32, 16, 16]
class ConvTranspose2d : public Module {
public:
  ConvTranspose2d(int64_t in, int64_t out, int64_t kernel, ConvTranspose2dOptions options = {});

  Tensor forward(const Tensor& x) const;
  Tensor operator()(const Tensor& x) const { return forward(x); }

  const ConvTranspose2dOptions& options() const { return options_; }

  Tensor weight, bias;

private:
  int64_t in_, out_, kernel_;
  ConvTranspose2dOptions options_;
};

}  // namespace fresco::nn
