// SPDX-License-Identifier: Apache-2.0
// Legend: N = samples, F = features.
#include "kernels/linalg.hpp"

#include <Eigen/Dense>

namespace fresco::kernels {

namespace {
using RowMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// Eigenvalues of a covariance that should be >= 0 come out slightly negative
// through rounding (rank-deficient covariances: N <= F, dead ReLU features);
// they are clamped to 0 before any square root.
Eigen::VectorXd clamped(const Eigen::VectorXd& v) { return v.cwiseMax(0.0); }
}  // namespace

void mean_covariance(double* mean, double* cov, const float* x, int64_t N, int64_t F) {
  const Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>> xf(x, N, F);
  const RowMatrix xd = xf.cast<double>();
  const Eigen::RowVectorXd mu = xd.colwise().mean();
  // Centre first, then X^T X / (N - 1): the two-pass form, free of the
  // cancellation of E[x x^T] - mu mu^T when the mean is large (shift invariance).
  const RowMatrix centred = xd.rowwise() - mu;
  Eigen::Map<RowMatrix> out(cov, F, F);
  out.noalias() = centred.transpose() * centred / static_cast<double>(N - 1);
  Eigen::Map<Eigen::RowVectorXd>(mean, F) = mu;
}

double trace_sqrt_product(const double* a, const double* b, int64_t F) {
  const Eigen::Map<const RowMatrix> am(a, F, F), bm(b, F, F);
  // A = V diag(l) V^T  ->  A^{1/2} = V diag(sqrt(max(l, 0))) V^T.
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> ea(am);
  const Eigen::MatrixXd sqrt_a =
      ea.eigenvectors() * clamped(ea.eigenvalues()).cwiseSqrt().asDiagonal() * ea.eigenvectors().transpose();
  // A^{1/2} B A^{1/2} is similar to A B (same eigenvalues) and symmetric PSD,
  // so Tr((A B)^{1/2}) = sum sqrt(eigenvalues). Symmetrise away rounding.
  Eigen::MatrixXd m = sqrt_a * bm * sqrt_a;
  m = 0.5 * (m + m.transpose());
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> em(m, Eigen::EigenvaluesOnly);
  return clamped(em.eigenvalues()).cwiseSqrt().sum();
}

}  // namespace fresco::kernels
