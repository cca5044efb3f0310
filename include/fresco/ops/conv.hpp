// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file
/// Convolution, pooling and upsampling on NCHW images, on oneDNN
/// primitives created once per shape and cached.

#include <array>

#include <fresco/tensor/tensor.hpp>

namespace fresco {

/// Everything a 2-D convolution can be told beyond its tensors.
struct Conv2dParams {
  std::array<int64_t, 2> stride{1, 1};
  std::array<int64_t, 2> padding{0, 0};
  std::array<int64_t, 2> dilation{1, 1};
  int64_t groups = 1;
  /// conv_transpose2d only: extra rows/cols added to one side of the output.
  std::array<int64_t, 2> output_padding{0, 0};
};

/// x [N,Cin,H,W], w [Cout,Cin/groups,KH,KW], b [Cout] or undefined -> [N,Cout,OH,OW],
/// OH = (H + 2·pad - dil·(KH-1) - 1) / stride + 1.
Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& b, std::array<int64_t, 2> stride = {1, 1},
              std::array<int64_t, 2> padding = {0, 0});
Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& b, const Conv2dParams& params);

/// x [N,Cin,H,W], w [Cin,Cout/groups,KH,KW], b [Cout] or undefined -> [N,Cout,OH,OW],
/// OH = (H-1)·stride - 2·pad + dil·(KH-1) + output_padding + 1.
Tensor conv_transpose2d(const Tensor& x, const Tensor& w, const Tensor& b,
                        std::array<int64_t, 2> stride = {1, 1}, std::array<int64_t, 2> padding = {0, 0});
Tensor conv_transpose2d(const Tensor& x, const Tensor& w, const Tensor& b, const Conv2dParams& params);

/// Max over kernel windows: [N,C,H,W] -> [N,C,(H-kh)/sh+1,(W-kw)/sw+1].
Tensor max_pool2d(const Tensor& x, std::array<int64_t, 2> kernel, std::array<int64_t, 2> stride);
/// Mean over kernel windows, same output size as max_pool2d.
Tensor avg_pool2d(const Tensor& x, std::array<int64_t, 2> kernel, std::array<int64_t, 2> stride);
/// Nearest-neighbour upsampling by an integer factor: [N,C,H,W] -> [N,C,H·s,W·s].
Tensor upsample_nearest2d(const Tensor& x, int64_t scale);

/// What `upsample2_conv3x3` may fold into its output when no gradient is recorded.
struct UpsampleConvOptions {
  /// Apply relu to the output (a oneDNN post-op).
  bool relu = false;
  /// [K] or undefined: scales each output channel's weights (a batch norm in eval mode
  /// folded in: s = gamma / sqrt(running_var + eps), with the shift folded into b).
  Tensor weight_scale;
};

/// conv2d(upsample_nearest2d(x, 2), w, b, {1, 1}, {1, 1}) as one op:
/// x [N, C, H, W], w [K, C, 3, 3], b [K] or undefined -> [N, K, 2H, 2W]. Computed as four
/// 2×2 convolutions of x, one per output pixel phase (2.25× fewer multiply-adds, and the
/// upsampled input is never formed). Differentiable in x, w and b (twice, too); equal to the
/// separate ops up to float rounding, in value and gradients.
/// `options.relu` and `options.weight_scale` are for inference: with either set, an input
/// that requires a gradient (with gradients enabled) is an `Error`.
///
///     fresco::Tensor y = fresco::upsample2_conv3x3(x, conv.weight, conv.bias);   // [N, K, 2H, 2W]
Tensor upsample2_conv3x3(const Tensor& x, const Tensor& w, const Tensor& b, const UpsampleConvOptions& options = {});

}  // namespace fresco
