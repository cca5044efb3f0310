// SPDX-License-Identifier: Apache-2.0
// Pooling and nearest upsampling over NCHW planes. Legend: N C H W input, R S kernel,
// P Q output. Every op here is linear in its input once the max-pool's choice (argmax) is
// fixed, so each comes with its adjoint, recorded too, and double backward is exact:
//   max_pool   gather at argmax     <->  scatter-add at argmax
//   avg_pool   window mean          <->  spread each mean's gradient over its window
//   upsample   repeat s x s         <->  sum each s x s block
#include <fresco/ops/conv.hpp>

#include <algorithm>
#include <memory>

#include "kernels/conv.hpp"
#include "kernels/parallel.hpp"
#include "ops/op_helpers.hpp"
#include "tensor/profiler_scope.hpp"

namespace fresco {

using detail::needs_grad;
using detail::record;
using Geometry = kernels::PoolGeometry;
using Argmax = std::shared_ptr<const std::vector<int32_t>>;

namespace {

/// Planes per parallel chunk so that a chunk holds ~32k elements.
int64_t plane_grain(int64_t plane) { return std::max<int64_t>(1, (1 << 15) / std::max<int64_t>(plane, 1)); }

Shape in_shape(const Geometry& g) { return {g.N, g.C, g.H, g.W}; }
Shape out_shape(const Geometry& g) { return {g.N, g.C, g.P, g.Q}; }

Tensor pool_scatter(const Tensor& dy, const Argmax& am, const Geometry& g);

/// y[nc, o] = x[nc, argmax[nc, o]]: [N,C,H,W] -> [N,C,P,Q]. The value of max_pool once the
/// choice is fixed, and the adjoint of pool_scatter.
Tensor pool_gather(const Tensor& x_in, const Argmax& am, const Geometry& g) {
  const Tensor x = x_in.contiguous();
  Tensor y = detail::make_tensor(out_shape(g));
  const int64_t in_plane = g.H * g.W, out_plane = g.P * g.Q;
  const float* xp = x.data();
  float* yp = y.data();
  const int32_t* ap = am->data();
  kernels::parallel_for(g.N * g.C, plane_grain(out_plane), [&](int64_t begin, int64_t end) {
    for (int64_t nc = begin; nc < end; ++nc)
      for (int64_t o = 0; o < out_plane; ++o) yp[nc * out_plane + o] = xp[nc * in_plane + ap[nc * out_plane + o]];
  });
  if (needs_grad({&x}))
    record(y, "max_pool2d", {x}, [am, g](const Tensor& gy) { return std::vector<Tensor>{pool_scatter(gy, am, g)}; });
  return y;
}

/// dx[nc, argmax[nc, o]] += dy[nc, o]: [N,C,P,Q] -> [N,C,H,W] (max_pool's backward).
Tensor pool_scatter(const Tensor& dy_in, const Argmax& am, const Geometry& g) {
  const Tensor dy = dy_in.contiguous();
  Tensor dx = detail::make_tensor(in_shape(g));
  kernels::max_pool2d_backward(dx.data(), dy.data(), am->data(), g);
  if (needs_grad({&dy}))
    record(dx, "max_pool2d_backward", {dy},
           [am, g](const Tensor& gx) { return std::vector<Tensor>{pool_gather(gx, am, g)}; });
  return dx;
}

Tensor avg_backward(const Tensor& dy, const Geometry& g);

/// Window means [N,C,H,W] -> [N,C,P,Q]; adjoint of avg_backward.
Tensor avg_forward(const Tensor& x_in, const Geometry& g) {
  const Tensor x = x_in.contiguous();
  Tensor y = detail::make_tensor(out_shape(g));
  kernels::avg_pool2d_forward(y.data(), x.data(), g);
  if (needs_grad({&x}))
    record(y, "avg_pool2d", {x}, [g](const Tensor& gy) { return std::vector<Tensor>{avg_backward(gy, g)}; });
  return y;
}

/// Each window's gradient spread evenly over it: [N,C,P,Q] -> [N,C,H,W].
Tensor avg_backward(const Tensor& dy_in, const Geometry& g) {
  const Tensor dy = dy_in.contiguous();
  Tensor dx = detail::make_tensor(in_shape(g));
  kernels::avg_pool2d_backward(dx.data(), dy.data(), g);
  if (needs_grad({&dy}))
    record(dx, "avg_pool2d_backward", {dy}, [g](const Tensor& gx) { return std::vector<Tensor>{avg_forward(gx, g)}; });
  return dx;
}

Geometry pool_geometry(const Tensor& x, std::array<int64_t, 2> kernel, std::array<int64_t, 2> stride, const char* op) {
  detail::check_defined(x, op);
  FRESCO_CHECK_SHAPE(x.dim() == 4, "{}: expected a 4-d input [N, C, H, W], got {}", op, shape_str(x.shape()));
  FRESCO_CHECK(kernel[0] >= 1 && kernel[1] >= 1, "{}: kernel must be >= 1, got {}x{}", op, kernel[0], kernel[1]);
  FRESCO_CHECK(stride[0] >= 1 && stride[1] >= 1, "{}: stride must be >= 1, got {}x{}", op, stride[0], stride[1]);
  Geometry g{.N = x.size(0), .C = x.size(1), .H = x.size(2), .W = x.size(3), .R = kernel[0], .S = kernel[1],
             .stride_h = stride[0], .stride_w = stride[1], .P = 0, .Q = 0};
  FRESCO_CHECK_SHAPE(g.R <= g.H && g.S <= g.W, "{}: kernel {}x{} is larger than the input {}x{} (input {})", op, g.R,
                     g.S, g.H, g.W, shape_str(x.shape()));
  // Flat indices in a plane are stored as int32.
  FRESCO_CHECK(g.H * g.W <= INT32_MAX, "{}: planes of {}x{} are too large", op, g.H, g.W);
  g.P = (g.H - g.R) / g.stride_h + 1;
  g.Q = (g.W - g.S) / g.stride_w + 1;
  return g;
}

// ---- nearest upsampling -------------------------------------------------------

Tensor block_sum(const Tensor& dy, int64_t s);

/// y[n, c, h, w] = x[n, c, h / s, w / s]: [N,C,H,W] -> [N,C,H·s,W·s].
Tensor upsample(const Tensor& x_in, int64_t s) {
  FRESCO_PROFILE("upsample_nearest2d");
  const Tensor x = x_in.contiguous();
  const int64_t H = x.size(2), W = x.size(3), OW = W * s;
  Tensor y = detail::make_tensor({x.size(0), x.size(1), H * s, OW});
  const float* xp = x.data();
  float* yp = y.data();
  kernels::parallel_for(x.size(0) * x.size(1) * H, plane_grain(s * OW), [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {  // one input row -> s output rows
      const float* xr = xp + row * W;
      float* yr = yp + row * s * OW;
      if (s == 2) {
        // The common ×2 as its own loop: with a constant inner count the compiler
        // vectorises it (one load, an interleave, two stores per 8 inputs).
        for (int64_t w = 0; w < W; ++w) yr[2 * w] = yr[2 * w + 1] = xr[w];
      } else {
        for (int64_t w = 0; w < W; ++w)
          for (int64_t j = 0; j < s; ++j) yr[w * s + j] = xr[w];
      }
      for (int64_t i = 1; i < s; ++i) std::copy(yr, yr + OW, yr + i * OW);
    }
  });
  if (needs_grad({&x}))
    record(y, "upsample_nearest2d", {x}, [s](const Tensor& gy) { return std::vector<Tensor>{block_sum(gy, s)}; });
  return y;
}

/// dx[n, c, h, w] = Σ of the s x s block of dy at (h·s, w·s): upsample's adjoint.
Tensor block_sum(const Tensor& dy_in, int64_t s) {
  const Tensor dy = dy_in.contiguous();
  const int64_t H = dy.size(2) / s, W = dy.size(3) / s, OW = dy.size(3);
  Tensor dx = detail::make_tensor({dy.size(0), dy.size(1), H, W});
  const float* gp = dy.data();
  float* xp = dx.data();
  kernels::parallel_for(dy.size(0) * dy.size(1) * H, plane_grain(s * OW), [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      float* xr = xp + row * W;
      std::fill(xr, xr + W, 0.0f);
      for (int64_t i = 0; i < s; ++i) {
        const float* gr = gp + (row * s + i) * OW;
        for (int64_t w = 0; w < W; ++w)
          for (int64_t j = 0; j < s; ++j) xr[w] += gr[w * s + j];
      }
    }
  });
  if (needs_grad({&dy}))
    record(dx, "upsample_nearest2d_backward", {dy},
           [s](const Tensor& gx) { return std::vector<Tensor>{upsample(gx, s)}; });
  return dx;
}

}  // namespace

Tensor max_pool2d(const Tensor& x_in, std::array<int64_t, 2> kernel, std::array<int64_t, 2> stride) {
  const Geometry g = pool_geometry(x_in, kernel, stride, "max_pool2d");
  const Tensor x = x_in.contiguous();
  Tensor y = detail::make_tensor(out_shape(g));
  if (!needs_grad({&x})) {
    kernels::max_pool2d_forward(y.data(), nullptr, x.data(), g);
    return y;
  }
  auto am = std::make_shared<std::vector<int32_t>>(size_t(shape_numel(out_shape(g))));
  kernels::max_pool2d_forward(y.data(), am->data(), x.data(), g);
  record(y, "max_pool2d", {x}, [am = Argmax(am), g](const Tensor& gy) {
    return std::vector<Tensor>{pool_scatter(gy, am, g)};
  });
  return y;
}

Tensor avg_pool2d(const Tensor& x, std::array<int64_t, 2> kernel, std::array<int64_t, 2> stride) {
  return avg_forward(x, pool_geometry(x, kernel, stride, "avg_pool2d"));
}

Tensor upsample_nearest2d(const Tensor& x, int64_t scale) {
  detail::check_defined(x, "upsample_nearest2d");
  FRESCO_CHECK_SHAPE(x.dim() == 4, "upsample_nearest2d: expected a 4-d input [N, C, H, W], got {}",
                     shape_str(x.shape()));
  FRESCO_CHECK(scale >= 1, "upsample_nearest2d: scale must be >= 1, got {}", scale);
  return upsample(x, scale);
}

}  // namespace fresco
