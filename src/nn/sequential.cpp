// SPDX-License-Identifier: Apache-2.0
#include <fresco/nn/sequential.hpp>

#include <cmath>

#include <fresco/autograd/autograd.hpp>
#include <fresco/nn/activation.hpp>
#include <fresco/nn/conv.hpp>
#include <fresco/nn/norm.hpp>
#include <fresco/nn/pool.hpp>

#include "ops/fused_conv.hpp"

namespace fresco::nn {

namespace {

/// Conv2d weight and bias with an eval-mode batch norm folded in: with s = gamma / sqrt(var + eps),
/// bn(conv(x, w) + b) = conv(x, s ⊙ w) + s ⊙ b + (beta − s ⊙ mean), per output channel.
void fold_batch_norm(Tensor& w, Tensor& b, const BatchNorm2d& bn) {
  const int64_t K = w.size(0), per_k = w.numel() / K;
  Tensor wf = w.contiguous().clone(), bf = zeros({K});
  const Tensor rm = bn.running_mean.contiguous(), rv = bn.running_var.contiguous();
  const Tensor gamma = bn.weight.defined() ? bn.weight.contiguous() : Tensor();
  const Tensor beta = bn.bias.defined() ? bn.bias.contiguous() : Tensor();
  const Tensor bc = b.defined() ? b.contiguous() : Tensor();
  float* wp = wf.data();
  for (int64_t k = 0; k < K; ++k) {
    // The same float steps as batch_norm_eval's scale and shift.
    const float rstd = 1.f / std::sqrt(rv.data()[k] + bn.options().eps);
    const float scale = rstd * (gamma.defined() ? gamma.data()[k] : 1.f);
    const float shift = (beta.defined() ? beta.data()[k] : 0.f) - rm.data()[k] * scale;
    for (int64_t i = 0; i < per_k; ++i) wp[k * per_k + i] *= scale;
    bf.data()[k] = (bc.defined() ? bc.data()[k] * scale : 0.f) + shift;
  }
  w = wf;
  b = bf;
}

bool grad_needed(std::initializer_list<const Tensor*> ts) {
  if (!is_grad_enabled()) return false;
  for (const Tensor* t : ts)
    if (t->defined() && t->requires_grad()) return true;
  return false;
}

/// Runs the fused inference form of the stages from `i` on when they fit (see the class
/// comment) and returns how many stages it covered; 0 when they do not fit.
size_t run_fused(const std::vector<Module*>& modules, size_t i, Tensor& y) {
  const auto at = [&](size_t j) { return j < modules.size() ? modules[j] : nullptr; };
  const auto* up = dynamic_cast<const Upsample*>(at(i));
  const auto* conv = dynamic_cast<const Conv2d*>(at(i + 1));
  if (!up || !conv || up->scale_factor() != 2 || !y.defined() || y.dim() != 4) return 0;
  const Conv2dOptions& o = conv->options();
  const Tensor& cw = conv->weight;
  if (o.stride != 1 || o.padding != 1 || o.dilation != 1 || o.groups != 1 || cw.size(2) != 3 || cw.size(3) != 3 ||
      y.size(1) != cw.size(1))
    return 0;
  if (grad_needed({&y, &cw, &conv->bias})) {  // training: the pair alone, recorded
    y = detail::upsample2_conv3x3(y, cw, conv->bias, false);
    return 2;
  }
  size_t used = 2;
  Tensor w = cw, b = conv->bias;
  if (const auto* bn = dynamic_cast<const BatchNorm2d*>(at(i + 2));
      bn && !bn->is_training() && bn->channels() == cw.size(0) && !grad_needed({&bn->weight, &bn->bias})) {
    fold_batch_norm(w, b, *bn);
    ++used;
  }
  const bool relu = dynamic_cast<const ReLU*>(at(i + used)) != nullptr;
  if (relu) ++used;
  y = detail::upsample2_conv3x3(y, w, b, relu);
  return used;
}

}  // namespace

void Sequential::push_back(std::function<Tensor(const Tensor&)> f) {
  FRESCO_CHECK(static_cast<bool>(f), "Sequential: the function is empty");
  stages_.push_back(std::move(f));
  modules_.push_back(nullptr);
}

Tensor Sequential::forward(const Tensor& x) const {
  Tensor y = x;
  for (size_t i = 0; i < stages_.size();) {
    if (const size_t used = run_fused(modules_, i, y)) {
      i += used;
      continue;
    }
    y = stages_[i++](y);
  }
  return y;
}

}  // namespace fresco::nn
