// SPDX-License-Identifier: Apache-2.0
#include <fresco/error.hpp>
#include <fresco/eval/metrics.hpp>

#include <cmath>

#include "kernels/linalg.hpp"

namespace fresco::eval {

FeatureStatistics feature_statistics(const Tensor& features) {
  FRESCO_CHECK(features.defined(), "feature_statistics: expected a feature matrix [N, F], found an undefined tensor");
  FRESCO_CHECK_SHAPE(features.dim() == 2, "feature_statistics: expected features [N, F], found {}",
                     shape_str(features.shape()));
  const int64_t n = features.size(0), f = features.size(1);
  FRESCO_CHECK_SHAPE(n >= 2, "feature_statistics: a covariance needs at least 2 samples, found features {}",
                     shape_str(features.shape()));
  FRESCO_CHECK_SHAPE(f >= 1, "feature_statistics: expected at least 1 feature, found features {}",
                     shape_str(features.shape()));
  const Tensor x = features.detach().contiguous();
  const float* p = x.data();
  for (int64_t i = 0; i < n * f; ++i)
    FRESCO_CHECK(std::isfinite(p[i]), "feature_statistics: feature {} of sample {} is {}, expected a finite value",
                 i % f, i / f, p[i]);
  FeatureStatistics s{.count = n, .dim = f, .mean = std::vector<double>(f), .covariance = std::vector<double>(f * f)};
  kernels::mean_covariance(s.mean.data(), s.covariance.data(), p, n, f);
  return s;
}

double frechet_distance(const FeatureStatistics& a, const FeatureStatistics& b) {
  FRESCO_CHECK_SHAPE(a.dim == b.dim, "frechet_distance: feature dimensions differ: {} and {}", a.dim, b.dim);
  FRESCO_CHECK(a.dim >= 1 && a.count >= 2 && b.count >= 2,
               "frechet_distance: expected statistics of at least 2 samples of at least 1 feature, found {} and {} "
               "samples of {} features",
               a.count, b.count, a.dim);
  const size_t f = static_cast<size_t>(a.dim);
  FRESCO_CHECK(a.mean.size() == f && b.mean.size() == f && a.covariance.size() == f * f &&
                   b.covariance.size() == f * f,
               "frechet_distance: statistics of dimension {} need a mean of {} and a covariance of {} values",
               f, f, f * f);
  double mean_term = 0, trace = 0;
  for (size_t i = 0; i < f; ++i) {
    const double d = a.mean[i] - b.mean[i];
    mean_term += d * d;
    trace += a.covariance[i * f + i] + b.covariance[i * f + i];
  }
  const double cross = kernels::trace_sqrt_product(a.covariance.data(), b.covariance.data(), a.dim);
  // Tr(S1) + Tr(S2) - 2 Tr((S1 S2)^{1/2}) >= 0 in exact arithmetic (it is the
  // squared Bures distance); rounding can leave a tiny negative value.
  return std::max(0.0, mean_term + trace - 2 * cross);
}

double frechet_distance(const Tensor& a, const Tensor& b) {
  FRESCO_CHECK(a.defined() && b.defined(), "frechet_distance: expected two feature matrices [N, F], found an undefined tensor");
  FRESCO_CHECK_SHAPE(a.dim() == 2 && b.dim() == 2 && a.size(1) == b.size(1),
                     "frechet_distance: expected features [N1, F] and [N2, F], found {} and {}", shape_str(a.shape()),
                     shape_str(b.shape()));
  FRESCO_CHECK_SHAPE(a.size(0) >= 2 && b.size(0) >= 2,
                     "frechet_distance: a covariance needs at least 2 samples per set, found {} and {}",
                     shape_str(a.shape()), shape_str(b.shape()));
  return frechet_distance(feature_statistics(a), feature_statistics(b));
}

}  // namespace fresco::eval
