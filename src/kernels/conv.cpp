// SPDX-License-Identifier: Apache-2.0
// Convolution on oneDNN primitives, one set per geometry, created on first use. Callers
// hold plain NCHW / OIHW memory, but oneDNN's direct convolutions want channel-blocked
// layouts (nChw8c, ...): its plain-layout path is im2col + GEMM, several times slower on
// the W3 layers (backward weights up to 5-10x). So each primitive picks its own layouts
// (format_tag::any) and operands are reordered into per-thread workspaces around the
// call, only when the layouts differ (conv_primitives.hpp). In training each activation
// is reordered once per direction: the forward can leave its copy of x for the
// backward-weights primitive, and the backward reorders dy once for both of its
// primitives. The upsampling convolution is in upsample_conv.cpp, pooling in pool.cpp.
// Legend: N batch, C channels in, H W input size, K channels out, R S kernel size,
// P Q output size, G groups.
#include "kernels/conv.hpp"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <memory>
#include <vector>

#include <fresco/error.hpp>

#include "kernels/conv_primitives.hpp"
#include "kernels/dnnl_context.hpp"
#include "kernels/parallel.hpp"
#include "kernels/vec_math.hpp"

namespace fresco::kernels {

namespace conv_primitives {

float* workspace(int slot, size_t bytes) {
  struct Buffer {
    std::unique_ptr<float, decltype(&std::free)> data{nullptr, &std::free};
    size_t bytes = 0;
  };
  thread_local std::array<Buffer, 8> buffers;
  Buffer& b = buffers[size_t(slot)];
  if (b.bytes < bytes) {
    const size_t rounded = (bytes + 63) / 64 * 64;
    b.data.reset(static_cast<float*>(std::aligned_alloc(64, rounded)));
    FRESCO_ASSERT(b.data != nullptr, "conv: cannot allocate a {}-byte workspace", rounded);
    b.bytes = rounded;
  }
  return b.data.get();
}

}  // namespace conv_primitives

using namespace conv_primitives;

namespace {

using Key = std::array<int64_t, 17>;

/// The layouts and the oneDNN form of a geometry (dilation counted from 0, explicit
/// right/bottom padding).
struct ConvDescs {
  memory::desc x, w, b, y;
  memory::dims strides, dilates, pad_l, pad_r;
};

ConvDescs make_descs(const ConvGeometry& g, bool has_bias) {
  using tag = memory::format_tag;
  constexpr auto f32 = memory::data_type::f32;
  ConvDescs d;
  d.x = memory::desc({g.N, g.C, g.H, g.W}, f32, tag::nchw);
  d.y = memory::desc({g.N, g.K, g.P, g.Q}, f32, tag::nchw);
  // Grouped weights [K, C/G, R, S] are, in memory, exactly oneDNN's [G, K/G, C/G, R, S].
  d.w = g.groups == 1 ? memory::desc({g.K, g.C, g.R, g.S}, f32, tag::oihw)
                      : memory::desc({g.groups, g.K / g.groups, g.C / g.groups, g.R, g.S}, f32, tag::goihw);
  if (has_bias) d.b = memory::desc({g.K}, f32, tag::x);
  d.strides = {g.stride_h, g.stride_w};
  d.dilates = {g.dil_h - 1, g.dil_w - 1};
  d.pad_l = {g.pad_h, g.pad_w};
  // Right padding that makes oneDNN's output size formula give exactly P x Q.
  d.pad_r = {(g.P - 1) * g.stride_h + (g.R - 1) * g.dil_h + 1 - g.H - g.pad_h,
             (g.Q - 1) * g.stride_w + (g.S - 1) * g.dil_w + 1 - g.W - g.pad_w};
  return d;
}

Key make_key(const ConvGeometry& g, bool has_bias) {
  return {g.N,     g.C,     g.H,     g.W,     g.K,     g.R,     g.S,      g.P,           g.Q,
          g.stride_h, g.stride_w, g.pad_h, g.pad_w, g.dil_h, g.dil_w, g.groups, int64_t(has_bias)};
}

dnnl::convolution_forward::primitive_desc forward_pd(const ConvDescs& d) {
  // Training forward: it is also the hint the backward primitives are built from.
  const dnnl::convolution_forward::desc desc(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct,
                                             any_layout(d.x), any_layout(d.w), d.b, any_layout(d.y), d.strides,
                                             d.dilates, d.pad_l, d.pad_r);
  return dnnl::convolution_forward::primitive_desc(desc, dnnl_context::user_scratchpad_attr(), dnnl_context::engine());
}

void check_geometry(const ConvGeometry& g) {
  FRESCO_ASSERT(g.groups >= 1 && g.C % g.groups == 0 && g.K % g.groups == 0, "conv: groups {} for C {} K {}",
                g.groups, g.C, g.K);
  FRESCO_ASSERT(g.stride_h >= 1 && g.stride_w >= 1 && g.dil_h >= 1 && g.dil_w >= 1, "conv: stride/dilation < 1");
  FRESCO_ASSERT(g.P == (g.H + 2 * g.pad_h - (g.R - 1) * g.dil_h - 1) / g.stride_h + 1 &&
                    g.Q == (g.W + 2 * g.pad_w - (g.S - 1) * g.dil_w - 1) / g.stride_w + 1,
                "conv: output {}x{} does not match the geometry", g.P, g.Q);
}

// The convolution caches are per thread: oneDNN 2.6's brgemm convolutions (brgconv, what it
// picks on AVX-512) give wrong results now and then when one primitive runs on two threads at
// once, even each with its own scratchpad (4 threads sharing one generator differed from
// sequential calls by up to 0.07 in about one run in seven). A thread creates the primitives
// of a shape on its first call, and only it runs them.
const Forward& forward_entry(const ConvGeometry& g, bool has_bias) {
  thread_local dnnl_context::PrimitiveCache<17, Forward> cache;
  return cache.get(make_key(g, has_bias), [&] {
    const ConvDescs d = make_descs(g, has_bias);
    const auto pd = forward_pd(d);
    return Forward{Operand(d.x, pd.src_desc(), true), Operand(d.w, pd.weights_desc(), true),
                   Operand(d.y, pd.dst_desc(), false), d.b, dnnl::convolution_forward(pd)};
  });
}

const BackwardData& backward_data_entry(const ConvGeometry& g) {
  thread_local dnnl_context::PrimitiveCache<17, BackwardData> cache;
  return cache.get(make_key(g, false), [&] {
    const ConvDescs d = make_descs(g, false);
    const dnnl::convolution_backward_data::desc desc(dnnl::algorithm::convolution_direct, any_layout(d.x),
                                                     any_layout(d.w), any_layout(d.y), d.strides, d.dilates,
                                                     d.pad_l, d.pad_r);
    const dnnl::convolution_backward_data::primitive_desc pd(desc, dnnl_context::user_scratchpad_attr(), dnnl_context::engine(), forward_pd(d));
    return BackwardData{Operand(d.y, pd.diff_dst_desc(), true), Operand(d.w, pd.weights_desc(), true),
                        Operand(d.x, pd.diff_src_desc(), false), dnnl::convolution_backward_data(pd)};
  });
}

const BackwardWeights& backward_weights_entry(const ConvGeometry& g, bool has_bias) {
  thread_local dnnl_context::PrimitiveCache<17, BackwardWeights> cache;
  return cache.get(make_key(g, has_bias), [&] {
    const ConvDescs d = make_descs(g, has_bias);
    const dnnl::convolution_backward_weights::desc desc(dnnl::algorithm::convolution_direct, any_layout(d.x),
                                                        any_layout(d.w), d.b, any_layout(d.y), d.strides,
                                                        d.dilates, d.pad_l, d.pad_r);
    const dnnl::convolution_backward_weights::primitive_desc pd(desc, dnnl_context::user_scratchpad_attr(), dnnl_context::engine(), forward_pd(d));
    return BackwardWeights{Operand(d.x, pd.src_desc(), true), Operand(d.y, pd.diff_dst_desc(), true),
                           Operand(d.w, pd.diff_weights_desc(), false), d.b, dnnl::convolution_backward_weights(pd)};
  });
}

/// The layout a forward leaves its input in for the backward: the one the backward-weights
/// primitive (without bias) reads.
const Operand& saved_input(const ConvGeometry& g) { return backward_weights_entry(g, false).x; }

/// Whether conv2d_forward computes g with direct_conv3x3: a 3×3, stride 1, padding 1 convolution
/// to at most 4 channels (an image head). oneDNN pads such outputs to 8 channels and runs at
/// about a third of its speed on them.
bool small_output_conv3x3(const ConvGeometry& g) {
  return g.K <= 4 && g.R == 3 && g.S == 3 && g.stride_h == 1 && g.stride_w == 1 && g.pad_h == 1 && g.pad_w == 1 &&
         g.dil_h == 1 && g.dil_w == 1 && g.groups == 1;
}

/// y[n, k] = b[k] + Σ_c conv3x3(x[n, c], w[k, c]) for K ≤ KMax outputs, 8 columns per vector and
/// QT vectors of a row at a time: every input vector loaded feeds all K outputs. Each image's
/// planes are first copied into a zero-bordered buffer, so the taps need no bounds checks.
template <int KMax, int QT>
void direct_conv3x3(float* y, const float* x, const float* w, const float* b, const ConvGeometry& g) {
  const int64_t C = g.C, H = g.H, W = g.W, K = g.K;
  const int64_t tile = 8 * QT, W8 = (W + tile - 1) / tile * tile, Wp = W8 + 8, Hp = H + 2;
  parallel_for(g.N, 1, [&](int64_t n0, int64_t n1) {
    std::vector<float> pad(static_cast<size_t>(C * Hp * Wp), 0.f), row(static_cast<size_t>(W8));
    for (int64_t n = n0; n < n1; ++n) {
      for (int64_t c = 0; c < C; ++c)
        for (int64_t h = 0; h < H; ++h) {
          const float* src = x + ((n * C + c) * H + h) * W;
          std::copy(src, src + W, pad.data() + (c * Hp + h + 1) * Wp + 1);
        }
      for (int64_t p = 0; p < H; ++p)
        for (int64_t q0 = 0; q0 < W8; q0 += tile) {
          Vec8 acc[KMax][QT];
          for (int k = 0; k < KMax; ++k)
            for (int t = 0; t < QT; ++t) acc[k][t] = Vec8{} + (k < K && b ? b[k] : 0.f);
          for (int64_t c = 0; c < C; ++c)
            for (int r = 0; r < 3; ++r) {
              const float* xr = pad.data() + (c * Hp + p + r) * Wp + q0;
              for (int s3 = 0; s3 < 3; ++s3) {
                Vec8 xv[QT];
                for (int t = 0; t < QT; ++t) xv[t] = load8(xr + t * 8 + s3);
                for (int k = 0; k < KMax; ++k) {
                  if (k >= K) break;
                  const float wk = w[((k * C + c) * 3 + r) * 3 + s3];
                  for (int t = 0; t < QT; ++t) acc[k][t] += wk * xv[t];
                }
              }
            }
          for (int64_t k = 0; k < K; ++k) {
            float* yr = y + ((n * K + k) * H + p) * W;
            if (q0 + tile <= W) {
              for (int t = 0; t < QT; ++t) store8(yr + q0 + t * 8, acc[k][t]);
            } else {
              for (int t = 0; t < QT; ++t) store8(row.data() + q0 + t * 8, acc[k][t]);
              std::copy(row.data() + q0, row.data() + W, yr + q0);
            }
          }
        }
    }
  });
}

}  // namespace

int64_t conv2d_saved_input_numel(const ConvGeometry& g) {
  check_geometry(g);
  const Operand& x = saved_input(g);
  return x.same ? 0 : static_cast<int64_t>((x.inner.get_size() + sizeof(float) - 1) / sizeof(float));
}

void conv2d_forward(float* y, const float* x, const float* w, const float* b, const ConvGeometry& g, float* x_saved) {
  check_geometry(g);
  if (!x_saved && small_output_conv3x3(g)) {
    direct_conv3x3<4, 2>(y, x, w, b, g);
    return;
  }
  const Forward& f = forward_entry(g, b != nullptr);
  const void* xi = nullptr;
  if (x_saved) {
    // Normally the forward reads the very layout the backward keeps: one reorder serves both.
    const Operand& saved = saved_input(g);
    FRESCO_ASSERT(!saved.same, "conv2d_forward: nothing to save for this geometry");
    dnnl_context::execute(saved.reorder, {Arg{DNNL_ARG_FROM, &saved.plain, x}, Arg{DNNL_ARG_TO, &saved.inner, x_saved}});
    xi = f.x.inner == saved.inner ? static_cast<const void*>(x_saved) : stage_input(f.x, x, 0);
  } else {
    xi = stage_input(f.x, x, 0);
  }
  const void* wi = stage_input(f.w, w, 1);
  void* yi = output_target(f.y, y, 2);
  run_forward(f, xi, wi, b, yi);
  finish_output(f.y, yi, y);
}

void conv2d_backward_data(float* dx, const float* dy, const float* w, const ConvGeometry& g) {
  check_geometry(g);
  const BackwardData& bd = backward_data_entry(g);
  const void* dyi = stage_input(bd.dy, dy, 0);
  const void* wi = stage_input(bd.w, w, 1);
  void* dxi = output_target(bd.dx, dx, 2);
  run_backward_data(bd, dyi, wi, dxi);
  finish_output(bd.dx, dxi, dx);
}

void conv2d_backward_weights(float* dw, float* db, const float* x, const float* dy, const ConvGeometry& g) {
  conv2d_backward(nullptr, dw, db, dy, nullptr, x, nullptr, g);
}

void conv2d_backward(float* dx, float* dw, float* db, const float* dy, const float* w, const float* x,
                     const float* x_saved, const ConvGeometry& g) {
  check_geometry(g);
  FRESCO_ASSERT(dx || dw, "conv2d_backward: no gradient asked for");
  const BackwardData* bd = dx ? &backward_data_entry(g) : nullptr;
  const BackwardWeights* bw = dw ? &backward_weights_entry(g, db != nullptr) : nullptr;
  // dy is reordered once when both primitives read it in the same layout.
  const void* dyi = stage_input(bd ? bd->dy : bw->dy, dy, 0);
  if (bd) {
    const void* wi = stage_input(bd->w, w, 1);
    void* dxi = output_target(bd->dx, dx, 2);
    run_backward_data(*bd, dyi, wi, dxi);
    finish_output(bd->dx, dxi, dx);
  }
  if (bw) {
    if (bd && !(bw->dy.inner == bd->dy.inner)) dyi = stage_input(bw->dy, dy, 0);
    const void* xi = x_saved && bw->x.inner == saved_input(g).inner ? static_cast<const void*>(x_saved)
                                                                      : stage_input(bw->x, x, 1);
    void* dwi = output_target(bw->dw, dw, 2);
    run_backward_weights(*bw, xi, dyi, dwi, db);
    finish_output(bw->dw, dwi, dw);
  }
}

}  // namespace fresco::kernels
