// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file
/// `optim::Optimizer`, the base of SGD, Adam and AdamW, and gradient clipping.
///
///     fresco::optim::AdamW opt(model.parameters(), {.lr = 3e-4f});
///     loss.backward();  fresco::optim::clip_grad_norm(model.parameters(), 1.f);  opt.step();  opt.zero_grad();

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <fresco/tensor/tensor.hpp>

namespace fresco::optim {

/// Updates a fixed list of parameters from their `.grad()`. Parameters whose
/// gradient is undefined (no backward reached them) are skipped, and their
/// per-parameter state is created lazily at their first update, as PyTorch.
class Optimizer {
public:
  virtual ~Optimizer();
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  /// One update of every parameter that has a gradient.
  virtual void step() = 0;
  /// Drops every parameter's gradient.
  void zero_grad();

  const std::vector<Tensor>& params() const { return params_; }
  float lr() const { return lr_; }
  /// Changes the learning rate (a schedule calls this before each step).
  void set_lr(float lr);
  /// Number of `step()` calls so far.
  int64_t steps() const { return steps_; }

  /// The optimizer's state as tensors, for checkpoints: "step" and "lr" ([1] each),
  /// and for each parameter i that has state, "state.i.step" ([1]) and
  /// "state.i.<buffer>" (the parameter's shape), e.g. "state.3.exp_avg".
  std::map<std::string, Tensor> state_dict() const;
  /// Restores a `state_dict()` (copies it). Strict: a missing, unexpected or
  /// wrongly shaped entry throws `fresco::Error` listing all of them.
  void load_state_dict(const std::map<std::string, Tensor>& state);

protected:
  /// `name` is used in error messages ("Adam"); `state_names` are the per-parameter buffers.
  Optimizer(std::vector<Tensor> params, float lr, const char* name, std::vector<std::string> state_names);

  /// Per-parameter state: its step count and its buffers (named as `state_names`).
  struct ParamState {
    int64_t step = 0;
    std::map<std::string, Tensor> buffers;
  };
  /// State of parameter i; its buffers are created as zeros on first use.
  ParamState& state(size_t i);
  /// The gradient of parameter i as a contiguous tensor, or undefined (skip it).
  Tensor grad_of(size_t i) const;
  void count_step() { ++steps_; }

  const char* name_;

private:
  std::vector<Tensor> params_;
  std::vector<std::string> state_names_;
  std::vector<ParamState> state_;
  float lr_;
  int64_t steps_ = 0;
};

/// Scales the gradients of `params` so that their total L2 norm (over all of
/// them, accumulated in double) is at most `max_norm`: when the norm exceeds it,
/// each gradient is multiplied in place by max_norm / (norm + 1e-6).
/// Returns the norm before clipping. Parameters without a gradient are ignored.
float clip_grad_norm(const std::vector<Tensor>& params, float max_norm);

}  // namespace fresco::optim
