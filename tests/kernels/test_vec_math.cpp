// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "kernels/vec_math.hpp"

using fresco::kernels::exp_fast;
using fresco::kernels::one_plus_erf;
using fresco::kernels::tanh_fast;

TEST_CASE("exp_fast agrees with std::exp to a few ulp over its range", "[kernels][vec_math]") {
  double worst = 0;
  for (int i = 0; i <= 200000; ++i) {
    const float x = -87.f + 175.f * static_cast<float>(i) / 200000.f;
    const double ref = std::exp(static_cast<double>(x));
    worst = std::max(worst, std::fabs(exp_fast(x) - ref) / ref);
  }
  INFO("largest relative error " << worst);
  CHECK(worst < 4e-7);
  CHECK(exp_fast(0.f) == 1.f);
  CHECK(exp_fast(-std::numeric_limits<float>::infinity()) == 0.f);
  CHECK(exp_fast(-100.f) == 0.f);
  CHECK(std::isnan(exp_fast(std::nanf(""))));
}

TEST_CASE("one_plus_erf agrees with 1 + std::erf", "[kernels][vec_math]") {
  double worst_abs = 0, worst_rel_tail = 0;
  for (int i = 0; i <= 200000; ++i) {
    const double z = -6.0 + 12.0 * i / 200000.0;
    const double ref = 1.0 + std::erf(z);
    const double got = one_plus_erf(static_cast<float>(z));
    worst_abs = std::max(worst_abs, std::fabs(got - ref));
    if (z < -1.0 && z > -3.0) worst_rel_tail = std::max(worst_rel_tail, std::fabs(got - std::erfc(-z)) / std::erfc(-z));
  }
  INFO("abs " << worst_abs << ", relative in the lower tail " << worst_rel_tail);
  CHECK(worst_abs < 1e-6);
  CHECK(worst_rel_tail < 1e-3);  // no cancellation for negative z (1 + erf(z) computed as erfc(-z))
}

TEST_CASE("tanh_fast agrees with std::tanh, small arguments included", "[kernels][vec_math]") {
  double worst = 0;
  for (int i = -200000; i <= 200000; ++i) {
    // Dense near 0 (where 1 - exp(-2|x|) cancels), out to ±12.
    const double u = i / 200000.0;
    const float x = static_cast<float>(12.0 * u * u * u);
    if (x == 0.f) continue;
    const double ref = std::tanh(static_cast<double>(x));
    worst = std::max(worst, std::fabs(tanh_fast(x) - ref) / std::fabs(ref));
  }
  INFO("largest relative error " << worst);
  CHECK(worst < 1e-6);
  CHECK(tanh_fast(0.f) == 0.f);
  CHECK(tanh_fast(1e-30f) == 1e-30f);
  CHECK(tanh_fast(std::numeric_limits<float>::infinity()) == 1.f);
  CHECK(tanh_fast(-std::numeric_limits<float>::infinity()) == -1.f);
  CHECK(tanh_fast(-20.f) == -1.f);
  CHECK(std::isnan(tanh_fast(std::nanf(""))));
}
