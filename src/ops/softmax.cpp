// SPDX-License-Identifier: Apache-2.0
// Fused softmax and log-softmax along any dim. The kernels run over
// contiguous rows; a dim that is not last is first moved last (one copy in,
// one copy out). Backward: fused from the saved output when no graph is
// recorded; under create_graph the same formula in differentiable ops.
#include <fresco/ops/nn.hpp>

#include "kernels/softmax.hpp"
#include "ops/op_helpers.hpp"
#include "tensor/profiler_scope.hpp"

namespace fresco {

using detail::needs_grad;
using detail::record;

namespace {

// Runs the row kernel `f(out, in, rows, C)` over x along dim d, returning a
// contiguous result of x's shape. No recording.
template <class F>
Tensor along_dim(const Tensor& x, int64_t d, F f) {
  const int64_t last = x.dim() - 1;
  const int64_t C = x.dim() == 0 ? 1 : x.size(d);
  if (d == last || x.dim() == 0) {
    Tensor xc = x.contiguous();
    Tensor y = detail::make_tensor(x.shape());
    if (y.numel() > 0) f(y.data(), xc.data(), y.numel() / C, C);
    return y;
  }
  NoGradGuard guard;
  Tensor xt = x.detach().transpose(d, last).contiguous();
  if (xt.impl()->storage == x.impl()->storage) xt = xt.clone();  // never write into x
  if (xt.numel() > 0) f(xt.data(), xt.data(), xt.numel() / C, C);  // the kernels allow in place
  return xt.transpose(d, last).contiguous();
}

// Fused backward along dim d of y = (log_)softmax(x): dx from dy and y, no recording.
Tensor backward_along_dim(const Tensor& dy, const Tensor& y, int64_t d, bool log) {
  const int64_t last = y.dim() - 1;
  const int64_t C = y.dim() == 0 ? 1 : y.size(d);
  NoGradGuard guard;
  if (d == last || y.dim() == 0) {
    Tensor gc = dy.contiguous(), yc = y.contiguous();
    Tensor dx = detail::make_tensor(y.shape());
    if (dx.numel() > 0) kernels::softmax_backward(dx.data(), gc.data(), yc.data(), dx.numel() / C, C, log);
    return dx;
  }
  Tensor gt = dy.transpose(d, last).contiguous();
  if (gt.impl()->storage == dy.impl()->storage) gt = gt.clone();  // never write into the caller's gradient
  Tensor yt = y.transpose(d, last).contiguous();
  if (gt.numel() > 0) kernels::softmax_backward(gt.data(), gt.data(), yt.data(), gt.numel() / C, C, log);
  return gt.transpose(d, last).contiguous();
}

Tensor softmax_impl(const Tensor& x, int64_t dim, bool log) {
  const char* op = log ? "log_softmax" : "softmax";
  detail::check_defined(x, op);
  if (x.dim() == 0) {
    detail::wrap_dim(dim, 1, op);
    return softmax_impl(x.reshape({1}), 0, log).reshape({});
  }
  FRESCO_PROFILE(op);
  const int64_t d = detail::wrap_dim(dim, x.dim(), op);
  Tensor y = along_dim(x, d, [log](float* out, const float* in, int64_t R, int64_t C) {
    kernels::softmax_forward(out, in, R, C, log);
  });
  if (needs_grad({&x}))
    record(y, op, {x}, [x, y_saved = y.detach(), d, dim, log](const Tensor& g) {
      if (!is_grad_enabled()) return std::vector<Tensor>{backward_along_dim(g, y_saved, d, log)};
      // create_graph: recompute y differentiably (capturing y itself would tie it to its own node).
      const Tensor y2 = softmax_impl(x, dim, log);
      if (log) return std::vector<Tensor>{g - exp(y2) * sum(g, {d}, true)};
      return std::vector<Tensor>{y2 * (g - sum(g * y2, {d}, true))};
    });
  return y;
}

}  // namespace

Tensor softmax(const Tensor& x, int64_t dim) { return softmax_impl(x, dim, false); }
Tensor log_softmax(const Tensor& x, int64_t dim) { return softmax_impl(x, dim, true); }

}  // namespace fresco
