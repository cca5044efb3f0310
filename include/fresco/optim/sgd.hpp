// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file
/// `optim::SGD`: stochastic gradient descent with momentum, as torch.optim.SGD.

#include <fresco/optim/optimizer.hpp>

namespace fresco::optim {

/// Options of `SGD`, with PyTorch's defaults.
struct SGDOptions {
  float lr = 1e-2f;
  float momentum = 0.f;
  /// L2 penalty: λ·θ is added to the gradient.
  float weight_decay = 0.f;
  /// Nesterov momentum (needs momentum > 0 and dampening 0).
  bool nesterov = false;
  float dampening = 0.f;
};

/// Per step, for each parameter θ with gradient g (b: the momentum buffer):
/// g ← g + λθ; b ← μb + (1−τ)g (b ← g at first); g ← Nesterov ? g + μb : b; θ ← θ − γg.
///
///     fresco::optim::SGD opt(model.parameters(), {.lr = 0.1f, .momentum = 0.9f, .nesterov = true});
///     loss.backward();  opt.step();  opt.zero_grad();
class SGD : public Optimizer {
public:
  explicit SGD(std::vector<Tensor> params, SGDOptions options = {});
  void step() override;
  const SGDOptions& options() const { return options_; }

private:
  SGDOptions options_;
};

}  // namespace fresco::optim
