// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file
/// The metrics of a text-to-image model, on plain inputs (feature matrices,
/// intended and predicted labels) so that they can be computed and tested
/// apart from any model: the Fréchet distance between two feature sets,
/// conditional accuracy per attribute on seen and held-out prompts, and a
/// diversity figure (mean pairwise feature distance among images of one caption).
///
///     double fd = fresco::eval::frechet_distance(generated_features, real_features);   // [N1, F], [N2, F]
///     auto acc = fresco::eval::conditional_accuracy(intended, clf.predict(images), held_out);

#include <cstdint>
#include <vector>

#include <fresco/tensor/tensor.hpp>

namespace fresco::eval {

/// Mean and sample covariance of a feature set, in double precision.
struct FeatureStatistics {
  int64_t count = 0;               ///< N, the number of feature vectors (>= 2)
  int64_t dim = 0;                 ///< F
  std::vector<double> mean;        ///< [F]
  std::vector<double> covariance;  ///< [F, F] row-major, divided by N - 1
};

/// features [N, F] (N >= 2) -> their mean and sample covariance. Throws
/// `fresco::ShapeError` unless the features are 2-D with N >= 2 and F >= 1,
/// and `fresco::Error` when a feature is NaN or infinite.
FeatureStatistics feature_statistics(const Tensor& features);

/// The Fréchet distance between the Gaussians fitted to two feature sets
/// (Heusel et al. 2017, the "FID" formula on any features):
///
///     d² = ||mu1 - mu2||² + Tr(S1 + S2 - 2 (S1 S2)^{1/2})
///
/// computed in double precision; Tr((S1 S2)^{1/2}) is the sum of the square
/// roots of the eigenvalues of the symmetric S1^{1/2} S2 S1^{1/2}, with
/// rounding-level negative eigenvalues clamped to 0. The result is >= 0
/// (tiny negative values from rounding are returned as 0). Throws
/// `fresco::ShapeError` when the dimensions differ.
double frechet_distance(const FeatureStatistics& a, const FeatureStatistics& b);
/// a [N1, F], b [N2, F] (N1, N2 >= 2) -> their Fréchet distance (above).
double frechet_distance(const Tensor& a, const Tensor& b);

/// Accuracy of a classifier on generated images, per head, split by whether
/// the prompt was a seen or a held-out combination. An empty vector means
/// no prompt of that kind (e.g. no held-out prompts for Fashion-MNIST).
struct ConditionalAccuracy {
  std::vector<double> seen;      ///< per head, in [0, 1]
  std::vector<double> held_out;  ///< per head, in [0, 1]
  /// The share of images with every head right at once (0 when there are none).
  double all_seen = 0;
  double all_held_out = 0;
  int64_t seen_count = 0;
  int64_t held_out_count = 0;
};

/// The share of images whose predicted class is the prompted one, per head.
/// `intended[n][h]` is prompt n's label for head h (N lists of H labels, as
/// `data::Batch::labels`); `predicted[h][n]` the classifier's label for
/// image n (H lists of N labels, as `eval::Classifier::predict` returns);
/// `held_out[n]` marks prompt n as a held-out combination (empty: all seen).
/// Throws `fresco::Error` when the counts disagree.
ConditionalAccuracy conditional_accuracy(const std::vector<std::vector<int64_t>>& intended,
                                         const std::vector<std::vector<int64_t>>& predicted,
                                         const std::vector<bool>& held_out = {});

/// features [K, F] (K >= 2) -> the mean Euclidean distance over the
/// K (K - 1) / 2 pairs of rows, accumulated in double.
double mean_pairwise_distance(const Tensor& features);

/// The diversity figure: `mean_pairwise_distance` of each group (the
/// features [K, F] of K images of one caption, or of K real images of one
/// class / attribute combination), averaged over the groups. One picture per
/// caption gives 0; real images give the scale to compare against.
double diversity(const std::vector<Tensor>& groups);

}  // namespace fresco::eval
