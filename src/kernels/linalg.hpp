// SPDX-License-Identifier: Apache-2.0
#pragma once
// Dense linear algebra in double precision for the evaluation metrics (Eigen
// behind plain functions). Legend: N = samples, F = features. Matrices are
// row-major and contiguous.

#include <cstdint>

namespace fresco::kernels {

/// mean [F] and sample covariance cov [F, F] (divided by N - 1) of the rows
/// of x [N, F]; N >= 2. Accumulates in double.
void mean_covariance(double* mean, double* cov, const float* x, int64_t N, int64_t F);

/// Tr((A B)^{1/2}) for symmetric positive semi-definite a, b [F, F]: the sum
/// of the square roots of the eigenvalues of A^{1/2} B A^{1/2}, which has
/// the same spectrum as A B but is symmetric (so real, and stable to compute).
double trace_sqrt_product(const double* a, const double* b, int64_t F);

}  // namespace fresco::kernels
