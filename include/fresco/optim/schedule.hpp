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
  /// May exceed total_steps (the run then ends before the warm-up does).
  int64_t warmup_steps = 0;
  /// The learning rate at the end of the decay and after it.
  float min_lr = 0.f;
  /// A wall-clock budget in seconds (0: none). With one, the decay follows
  /// whichever is further along, the steps or the clock:
  /// p = max(step share, elapsed_seconds / budget_seconds), so a run stopped by
  /// its budget still ends its decay. total_steps may then be 0 (only the clock).
  double budget_seconds = 0;
  /// false: the decay starts where the warm-up ends, p = (s − warmup_steps) / (total_steps − warmup_steps).
  /// true: the decay spans the whole run from step 0, p = s / total_steps, and the
  /// warm-up line caps it: lr_at(s) = min(max_lr · (s + 1) / warmup_steps, decay).
  bool decay_from_start = false;
};

/// Linear warm-up to `max_lr`, then cosine decay to `min_lr` at `total_steps`:
/// for warmup_steps <= s < total_steps, with p = (s − warmup_steps) / (total_steps − warmup_steps),
/// lr_at(s) = min_lr + (max_lr − min_lr) · (1 + cos(π·p)) / 2; lr_at(s) = min_lr for s >= total_steps
/// (p = 1). `options` add a time budget and a decay that starts at step 0.
/// The one warm-up and cosine schedule of fresco: `text::pretrain` and
/// `eval::train_classifier` use it too.
class WarmupCosineLr {
public:
  WarmupCosineLr(float max_lr, int64_t total_steps, WarmupCosineOptions options = {});
  /// The learning rate of step `step` (0 for the first update), `elapsed_seconds`
  /// into the run (read only with a `budget_seconds`).
  float lr_at(int64_t step, double elapsed_seconds = 0) const;
  /// The share p in [0, 1] of the decay done at `step` and `elapsed_seconds`;
  /// a loop with a budget stops when it reaches 1.
  double progress(int64_t step, double elapsed_seconds = 0) const;

private:
  float max_lr_;
  int64_t total_steps_;
  WarmupCosineOptions options_;
};

}  // namespace fresco::optim
