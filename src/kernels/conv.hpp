// SPDX-License-Identifier: Apache-2.0
#pragma once
// Convolution and pooling on oneDNN primitives, created once per shape and cached.
// Legend: N batch, C channels in, H W input height/width, K channels out,
// R S kernel height/width, P Q output height/width. All tensors NCHW, contiguous.
// Weights [K, C/groups, R, S] (PyTorch layout).

#include <cstdint>

namespace fresco::kernels {

struct ConvGeometry {
  int64_t N, C, H, W;   // input
  int64_t K, R, S;      // out channels, kernel
  int64_t P, Q;         // output size
  int64_t stride_h = 1, stride_w = 1;
  int64_t pad_h = 0, pad_w = 0;
  int64_t dil_h = 1, dil_w = 1;  // PyTorch convention: 1 = no dilation
  int64_t groups = 1;
};

/// Floats of the copy of x, in the backward's internal layout, that a forward can leave for
/// conv2d_backward (so x is reordered once per step, not twice); 0 when that layout is plain NCHW.
int64_t conv2d_saved_input_numel(const ConvGeometry& g);

/// y[N,K,P,Q] = conv(x[N,C,H,W], w[K,C/g,R,S]) + b[K] (b may be null). When `x_saved` is not
/// null (conv2d_saved_input_numel(g) floats, only when that is > 0), x is left there for conv2d_backward.
void conv2d_forward(float* y, const float* x, const float* w, const float* b, const ConvGeometry& g,
                    float* x_saved = nullptr);
/// dx[N,C,H,W] from dy[N,K,P,Q] and w (overwrites dx).
void conv2d_backward_data(float* dx, const float* dy, const float* w, const ConvGeometry& g);
/// dw[K,C/g,R,S] (and db[K] when not null) from x and dy (overwrites both).
void conv2d_backward_weights(float* dw, float* db, const float* x, const float* dy, const ConvGeometry& g);
/// Both gradients of y = conv(x, w) from one copy of dy in the primitives' layout: dx as
/// conv2d_backward_data, dw and db as conv2d_backward_weights (dx or dw may be null, not both;
/// db only with dw). `x_saved` (may be null) is the copy conv2d_forward left; x is read otherwise.
void conv2d_backward(float* dx, float* dw, float* db, const float* dy, const float* w, const float* x,
                     const float* x_saved, const ConvGeometry& g);

/// Inference only: y[N,K,2H,2W] = conv3x3(upsample_nearest2(x[N,C,H,W]), w[K,C,3,3], padding 1)
/// + b[K] (b may be null), then max(y, 0) when `relu`. With `w_scale` [K] (may be null) the
/// weights are w_scale[k] · w[k] (a folded batch norm). Computed as four 2×2 convolutions of
/// x, one per output phase (2.25× fewer multiply-adds); equal to the two ops up to float
/// rounding (kernel taps that read the same source pixel are summed first).
void upsample2_conv3x3_forward(float* y, const float* x, const float* w, const float* b, int64_t N, int64_t C,
                               int64_t H, int64_t W, int64_t K, bool relu, const float* w_scale = nullptr);

/// Floats of the copy of x that upsample2_conv3x3_forward_train can leave for the backward
/// (0 when the backward reads plain NCHW).
int64_t upsample2_conv3x3_saved_input_numel(int64_t N, int64_t C, int64_t H, int64_t W, int64_t K);
/// The training form of upsample2_conv3x3_forward (no ReLU). When `x_saved` is not null
/// (upsample2_conv3x3_saved_input_numel floats, only when that is > 0), x is left there for the backward.
void upsample2_conv3x3_forward_train(float* y, const float* x, const float* w, const float* b, int64_t N, int64_t C,
                                     int64_t H, int64_t W, int64_t K, float* x_saved = nullptr);
/// Gradients of y = upsample2_conv3x3(x, w, b) from dy [N, K, 2H, 2W]: dx [N, C, H, W],
/// dw [K, C, 3, 3] and db [K] (overwritten; dx or dw may be null, not both; db only with dw).
/// `x_saved` (may be null) is the copy the forward left; x is read otherwise (and always for dw
/// when x_saved is null).
void upsample2_conv3x3_backward(float* dx, float* dw, float* db, const float* dy, const float* w, const float* x,
                                const float* x_saved, int64_t N, int64_t C, int64_t H, int64_t W, int64_t K);

struct PoolGeometry {
  int64_t N, C, H, W;
  int64_t R, S;                // kernel
  int64_t stride_h, stride_w;
  int64_t P, Q;                // output
};

/// Max pooling without padding. `argmax` (may be null when no backward is needed) receives,
/// per output element, the flat index h*W+w of the chosen input element in its plane.
void max_pool2d_forward(float* y, int32_t* argmax, const float* x, const PoolGeometry& g);
/// dx (overwritten) from dy and the argmax of the forward.
void max_pool2d_backward(float* dx, const float* dy, const int32_t* argmax, const PoolGeometry& g);
/// Average pooling without padding.
void avg_pool2d_forward(float* y, const float* x, const PoolGeometry& g);
void avg_pool2d_backward(float* dx, const float* dy, const PoolGeometry& g);

}  // namespace fresco::kernels
