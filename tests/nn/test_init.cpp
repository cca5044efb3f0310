// SPDX-License-Identifier: Apache-2.0
// nn::init: bounds and fans as PyTorch's, the draws in order from the given generator, zeros, seeded resets.
#include <cmath>

#include <fresco/nn/init.hpp>

#include "support/check.hpp"

using namespace fresco;

TEST_CASE("nn::init: bounds and fan-in as PyTorch computes them", "[nn][init]") {
  CHECK(nn::init::default_bound(4) == 0.5f);
  CHECK(nn::init::default_bound(0) == 0.f);
  CHECK(nn::init::xavier_bound(2, 1) == Approx(std::sqrt(2.0)));
  CHECK(nn::init::fan_in(zeros({5, 3})) == 3);             // Linear [out, in]
  CHECK(nn::init::fan_in(zeros({8, 4, 3, 3})) == 36);      // Conv2d [out, in, k, k]
  CHECK(nn::init::fan_in(zeros({4, 8, 3, 3})) == 72);      // ConvTranspose2d [in, out, k, k]: out · k · k
  CHECK_THROWS_WITH(nn::init::fan_in(zeros({3})), Catch::Contains("two or more dims"));
}

TEST_CASE("nn::init: in-place draws follow the generator, in order", "[nn][init]") {
  Tensor t = zeros({2, 3});
  Generator gen(5), ref(5);
  nn::init::uniform_(t, 0.25f, gen);
  for (float v : t.to_vector()) {
    CHECK(v == (2.f * ref.uniform() - 1.f) * 0.25f);
    CHECK(std::fabs(v) <= 0.25f);
  }
  nn::init::normal_(t, 0.02f, gen);
  for (float v : t.to_vector()) CHECK(v == 0.02f * ref.normal());
  nn::init::zeros_(t);
  CHECK(t.to_vector() == std::vector<float>(6, 0.f));
  Tensor undefined;
  nn::init::zeros_(undefined);   // an absent bias: nothing to do
  CHECK_FALSE(undefined.defined());
}

TEST_CASE("nn::init: a layer's default draw repeats under manual_seed", "[nn][init]") {
  manual_seed(3);
  const Tensor a = nn::init::uniform({4, 4}, 0.5f);
  manual_seed(3);
  nn::Linear fc(4, 4);   // weight U(-1/2, 1/2) first
  CHECK(fc.weight.to_vector() == a.to_vector());
  CHECK_FALSE(a.requires_grad());
}

TEST_CASE("nn::init: reset_uniform_ depends on the seed alone", "[nn][init]") {
  struct Net : nn::Module {
    nn::Linear fc{3, 2};
    nn::LayerNorm ln{{2}};
    Net() {
      register_module("fc", fc);
      register_module("ln", ln);
    }
  };
  manual_seed(1);
  Net a;
  manual_seed(2);
  Net b;
  nn::init::reset_uniform_(a, 9);
  nn::init::reset_uniform_(b, 9);
  CHECK(a.fc.weight.to_vector() == b.fc.weight.to_vector());
  CHECK(a.fc.bias.to_vector() == std::vector<float>{0.f, 0.f});     // biases zeroed
  CHECK(a.ln.weight.to_vector() == std::vector<float>{1.f, 1.f});   // norm gains kept
  Generator ref(9);
  const float bound = 1.f / std::sqrt(3.f);
  for (float v : a.fc.weight.to_vector()) CHECK(v == (2.f * ref.uniform() - 1.f) * bound);
}
