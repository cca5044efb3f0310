// SPDX-License-Identifier: Apache-2.0
#pragma once
// Helpers shared by the tests: compare tensors with the largest difference in
// the failure message.
#include <catch2/catch.hpp>

#include <cmath>
#include <string>
#include <vector>

#include <fresco/fresco.hpp>

namespace fresco::testing {

/// Largest |a - b| over two equally long vectors (inf when lengths differ).
inline double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return INFINITY;
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::isnan(a[i]) != std::isnan(b[i])) return INFINITY;
    if (!std::isnan(a[i])) m = std::max(m, std::fabs(static_cast<double>(a[i]) - b[i]));
  }
  return m;
}

}  // namespace fresco::testing

/// Checks a tensor's shape and values against expected ones within tol.
#define CHECK_TENSOR(t, expected_shape, expected_values, tol)                                          \
  do {                                                                                                \
    const ::fresco::Tensor t_ = (t);                                                                 \
    REQUIRE(t_.shape() == ::fresco::Shape(expected_shape));                                           \
    const double diff_ = ::fresco::testing::max_abs_diff(t_.to_vector(), std::vector<float>(expected_values)); \
    INFO("largest difference " << diff_ << " in " << ::fresco::to_string(t_));                        \
    CHECK(diff_ <= (tol));                                                                            \
  } while (0)
