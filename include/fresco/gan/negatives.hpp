// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file
/// `gan::NegativeSampler`: which captions join a GAN step's losses as
/// negatives, and where each sits among the step's negative rows.

#include <cstdint>
#include <vector>

#include <fresco/tensor/random.hpp>

namespace fresco::gan {

/// Draws a step's negative captions (as dataset indices) and owns their layout:
/// `random_count()` random captions first, then `hard_count()` hard negatives for
/// each row of the batch, row by row. Callers ask `hard_row` for a row instead of
/// computing offsets.
///
/// A hard negative of image i is the caption of another image whose labels differ
/// from i's in exactly one place (the same scene with a square instead of a circle).
/// Image i's k hard negatives change k different places when it has that many
/// places, starting at a place drawn for each image, then cycle through the places
/// again. Data without labels, or a place where no image differs, gets a random
/// caption instead.
///
///     NegativeSampler negatives(data.labels, data.size(), {.random = 256, .hard = 8});
///     fresco::Generator pick(seed);
///     std::vector<int64_t> rows = negatives.sample(batch_indices, pick);   // 256 + 8 · B indices
///     int64_t first_hard_of_row_3 = rows[negatives.hard_row(3)];
class NegativeSampler {
public:
  /// How many negatives a step draws.
  struct Counts {
    int64_t random = 0;   ///< random captions per step
    int64_t hard = 0;     ///< hard negatives per batch row
  };

  /// `labels`: empty, or one row per image of a data set of `data_size` images.
  /// Throws `fresco::Error` for negative counts or labels of another size.
  NegativeSampler(const std::vector<std::vector<int64_t>>& labels, int64_t data_size, Counts counts);

  /// Random negatives per step.
  int64_t random_count() const { return counts_.random; }
  /// Hard negatives per batch row.
  int64_t hard_count() const { return counts_.hard; }
  /// Negatives a batch of `batch` rows gets: random_count() + batch · hard_count().
  int64_t rows(int64_t batch) const { return counts_.random + batch * counts_.hard; }
  /// Row of batch row `i`'s `k`-th hard negative in what `sample` returns.
  int64_t hard_row(int64_t i, int64_t k = 0) const { return counts_.random + i * counts_.hard + k; }

  /// The dataset indices of the negatives of a batch of images `batch_indices`, in the layout
  /// above, drawn from `pick`.
  std::vector<int64_t> sample(const std::vector<int64_t>& batch_indices, fresco::Generator& pick) const;

  /// One hard negative of image `i` in [0, data_size): its `attempt`-th (>= 0), changing place
  /// (start + attempt) mod the number of places; a random image when i has no labels or no image
  /// differs there. Throws `fresco::Error` for an image or attempt out of range.
  int64_t hard_negative(int64_t i, int64_t attempt, uint64_t start, fresco::Generator& pick) const;

private:
  int64_t size_;
  Counts counts_;
  std::vector<std::vector<int64_t>> labels_;
  // Image i's label place p belongs to the group near_[near_offset_[i] + p] of the images whose
  // labels equal i's everywhere but at p (i included), sorted by their label at p.
  std::vector<int64_t> near_offset_;
  std::vector<int32_t> near_;
  std::vector<std::vector<int64_t>> near_groups_;
};

}  // namespace fresco::gan
