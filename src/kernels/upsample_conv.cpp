// SPDX-License-Identifier: Apache-2.0
// Nearest ×2 upsampling followed by a 3×3 convolution (padding 1), as four 2×2
// convolutions of the small input, one per output phase (a, b) = (row, column) parity.
// Output row 2p + a reads upsampled rows 2p + a − 1 ... 2p + a + 1, i.e. source rows
// p − 1, p, p (a = 0) or p, p, p + 1 (a = 1): the kernel rows that hit the same source row
// are summed, and likewise for columns. That is 4 · 4 = 16 multiply-adds per source pixel,
// channel pair and phase against 4 · 9 = 36, and the 4× larger upsampled tensor is never
// formed. The phases' outputs, in oneDNN's 8-channel blocks, are interleaved into y by 8 × 8
// register transposes (oneDNN's reorder into every other column is several times slower);
// layouts other than nChw8c are reordered straight into their rows and columns of y.
// The backward is the same in reverse: dy is split into its phases, dx is the sum of the
// phases' data gradients and dw gathers the phases' 2×2 weight gradients back into 3×3.
// Legend: N batch, C channels in, H W input size, K channels out; y is [N, K, 2H, 2W].
#include "kernels/conv.hpp"

#include <algorithm>
#include <array>
#include <type_traits>

#include <fresco/error.hpp>

#include "kernels/conv_primitives.hpp"
#include "kernels/dnnl_context.hpp"
#include "kernels/parallel.hpp"
#include "kernels/vec_math.hpp"

namespace fresco::kernels {

using namespace conv_primitives;

namespace {

using UpKey = std::array<int64_t, 8>;

struct UpsampleConv {
  std::array<Forward, 4> phase;  // index 2a + b
  std::array<BackwardData, 4> data;       // training only
  std::array<BackwardWeights, 4> weights;  // training only
  bool shared_x = true;  // every phase reads x in the same layout
  bool blocked8 = true;  // every phase writes (and, training, reads dy as) nChw8c
  bool same_dx = true;   // every phase's dx comes in the same layout (summed there)
  bool w_blocked = true; // every phase's forward reads OIhw8i8o weights (written by phase_kernels)
};

// Phase a ∈ {0, 1} of a kernel row (or column) triple t: source row 0 takes taps {0} (a = 0)
// or {0, 1} (a = 1), source row 1 takes {1, 2} or {2}. fold_adjoint is its transpose.
inline void fold(float (&out)[2][2], const float (&t)[3]) {
  out[0][0] = t[0], out[0][1] = t[1] + t[2];
  out[1][0] = t[0] + t[1], out[1][1] = t[2];
}
inline void fold_adjoint(float (&t)[3], const float (&g)[2][2]) {
  t[0] = g[0][0] + g[1][0];
  t[1] = g[0][1] + g[1][0];
  t[2] = g[0][1] + g[1][1];
}

/// w2 [4][K, C, 2, 2]: the phases' 2×2 kernels from w [K, C, 3, 3] (times scale[k] when
/// scale is not null), in OIHW or, when `blocked` (K and C multiples of 8), straight in
/// oneDNN's OIhw8i8o, which saves a reorder of 16/9 the weights per call. The loops run in
/// the written layout's order, so that each of the 16 output streams is written in sequence.
void phase_kernels(float* w2, const float* w, const float* scale, int64_t K, int64_t C, bool blocked) {
  const int64_t KC = K * C;
  const int64_t kb_step = blocked ? 8 : 1, cb_step = blocked ? 8 : C;
  // Blocks of output channels write disjoint parts of w2: they run in parallel (at batch 1,
  // the fold took half the time of a 256 -> 128 layer on 4×4 maps).
  parallel_for(K / kb_step, std::max<int64_t>(1, 4096 / (kb_step * C)), [&](int64_t kb_begin, int64_t kb_end) {
    for (int64_t k0 = kb_begin * kb_step; k0 < kb_end * kb_step; k0 += kb_step)
      for (int64_t c0 = 0; c0 < C; c0 += cb_step)
        for (int64_t ci = c0; ci < c0 + cb_step; ++ci)
          for (int64_t k = k0; k < k0 + kb_step; ++k) {
            const int64_t i = k * C + ci;
            // Offset of element (r2, s2) = (0, 0) and the step between the four.
            const int64_t base = blocked ? (((k / 8) * (C / 8) + ci / 8) * 4) * 64 + (ci % 8) * 8 + k % 8 : i * 4;
            const int64_t step = blocked ? 64 : 1;
            const float* k3 = w + i * 9;
            const float sc = scale ? scale[k] : 1.f;
            float rows[2][2][3];  // [a][r2][s]: the kernel's rows folded for phase a
            for (int s3 = 0; s3 < 3; ++s3) {
              float col[2][2];
              fold(col, {k3[s3] * sc, k3[3 + s3] * sc, k3[6 + s3] * sc});
              for (int a2 = 0; a2 < 2; ++a2)
                for (int r2 = 0; r2 < 2; ++r2) rows[a2][r2][s3] = col[a2][r2];
            }
            for (int a2 = 0; a2 < 2; ++a2)
              for (int r2 = 0; r2 < 2; ++r2) {
                float v[2][2];  // [b][s2]
                fold(v, rows[a2][r2]);
                for (int b2 = 0; b2 < 2; ++b2)
                  for (int s2 = 0; s2 < 2; ++s2) w2[(2 * a2 + b2) * KC * 4 + base + (r2 * 2 + s2) * step] = v[b2][s2];
              }
          }
  });
}

/// dw [K·C][3][3] from the phases' gradients dw2 [4][K·C][2][2]: phase_kernels' adjoint.
void gather_phase_grads(float* dw, const float* dw2, int64_t KC) {
  for (int64_t i = 0; i < KC; ++i) {
    float rows[2][2][3];  // [a][r2][s]
    for (int a2 = 0; a2 < 2; ++a2)
      for (int r2 = 0; r2 < 2; ++r2) {
        float g[2][2];  // [b][s2]
        for (int b2 = 0; b2 < 2; ++b2)
          for (int s2 = 0; s2 < 2; ++s2) g[b2][s2] = dw2[((2 * a2 + b2) * KC + i) * 4 + r2 * 2 + s2];
        fold_adjoint(rows[a2][r2], g);
      }
    for (int s3 = 0; s3 < 3; ++s3) {
      const float g[2][2] = {{rows[0][0][s3], rows[0][1][s3]}, {rows[1][0][s3], rows[1][1][s3]}};
      float t[3];
      fold_adjoint(t, g);
      for (int r = 0; r < 3; ++r) dw[i * 9 + r * 3 + s3] = t[r];
    }
  }
}

/// Between y [N, K, 2H, 2W] and its four phases ph[2a + b] [N, K/8, H, W, 8] (nChw8c),
/// y[n, k, 2p + a, 2q + b] = ph[2a + b][n, k / 8, p, q, k % 8]: interleaving (Split = false)
/// or splitting. Four columns q of both phases b of one row make an 8 (pixels) × 8
/// (channels) tile; transposed, its rows are 8 consecutive pixels of one channel's row.
template <bool Split>
void interleave_phases(std::conditional_t<Split, const float*, float*> y, std::conditional_t<Split, float*, const float*> ph,
                       int64_t phase_floats, int64_t N, int64_t K, int64_t H, int64_t W) {
  const int64_t KB = K / 8, plane = 4 * H * W, W2 = 2 * W;
  parallel_for(N * KB, std::max<int64_t>(1, (1 << 14) / (plane * 8)), [&](int64_t begin, int64_t end) {
    for (int64_t nk = begin; nk < end; ++nk) {
      auto* yb = y + nk * 8 * plane;  // channel 8·(nk % KB) of image nk / KB
      for (int64_t p = 0; p < H; ++p)
        for (int64_t a = 0; a < 2; ++a) {
          auto* s0 = ph + (2 * a) * phase_floats + (nk * H + p) * W * 8;
          auto* s1 = s0 + phase_floats;
          auto* yr = yb + (2 * p + a) * W2;
          int64_t q = 0;
          for (; q + 4 <= W; q += 4) {
            Vec8 r[8];
            if constexpr (Split) {
              for (int k = 0; k < 8; ++k) r[k] = load8(yr + k * plane + 2 * q);
            } else {
              for (int i = 0; i < 4; ++i) {
                r[2 * i] = load8(s0 + (q + i) * 8);
                r[2 * i + 1] = load8(s1 + (q + i) * 8);
              }
            }
            transpose8x8_regs(r);  // its own inverse
            if constexpr (Split) {
              for (int i = 0; i < 4; ++i) {
                store8(s0 + (q + i) * 8, r[2 * i]);
                store8(s1 + (q + i) * 8, r[2 * i + 1]);
              }
            } else {
              for (int k = 0; k < 8; ++k) store8(yr + k * plane + 2 * q, r[k]);
            }
          }
          for (; q < W; ++q)
            for (int k = 0; k < 8; ++k) {
              auto* y0 = yr + k * plane + 2 * q;
              if constexpr (Split) {
                s0[q * 8 + k] = y0[0];
                s1[q * 8 + k] = y0[1];
              } else {
                y0[0] = s0[q * 8 + k];
                y0[1] = s1[q * 8 + k];
              }
            }
        }
    }
  });
}

const UpsampleConv& upsample_conv_entry(int64_t N, int64_t C, int64_t H, int64_t W, int64_t K, bool has_bias,
                                        bool relu, bool training) {
  // One cache per thread, as for the plain convolutions (conv.cpp: forward_entry).
  thread_local dnnl_context::PrimitiveCache<8, UpsampleConv> cache;
  return cache.get(UpKey{N, C, H, W, K, int64_t(has_bias), int64_t(relu), int64_t(training)}, [&] {
    using tag = memory::format_tag;
    constexpr auto f32 = memory::data_type::f32;
    const dnnl::engine& eng = dnnl_context::engine();
    const memory::desc x({N, C, H, W}, f32, tag::nchw), w({K, C, 2, 2}, f32, tag::oihw);
    const memory::desc b = has_bias ? memory::desc({K}, f32, tag::x) : memory::desc();
    // Phase (a, b) of y [N, K, 2H, 2W]: every other row and column, from offset a·2W + b.
    const memory::desc y({N, K, H, W}, f32, memory::dims{K * 4 * H * W, 4 * H * W, 4 * W, 2});
    const memory::desc blocked({N, K, H, W}, f32, tag::nChw8c);
    dnnl::primitive_attr attr = dnnl_context::user_scratchpad_attr();
    if (relu) {
      dnnl::post_ops ops;
      ops.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f);
      attr.set_post_ops(ops);
    }
    const auto prop = training ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference;
    UpsampleConv e;
    for (int64_t a = 0; a < 2; ++a)
      for (int64_t c = 0; c < 2; ++c) {
        const memory::dims strides{1, 1}, dilates{0, 0}, pad_l{1 - a, 1 - c}, pad_r{a, c};
        const size_t i = size_t(2 * a + c);
        const dnnl::convolution_forward::desc desc(prop, dnnl::algorithm::convolution_direct, any_layout(x),
                                                   any_layout(w), b, any_layout(y), strides, dilates, pad_l, pad_r);
        const dnnl::convolution_forward::primitive_desc pd(desc, attr, eng);
        e.phase[i] = Forward{Operand(x, pd.src_desc(), true), Operand(w, pd.weights_desc(), true),
                             Operand(y, pd.dst_desc(), false), b, dnnl::convolution_forward(pd)};
        e.shared_x = e.shared_x && e.phase[i].x.inner == e.phase[0].x.inner;
        e.blocked8 = e.blocked8 && K % 8 == 0 && e.phase[i].y.inner == blocked;
        e.w_blocked = e.w_blocked && K % 8 == 0 && C % 8 == 0 &&
                      e.phase[i].w.inner == memory::desc({K, C, 2, 2}, f32, tag::OIhw8i8o);
        if (!training) continue;
        const dnnl::convolution_backward_data::desc dd(dnnl::algorithm::convolution_direct, any_layout(x),
                                                       any_layout(w), any_layout(y), strides, dilates, pad_l, pad_r);
        const dnnl::convolution_backward_data::primitive_desc dpd(dd, dnnl_context::user_scratchpad_attr(), eng, pd);
        e.data[i] = BackwardData{Operand(y, dpd.diff_dst_desc(), true), Operand(w, dpd.weights_desc(), true),
                                 Operand(x, dpd.diff_src_desc(), false), dnnl::convolution_backward_data(dpd)};
        const dnnl::convolution_backward_weights::desc wd(dnnl::algorithm::convolution_direct, any_layout(x),
                                                          any_layout(w), b, any_layout(y), strides, dilates, pad_l,
                                                          pad_r);
        const dnnl::convolution_backward_weights::primitive_desc wpd(wd, dnnl_context::user_scratchpad_attr(), eng, pd);
        e.weights[i] = BackwardWeights{Operand(x, wpd.src_desc(), true), Operand(y, wpd.diff_dst_desc(), true),
                                       Operand(w, wpd.diff_weights_desc(), false), b,
                                       dnnl::convolution_backward_weights(wpd)};
        e.blocked8 = e.blocked8 && e.data[i].dy.inner == blocked && e.weights[i].dy.inner == blocked;
        e.same_dx = e.same_dx && e.data[i].dx.inner == e.data[0].dx.inner;
        e.shared_x = e.shared_x && e.weights[i].x.inner == e.phase[0].x.inner;
      }
    return e;
  });
}

/// The layout x is saved in for the backward: the one the backward-weights primitives
/// (without bias) read, when all four read the one layout of the forward.
const Operand* saved_layout(int64_t N, int64_t C, int64_t H, int64_t W, int64_t K) {
  const UpsampleConv& e = upsample_conv_entry(N, C, H, W, K, false, false, true);
  return e.shared_x && !e.weights[0].x.same ? &e.weights[0].x : nullptr;
}

void upsample_conv_forward(const UpsampleConv& e, float* y, const float* x, const float* w, const float* w_scale,
                           const float* b, int64_t N, int64_t C, int64_t H, int64_t W, int64_t K,
                           const Operand* saved, float* x_saved) {
  const int64_t KC = K * C;
  float* w2 = workspace(3, size_t(16 * KC) * sizeof(float));
  phase_kernels(w2, w, w_scale, K, C, e.w_blocked);
  if (saved)
    dnnl_context::execute(saved->reorder, {Arg{DNNL_ARG_FROM, &saved->plain, x}, Arg{DNNL_ARG_TO, &saved->inner, x_saved}});
  const void* xi = nullptr;
  if (e.shared_x)
    xi = saved && saved->inner == e.phase[0].x.inner ? static_cast<const void*>(x_saved) : stage_input(e.phase[0].x, x, 0);
  const int64_t phase_floats = N * K * H * W;
  float* blocked_out = e.blocked8 ? workspace(2, size_t(4 * phase_floats) * sizeof(float)) : nullptr;
  for (int64_t a = 0; a < 2; ++a)
    for (int64_t c = 0; c < 2; ++c) {
      const Forward& f = e.phase[size_t(2 * a + c)];
      const void* xp = e.shared_x ? xi : stage_input(f.x, x, 0);
      const float* w2p = w2 + (2 * a + c) * KC * 4;
      const void* wi = e.w_blocked ? static_cast<const void*>(w2p) : stage_input(f.w, w2p, 1);
      if (blocked_out) {
        run_forward(f, xp, wi, b, blocked_out + (2 * a + c) * phase_floats);
        continue;
      }
      float* yp = y + a * 2 * W + c;
      void* yi = output_target(f.y, yp, 2);
      run_forward(f, xp, wi, b, yi);
      finish_output(f.y, yi, yp);
    }
  if (blocked_out) interleave_phases<false>(y, blocked_out, phase_floats, N, K, H, W);
}

}  // namespace

void upsample2_conv3x3_forward(float* y, const float* x, const float* w, const float* b, int64_t N, int64_t C,
                               int64_t H, int64_t W, int64_t K, bool relu, const float* w_scale) {
  FRESCO_ASSERT(N >= 1 && C >= 1 && H >= 1 && W >= 1 && K >= 1, "upsample2_conv3x3: empty geometry");
  upsample_conv_forward(upsample_conv_entry(N, C, H, W, K, b != nullptr, relu, false), y, x, w, w_scale, b, N, C, H,
                        W, K, nullptr, nullptr);
}

int64_t upsample2_conv3x3_saved_input_numel(int64_t N, int64_t C, int64_t H, int64_t W, int64_t K) {
  const Operand* saved = saved_layout(N, C, H, W, K);
  return saved ? static_cast<int64_t>((saved->inner.get_size() + sizeof(float) - 1) / sizeof(float)) : 0;
}

void upsample2_conv3x3_forward_train(float* y, const float* x, const float* w, const float* b, int64_t N, int64_t C,
                                     int64_t H, int64_t W, int64_t K, float* x_saved) {
  FRESCO_ASSERT(N >= 1 && C >= 1 && H >= 1 && W >= 1 && K >= 1, "upsample2_conv3x3: empty geometry");
  const Operand* saved = x_saved ? saved_layout(N, C, H, W, K) : nullptr;
  FRESCO_ASSERT(!x_saved || saved, "upsample2_conv3x3_forward_train: nothing to save for this geometry");
  upsample_conv_forward(upsample_conv_entry(N, C, H, W, K, b != nullptr, false, true), y, x, w, nullptr, b, N, C, H,
                        W, K, saved, x_saved);
}

void upsample2_conv3x3_backward(float* dx, float* dw, float* db, const float* dy, const float* w, const float* x,
                                const float* x_saved, int64_t N, int64_t C, int64_t H, int64_t W, int64_t K) {
  FRESCO_ASSERT(dx || dw, "upsample2_conv3x3_backward: no gradient asked for");
  const UpsampleConv& e = upsample_conv_entry(N, C, H, W, K, db != nullptr, false, true);
  const int64_t KC = K * C, phase_floats = N * K * H * W;
  // dy's phases, split once for both directions when they read nChw8c.
  float* dy_phases = nullptr;
  if (e.blocked8) {
    dy_phases = workspace(4, size_t(4 * phase_floats) * sizeof(float));
    interleave_phases<true>(dy, dy_phases, phase_floats, N, K, H, W);
  }
  auto phase_dy = [&](const Operand& op, int64_t i, int slot) -> const void* {
    if (dy_phases) return dy_phases + i * phase_floats;
    return stage_input(op, dy + (i / 2) * 2 * W + i % 2, slot);
  };
  if (dx) {
    float* w2 = workspace(3, size_t(16 * KC) * sizeof(float));
    phase_kernels(w2, w, nullptr, K, C, false);
    // Σ over phases, in the primitives' layout when they share one (else in plain NCHW).
    const size_t dx_bytes = e.same_dx ? e.data[0].dx.inner.get_size() : size_t(N * C * H * W) * sizeof(float);
    const int64_t n = static_cast<int64_t>(dx_bytes / sizeof(float));
    float* sum = e.same_dx && !e.data[0].dx.same ? workspace(5, dx_bytes) : dx;
    float* part = workspace(6, std::max(dx_bytes, e.data[0].dx.inner.get_size()));
    for (int64_t i = 0; i < 4; ++i) {
      const BackwardData& bd = e.data[size_t(i)];
      const void* wi = stage_input(bd.w, w2 + i * KC * 4, 1);
      float* target = i == 0 ? sum : part;
      if (e.same_dx) {
        run_backward_data(bd, phase_dy(bd.dy, i, 0), wi, target);
      } else {
        void* inner = output_target(bd.dx, target, 2);
        run_backward_data(bd, phase_dy(bd.dy, i, 0), wi, inner);
        finish_output(bd.dx, inner, target);
      }
      if (i > 0)
        for (int64_t j = 0; j < n; ++j) sum[j] += part[j];
    }
    if (sum != dx) finish_output(e.data[0].dx, sum, dx);
  }
  if (dw) {
    float* dw2 = workspace(3, size_t(16 * KC) * sizeof(float));
    float* db_parts = db ? workspace(7, size_t(4 * K) * sizeof(float)) : nullptr;
    const Operand* saved = x_saved ? saved_layout(N, C, H, W, K) : nullptr;
    const void* xi = nullptr;
    if (e.shared_x)
      xi = saved && saved->inner == e.weights[0].x.inner ? static_cast<const void*>(x_saved)
                                                          : stage_input(e.weights[0].x, x, 1);
    for (int64_t i = 0; i < 4; ++i) {
      const BackwardWeights& bw = e.weights[size_t(i)];
      const void* xp = e.shared_x ? xi : stage_input(bw.x, x, 1);
      float* dwp = dw2 + i * KC * 4;
      void* dwi = output_target(bw.dw, dwp, 2);
      run_backward_weights(bw, xp, phase_dy(bw.dy, i, 0), dwi, db ? db_parts + i * K : nullptr);
      finish_output(bw.dw, dwi, dwp);
    }
    gather_phase_grads(dw, dw2, KC);
    if (db)
      for (int64_t k = 0; k < K; ++k) db[k] = (db_parts[k] + db_parts[K + k]) + (db_parts[2 * K + k] + db_parts[3 * K + k]);
  }
}

}  // namespace fresco::kernels
