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

}  // namespace fresco
