// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file
/// Learning-rate schedules: a function from the step number (0 for the first
/// update) to a learning rate, applied with `Optimizer::set_lr`.
///
///     fresco::optim::WarmupCosineLr schedule(3e-4f, 5000, {.warmup_steps = 200, .min_lr = 3e-5f});
///     for (int64_t s = 0; s < 5000; ++s) { opt.set_lr(schedule.lr_at(s)); /* backward */ opt.step(); }

#include <cstdint>

namespace fresco::optim {

/// The same learning rate at every step.
class ConstantLr {
public:
  explicit ConstantLr(float lr);
  float lr_at(int64_t step) const;

private:
  float lr_;
};

/// Options of `WarmupCosineLr`.
struct WarmupCosineOptions {
  /// Steps of linear warm-up: lr_at(s) = max_lr · (s + 1) / warmup_steps for s < warmup_steps.
  int64_t warmup_steps = 0;
  /// The learning rate at the end of the decay and after it.
  float min_lr = 0.f;
};

/// Linear warm-up to `max_lr`, then cosine decay to `min_lr` at `total_steps`:
/// for warmup_steps <= s < total_steps, with p = (s − warmup_steps) / (total_steps − warmup_steps),
/// lr_at(s) = min_lr + (max_lr − min_lr) · (1 + cos(π·p)) / 2; lr_at(s) = min_lr for s >= total_steps.
class WarmupCosineLr {
public:
  WarmupCosineLr(float max_lr, int64_t total_steps, WarmupCosineOptions options = {});
  float lr_at(int64_t step) const;

private:
  float max_lr_;
  int64_t total_steps_;
  WarmupCosineOptions options_;
};

}  // namespace fresco::optim
