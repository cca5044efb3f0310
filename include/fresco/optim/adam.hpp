// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file
/// `optim::Adam` and `optim::AdamW`, as torch.optim.Adam / AdamW.

#include <fresco/optim/optimizer.hpp>

namespace fresco::optim {

/// Options of `Adam`, with PyTorch's defaults.
struct AdamOptions {
  float lr = 1e-3f;
  float beta1 = 0.9f;
  float beta2 = 0.999f;
  float eps = 1e-8f;
  /// L2 penalty: λ·θ is added to the gradient (see AdamW for decoupled decay).
  float weight_decay = 0.f;
};

/// Options of `AdamW`, with PyTorch's defaults (note weight_decay 1e-2).
struct AdamWOptions {
  float lr = 1e-3f;
  float beta1 = 0.9f;
  float beta2 = 0.999f;
  float eps = 1e-8f;
  /// Decoupled decay: θ ← θ·(1 − γλ) before the Adam update.
  float weight_decay = 1e-2f;
};

/// Adam (Kingma & Ba): with t the parameter's step, g its gradient (+ λθ when weight_decay),
/// m ← β1·m + (1−β1)·g; v ← β2·v + (1−β2)·g²; θ ← θ − γ/(1−β1ᵗ) · m / (sqrt(v)/sqrt(1−β2ᵗ) + ε).
/// State per parameter: "exp_avg" (m), "exp_avg_sq" (v).
///
///     fresco::optim::Adam opt(model.parameters(), {.lr = 2e-4f, .beta1 = 0.5f});
///     loss.backward();  opt.step();  opt.zero_grad();
class Adam : public Optimizer {
public:
  explicit Adam(std::vector<Tensor> params, AdamOptions options = {});
  void step() override;
  const AdamOptions& options() const { return options_; }

private:
  AdamOptions options_;
};

/// AdamW (Loshchilov & Hutter): θ ← θ·(1 − γλ), then Adam's update without L2.
///
///     fresco::optim::AdamW opt(model.parameters(), {.lr = 3e-4f, .weight_decay = 0.1f});
///     loss.backward();  opt.step();  opt.zero_grad();
class AdamW : public Optimizer {
public:
  explicit AdamW(std::vector<Tensor> params, AdamWOptions options = {});
  void step() override;
  const AdamWOptions& options() const { return options_; }

private:
  AdamWOptions options_;
};

}  // namespace fresco::optim
