// SPDX-License-Identifier: Apache-2.0
#include <fresco/nn/sequential.hpp>

#include <cmath>

#include <fresco/autograd/autograd.hpp>
#include <fresco/nn/activation.hpp>
#include <fresco/nn/conv.hpp>
#include <fresco/nn/norm.hpp>
#include <fresco/nn/pool.hpp>
#include <fresco/ops/conv.hpp>

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

bool grad_needed(std::initializer_list<const Tensor*> ts) {
  if (!is_grad_enabled()) return false;
  for (const Tensor* t : ts)
    if (t->defined() && t->requires_grad()) return true;
  return false;
}

/// Upsample(2) -> Conv2d(3×3, stride 1, padding 1, no dilation or groups): what upsample2_conv3x3 computes.
bool fits(const Upsample& up, const Conv2d& conv) {
  const Conv2dOptions& o = conv.options();
  return up.scale_factor() == 2 && o.stride == 1 && o.padding == 1 && o.dilation == 1 && o.groups == 1 &&
         conv.weight.dim() == 4 && conv.weight.size(2) == 3 && conv.weight.size(3) == 3;
}

}  // namespace

void Sequential::push_back(std::function<Tensor(const Tensor&)> f) {
  FRESCO_CHECK(static_cast<bool>(f), "Sequential: the function is empty");
  stages_.push_back(std::move(f));
  modules_.push_back(nullptr);
  kinds_.push_back(Kind::other);
  fused_.push_back(false);
}

int64_t Sequential::fuse() {
  int64_t runs = 0;
  for (size_t i = 0; i < stages_.size(); ++i) {
    fused_[i] = i + 1 < stages_.size() && kinds_[i] == Kind::upsample && kinds_[i + 1] == Kind::conv2d &&
                fits(*static_cast<const Upsample*>(modules_[i]), *static_cast<const Conv2d*>(modules_[i + 1]));
    if (fused_[i]) ++runs;
  }
  return runs;
}

size_t Sequential::run_fused(size_t i, Tensor& y) const {
  // The kinds are the types the stages were added as, so these casts reach the forward each
  // stage would call. The input and the weights are checked again: they may have changed.
  const auto& up = *static_cast<const Upsample*>(modules_[i]);
  const auto& conv = *static_cast<const Conv2d*>(modules_[i + 1]);
  const Tensor& cw = conv.weight;
  if (!fits(up, conv) || !y.defined() || y.dim() != 4 || y.size(1) != cw.size(1)) return 0;
  if (grad_needed({&y, &cw, &conv.bias})) {  // training: the pair alone, recorded
    y = upsample2_conv3x3(y, cw, conv.bias);
    return 2;
  }
  size_t used = 2;
  Tensor b = conv.bias;
  UpsampleConvOptions fold;
  if (i + 2 < stages_.size() && kinds_[i + 2] == Kind::batch_norm2d) {
    const auto& bn = *static_cast<const BatchNorm2d*>(modules_[i + 2]);
    if (!bn.is_training() && bn.channels() == cw.size(0) && !grad_needed({&bn.weight, &bn.bias})) {
      fold.weight_scale = fold_batch_norm(b, bn);
      ++used;
    }
  }
  fold.relu = i + used < stages_.size() && kinds_[i + used] == Kind::relu;
  if (fold.relu) ++used;
  y = upsample2_conv3x3(y, cw, b, fold);
  return used;
}

Tensor Sequential::forward(const Tensor& x) const {
  Tensor y = x;
  for (size_t i = 0; i < stages_.size();) {
    if (const size_t used = fused_[i] ? run_fused(i, y) : 0) {
      i += used;
      continue;
    }
    y = stages_[i++](y);
  }
  return y;
}

}  // namespace fresco::nn
