// SPDX-License-Identifier: Apache-2.0
// Fused scaled dot-product attention over [B, H, T, D] (legend: B batch,
// H heads, Tq/Tk query/key positions, D head size, Dv value size).
//   S = q·kᵀ·scale + mask,  P = softmax(S) (causal / -inf keys dropped),  O = P·v.
// Forward: two batched GEMMs and one in-place row pass; P is kept for the
// backward. Backward (no graph recorded), with dO the output gradient:
//   dV = Pᵀ·dO,  dP = dO·vᵀ,  dS = P ⊙ (dP − rowsum(dP ⊙ P)),  dq = dS·k·scale,  dk = dSᵀ·q·scale,
// every transpose a stride swap in kernels::gemm. Under create_graph the same
// formulas in differentiable ops, with P from `attention_probs`, an internal
// op that is itself differentiable to any order.
#include <fresco/ops/attention.hpp>

#include <array>
#include <cmath>

#include <fresco/ops/matmul.hpp>
#include <fresco/ops/shape.hpp>

#include "kernels/attention.hpp"
#include "kernels/gemm.hpp"
#include "kernels/softmax.hpp"
#include "ops/op_helpers.hpp"
#include "tensor/profiler_scope.hpp"

namespace fresco {

using detail::needs_grad;
using detail::record;

namespace {

struct Geometry {
  int64_t B, H, Tq, Tk, D, Dv;
  float scale;
  bool causal;
  int64_t prefix;   // with causal: queries below it see every key below it
  int64_t bh() const { return B * H; }
};

// Element strides of a contiguous mask read as [B, H, Tq, Tk] (0 on broadcast dims).
std::array<int64_t, 4> mask_strides(const Tensor& mc) {
  std::array<int64_t, 4> s{0, 0, 0, 0};
  const int64_t off = 4 - mc.dim();
  for (int64_t i = 0; i < mc.dim(); ++i) s[i + off] = mc.size(i) == 1 ? 0 : mc.stride(i);
  return s;
}

// P [B, H, Tq, Tk] = softmax(q·kᵀ·scale + mask) with dropped keys at 0. No recording.
Tensor probs_forward(const Tensor& qc, const Tensor& kc, const Tensor& mc, const Geometry& g) {
  Tensor p = detail::make_tensor({g.B, g.H, g.Tq, g.Tk});
  kernels::gemm(g.bh(), g.Tq, g.Tk, g.D, {qc.data(), g.Tq * g.D, g.D, 1}, {kc.data(), g.Tk * g.D, 1, g.D}, p.data(),
                g.Tk, g.Tq * g.Tk);
  const std::array<int64_t, 4> ms = mc.defined() ? mask_strides(mc) : std::array<int64_t, 4>{};
  kernels::attention_softmax(p.data(), g.B, g.H, g.Tq, g.Tk, g.scale, mc.defined() ? mc.data() : nullptr, ms.data(),
                             g.causal, g.prefix);
  return p;
}

// Fused: from dP (consumed: overwritten by dS·scale) and P, the gradients of q, k and
// the mask (those whose flag is set).
std::vector<Tensor> probs_grads_fused(Tensor& dp, const Tensor& p, const Tensor& qc, const Tensor& kc,
                                      const Geometry& g, bool want_q, bool want_k, const Shape* mask_shape) {
  kernels::softmax_backward(dp.data(), dp.data(), p.data(), g.bh() * g.Tq, g.Tk, false, g.scale);
  std::vector<Tensor> out(3);
  if (want_q) {
    out[0] = detail::make_tensor({g.B, g.H, g.Tq, g.D});
    kernels::gemm(g.bh(), g.Tq, g.D, g.Tk, {dp.data(), g.Tq * g.Tk, g.Tk, 1}, {kc.data(), g.Tk * g.D, g.D, 1},
                  out[0].data(), g.D, g.Tq * g.D);
  }
  if (want_k) {
    out[1] = detail::make_tensor({g.B, g.H, g.Tk, g.D});
    kernels::gemm(g.bh(), g.Tk, g.D, g.Tq, {dp.data(), g.Tq * g.Tk, 1, g.Tk}, {qc.data(), g.Tq * g.D, g.D, 1},
                  out[1].data(), g.D, g.Tk * g.D);
  }
  if (mask_shape) out[2] = sum_to(dp, *mask_shape) * (1.f / g.scale);  // the mask is added after the scale
  return out;
}

Tensor attention_probs(const Tensor& q, const Tensor& k, const Tensor& mask, const Geometry& g);

// Differentiable version of probs_grads_fused (create_graph).
// p is attention_probs(q, k, mask) as a recorded op.
std::vector<Tensor> probs_grads_composed(const Tensor& p, const Tensor& dp, const Tensor& q, const Tensor& k,
                                         const Tensor& mask, const Geometry& g) {
  const Tensor ds = p * (dp - sum(dp * p, {-1}, true));
  std::vector<Tensor> out(3);
  if (q.requires_grad()) out[0] = matmul(ds, k) * g.scale;
  if (k.requires_grad()) out[1] = matmul(ds.transpose(-2, -1), q) * g.scale;
  if (mask.defined() && mask.requires_grad()) out[2] = sum_to(ds, mask.shape());
  return out;
}

// P as a recorded op of q, k (and mask), for the create_graph backward of attention.
Tensor attention_probs(const Tensor& q, const Tensor& k, const Tensor& mask, const Geometry& g) {
  const Tensor qc = q.contiguous().detach(), kc = k.contiguous().detach();
  const Tensor mc = mask.defined() ? mask.contiguous().detach() : Tensor();
  Tensor p = probs_forward(qc, kc, mc, g);
  if (needs_grad({&q, &k, &mask}))
    record(p, "attention_probs", {q, k, mask}, [q, k, mask, qc, kc, p_saved = p.detach(), g](const Tensor& dp) {
      if (is_grad_enabled()) return probs_grads_composed(attention_probs(q, k, mask, g), dp, q, k, mask, g);
      Tensor dpc = dp.clone();
      const Shape ms = mask.defined() ? mask.shape() : Shape{};
      return probs_grads_fused(dpc, p_saved, qc, kc, g, q.requires_grad(), k.requires_grad(),
                               mask.defined() && mask.requires_grad() ? &ms : nullptr);
    });
  return p;
}

}  // namespace

namespace {

// t [B, H, T, D] with rows of unit stride, read or written through its strides.
kernels::HeadsRef heads_ref(const Tensor& t) { return {t.impl()->ptr(), t.stride(0), t.stride(1), t.stride(2)}; }

// Reads t [B, H, T, D] in place when its rows are contiguous, else from a copy (kept alive by `keep`).
kernels::HeadsRef heads_ref(const Tensor& t, Tensor& keep) {
  keep = t.stride(3) == 1 ? t.detach() : t.contiguous().detach();
  return heads_ref(keep);
}

// Heads of size D laid side by side in rows of `width` floats of a [B, T, width] tensor.
kernels::HeadsRef packed_heads(const float* data, int64_t T, int64_t D, int64_t width) {
  return {const_cast<float*>(data), T * width, D, width};
}

kernels::AttentionShape kernel_shape(const Geometry& g, const Tensor& mc) {
  kernels::AttentionShape s{g.B, g.H, g.Tq, g.Tk, g.D, g.Dv, g.scale, g.causal, g.prefix, nullptr, {0, 0, 0, 0}};
  if (mc.defined()) {
    s.mask = mc.data();
    const std::array<int64_t, 4> ms = mask_strides(mc);
    std::copy(ms.begin(), ms.end(), s.mask_strides);
  }
  return s;
}

// The create_graph backward of attention: P recomputed as a recorded op, the rest
// in matmuls, all differentiable. Returns {dq, dk, dv, dmask}.
std::vector<Tensor> composed_grads(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask,
                                   const Geometry& g, const Tensor& dout) {
  const Tensor p2 = attention_probs(q, k, mask, g);
  std::vector<Tensor> out = probs_grads_composed(p2, matmul(dout, v.transpose(-2, -1)), q, k, mask, g);
  out.insert(out.begin() + 2, v.requires_grad() ? matmul(p2.transpose(-2, -1), dout) : Tensor());
  return out;
}

// The mask's gradient from dS [B, H, Tq, Tk]: the mask is added after the scale, so dmask = sum_to(dS).
Tensor mask_grad(const Tensor& ds, const Tensor& mask) { return sum_to(ds, mask.shape()); }

// The shape checks of scaled_dot_product_attention on [B, H, T, D] operands.
Geometry checked_geometry(const char* op, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask,
                          bool causal, int64_t causal_prefix) {
  FRESCO_CHECK_SHAPE(q.dim() == 4 && k.dim() == 4 && v.dim() == 4,
                     "{}: q, k and v must be [B, H, T, D], got q {}, k {}, v {}", op, shape_str(q.shape()),
                     shape_str(k.shape()), shape_str(v.shape()));
  const Geometry g{q.size(0), q.size(1), q.size(2), k.size(2), q.size(3), v.size(3),
                   1.f / std::sqrt(static_cast<float>(q.size(3))), causal, causal_prefix};
  FRESCO_CHECK(causal_prefix >= 0 && (causal || causal_prefix == 0),
               "{}: causal_prefix must be >= 0 and needs causal, got {} (causal {})", op, causal_prefix, causal);
  FRESCO_CHECK_SHAPE(k.size(0) == g.B && k.size(1) == g.H && k.size(3) == g.D && v.size(0) == g.B &&
                         v.size(1) == g.H && v.size(2) == g.Tk,
                     "{}: q {}, k {}, v {} do not fit [B,H,Tq,D], [B,H,Tk,D], [B,H,Tk,Dv]", op, shape_str(q.shape()),
                     shape_str(k.shape()), shape_str(v.shape()));
  FRESCO_CHECK_SHAPE(g.B > 0 && g.H > 0 && g.Tq > 0 && g.Tk > 0 && g.D > 0 && g.Dv > 0,
                     "{}: sizes must be positive, got q {}, k {}, v {}", op, shape_str(q.shape()), shape_str(k.shape()),
                     shape_str(v.shape()));
  const Shape scores{g.B, g.H, g.Tq, g.Tk};
  if (mask.defined()) {
    bool ok = mask.dim() <= 4;
    for (int64_t i = 0; ok && i < mask.dim(); ++i) {
      const int64_t s = mask.size(i), full = scores[4 - mask.dim() + i];
      ok = s == 1 || s == full;
    }
    FRESCO_CHECK_SHAPE(ok, "{}: mask of shape {} does not broadcast to the scores [B, H, Tq, Tk] = {}", op,
                       shape_str(mask.shape()), shape_str(scores));
  }
  return g;
}

}  // namespace

Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask,
                                    bool causal, int64_t causal_prefix) {
  const char* op = "scaled_dot_product_attention";
  detail::check_defined(q, op, "query");
  detail::check_defined(k, op, "key");
  detail::check_defined(v, op, "value");
  FRESCO_PROFILE("attention");
  const Geometry g = checked_geometry(op, q, k, v, mask, causal, causal_prefix);

  Tensor qc, kc, vc;
  const kernels::HeadsRef qr = heads_ref(q, qc), kr = heads_ref(k, kc), vr = heads_ref(v, vc);
  const Tensor mc = mask.defined() ? mask.contiguous().detach() : Tensor();
  const kernels::AttentionShape ks = kernel_shape(g, mc);
  Tensor p = detail::make_tensor({g.B, g.H, g.Tq, g.Tk});
  Tensor out = detail::make_tensor({g.B, g.H, g.Tq, g.Dv});
  kernels::attention_forward(heads_ref(out), p.data(), qr, kr, vr, ks);

  if (needs_grad({&q, &k, &v, &mask}))
    record(out, "scaled_dot_product_attention", {q, k, v, mask},
           [q, k, v, mask, qc, kc, vc, mc, p, g](const Tensor& dout) {
             if (is_grad_enabled()) return composed_grads(q, k, v, mask, g, dout);
             Tensor go;
             const kernels::HeadsRef gr = heads_ref(dout, go);
             std::vector<Tensor> grads(4);
             kernels::HeadsRef dr[3] = {};
             const Tensor* inputs[3] = {&q, &k, &v};
             for (int i = 0; i < 3; ++i)
               if (inputs[i]->requires_grad()) {
                 grads[i] = detail::make_tensor(inputs[i]->shape());
                 dr[i] = heads_ref(grads[i]);
               }
             const bool want_mask = mask.defined() && mask.requires_grad();
             Tensor ds = want_mask ? detail::make_tensor({g.B, g.H, g.Tq, g.Tk}) : Tensor();
             kernels::attention_backward(dr[0], dr[1], dr[2], want_mask ? ds.data() : nullptr, gr, p.data(),
                                         heads_ref(qc), heads_ref(kc), heads_ref(vc), kernel_shape(g, mc));
             if (want_mask) grads[3] = mask_grad(ds, mask);
             return grads;
           });
  return out;
}

Tensor self_attention_packed(const Tensor& qkv, int64_t heads, const Tensor& mask, bool causal, int64_t causal_prefix) {
  const char* op = "self_attention_packed";
  detail::check_defined(qkv, op, "qkv");
  FRESCO_PROFILE("attention");
  FRESCO_CHECK_SHAPE(qkv.dim() == 3 && heads > 0 && qkv.size(2) % (3 * heads) == 0,
                     "{}: qkv must be [B, T, 3·C] with C a multiple of heads ({}), got {}", op, heads,
                     shape_str(qkv.shape()));
  const int64_t B = qkv.size(0), T = qkv.size(1), C = qkv.size(2) / 3, H = heads, D = C / H;
  // [B, T, 3C] -> [3, B, H, T, D] views: the differentiable twin the checks and create_graph use.
  auto split = [=](const Tensor& x) {
    const Tensor v5 = x.reshape({B, T, 3, H, D}).permute({2, 0, 3, 1, 4});
    return std::array<Tensor, 3>{v5.slice(0, 0, 1).squeeze(0), v5.slice(0, 1, 2).squeeze(0),
                                 v5.slice(0, 2, 3).squeeze(0)};
  };
  const Tensor xc = qkv.contiguous();
  const std::array<Tensor, 3> views = split(xc.detach());
  const Geometry g = checked_geometry(op, views[0], views[1], views[2], mask, causal, causal_prefix);

  // q, k, v at column offsets 0, C, 2C of each [3C] row; the output rows hold the heads side by side.
  const float* base = xc.data();
  auto packed = [T, D](const float* data, int64_t width) { return packed_heads(data, T, D, width); };
  const Tensor mc = mask.defined() ? mask.contiguous().detach() : Tensor();
  const kernels::AttentionShape ks = kernel_shape(g, mc);
  Tensor p = detail::make_tensor({B, H, T, T});
  Tensor out = detail::make_tensor({B, T, C});
  kernels::attention_forward(packed(out.data(), C), p.data(), packed(base, 3 * C), packed(base + C, 3 * C),
                             packed(base + 2 * C, 3 * C), ks);

  if (detail::needs_grad({&qkv, &mask}))
    detail::record(out, op, {qkv, mask}, [qkv, xc = xc.detach(), mask, mc, p, g, split, B, T, C, H, D](const Tensor& dout) {
      std::vector<Tensor> grads(2);
      if (is_grad_enabled()) {
        const std::array<Tensor, 3> qkv_h = split(qkv);
        const Tensor dout_h = dout.reshape({B, T, H, D}).transpose(1, 2);
        std::vector<Tensor> d = composed_grads(qkv_h[0], qkv_h[1], qkv_h[2], mask, g, dout_h);
        if (qkv.requires_grad())  // [3, B, H, T, D] -> [B, T, 3, H, D] -> [B, T, 3C]
          grads[0] = stack({d[0], d[1], d[2]}, 0).permute({1, 3, 0, 2, 4}).reshape({B, T, 3 * C});
        grads[1] = d[3];
        return grads;
      }
      const Tensor go = dout.contiguous();
      const bool want_mask = mask.defined() && mask.requires_grad();
      Tensor ds = want_mask ? detail::make_tensor({B, H, T, T}) : Tensor();
      auto packed = [T, D](const float* data, int64_t width) { return packed_heads(data, T, D, width); };
      kernels::HeadsRef dq{}, dk{}, dv{};
      if (qkv.requires_grad()) {
        grads[0] = detail::make_tensor({B, T, 3 * C});
        float* d = grads[0].data();
        dq = packed(d, 3 * C), dk = packed(d + C, 3 * C), dv = packed(d + 2 * C, 3 * C);
      }
      const float* x = xc.data();
      kernels::attention_backward(dq, dk, dv, want_mask ? ds.data() : nullptr, packed(go.data(), C), p.data(),
                                  packed(x, 3 * C), packed(x + C, 3 * C), packed(x + 2 * C, 3 * C),
                                  kernel_shape(g, mc));
      if (want_mask) grads[1] = mask_grad(ds, mask);
      return grads;
    });
  return out;
}

}  // namespace fresco
