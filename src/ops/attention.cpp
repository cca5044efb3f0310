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
                             g.causal);
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

Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask,
                                    bool causal) {
  const char* op = "scaled_dot_product_attention";
  detail::check_defined(q, op, "query");
  detail::check_defined(k, op, "key");
  detail::check_defined(v, op, "value");
  FRESCO_PROFILE("attention");
  FRESCO_CHECK_SHAPE(q.dim() == 4 && k.dim() == 4 && v.dim() == 4,
                     "{}: q, k and v must be [B, H, T, D], got q {}, k {}, v {}", op, shape_str(q.shape()),
                     shape_str(k.shape()), shape_str(v.shape()));
  const Geometry g{q.size(0), q.size(1), q.size(2), k.size(2), q.size(3), v.size(3),
                   1.f / std::sqrt(static_cast<float>(q.size(3))), causal};
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

  const Tensor qc = q.contiguous().detach(), kc = k.contiguous().detach(), vc = v.contiguous().detach();
  const Tensor mc = mask.defined() ? mask.contiguous().detach() : Tensor();
  const Tensor p = probs_forward(qc, kc, mc, g);
  Tensor out = detail::make_tensor({g.B, g.H, g.Tq, g.Dv});
  kernels::gemm(g.bh(), g.Tq, g.Dv, g.Tk, {p.data(), g.Tq * g.Tk, g.Tk, 1}, {vc.data(), g.Tk * g.Dv, g.Dv, 1},
                out.data(), g.Dv, g.Tq * g.Dv);

  if (needs_grad({&q, &k, &v, &mask}))
    record(out, "scaled_dot_product_attention", {q, k, v, mask},
           [q, k, v, mask, qc, kc, vc, p, g](const Tensor& dout) {
             if (is_grad_enabled()) {
               // create_graph: P recomputed as a recorded op, the rest in matmuls.
               const Tensor p2 = attention_probs(q, k, mask, g);
               std::vector<Tensor> out = probs_grads_composed(p2, matmul(dout, v.transpose(-2, -1)), q, k, mask, g);
               out.insert(out.begin() + 2, v.requires_grad() ? matmul(p2.transpose(-2, -1), dout) : Tensor());
               return out;
             }
             const Tensor go = dout.contiguous();
             std::vector<Tensor> grads(4);
             if (v.requires_grad()) {  // dV = Pᵀ·dO
               grads[2] = detail::make_tensor({g.B, g.H, g.Tk, g.Dv});
               kernels::gemm(g.bh(), g.Tk, g.Dv, g.Tq, {p.data(), g.Tq * g.Tk, 1, g.Tk},
                             {go.data(), g.Tq * g.Dv, g.Dv, 1}, grads[2].data(), g.Dv, g.Tk * g.Dv);
             }
             const bool want_mask = mask.defined() && mask.requires_grad();
             if (q.requires_grad() || k.requires_grad() || want_mask) {  // dP = dO·vᵀ
               Tensor dp = detail::make_tensor({g.B, g.H, g.Tq, g.Tk});
               kernels::gemm(g.bh(), g.Tq, g.Tk, g.Dv, {go.data(), g.Tq * g.Dv, g.Dv, 1},
                             {vc.data(), g.Tk * g.Dv, 1, g.Dv}, dp.data(), g.Tk, g.Tq * g.Tk);
               const Shape ms = mask.defined() ? mask.shape() : Shape{};
               std::vector<Tensor> pq = probs_grads_fused(dp, p, qc, kc, g, q.requires_grad(), k.requires_grad(),
                                                          want_mask ? &ms : nullptr);
               grads[0] = pq[0], grads[1] = pq[1], grads[3] = pq[2];
             }
             return grads;
           });
  return out;
}

}  // namespace fresco
