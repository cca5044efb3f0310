// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file
/// `nn::ModeGuard` and `nn::FreezeGuard`. `ModeGuard` switches a module to training or evaluation mode for a
/// scope and puts its previous mode back at the end of the scope, also when an
/// exception leaves it.
///
///     {
///       fresco::nn::ModeGuard eval(gpt, /*training=*/false);   // no dropout in here
///       features = gpt.encode(tokens);
///     }   // gpt is back in the mode it was in

#include <vector>

#include <fresco/nn/module.hpp>

namespace fresco::nn {

/// RAII: `module.train(training)` now, `module.train(previous mode)` on destruction.
/// Neither copyable nor movable. The module must outlive the guard.
class ModeGuard {
public:
  ModeGuard(Module& module, bool training) : module_(module), previous_(module.is_training()) {
    module_.train(training);
  }
  ~ModeGuard() { module_.train(previous_); }
  ModeGuard(const ModeGuard&) = delete;
  ModeGuard& operator=(const ModeGuard&) = delete;

private:
  Module& module_;
  bool previous_;
};

/// RAII: the parameters of `module` need no gradient for the scope, and need one again after
/// (all of them, as parameters do). A backward pass through the module then reaches its inputs
/// without computing its weight gradients: a GAN's generator update through its discriminator.
///
///     {
///       fresco::nn::FreezeGuard frozen(discriminator);
///       generator_loss(discriminator(generator(z))).backward();   // D's .grad() untouched
///     }
class FreezeGuard {
public:
  explicit FreezeGuard(const Module& module) : params_(module.parameters()) {
    for (auto& p : params_) p.requires_grad_(false);
  }
  ~FreezeGuard() {
    for (auto& p : params_) p.requires_grad_(true);
  }
  FreezeGuard(const FreezeGuard&) = delete;
  FreezeGuard& operator=(const FreezeGuard&) = delete;

private:
  std::vector<Tensor> params_;
};

}  // namespace fresco::nn
