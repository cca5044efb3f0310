// SPDX-License-Identifier: Apache-2.0
// Fused layer norm: the forward saves mean and rstd per row (llm.c's
// layernorm_forward); the backward is one kernel when no graph is recorded,
// and the same formula in differentiable ops under create_graph.
#include <fresco/ops/nn.hpp>

#include "kernels/layer_norm.hpp"
#include "ops/op_helpers.hpp"
#include "tensor/profiler_scope.hpp"

namespace fresco {

using detail::needs_grad;
using detail::record;

namespace {

// The gradients of layer norm over rows of [R, C], in differentiable ops.
// x̂ = (x − μ)·rstd; dx = rstd·(dx̂ − mean(dx̂) − x̂·mean(dx̂ ⊙ x̂)) with dx̂ = g ⊙ w;
// dw = Σ_rows g ⊙ x̂; db = Σ_rows g.
std::vector<Tensor> layer_norm_backward_composed(const Tensor& g, const Tensor& x, const Tensor& weight,
                                                 const Tensor& bias, const Shape& nshape, int64_t R, int64_t C,
                                                 float eps) {
  const Tensor xr = x.reshape({R, C}), gr = g.reshape({R, C});
  const Tensor xm = xr - mean(xr, {1}, true);
  const Tensor rs = pow(mean(xm * xm, {1}, true) + eps, -0.5f);
  const Tensor xhat = xm * rs;
  std::vector<Tensor> out(3);
  if (x.requires_grad()) {
    const Tensor dxhat = weight.defined() ? gr * weight.reshape({C}) : gr;
    out[0] = (rs * (dxhat - mean(dxhat, {1}, true) - xhat * mean(dxhat * xhat, {1}, true))).reshape(x.shape());
  }
  if (weight.defined() && weight.requires_grad()) out[1] = sum(gr * xhat, {0}).reshape(nshape);
  if (bias.defined() && bias.requires_grad()) out[2] = sum(gr, {0}).reshape(nshape);
  return out;
}

}  // namespace

Tensor layer_norm(const Tensor& x, Shape nshape, const Tensor& weight, const Tensor& bias, float eps) {
  detail::check_defined(x, "layer_norm");
  FRESCO_PROFILE("layer_norm");
  const int64_t nd = static_cast<int64_t>(nshape.size());
  bool fits = nd >= 1 && nd <= x.dim();
  for (int64_t i = 0; fits && i < nd; ++i) fits = x.shape()[x.dim() - nd + i] == nshape[i];
  FRESCO_CHECK_SHAPE(fits, "layer_norm: input of shape {} does not end with normalized_shape {}", shape_str(x.shape()),
                     shape_str(nshape));
  FRESCO_CHECK_SHAPE(!weight.defined() || weight.shape() == nshape,
                     "layer_norm: weight of shape {} does not match normalized_shape {}", shape_str(weight.shape()),
                     shape_str(nshape));
  FRESCO_CHECK_SHAPE(!bias.defined() || bias.shape() == nshape,
                     "layer_norm: bias of shape {} does not match normalized_shape {}", shape_str(bias.shape()),
                     shape_str(nshape));
  FRESCO_CHECK(eps >= 0.f, "layer_norm: eps must be non-negative, got {}", eps);
  const int64_t C = shape_numel(nshape);
  const int64_t R = C == 0 ? 0 : x.numel() / C;

  const Tensor xc = x.contiguous().detach();
  const Tensor wc = weight.defined() ? weight.contiguous().detach() : Tensor();
  const Tensor bc = bias.defined() ? bias.contiguous().detach() : Tensor();
  Tensor y = detail::make_tensor(x.shape());
  Tensor mean_t = detail::make_tensor({R}), rstd_t = detail::make_tensor({R});
  if (R > 0 && C > 0)
    kernels::layer_norm_forward(y.data(), mean_t.data(), rstd_t.data(), xc.data(), wc.defined() ? wc.data() : nullptr,
                                bc.defined() ? bc.data() : nullptr, R, C, eps);

  if (needs_grad({&x, &weight, &bias}))
    record(y, "layer_norm", {x, weight, bias},
           [x, weight, bias, xc, wc, mean_t, rstd_t, nshape, R, C, eps](const Tensor& g) {
             if (is_grad_enabled()) return layer_norm_backward_composed(g, x, weight, bias, nshape, R, C, eps);
             const Tensor gc = g.contiguous();
             std::vector<Tensor> out(3);
             if (x.requires_grad()) out[0] = detail::make_tensor(x.shape());
             if (weight.defined() && weight.requires_grad()) out[1] = detail::make_tensor(nshape);
             if (bias.defined() && bias.requires_grad()) out[2] = detail::make_tensor(nshape);
             if (R == 0 || C == 0) {
               for (Tensor& t : out)
                 if (t.defined()) t = zeros(t.shape());
               return out;
             }
             kernels::layer_norm_backward(out[0].defined() ? out[0].data() : nullptr,
                                          out[1].defined() ? out[1].data() : nullptr,
                                          out[2].defined() ? out[2].data() : nullptr, gc.data(), xc.data(),
                                          mean_t.data(), rstd_t.data(), wc.defined() ? wc.data() : nullptr, R, C);
             return out;
           });
  return y;
}

}  // namespace fresco
