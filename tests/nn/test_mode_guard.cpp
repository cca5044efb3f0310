// SPDX-License-Identifier: Apache-2.0
// nn::ModeGuard: the mode inside the scope, the previous mode restored after it.
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
