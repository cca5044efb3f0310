// SPDX-License-Identifier: Apache-2.0
// VectorQuantizer: nearest codes, the straight-through gradient, the commitment loss, the
// moving-average update and dead-code restarts, all against values computed by hand.
#include <catch2/catch.hpp>

#include <cmath>

#include <fresco/vq/quantizer.hpp>

#include "support/check.hpp"

using namespace fresco;

namespace {

// Sets the codebook (and its moving averages, as if each code had been seen once).
void set_codes(vq::VectorQuantizer& q, const std::vector<float>& codes) {
  NoGradGuard guard;
  REQUIRE(static_cast<int64_t>(codes.size()) == q.num_codes() * q.dim());
  std::copy(codes.begin(), codes.end(), q.codebook.data());
  std::copy(codes.begin(), codes.end(), q.embed_sum.data());
  std::fill(q.cluster_size.data(), q.cluster_size.data() + q.num_codes(), 1.f);
}

}  // namespace

TEST_CASE("VectorQuantizer: each position takes its nearest code", "[vq]") {
  vq::VectorQuantizer q(3, 2);
  set_codes(q, {0, 0, 1, 1, -1, 2});
  // z [1, 2, 1, 3]: positions (0.1, -0.2) -> code 0, (0.9, 1.2) -> 1, (-0.8, 1.9) -> 2.
  const Tensor z = tensor({0.1f, 0.9f, -0.8f, -0.2f, 1.2f, 1.9f}, {1, 2, 1, 3});
  CHECK(q.nearest(z) == std::vector<int64_t>{0, 1, 2});
  // A tie between codes 0 and 1 goes to the lower id.
  CHECK(q.nearest(tensor({0.5f, 0.5f}, {1, 2, 1, 1})) == std::vector<int64_t>{0});
  CHECK_TENSOR(q.lookup({2, 0}, 1, 1, 2), Shape({1, 2, 1, 2}), std::vector<float>({-1, 0, 2, 0}), 0.f);
  CHECK_THROWS_WITH(q.lookup({3}, 1, 1, 1), Catch::Contains("id 3 at position 0 is not in [0, 3)"));
  CHECK_THROWS_WITH(q.lookup({0, 1}, 1, 1, 1), Catch::Contains("2 ids for a grid of 1 x 1 x 1"));
  CHECK_THROWS_AS(q.nearest(zeros({1, 3, 2, 2})), ShapeError);
}

TEST_CASE("VectorQuantizer: straight-through gradient and commitment loss", "[vq]") {
  vq::VectorQuantizer q(2, 1, {.commitment = 0.25f});
  q.eval();
  set_codes(q, {0.f, 1.f});
  Tensor z = tensor({0.2f, 0.7f, 1.5f, -0.4f}, {1, 1, 2, 2}).requires_grad_();
  const auto out = q(z);
  CHECK(out.ids == std::vector<int64_t>{0, 1, 1, 0});
  CHECK_TENSOR(out.codes, Shape({1, 1, 2, 2}), std::vector<float>({0, 1, 1, 0}), 0.f);
  // β · mean((z − e)²) = 0.25 · (0.04 + 0.09 + 0.25 + 0.16) / 4
  CHECK(out.commitment_loss.item() == Approx(0.25 * 0.54 / 4).epsilon(1e-6));
  // d/dz of sum(codes · w) is w (straight through); of the commitment loss 2β(z − e)/n.
  const Tensor w = tensor({1.f, 2.f, 3.f, 4.f}, {1, 1, 2, 2});
  (sum(out.codes * w) + out.commitment_loss).backward();
  CHECK_TENSOR(z.grad(), Shape({1, 1, 2, 2}),
               std::vector<float>({1 + 0.125f * 0.2f, 2 - 0.125f * 0.3f, 3 + 0.125f * 0.5f, 4 - 0.125f * 0.4f}), 1e-6f);
  CHECK(out.perplexity == Approx(2.0));   // two codes used equally
  CHECK(out.restarted == 0);
  CHECK(q.codebook.to_vector() == std::vector<float>{0.f, 1.f});   // eval mode reads only
}

TEST_CASE("VectorQuantizer: the codebook follows moving averages of its vectors", "[vq]") {
  vq::VectorQuantizer q(2, 1, {.decay = 0.5f, .epsilon = 1e-5f, .dead_threshold = 0.f});
  set_codes(q, {0.f, 1.f});
  q(tensor({0.2f, 0.4f, 1.6f}, {1, 1, 1, 3}));   // code 0 gets 0.2 and 0.4, code 1 gets 1.6
  // N = (0.5 · 1 + 0.5 · 2, 0.5 · 1 + 0.5 · 1) = (1.5, 1); m = (0.5 · 0 + 0.5 · 0.6, 0.5 · 1 + 0.5 · 1.6) = (0.3, 1.3).
  CHECK_TENSOR(q.cluster_size, Shape({2}), std::vector<float>({1.5f, 1.f}), 1e-6f);
  CHECK_TENSOR(q.embed_sum, Shape({2, 1}), std::vector<float>({0.3f, 1.3f}), 1e-6f);
  // e = m / Ñ with Ñ = (N + ε) / (ΣN + Kε) · ΣN.
  const double total = 2.5, eps = 1e-5;
  const double n0 = (1.5 + eps) / (total + 2 * eps) * total, n1 = (1.0 + eps) / (total + 2 * eps) * total;
  CHECK_TENSOR(q.codebook, Shape({2, 1}), std::vector<float>({float(0.3 / n0), float(1.3 / n1)}), 1e-6f);
  CHECK(q.updates.item() == 1.f);
}

TEST_CASE("VectorQuantizer: dead codes restart at the batch's vectors", "[vq]") {
  vq::VectorQuantizer q(3, 2, {.decay = 0.5f, .dead_threshold = 0.6f, .seed = 4});
  set_codes(q, {0, 0, 10, 10, 20, 20});
  // Every position is near code 0: codes 1 and 2 decay to 0.5 < 0.6 and restart.
  const Tensor z = tensor({0.1f, -0.1f, 0.2f, 0.3f, 0.f, -0.2f, 0.1f, 0.4f}, {1, 2, 2, 2});
  const auto out = q(z);
  CHECK(out.ids == std::vector<int64_t>{0, 0, 0, 0});
  CHECK(out.perplexity == Approx(1.0));
  CHECK(out.restarted == 2);
  const std::vector<std::vector<float>> batch{{0.1f, 0.f}, {-0.1f, -0.2f}, {0.2f, 0.1f}, {0.3f, 0.4f}};
  const auto codes = q.codebook.to_vector();
  for (int k = 1; k < 3; ++k) {
    const std::vector<float> code{codes[static_cast<size_t>(2 * k)], codes[static_cast<size_t>(2 * k + 1)]};
    CHECK(std::find(batch.begin(), batch.end(), code) != batch.end());
    CHECK(q.cluster_size.to_vector()[static_cast<size_t>(k)] == 1.f);
  }
  CHECK_THROWS_WITH(vq::VectorQuantizer(1, 2), Catch::Contains("at least 2 codes"));
  CHECK_THROWS_WITH(vq::VectorQuantizer(4, 2, {.decay = 1.f}), Catch::Contains("decay in [0, 1)"));
}

TEST_CASE("VectorQuantizer: normalize searches by angle and keeps the codes on the unit sphere", "[vq]") {
  vq::VectorQuantizer q(3, 2, {.commitment = 1.f, .decay = 0.5f, .dead_threshold = 0.f, .normalize = true});
  // Initial codes are unit vectors.
  const auto init = q.codebook.to_vector();
  for (int k = 0; k < 3; ++k) CHECK(std::hypot(init[2 * k], init[2 * k + 1]) == Approx(1.0).epsilon(1e-6));
  set_codes(q, {1, 0, 0, 1, -1, 0});
  // By angle: (3, 0.5) -> code 0, (0.2, 3) -> code 1, (−0.1, 0.05) -> code 2.
  const Tensor z = tensor({3.f, 0.2f, -0.1f, 0.5f, 3.f, 0.05f}, {1, 2, 1, 3});
  CHECK(q.nearest(z) == std::vector<int64_t>{0, 1, 2});
  Tensor zg = z.detach().requires_grad_();
  const auto out = q(zg);
  CHECK(out.ids == std::vector<int64_t>{0, 1, 2});
  // The codes passed on are unit vectors (the chosen codes before the update), the commitment is
  // mean((u − e)²) of the scaled z: u0 = (3, 0.5)/√9.25, u1 = (0.2, 3)/√9.04, u2 = (−0.1, 0.05)/√0.0125.
  CHECK_TENSOR(out.codes, Shape({1, 2, 1, 3}), std::vector<float>({1, 0, -1, 0, 1, 0}), 1e-6f);
  const double r0 = std::sqrt(9.25), r1 = std::sqrt(9.04), r2 = std::sqrt(0.0125);
  const double want = (std::pow(3 / r0 - 1, 2) + std::pow(0.5 / r0, 2) + std::pow(0.2 / r1, 2) +
                       std::pow(3 / r1 - 1, 2) + std::pow(-0.1 / r2 + 1, 2) + std::pow(0.05 / r2, 2)) / 6;
  CHECK(out.commitment_loss.item() == Approx(want).epsilon(1e-5));
  // After the moving-average update every code is a unit vector again.
  const auto after = q.codebook.to_vector();
  for (int k = 0; k < 3; ++k) CHECK(std::hypot(after[2 * k], after[2 * k + 1]) == Approx(1.0).epsilon(1e-6));
  // Code 1 moved towards u1: m1 = 0.5 (0, 1) + 0.5 u1, then scaled to unit length.
  const double mx = 0.5 * 0.2 / r1, my = 0.5 + 0.5 * 3 / r1, len = std::hypot(mx, my);
  CHECK(after[2] == Approx(mx / len).epsilon(1e-5));
  CHECK(after[3] == Approx(my / len).epsilon(1e-5));
}
