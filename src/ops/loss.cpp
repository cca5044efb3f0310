// SPDX-License-Identifier: Apache-2.0
// Losses, reduced by the mean. Each is one fused pass forward (partial sums
// over fixed blocks in double, so results are repeatable) and one fused pass
// backward; under create_graph the gradient is written in differentiable ops.
#include <fresco/ops/loss.hpp>

#include <cmath>
#include <limits>

#include <fresco/ops/nn.hpp>

#include "kernels/parallel.hpp"
#include "kernels/softmax.hpp"
#include "ops/op_helpers.hpp"
#include "tensor/profiler_scope.hpp"

namespace fresco {

using detail::needs_grad;
using detail::record;

namespace {

// Σ_i f(i) for i < n: double partial sums over fixed blocks, added in block
// order (independent of the thread count).
template <class F>
double block_sum(int64_t n, F f) {
  constexpr int64_t kBlock = 8192;
  const int64_t blocks = (n + kBlock - 1) / kBlock;
  std::vector<double> partial(blocks, 0.0);
  kernels::parallel_for(blocks, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      double s = 0.0;
      for (int64_t i = b * kBlock; i < std::min(n, (b + 1) * kBlock); ++i) s += f(i);
      partial[b] = s;
    }
  });
  double s = 0.0;
  for (double p : partial) s += p;
  return s;
}

void check_same_shape(const Tensor& a, const Tensor& b, const char* op) {
  detail::check_defined(a, op, "first");
  detail::check_defined(b, op, "second");
  FRESCO_CHECK_SHAPE(a.shape() == b.shape(), "{}: shapes must match exactly, got {} and {}", op, shape_str(a.shape()),
                     shape_str(b.shape()));
}

float stable_bce(float x, float t) { return std::max(x, 0.f) - x * t + std::log1p(std::exp(-std::fabs(x))); }

}  // namespace

Tensor cross_entropy(const Tensor& logits, const std::vector<int64_t>& targets, int64_t ignore_index) {
  detail::check_defined(logits, "cross_entropy", "logits");
  FRESCO_PROFILE("cross_entropy");
  FRESCO_CHECK_SHAPE(logits.dim() == 1 || logits.dim() == 2, "cross_entropy: logits must be [N, C] or [C], got {}",
                     shape_str(logits.shape()));
  const int64_t N = logits.dim() == 2 ? logits.size(0) : 1, C = logits.size(-1);
  FRESCO_CHECK_SHAPE(static_cast<int64_t>(targets.size()) == N,
                     "cross_entropy: logits {} need {} targets, got {}", shape_str(logits.shape()), N, targets.size());
  int64_t count = 0;
  for (int64_t i = 0; i < N; ++i) {
    if (targets[i] == ignore_index) continue;
    FRESCO_CHECK(targets[i] >= 0 && targets[i] < C,
                 "cross_entropy: target {} (row {}) is out of range for {} classes (logits {})", targets[i], i, C,
                 shape_str(logits.shape()));
    ++count;
  }
  const Tensor xc = logits.contiguous().detach();
  Tensor lse = detail::make_tensor({N});
  if (C > 0) kernels::logsumexp_rows(lse.data(), xc.data(), N, C);
  const float* px = xc.data();
  const float* pl = lse.data();
  // loss_i = lse_i − x[i, t_i]; with no counted row the mean is 0/0 = NaN, as PyTorch.
  const double total = block_sum(N, [&](int64_t i) {
    return targets[i] == ignore_index ? 0.0 : static_cast<double>(pl[i]) - px[i * C + targets[i]];
  });
  Tensor y = scalar_tensor(count > 0 ? static_cast<float>(total / count) : std::numeric_limits<float>::quiet_NaN());
  if (needs_grad({&logits}))
    record(y, "cross_entropy", {logits}, [logits, xc, lse, targets, ignore_index, count, N, C](const Tensor& g) {
      if (!is_grad_enabled()) {
        // d loss / d x_i = (softmax(x_i) − onehot(t_i)) / count on counted rows.
        Tensor dx = detail::make_tensor(logits.shape());
        if (C > 0)
          kernels::cross_entropy_backward(dx.data(), xc.data(), lse.data(), targets.data(), N, C, ignore_index,
                                          g.item() / static_cast<float>(count));
        return std::vector<Tensor>{dx};
      }
      // create_graph: (softmax(x) − onehot) ⊙ rowmask · g / count, softmax recomputed differentiably.
      Tensor onehot = zeros({N, C}), rowmask = zeros({N, 1});
      for (int64_t i = 0; i < N; ++i)
        if (targets[i] != ignore_index) onehot.data()[i * C + targets[i]] = 1.f, rowmask.data()[i] = 1.f;
      const Tensor p = softmax(logits.reshape({N, C}), 1);
      const Tensor dx = (p - onehot) * rowmask * (g / static_cast<float>(count));
      return std::vector<Tensor>{dx.reshape(logits.shape())};
    });
  return y;
}

Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& targets) {
  check_same_shape(logits, targets, "binary_cross_entropy_with_logits");
  FRESCO_PROFILE("binary_cross_entropy_with_logits");
  const Tensor xc = logits.contiguous().detach(), tc = targets.contiguous().detach();
  const int64_t n = xc.numel();
  const float* px = xc.data();
  const float* pt = tc.data();
  // max(x, 0) − x·t + log(1 + exp(−|x|)): log(1 + exp(x)) − x·t without overflow.
  const double total = block_sum(n, [&](int64_t i) { return static_cast<double>(stable_bce(px[i], pt[i])); });
  Tensor y = scalar_tensor(static_cast<float>(total / static_cast<double>(n)));
  if (needs_grad({&logits, &targets}))
    record(y, "binary_cross_entropy_with_logits", {logits, targets}, [logits, targets, xc, tc, n](const Tensor& g) {
      std::vector<Tensor> out(2);
      // d/dx = (sigmoid(x) − t) / n; d/dt = −x / n.
      if (!is_grad_enabled()) {
        const float s = g.item() / static_cast<float>(n);
        if (logits.requires_grad())
          out[0] = detail::map_binary(xc, tc, [s](float x, float t) { return s * (1.f / (1.f + std::exp(-x)) - t); });
        if (targets.requires_grad()) out[1] = detail::map_unary(xc, [s](float x) { return -s * x; });
        return out;
      }
      const Tensor s = g / static_cast<float>(n);
      if (logits.requires_grad()) out[0] = (sigmoid(logits) - targets) * s;
      if (targets.requires_grad()) out[1] = -logits * s;
      return out;
    });
  return y;
}

Tensor mse_loss(const Tensor& a, const Tensor& b) {
  check_same_shape(a, b, "mse_loss");
  FRESCO_PROFILE("mse_loss");
  const Tensor ac = a.contiguous().detach(), bc = b.contiguous().detach();
  const int64_t n = ac.numel();
  const float* pa = ac.data();
  const float* pb = bc.data();
  const double total = block_sum(n, [&](int64_t i) {
    const double d = static_cast<double>(pa[i]) - pb[i];
    return d * d;
  });
  Tensor y = scalar_tensor(static_cast<float>(total / static_cast<double>(n)));
  if (needs_grad({&a, &b}))
    record(y, "mse_loss", {a, b}, [a, b, ac, bc, n](const Tensor& g) {
      // d/da = 2(a − b)/n = −d/db.
      std::vector<Tensor> out(2);
      if (!is_grad_enabled()) {
        const float s = 2.f * g.item() / static_cast<float>(n);
        const Tensor da = detail::map_binary(ac, bc, [s](float x, float z) { return s * (x - z); });
        if (a.requires_grad()) out[0] = da;
        if (b.requires_grad()) out[1] = detail::map_unary(da, [](float v) { return -v; });
        return out;
      }
      const Tensor da = (a - b) * (g * (2.f / static_cast<float>(n)));
      if (a.requires_grad()) out[0] = da;
      if (b.requires_grad()) out[1] = -da;
      return out;
    });
  return y;
}

Tensor l1_loss(const Tensor& a, const Tensor& b) {
  check_same_shape(a, b, "l1_loss");
  FRESCO_PROFILE("l1_loss");
  const Tensor ac = a.contiguous().detach(), bc = b.contiguous().detach();
  const int64_t n = ac.numel();
  const float* pa = ac.data();
  const float* pb = bc.data();
  const double total = block_sum(n, [&](int64_t i) { return std::fabs(static_cast<double>(pa[i]) - pb[i]); });
  Tensor y = scalar_tensor(static_cast<float>(total / static_cast<double>(n)));
  if (needs_grad({&a, &b}))
    record(y, "l1_loss", {a, b}, [a, b, ac, bc, n](const Tensor& g) {
      // d/da = sign(a − b)/n = −d/db (the sign is a constant: its derivative is 0 almost everywhere).
      const Tensor sign = detail::map_binary(ac, bc, [](float x, float z) { return x > z ? 1.f : (x < z ? -1.f : 0.f); });
      std::vector<Tensor> out(2);
      const Tensor da = sign * (g / static_cast<float>(n));
      if (a.requires_grad()) out[0] = da;
      if (b.requires_grad()) out[1] = -da;
      return out;
    });
  return y;
}

}  // namespace fresco
