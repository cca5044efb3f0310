// SPDX-License-Identifier: Apache-2.0
#include <fresco/optim/schedule.hpp>

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
  FRESCO_CHECK(options.warmup_steps >= 0 && options.warmup_steps <= total_steps,
               "WarmupCosineLr: warmup_steps must be in [0, total_steps = {}], got {}", total_steps,
               options.warmup_steps);
  FRESCO_CHECK(total_steps > 0, "WarmupCosineLr: total_steps must be positive, got {}", total_steps);
}

float WarmupCosineLr::lr_at(int64_t step) const {
  FRESCO_CHECK(step >= 0, "WarmupCosineLr::lr_at: step must be >= 0, got {}", step);
  const int64_t warmup = options_.warmup_steps;
  // (s + 1) / warmup: the first step already moves, the last warm-up step reaches max_lr.
  if (step < warmup) return max_lr_ * static_cast<float>(step + 1) / static_cast<float>(warmup);
  if (step >= total_steps_) return options_.min_lr;
  const double progress = static_cast<double>(step - warmup) / static_cast<double>(total_steps_ - warmup);
  const double cosine = 0.5 * (1.0 + std::cos(std::numbers::pi * progress));
  return static_cast<float>(options_.min_lr + (static_cast<double>(max_lr_) - options_.min_lr) * cosine);
}

}  // namespace fresco::optim
