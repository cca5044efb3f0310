// SPDX-License-Identifier: Apache-2.0
// nn::ModeGuard: the mode inside the scope, the previous mode restored after it;
// nn::FreezeGuard: parameters that need no gradient for a scope.
#include <stdexcept>

#include <fresco/nn/mode_guard.hpp>

#include "support/check.hpp"

using namespace fresco;

namespace {

struct Net : nn::Module {
  nn::Linear fc{2, 2};
  nn::Dropout drop{0.5f};
  Net() {
    register_module("fc", fc);
    register_module("drop", drop);
  }
};

}  // namespace

TEST_CASE("ModeGuard sets the mode inside its scope and restores it after", "[nn][mode_guard]") {
  Net net;
  REQUIRE(net.is_training());
  {
    nn::ModeGuard eval(net, /*training=*/false);
    CHECK_FALSE(net.is_training());
    CHECK_FALSE(net.drop.is_training());   // submodules follow
  }
  CHECK(net.is_training());
  CHECK(net.drop.is_training());

  net.eval();
  {
    nn::ModeGuard train(net, /*training=*/true);
    CHECK(net.is_training());
    CHECK(net.fc.is_training());
  }
  CHECK_FALSE(net.is_training());
  CHECK_FALSE(net.fc.is_training());

  // Nested guards unwind in order.
  {
    nn::ModeGuard outer(net, true);
    {
      nn::ModeGuard inner(net, false);
      CHECK_FALSE(net.is_training());
    }
    CHECK(net.is_training());
  }
  CHECK_FALSE(net.is_training());
}

TEST_CASE("ModeGuard restores the mode when an exception leaves the scope", "[nn][mode_guard]") {
  Net net;
  auto throwing = [&] {
    nn::ModeGuard eval(net, /*training=*/false);
    CHECK_FALSE(net.is_training());
    throw std::runtime_error("stop");
  };
  CHECK_THROWS_AS(throwing(), std::runtime_error);
  CHECK(net.is_training());
  CHECK(net.drop.is_training());
}

TEST_CASE("FreezeGuard: no weight gradient inside its scope, inputs still get theirs", "[nn][mode_guard]") {
  Net net;
  Tensor x = randn({3, 2}).requires_grad_();
  {
    nn::FreezeGuard frozen(net);
    for (const auto& p : net.parameters()) CHECK_FALSE(p.requires_grad());
    sum(net.fc(x)).backward();
    CHECK_FALSE(net.fc.weight.grad().defined());
    REQUIRE(x.grad().defined());
    // d sum(x Wᵀ + b) / dx = the column sums of W, for every row.
    const auto w = net.fc.weight.to_vector(), g = x.grad().to_vector();
    for (int r = 0; r < 3; ++r)
      for (int c = 0; c < 2; ++c) CHECK(g[static_cast<size_t>(r * 2 + c)] == Approx(w[static_cast<size_t>(c)] + w[static_cast<size_t>(2 + c)]));
  }
  for (const auto& p : net.parameters()) CHECK(p.requires_grad());
}
