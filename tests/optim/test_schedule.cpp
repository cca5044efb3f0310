// SPDX-License-Identifier: Apache-2.0
#include <cmath>
#include <numbers>

#include "support/check.hpp"

using namespace fresco;

TEST_CASE("ConstantLr", "[optim][schedule]") {
  optim::ConstantLr s(0.1f);
  CHECK(s.lr_at(0) == 0.1f);
  CHECK(s.lr_at(123456) == 0.1f);
  CHECK_THROWS_WITH(optim::ConstantLr(-1.f), Catch::Contains("lr must be finite and >= 0"));
}

TEST_CASE("WarmupCosineLr at known steps", "[optim][schedule]") {
  optim::WarmupCosineLr s(1.0f, 110, {.warmup_steps = 10, .min_lr = 0.1f});
  CHECK(s.lr_at(0) == Approx(0.1));   // (0 + 1) / 10
  CHECK(s.lr_at(4) == Approx(0.5));
  CHECK(s.lr_at(9) == Approx(1.0));   // warm-up ends at max_lr
  CHECK(s.lr_at(10) == Approx(1.0));  // cosine starts at max_lr
  CHECK(s.lr_at(60) == Approx(0.55)); // half way: min + (max - min) / 2
  CHECK(s.lr_at(35) == Approx(0.1 + 0.9 * 0.5 * (1 + std::cos(std::numbers::pi * 0.25))));
  CHECK(s.lr_at(109) == Approx(0.1 + 0.9 * 0.5 * (1 + std::cos(std::numbers::pi * 0.99))));
  CHECK(s.lr_at(110) == Approx(0.1));
  CHECK(s.lr_at(10000) == Approx(0.1));
  // Non-increasing after warm-up.
  for (int i = 10; i < 120; ++i) CHECK(s.lr_at(i + 1) <= s.lr_at(i));
  optim::WarmupCosineLr no_warmup(2.f, 4);
  CHECK(no_warmup.lr_at(0) == Approx(2.0));
  CHECK(no_warmup.lr_at(2) == Approx(1.0));
  CHECK_THROWS_WITH(optim::WarmupCosineLr(1.f, 10, {.warmup_steps = -1}), Catch::Contains("warmup_steps must be >= 0"));
  CHECK_THROWS_WITH(optim::WarmupCosineLr(1.f, 0), Catch::Contains("total_steps must be positive"));
  // A warm-up longer than the run: the run ends on the ramp.
  optim::WarmupCosineLr long_warmup(1.f, 10, {.warmup_steps = 20});
  CHECK(long_warmup.lr_at(9) == Approx(0.5));
  CHECK_THROWS_WITH(optim::WarmupCosineLr(1.f, 10, {.warmup_steps = 0, .min_lr = 2.f}), Catch::Contains("min_lr must be in [0, max_lr"));
  // Applied to an optimizer.
  Tensor p = ones({1}).requires_grad_();
  optim::SGD opt({p}, {.lr = 0.f});
  opt.set_lr(s.lr_at(4));
  p.set_grad(ones({1}));
  opt.step();
  CHECK(p.item() == Approx(0.5f));
}

TEST_CASE("WarmupCosineLr with a time budget", "[optim][schedule]") {
  // 100 steps or 10 seconds, whichever is further along.
  optim::WarmupCosineLr s(1.f, 100, {.min_lr = 0.f, .budget_seconds = 10});
  CHECK(s.progress(50, 0) == Approx(0.5));
  CHECK(s.progress(10, 5) == Approx(0.5));   // the clock is further along
  CHECK(s.lr_at(10, 5) == Approx(0.5));
  CHECK(s.progress(10, 20) == 1.0);          // past the budget: the decay is done
  CHECK(s.lr_at(10, 20) == 0.f);
  // Only a clock.
  optim::WarmupCosineLr clock(2.f, 0, {.budget_seconds = 4});
  CHECK(clock.progress(1000, 1) == Approx(0.25));
  CHECK(clock.lr_at(1000, 2) == Approx(1.0));
  CHECK_THROWS_WITH(optim::WarmupCosineLr(1.f, 10, {.budget_seconds = -1}), Catch::Contains("budget_seconds"));
}

TEST_CASE("WarmupCosineLr with the decay from step 0, capped by the warm-up", "[optim][schedule]") {
  optim::WarmupCosineLr s(1.f, 100, {.warmup_steps = 10, .decay_from_start = true});
  CHECK(s.lr_at(0) == Approx(0.1));    // the ramp is below the decay
  CHECK(s.lr_at(9) == Approx(0.5 * (1 + std::cos(std::numbers::pi * 0.09))));  // the decay is below the ramp
  CHECK(s.lr_at(50) == Approx(0.5));   // p = 50 / 100, not (50 - 10) / 90
  CHECK(s.progress(50) == Approx(0.5));
  // Exactly the expression the evaluation classifier has always used.
  for (int64_t step : {0, 3, 9, 10, 37, 99}) {
    const double p = static_cast<double>(step) / 100.0;
    float want = 1.f * 0.5f * static_cast<float>(1.0 + std::cos(std::numbers::pi * p));
    if (step < 10) want = std::min(want, 1.f * static_cast<float>(step + 1) / 10);
    CHECK(s.lr_at(step) == want);
  }
}

TEST_CASE("WarmupCosineLr gives pretrain's learning rates", "[optim][schedule]") {
  // The expression text::pretrain used before it took this schedule. The library evaluates
  // it with the same flags as pretrain did (-march=native may fuse the multiply-add); this
  // test, built without them, agrees to a rounding.
  const float lr = 3e-4f, min_lr = 3e-5f;
  const int64_t steps = 1000, warmup = 100;
  optim::WarmupCosineLr s(lr, steps, {.warmup_steps = warmup, .min_lr = min_lr});
  for (int64_t step = 0; step < steps; step += 7) {
    float want = 0;
    if (step < warmup) {
      want = lr * static_cast<float>(step + 1) / static_cast<float>(warmup);
    } else {
      const double p = static_cast<double>(step - warmup) / static_cast<double>(steps - warmup);
      want = min_lr + (lr - min_lr) * static_cast<float>(0.5 * (1 + std::cos(std::numbers::pi * p)));
    }
    INFO("step " << step);
    CHECK(s.lr_at(step) == Approx(want).epsilon(1e-6));
  }
}
