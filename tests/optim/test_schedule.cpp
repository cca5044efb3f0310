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
  CHECK_THROWS_WITH(optim::WarmupCosineLr(1.f, 10, {.warmup_steps = 20}), Catch::Contains("warmup_steps must be in [0, total_steps = 10]"));
  CHECK_THROWS_WITH(optim::WarmupCosineLr(1.f, 10, {.warmup_steps = 0, .min_lr = 2.f}), Catch::Contains("min_lr must be in [0, max_lr"));
  // Applied to an optimizer.
  Tensor p = ones({1}).requires_grad_();
  optim::SGD opt({p}, {.lr = 0.f});
  opt.set_lr(s.lr_at(4));
  p.set_grad(ones({1}));
  opt.step();
  CHECK(p.item() == Approx(0.5f));
}
