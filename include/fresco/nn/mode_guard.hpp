// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file
/// `nn::ModeGuard`: switches a module to training or evaluation mode for a
/// scope and puts its previous mode back at the end of the scope, also when an
/// exception leaves it.
///
///     {
///       fresco::nn::ModeGuard eval(gpt, /*training=*/false);   // no dropout in here
///       features = gpt.encode(tokens);
///     }   // gpt is back in the mode it was in

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

}  // namespace fresco::nn
