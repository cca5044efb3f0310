// SPDX-License-Identifier: Apache-2.0
#include <fresco/nn/sequential.hpp>

#include <cmath>
#include <typeinfo>

#include <fresco/autograd/autograd.hpp>
#include <fresco/nn/activation.hpp>
#include <fresco/nn/conv.hpp>
#include <fresco/nn/norm.hpp>
#include <fresco/nn/pool.hpp>

#include "ops/fused_conv.hpp"

namespace fresco::nn {

namespace {

/// An eval-mode batch norm folded into the Conv2d before it: with s = gamma / sqrt(var + eps),
/// bn(conv(x, w) + b) = conv(x, s ⊙ w) + s ⊙ b + (beta − s ⊙ mean), per output channel. Returns
/// s (the kernel scales the weights as it lays them out) and replaces b.
Tensor fold_batch_norm(Tensor& b, const BatchNorm2d& bn) {
  const int64_t K = bn.channels();
  Tensor scale = zeros({K}), bf = zeros({K});
  const Tensor rm = bn.running_mean.contiguous(), rv = bn.running_var.contiguous();
  const Tensor gamma = bn.weight.defined() ? bn.weight.contiguous() : Tensor();
  const Tensor beta = bn.bias.defined() ? bn.bias.contiguous() : Tensor();
  const Tensor bc = b.defined() ? b.contiguous() : Tensor();
  for (int64_t k = 0; k < K; ++k) {
    // The same float steps as batch_norm_eval's scale and shift.
    const float rstd = 1.f / std::sqrt(rv.data()[k] + bn.options().eps);
    const float s = rstd * (gamma.defined() ? gamma.data()[k] : 1.f);
    const float shift = (beta.defined() ? beta.data()[k] : 0.f) - rm.data()[k] * s;
    scale.data()[k] = s;
    bf.data()[k] = (bc.defined() ? bc.data()[k] * s : 0.f) + shift;
  }
  b = bf;
  return scale;
}

/// m as an M when its dynamic type is M itself, else null.
template <class M>
const M* exactly(const Module* m) {
  return m && typeid(*m) == typeid(M) ? static_cast<const M*>(m) : nullptr;
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
  // Exactly these classes: a subclass may have a forward of its own, which fusing would skip.
  const auto* up = exactly<Upsample>(at(i));
  const auto* conv = exactly<Conv2d>(at(i + 1));
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
  Tensor b = conv->bias, scale;
  if (const auto* bn = exactly<BatchNorm2d>(at(i + 2));
      bn && !bn->is_training() && bn->channels() == cw.size(0) && !grad_needed({&bn->weight, &bn->bias})) {
    scale = fold_batch_norm(b, *bn);
    ++used;
  }
  const bool relu = exactly<ReLU>(at(i + used)) != nullptr;
  if (relu) ++used;
  y = detail::upsample2_conv3x3(y, cw, b, relu, scale);
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
