// SPDX-License-Identifier: Apache-2.0
// Fréchet distance against closed forms: feature sets are built so that their
// sample mean and covariance are exactly the ones wanted (orthogonal ±1
// columns of a Hadamard matrix), so the expected distance is a formula.
#include "support/check.hpp"

#include <cmath>

#include <fresco/eval/metrics.hpp>

using fresco::Tensor;
using fresco::eval::feature_statistics;
using fresco::eval::frechet_distance;

namespace {

// Sylvester's Hadamard matrix of order n (a power of 2): entries ±1, columns orthogonal.
std::vector<std::vector<double>> hadamard(int n) {
  std::vector<std::vector<double>> h{{1.0}};
  for (int m = 1; m < n; m *= 2) {
    std::vector<std::vector<double>> next(2 * m, std::vector<double>(2 * m));
    for (int i = 0; i < m; ++i)
      for (int j = 0; j < m; ++j) {
        next[i][j] = next[i][j + m] = next[i + m][j] = h[i][j];
        next[i + m][j + m] = -h[i][j];
      }
    h = next;
  }
  return h;
}

// N = n rows whose sample mean is `mean` and sample covariance (over N - 1)
// is L L^T for the lower-triangular `l` [F, F] (F < n): x = mean + sqrt((N-1)/N) C L^T,
// with C the Hadamard columns 1..F (zero-mean, C^T C = N I).
Tensor features_with(const std::vector<double>& mean, const std::vector<std::vector<double>>& l, int n) {
  const auto h = hadamard(n);
  const size_t f = mean.size();
  const double scale = std::sqrt(static_cast<double>(n - 1) / n);
  std::vector<float> v;
  for (int r = 0; r < n; ++r)
    for (size_t i = 0; i < f; ++i) {
      double x = mean[i];
      for (size_t j = 0; j < f; ++j) x += scale * h[r][j + 1] * l[i][j];
      v.push_back(static_cast<float>(x));
    }
  return fresco::tensor(v, {n, static_cast<int64_t>(f)});
}

std::vector<std::vector<double>> diagonal_sqrt(const std::vector<double>& variances) {
  std::vector<std::vector<double>> l(variances.size(), std::vector<double>(variances.size(), 0.0));
  for (size_t i = 0; i < variances.size(); ++i) l[i][i] = std::sqrt(variances[i]);
  return l;
}

Tensor random_features(int64_t n, int64_t f, uint64_t seed) {
  fresco::manual_seed(seed);
  return fresco::randn({n, f});
}

}  // namespace

TEST_CASE("frechet: statistics match naive loops", "[eval][frechet]") {
  const Tensor x = random_features(37, 5, 3) * 2.f + 1.f;
  const auto s = feature_statistics(x);
  const auto v = x.to_vector();
  REQUIRE(s.count == 37);
  REQUIRE(s.dim == 5);
  for (int i = 0; i < 5; ++i) {
    double m = 0;
    for (int r = 0; r < 37; ++r) m += v[r * 5 + i];
    m /= 37;
    CHECK(s.mean[i] == Approx(m).epsilon(1e-12));
  }
  for (int i = 0; i < 5; ++i)
    for (int j = 0; j < 5; ++j) {
      double c = 0;
      for (int r = 0; r < 37; ++r) c += (v[r * 5 + i] - s.mean[i]) * (v[r * 5 + j] - s.mean[j]);
      CHECK(s.covariance[i * 5 + j] == Approx(c / 36).epsilon(1e-10));
    }
}

TEST_CASE("frechet: diagonal Gaussians match the closed form", "[eval][frechet]") {
  // d² = sum_i (sqrt(a_i) - sqrt(b_i))² + ||mu1 - mu2||² for diagonal covariances.
  const std::vector<double> a{1.0, 4.0, 0.25, 9.0, 2.0, 0.5, 3.0};
  const std::vector<double> b{4.0, 1.0, 0.25, 1.0, 0.1, 5.0, 3.0};
  const std::vector<double> mu1{0.0, 1.0, -2.0, 0.5, 0.0, 3.0, 1.0};
  const std::vector<double> mu2{1.0, 1.0, 0.0, -0.5, 2.0, 3.0, 0.0};
  double expected = 0;
  for (size_t i = 0; i < a.size(); ++i)
    expected += std::pow(std::sqrt(a[i]) - std::sqrt(b[i]), 2) + std::pow(mu1[i] - mu2[i], 2);
  const Tensor x = features_with(mu1, diagonal_sqrt(a), 8);
  const Tensor y = features_with(mu2, diagonal_sqrt(b), 16);
  const auto sx = feature_statistics(x);
  for (size_t i = 0; i < a.size(); ++i) CHECK(sx.covariance[i * a.size() + i] == Approx(a[i]).epsilon(1e-6));
  CHECK(sx.covariance[1] == Approx(0.0).margin(1e-6));
  CHECK(frechet_distance(x, y) == Approx(expected).epsilon(1e-5));
  CHECK(frechet_distance(y, x) == Approx(expected).epsilon(1e-5));
}

TEST_CASE("frechet: a non-diagonal 2x2 case against the analytic square root", "[eval][frechet]") {
  // S1 = [[2, 1], [1, 2]], S2 = [[1, 0], [0, 4]]. For a 2x2 matrix M with
  // eigenvalues l1, l2 >= 0: Tr(M^{1/2}) = sqrt(l1) + sqrt(l2) = sqrt(tr M + 2 sqrt(det M)).
  // S1 S2 = [[2, 4], [1, 8]]: tr 10, det 12, so Tr((S1 S2)^{1/2}) = sqrt(10 + 2 sqrt(12)) = 4.1143898...
  const double tr_sqrt = std::sqrt(10.0 + 2.0 * std::sqrt(12.0));
  CHECK(tr_sqrt == Approx(4.1143898).epsilon(1e-7));
  const double mean_term = 1.5 * 1.5 + 2.0 * 2.0;  // mu1 - mu2 = (1.5, -2)
  const double expected = mean_term + (2 + 2) + (1 + 4) - 2 * tr_sqrt;  // = 7.0212204...
  CHECK(expected == Approx(7.0212204).epsilon(1e-7));
  // Cholesky of S1: [[sqrt 2, 0], [1/sqrt 2, sqrt(3/2)]]; S2 is diagonal.
  const std::vector<std::vector<double>> l1{{std::sqrt(2.0), 0.0}, {1 / std::sqrt(2.0), std::sqrt(1.5)}};
  const Tensor x = features_with({1.5, 0.0}, l1, 4);
  const Tensor y = features_with({0.0, 2.0}, diagonal_sqrt({1.0, 4.0}), 8);
  const auto sx = feature_statistics(x);
  CHECK(sx.covariance[0] == Approx(2.0).epsilon(1e-6));
  CHECK(sx.covariance[1] == Approx(1.0).epsilon(1e-6));
  CHECK(sx.covariance[3] == Approx(2.0).epsilon(1e-6));
  CHECK(frechet_distance(x, y) == Approx(expected).epsilon(1e-6));
  CHECK(frechet_distance(y, x) == Approx(expected).epsilon(1e-6));
}

TEST_CASE("frechet: identical sets are at distance 0", "[eval][frechet]") {
  const Tensor x = random_features(200, 16, 5);
  CHECK(frechet_distance(x, x) == Approx(0.0).margin(1e-6));
  CHECK(frechet_distance(x, x.clone()) == Approx(0.0).margin(1e-6));
  // Fewer samples than features: singular covariances (clamped eigenvalues).
  const Tensor y = fresco::relu(random_features(10, 32, 6));
  CHECK(frechet_distance(y, y) == Approx(0.0).margin(1e-6));
}

TEST_CASE("frechet: shift invariance, mean shifts and symmetry", "[eval][frechet]") {
  const Tensor x = random_features(300, 8, 7);
  const Tensor y = random_features(250, 8, 8) * 1.5f + 0.3f;
  const double d = frechet_distance(x, y);
  CHECK(d > 0.1);
  CHECK(frechet_distance(y, x) == Approx(d).epsilon(1e-9));
  // Moving both sets by the same vector changes nothing.
  const Tensor shift = fresco::arange(8) * 10.f - 30.f;
  CHECK(frechet_distance(x + shift, y + shift) == Approx(d).epsilon(1e-4));
  // Moving one set by a vector adds its squared length (the covariance term is unchanged).
  const Tensor delta = fresco::tensor({1, -2, 0, 0, 0.5f, 0, 0, 3}, {8});
  CHECK(frechet_distance(x, x + delta) == Approx(1 + 4 + 0.25 + 9).epsilon(1e-5));
}

TEST_CASE("frechet: errors name what was expected", "[eval][frechet]") {
  const Tensor x = random_features(10, 4, 9);
  CHECK_THROWS_AS(frechet_distance(x, random_features(10, 5, 9)), fresco::ShapeError);
  CHECK_THROWS_WITH(frechet_distance(x, random_features(10, 5, 9)), Catch::Contains("[10, 5]"));
  CHECK_THROWS_WITH(frechet_distance(x, random_features(1, 4, 9)), Catch::Contains("at least 2 samples"));
  CHECK_THROWS_AS(frechet_distance(x, random_features(1, 4, 9)), fresco::Error);
  CHECK_THROWS_AS(feature_statistics(fresco::randn({10})), fresco::ShapeError);
  CHECK_THROWS_AS(frechet_distance(x, Tensor()), fresco::Error);
  const auto s4 = feature_statistics(x), s5 = feature_statistics(random_features(10, 5, 9));
  CHECK_THROWS_WITH(frechet_distance(s4, s5), Catch::Contains("dimensions differ: 4 and 5"));
  Tensor bad = x.clone();
  bad.data()[6] = NAN;
  CHECK_THROWS_WITH(feature_statistics(bad), Catch::Contains("finite"));
}
