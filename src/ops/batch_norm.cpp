// SPDX-License-Identifier: Apache-2.0
// Fused batch norm: the forward saves the per-channel mean and rstd; the backward is
// one kernel when no graph is recorded, and the same formulas in differentiable ops
// under create_graph (so that double backward goes through the batch statistics).
#include <fresco/ops/nn.hpp>

#include <cmath>

#include <fresco/ops/elementwise.hpp>
#include <fresco/ops/reduce.hpp>

#include "kernels/batch_norm.hpp"
#include "ops/op_helpers.hpp"
#include "tensor/profiler_scope.hpp"

namespace fresco {

namespace {

Shape per_channel(int64_t C) { return {1, C, 1, 1}; }

// Training gradients in differentiable ops. x̂ = (x − μ)·rstd;
// dx = rstd·(dx̂ − mean(dx̂) − x̂·mean(dx̂ ⊙ x̂)) with dx̂ = g ⊙ w, means over N, H, W;
// dw = Σ g ⊙ x̂; db = Σ g.
std::vector<Tensor> train_backward_composed(const Tensor& g, const Tensor& x, const Tensor& weight,
                                            const Tensor& bias, float eps) {
  const int64_t C = x.size(1);
  const Tensor xm = x - mean(x, {0, 2, 3}, true);
  const Tensor rs = pow(mean(xm * xm, {0, 2, 3}, true) + eps, -0.5f);
  const Tensor xhat = xm * rs;
  std::vector<Tensor> out(3);
  if (x.requires_grad()) {
    const Tensor dxhat = weight.defined() ? g * weight.view(per_channel(C)) : g;
    out[0] = rs * (dxhat - mean(dxhat, {0, 2, 3}, true) - xhat * mean(dxhat * xhat, {0, 2, 3}, true));
  }
  if (weight.defined() && weight.requires_grad()) out[1] = sum(g * xhat, {0, 2, 3});
  if (bias.defined() && bias.requires_grad()) out[2] = sum(g, {0, 2, 3});
  return out;
}

// Eval gradients in differentiable ops, the statistics (mean, rstd [1, C, 1, 1]) constant:
// dx = g ⊙ w · rstd; dw = Σ g ⊙ x̂; db = Σ g.
std::vector<Tensor> eval_backward_composed(const Tensor& g, const Tensor& x, const Tensor& mean_c,
                                           const Tensor& rstd_c, const Tensor& weight, const Tensor& bias) {
  const int64_t C = x.size(1);
  std::vector<Tensor> out(3);
  if (x.requires_grad()) out[0] = weight.defined() ? g * (weight.view(per_channel(C)) * rstd_c) : g * rstd_c;
  if (weight.defined() && weight.requires_grad()) out[1] = sum(g * ((x - mean_c) * rstd_c), {0, 2, 3});
  if (bias.defined() && bias.requires_grad()) out[2] = sum(g, {0, 2, 3});
  return out;
}

void check_inputs(const Tensor& x, const Tensor& weight, const Tensor& bias, const char* op) {
  detail::check_defined(x, op);
  FRESCO_CHECK_SHAPE(x.dim() == 4, "{}: expected a 4-d input [N, C, H, W], got {}", op, shape_str(x.shape()));
  const int64_t C = x.size(1);
  for (const Tensor* p : {&weight, &bias})
    FRESCO_CHECK_SHAPE(!p->defined() || p->shape() == Shape{C}, "{}: expected a {} of shape [{}] for input {}, got {}",
                       op, p == &weight ? "weight" : "bias", C, shape_str(x.shape()), shape_str(p->shape()));
}

/// The fused backward when no graph is recorded.
std::vector<Tensor> backward_fused(const Tensor& g, bool need_x, bool need_w, bool need_b, const Tensor& xc,
                                   const Tensor& wc, const Tensor& mean_t, const Tensor& rstd_t, bool batch_stats) {
  const Tensor gc = g.contiguous();
  const int64_t N = xc.size(0), C = xc.size(1), HW = xc.size(2) * xc.size(3);
  std::vector<Tensor> out(3);
  if (need_x) out[0] = detail::make_tensor(xc.shape());
  if (need_w) out[1] = detail::make_tensor({C});
  if (need_b) out[2] = detail::make_tensor({C});
  kernels::batch_norm_backward(need_x ? out[0].data() : nullptr, need_w ? out[1].data() : nullptr,
                               need_b ? out[2].data() : nullptr, gc.data(), xc.data(), mean_t.data(), rstd_t.data(),
                               wc.defined() ? wc.data() : nullptr, N, C, HW, batch_stats);
  return out;
}

}  // namespace

Tensor batch_norm_train(const Tensor& x, const Tensor& weight, const Tensor& bias, float eps, Tensor& mean_out,
                        Tensor& var_out) {
  constexpr const char* op = "batch_norm";
  check_inputs(x, weight, bias, op);
  FRESCO_PROFILE(op);
  const int64_t N = x.size(0), C = x.size(1), HW = x.size(2) * x.size(3);
  FRESCO_CHECK(N * HW > 0, "batch_norm: training needs values in every channel, got input {}", shape_str(x.shape()));
  const Tensor xc = x.contiguous().detach();
  const Tensor wc = weight.defined() ? weight.contiguous().detach() : Tensor();
  const Tensor bc = bias.defined() ? bias.contiguous().detach() : Tensor();
  Tensor y = detail::make_tensor(x.shape());
  mean_out = detail::make_tensor({C});
  var_out = detail::make_tensor({C});
  Tensor rstd_t = detail::make_tensor({C});
  kernels::batch_norm_forward_train(y.data(), mean_out.data(), var_out.data(), rstd_t.data(), xc.data(),
                                    wc.defined() ? wc.data() : nullptr, bc.defined() ? bc.data() : nullptr, N, C, HW,
                                    eps);
  if (detail::needs_grad({&x, &weight, &bias}))
    detail::record(y, op, {x, weight, bias}, [x, weight, bias, xc, wc, mean_t = mean_out, rstd_t, eps](const Tensor& g) {
      if (is_grad_enabled()) return train_backward_composed(g, x, weight, bias, eps);
      return backward_fused(g, x.requires_grad(), weight.defined() && weight.requires_grad(),
                            bias.defined() && bias.requires_grad(), xc, wc, mean_t, rstd_t, true);
    });
  return y;
}

Tensor batch_norm_eval(const Tensor& x, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                       const Tensor& bias, float eps) {
  constexpr const char* op = "batch_norm";
  check_inputs(x, weight, bias, op);
  FRESCO_PROFILE(op);
  const int64_t N = x.size(0), C = x.size(1), HW = x.size(2) * x.size(3);
  FRESCO_CHECK_SHAPE(running_mean.defined() && running_var.defined() && running_mean.shape() == Shape{C} &&
                         running_var.shape() == Shape{C},
                     "batch_norm: expected running statistics of shape [{}] for input {}", C, shape_str(x.shape()));
  const Tensor xc = x.contiguous().detach();
  const Tensor wc = weight.defined() ? weight.contiguous().detach() : Tensor();
  const Tensor bc = bias.defined() ? bias.contiguous().detach() : Tensor();
  // Copies: the module updates its buffers in place, and the backward needs these values.
  const Tensor mean_t = running_mean.detach().clone();
  Tensor rstd_t = detail::make_tensor({C});
  {
    const Tensor rv = running_var.contiguous();
    for (int64_t c = 0; c < C; ++c) rstd_t.data()[c] = 1.f / std::sqrt(rv.data()[c] + eps);
  }
  Tensor y = detail::make_tensor(x.shape());
  kernels::batch_norm_forward_stats(y.data(), xc.data(), mean_t.data(), rstd_t.data(),
                                    wc.defined() ? wc.data() : nullptr, bc.defined() ? bc.data() : nullptr, N, C, HW);
  if (detail::needs_grad({&x, &weight, &bias}))
    detail::record(y, op, {x, weight, bias}, [x, weight, bias, xc, wc, mean_t, rstd_t](const Tensor& g) {
      if (is_grad_enabled())
        return eval_backward_composed(g, x, mean_t.view(per_channel(x.size(1))), rstd_t.view(per_channel(x.size(1))),
                                      weight, bias);
      return backward_fused(g, x.requires_grad(), weight.defined() && weight.requires_grad(),
                            bias.defined() && bias.requires_grad(), xc, wc, mean_t, rstd_t, false);
    });
  return y;
}

}  // namespace fresco
