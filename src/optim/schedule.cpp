// SPDX-License-Identifier: Apache-2.0
#include <fresco/optim/schedule.hpp>

#include <algorithm>
#include <cmath>
#include <numbers>

#include <fresco/error.hpp>

namespace fresco::optim {

ConstantLr::ConstantLr(float lr) : lr_(lr) {
  FRESCO_CHECK(lr >= 0.f && std::isfinite(lr), "ConstantLr: lr must be finite and >= 0, got {}", lr);
}

float ConstantLr::lr_at(int64_t) const { return lr_; }

WarmupCosineLr::WarmupCosineLr(float max_lr, int64_t total_steps, WarmupCosineOptions options)
    : max_lr_(max_lr), total_steps_(total_steps), options_(options) {
  FRESCO_CHECK(max_lr >= 0.f && std::isfinite(max_lr), "WarmupCosineLr: max_lr must be finite and >= 0, got {}", max_lr);
  FRESCO_CHECK(options.min_lr >= 0.f && options.min_lr <= max_lr,
               "WarmupCosineLr: min_lr must be in [0, max_lr = {}], got {}", max_lr, options.min_lr);
  FRESCO_CHECK(options.warmup_steps >= 0, "WarmupCosineLr: warmup_steps must be >= 0, got {}", options.warmup_steps);
  FRESCO_CHECK(options.budget_seconds >= 0 && std::isfinite(options.budget_seconds),
               "WarmupCosineLr: budget_seconds must be finite and >= 0 (0: none), got {}", options.budget_seconds);
  FRESCO_CHECK(total_steps > 0 || (total_steps == 0 && options.budget_seconds > 0),
               "WarmupCosineLr: total_steps must be positive (or 0 with a budget_seconds), got {}", total_steps);
}

double WarmupCosineLr::progress(int64_t step, double elapsed_seconds) const {
  const int64_t warmup = options_.decay_from_start ? 0 : options_.warmup_steps;
  double p = 0;
  if (total_steps_ > 0)
    p = total_steps_ > warmup ? static_cast<double>(step - warmup) / static_cast<double>(total_steps_ - warmup) : 1.0;
  if (options_.budget_seconds > 0) p = std::max(p, elapsed_seconds / options_.budget_seconds);
  return std::clamp(p, 0.0, 1.0);
}

float WarmupCosineLr::lr_at(int64_t step, double elapsed_seconds) const {
  FRESCO_CHECK(step >= 0, "WarmupCosineLr::lr_at: step must be >= 0, got {}", step);
  const int64_t warmup = options_.warmup_steps;
  // (s + 1) / warmup: the first step already moves, the last warm-up step reaches max_lr.
  const bool warming = step < warmup;
  const float ramp = warming ? max_lr_ * static_cast<float>(step + 1) / static_cast<float>(warmup) : max_lr_;
  if (warming && !options_.decay_from_start) return ramp;
  const double p = progress(step, elapsed_seconds);
  // The cosine in double, the blend in float: the numbers pretrain and the classifier have always used.
  const float decay =
      options_.min_lr + (max_lr_ - options_.min_lr) * static_cast<float>(0.5 * (1 + std::cos(std::numbers::pi * p)));
  return warming ? std::min(ramp, decay) : decay;
}

}  // namespace fresco::optim
