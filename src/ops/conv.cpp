// SPDX-License-Identifier: Apache-2.0
// conv2d and conv_transpose2d on the oneDNN kernels. Legend (conv's point of view): N batch,
// C channels in, H W input size, K channels out, R S kernel size, P Q output size, G groups.
//
// Three recorded ops are closed under differentiation, which is what double backward (GAN
// gradient penalties: d/dw of dL/dx) needs. With y = conv(x, w):
//   conv      y  = conv(x, w):   dx = convT(dy, w),  dw = convW(x, dy)
//   convT     x' = convT(y', w): dy' = conv(dx', w), dw = convW(dx', y')   (the data-gradient of conv)
//   convW     dw = convW(x, dy): given G on dw, dx = convT(dy, G), d(dy) = conv(x, G)
// All three are bilinear, so each backward is the other two ops. conv_transpose2d is convT
// over the geometry of the conv whose data-gradient it is (its output is that conv's input).
#include <fresco/ops/conv.hpp>

#include <fresco/ops/reduce.hpp>

#include "kernels/conv.hpp"
#include "kernels/parallel.hpp"
#include "ops/op_helpers.hpp"
#include "tensor/profiler_scope.hpp"

namespace fresco {

using detail::needs_grad;
using detail::record;
using Geometry = kernels::ConvGeometry;

namespace {

Shape input_shape(const Geometry& g) { return {g.N, g.C, g.H, g.W}; }
Shape output_shape(const Geometry& g) { return {g.N, g.K, g.P, g.Q}; }
Shape weight_shape(const Geometry& g) { return {g.K, g.C / g.groups, g.R, g.S}; }

Tensor conv_op(Tensor x, Tensor w, Tensor b, const Geometry& g);
Tensor conv_t_op(Tensor dy, Tensor w, Tensor b, const Geometry& g);
Tensor conv_w_op(Tensor x, Tensor dy, const Geometry& g);

/// Σ over N, H, W of a [N, C, H, W] gradient: the gradient of a per-channel bias.
Tensor bias_grad(const Tensor& g) { return sum(g, {0, 2, 3}); }

/// y[n, c, :, :] += b[c] over a contiguous [N, C, H, W] tensor.
void add_channel_bias(Tensor& y, const Tensor& b) {
  const int64_t C = y.size(1), plane = y.size(2) * y.size(3);
  float* yp = y.data();
  const float* bp = b.data();
  kernels::parallel_for(y.size(0) * C, std::max<int64_t>(1, (1 << 15) / std::max<int64_t>(plane, 1)),
                        [&](int64_t begin, int64_t end) {
                          for (int64_t nc = begin; nc < end; ++nc) {
                            float* p = yp + nc * plane;
                            const float v = bp[nc % C];
                            for (int64_t i = 0; i < plane; ++i) p[i] += v;
                          }
                        });
}

/// y = conv(x, w) + b: [N,C,H,W] -> [N,K,P,Q].
Tensor conv_op(Tensor x, Tensor w, Tensor b, const Geometry& g) {
  x = x.contiguous();
  w = w.contiguous();
  if (b.defined()) b = b.contiguous();
  Tensor y = detail::make_tensor(output_shape(g));
  const bool record_grad = needs_grad({&x, &w, &b});
  // The weight gradient reads x in the primitives' layout: the forward leaves that copy here.
  Tensor x_saved;
  if (record_grad && w.requires_grad())
    if (const int64_t n = kernels::conv2d_saved_input_numel(g); n > 0) x_saved = detail::make_tensor({n});
  kernels::conv2d_forward(y.data(), x.data(), w.data(), b.defined() ? b.data() : nullptr, g,
                          x_saved.defined() ? x_saved.data() : nullptr);
  if (record_grad) {
    const bool need_x = x.requires_grad(), need_w = w.requires_grad(), need_b = b.defined() && b.requires_grad();
    record(y, "conv2d", {x, w, b},
           [xs = need_w ? x : Tensor(), ws = need_x ? w : Tensor(), x_saved, need_x, need_w, need_b,
            g](const Tensor& dy) {
             Tensor dx, dw, db;
             if (is_grad_enabled()) {  // create_graph: recorded, differentiable again
               if (need_x) dx = conv_t_op(dy, ws, {}, g);
               if (need_w) dw = conv_w_op(xs, dy, g);
               if (need_b) db = bias_grad(dy);
               return std::vector<Tensor>{dx, dw, db};
             }
             const Tensor dyc = dy.contiguous();
             if (need_x) dx = detail::make_tensor(input_shape(g));
             if (need_w) {  // the bias gradient comes out of the same primitive
               dw = detail::make_tensor(weight_shape(g));
               if (need_b) db = detail::make_tensor({g.K});
             }
             if (need_x || need_w)
               kernels::conv2d_backward(need_x ? dx.data() : nullptr, need_w ? dw.data() : nullptr,
                                        need_w && need_b ? db.data() : nullptr, dyc.data(),
                                        need_x ? ws.data() : nullptr, need_w ? xs.data() : nullptr,
                                        x_saved.defined() ? x_saved.data() : nullptr, g);
             if (need_b && !need_w) db = bias_grad(dyc);
             return std::vector<Tensor>{dx, dw, db};
           });
  }
  return y;
}

/// x = convT(dy, w) + b: [N,K,P,Q] -> [N,C,H,W], the data-gradient of conv (b is [C]).
Tensor conv_t_op(Tensor dy, Tensor w, Tensor b, const Geometry& g) {
  dy = dy.contiguous();
  w = w.contiguous();
  if (b.defined()) b = b.contiguous();
  Tensor x = detail::make_tensor(input_shape(g));
  kernels::conv2d_backward_data(x.data(), dy.data(), w.data(), g);
  if (b.defined()) add_channel_bias(x, b);
  if (needs_grad({&dy, &w, &b})) {
    const bool need_dy = dy.requires_grad(), need_w = w.requires_grad(), need_b = b.defined() && b.requires_grad();
    record(x, "conv_transpose2d", {dy, w, b},
           [dys = need_w ? dy : Tensor(), ws = need_dy ? w : Tensor(), need_dy, need_w, need_b, g](const Tensor& gx) {
             Tensor ddy, dw, db;
             if (is_grad_enabled()) {
               if (need_dy) ddy = conv_op(gx, ws, {}, g);
               if (need_w) dw = conv_w_op(gx, dys, g);
               if (need_b) db = bias_grad(gx);
               return std::vector<Tensor>{ddy, dw, db};
             }
             const Tensor gxc = gx.contiguous();
             if (need_dy) {
               ddy = detail::make_tensor(output_shape(g));
               kernels::conv2d_forward(ddy.data(), gxc.data(), ws.data(), nullptr, g);
             }
             if (need_w) {
               dw = detail::make_tensor(weight_shape(g));
               kernels::conv2d_backward_weights(dw.data(), nullptr, gxc.data(), dys.data(), g);
             }
             if (need_b) db = bias_grad(gxc);
             return std::vector<Tensor>{ddy, dw, db};
           });
  }
  return x;
}

/// dw = convW(x, dy): [N,C,H,W], [N,K,P,Q] -> [K,C/G,R,S], the weight-gradient of conv.
Tensor conv_w_op(Tensor x, Tensor dy, const Geometry& g) {
  x = x.contiguous();
  dy = dy.contiguous();
  Tensor dw = detail::make_tensor(weight_shape(g));
  kernels::conv2d_backward_weights(dw.data(), nullptr, x.data(), dy.data(), g);
  if (needs_grad({&x, &dy})) {
    const bool need_x = x.requires_grad(), need_dy = dy.requires_grad();
    record(dw, "conv2d_weight_grad", {x, dy},
           [xs = need_dy ? x : Tensor(), dys = need_x ? dy : Tensor(), need_x, need_dy, g](const Tensor& gw) {
             Tensor dx, ddy;
             if (is_grad_enabled()) {
               if (need_x) dx = conv_t_op(dys, gw, {}, g);
               if (need_dy) ddy = conv_op(xs, gw, {}, g);
               return std::vector<Tensor>{dx, ddy};
             }
             const Tensor gwc = gw.contiguous();
             if (need_x) {
               dx = detail::make_tensor(input_shape(g));
               kernels::conv2d_backward_data(dx.data(), dys.data(), gwc.data(), g);
             }
             if (need_dy) {
               ddy = detail::make_tensor(output_shape(g));
               kernels::conv2d_forward(ddy.data(), xs.data(), gwc.data(), nullptr, g);
             }
             return std::vector<Tensor>{dx, ddy};
           });
  }
  return dw;
}

// ---- validation -------------------------------------------------------------

void check_params(const Conv2dParams& p, const char* op) {
  for (int i = 0; i < 2; ++i) {
    FRESCO_CHECK(p.stride[i] >= 1, "{}: stride must be >= 1, got {}x{}", op, p.stride[0], p.stride[1]);
    FRESCO_CHECK(p.dilation[i] >= 1, "{}: dilation must be >= 1, got {}x{}", op, p.dilation[0], p.dilation[1]);
    FRESCO_CHECK(p.padding[i] >= 0, "{}: padding must be >= 0, got {}x{}", op, p.padding[0], p.padding[1]);
    FRESCO_CHECK(p.output_padding[i] >= 0, "{}: output_padding must be >= 0, got {}x{}", op, p.output_padding[0],
                 p.output_padding[1]);
  }
  FRESCO_CHECK(p.groups >= 1, "{}: groups must be >= 1, got {}", op, p.groups);
}

void check_tensors(const Tensor& x, const Tensor& w, const char* op) {
  detail::check_defined(x, op, "input");
  detail::check_defined(w, op, "weight");
  FRESCO_CHECK_SHAPE(x.dim() == 4, "{}: expected a 4-d input [N, C, H, W], got {}", op, shape_str(x.shape()));
  FRESCO_CHECK_SHAPE(w.dim() == 4, "{}: expected a 4-d weight, got {}", op, shape_str(w.shape()));
}

void check_bias(const Tensor& b, int64_t channels, const char* op) {
  if (!b.defined()) return;
  FRESCO_CHECK_SHAPE(b.dim() == 1 && b.size(0) == channels, "{}: expected a bias of shape [{}], got {}", op, channels,
                     shape_str(b.shape()));
}

}  // namespace

Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& b, std::array<int64_t, 2> stride,
              std::array<int64_t, 2> padding) {
  return conv2d(x, w, b, Conv2dParams{.stride = stride, .padding = padding});
}

Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& b, const Conv2dParams& p) {
  constexpr const char* op = "conv2d";
  FRESCO_PROFILE(op);
  check_params(p, op);
  FRESCO_CHECK(p.output_padding[0] == 0 && p.output_padding[1] == 0,
               "conv2d: output_padding is for conv_transpose2d only, got {}x{}", p.output_padding[0],
               p.output_padding[1]);
  check_tensors(x, w, op);
  const int64_t C = x.size(1), K = w.size(0), G = p.groups;
  FRESCO_CHECK_SHAPE(C == w.size(1) * G, "conv2d: input has {} channels but weight expects {} (weight {}{})", C,
                     w.size(1) * G, shape_str(w.shape()), G > 1 ? fmt::format(", groups {}", G) : "");
  FRESCO_CHECK_SHAPE(K % G == 0, "conv2d: groups {} does not divide the weight's {} output channels (weight {})", G, K,
                     shape_str(w.shape()));
  check_bias(b, K, op);
  Geometry g{.N = x.size(0), .C = C, .H = x.size(2), .W = x.size(3), .K = K, .R = w.size(2), .S = w.size(3),
             .P = 0, .Q = 0, .stride_h = p.stride[0], .stride_w = p.stride[1], .pad_h = p.padding[0],
             .pad_w = p.padding[1], .dil_h = p.dilation[0], .dil_w = p.dilation[1], .groups = G};
  const int64_t span_h = g.dil_h * (g.R - 1) + 1, span_w = g.dil_w * (g.S - 1) + 1;
  FRESCO_CHECK_SHAPE(g.R >= 1 && g.S >= 1 && span_h <= g.H + 2 * g.pad_h && span_w <= g.W + 2 * g.pad_w,
                     "conv2d: kernel {}x{} (dilation {}x{}) is larger than the padded input {}x{} (input {}, "
                     "padding {}x{})",
                     g.R, g.S, g.dil_h, g.dil_w, g.H + 2 * g.pad_h, g.W + 2 * g.pad_w, shape_str(x.shape()), g.pad_h,
                     g.pad_w);
  g.P = (g.H + 2 * g.pad_h - span_h) / g.stride_h + 1;
  g.Q = (g.W + 2 * g.pad_w - span_w) / g.stride_w + 1;
  return conv_op(x, w, b, g);
}

Tensor conv_transpose2d(const Tensor& x, const Tensor& w, const Tensor& b, std::array<int64_t, 2> stride,
                        std::array<int64_t, 2> padding) {
  return conv_transpose2d(x, w, b, Conv2dParams{.stride = stride, .padding = padding});
}

Tensor conv_transpose2d(const Tensor& x, const Tensor& w, const Tensor& b, const Conv2dParams& p) {
  constexpr const char* op = "conv_transpose2d";
  check_params(p, op);
  check_tensors(x, w, op);
  const int64_t Cin = x.size(1), G = p.groups;
  FRESCO_CHECK_SHAPE(Cin == w.size(0), "conv_transpose2d: input has {} channels but weight expects {} (weight {})",
                     Cin, w.size(0), shape_str(w.shape()));
  FRESCO_CHECK_SHAPE(Cin % G == 0, "conv_transpose2d: groups {} does not divide the input's {} channels", G, Cin);
  // The output must be the one input size whose conv gives back x's size, which holds
  // exactly when output_padding < stride (PyTorch also allows < dilation; fresco does not).
  FRESCO_CHECK(p.output_padding[0] < p.stride[0] && p.output_padding[1] < p.stride[1],
               "conv_transpose2d: output_padding {}x{} must be smaller than the stride {}x{}", p.output_padding[0],
               p.output_padding[1], p.stride[0], p.stride[1]);
  const int64_t Cout = w.size(1) * G;
  check_bias(b, Cout, op);
  // Geometry of the conv [N, Cout, OH, OW] -> [N, Cin, H, W] whose data-gradient this is.
  Geometry g{.N = x.size(0), .C = Cout, .H = 0, .W = 0, .K = Cin, .R = w.size(2), .S = w.size(3), .P = x.size(2),
             .Q = x.size(3), .stride_h = p.stride[0], .stride_w = p.stride[1], .pad_h = p.padding[0],
             .pad_w = p.padding[1], .dil_h = p.dilation[0], .dil_w = p.dilation[1], .groups = G};
  g.H = (g.P - 1) * g.stride_h - 2 * g.pad_h + g.dil_h * (g.R - 1) + p.output_padding[0] + 1;
  g.W = (g.Q - 1) * g.stride_w - 2 * g.pad_w + g.dil_w * (g.S - 1) + p.output_padding[1] + 1;
  FRESCO_CHECK_SHAPE(g.R >= 1 && g.S >= 1 && g.P >= 1 && g.Q >= 1 && g.H >= 1 && g.W >= 1,
                     "conv_transpose2d: output size {}x{} is not positive (input {}, weight {}, padding {}x{})", g.H,
                     g.W, shape_str(x.shape()), shape_str(w.shape()), g.pad_h, g.pad_w);
  return conv_t_op(x, w, b, g);
}

Tensor upsample2_conv3x3(const Tensor& x_in, const Tensor& w_in, const Tensor& b_in,
                         const UpsampleConvOptions& options) {
  constexpr const char* op = "upsample2_conv3x3";
  const bool relu = options.relu;
  FRESCO_PROFILE(op);
  check_tensors(x_in, w_in, op);
  const int64_t N = x_in.size(0), C = x_in.size(1), H = x_in.size(2), W = x_in.size(3), K = w_in.size(0);
  FRESCO_CHECK_SHAPE(w_in.shape() == Shape({K, C, 3, 3}), "{}: expected a weight [K, {}, 3, 3] for input {}, got {}",
                     op, C, shape_str(x_in.shape()), shape_str(w_in.shape()));
  check_bias(b_in, K, op);
  FRESCO_CHECK_SHAPE(!options.weight_scale.defined() || options.weight_scale.shape() == Shape{K},
                     "{}: expected a weight_scale [{}], got {}", op, K, shape_str(options.weight_scale.shape()));
  const Tensor x = x_in.contiguous(), w = w_in.contiguous();
  const Tensor b = b_in.defined() ? b_in.contiguous() : Tensor();
  const Tensor w_scale = options.weight_scale.defined() ? options.weight_scale.contiguous() : Tensor();
  Tensor y = detail::make_tensor({N, K, 2 * H, 2 * W});
  const float* bp = b.defined() ? b.data() : nullptr;
  if (!needs_grad({&x, &w, &b})) {
    kernels::upsample2_conv3x3_forward(y.data(), x.data(), w.data(), bp, N, C, H, W, K, relu,
                                       w_scale.defined() ? w_scale.data() : nullptr);
    return y;
  }
  FRESCO_CHECK(!relu && !w_scale.defined(), "{}: the fused ReLU and weight scale are for inference only", op);
  const bool need_x = x.requires_grad(), need_w = w.requires_grad(), need_b = b.defined() && b.requires_grad();
  Tensor x_saved;
  if (need_w)
    if (const int64_t n = kernels::upsample2_conv3x3_saved_input_numel(N, C, H, W, K); n > 0)
      x_saved = detail::make_tensor({n});
  kernels::upsample2_conv3x3_forward_train(y.data(), x.data(), w.data(), bp, N, C, H, W, K,
                                           x_saved.defined() ? x_saved.data() : nullptr);
  record(y, op, {x, w, b}, [x, w, x_saved, need_x, need_w, need_b](const Tensor& dy) {
    const int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3), K = w.size(0);
    Tensor dx, dw, db;
    if (is_grad_enabled()) {
      // create_graph: the unfused ops' gradients, recorded. The ×2 upsampling's adjoint sums
      // 2×2 blocks: 4 · their average (exact in floats).
      const Geometry g{.N = N, .C = C, .H = 2 * H, .W = 2 * W, .K = K, .R = 3, .S = 3, .P = 2 * H, .Q = 2 * W,
                       .pad_h = 1, .pad_w = 1};
      if (need_x) dx = avg_pool2d(conv_t_op(dy, w, {}, g), {2, 2}, {2, 2}) * 4.f;
      if (need_w) dw = conv_w_op(upsample_nearest2d(x, 2), dy, g);
      if (need_b) db = bias_grad(dy);
      return std::vector<Tensor>{dx, dw, db};
    }
    const Tensor dyc = dy.contiguous();
    if (need_x) dx = detail::make_tensor({N, C, H, W});
    if (need_w) {
      dw = detail::make_tensor({K, C, 3, 3});
      if (need_b) db = detail::make_tensor({K});
    }
    if (need_x || need_w)
      kernels::upsample2_conv3x3_backward(need_x ? dx.data() : nullptr, need_w ? dw.data() : nullptr,
                                          need_w && need_b ? db.data() : nullptr, dyc.data(), w.data(), x.data(),
                                          x_saved.defined() ? x_saved.data() : nullptr, N, C, H, W, K);
    if (need_b && !need_w) db = bias_grad(dyc);
    return std::vector<Tensor>{dx, dw, db};
  });
  return y;
}

}  // namespace fresco
