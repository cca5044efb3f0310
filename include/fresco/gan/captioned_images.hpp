// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file
/// `gan::CaptionedImages`: the in-memory training set of the GAN trainer
/// (images scaled to [-1, 1] with one caption each), built from any
/// `data::Dataset` (`data::open_dataset` opens one by name).

#include <cstdint>
#include <string>
#include <vector>

#include <fresco/tensor/tensor.hpp>

namespace fresco::data {
class Dataset;
}  // namespace fresco::data

namespace fresco::gan {

/// Images [N, C, H, W] with values in [-1, 1] (tanh's range) and one caption per image.
///
///     auto set = fresco::gan::CaptionedImages::from_dataset(*fresco::data::open_dataset({.name = "shapes", .limit = 1000}));
///     set.images.shape();   // [1000, 3, 32, 32]
struct CaptionedImages {
  Tensor images;
  std::vector<std::string> captions;
  /// The class labels of each image (`data::Example::labels`: Shapes' attributes of each object,
  /// Fashion-MNIST's class), or empty when the data has none. The trainer draws its hard negative
  /// captions from images whose labels differ in exactly one place (see
  /// `GanContrastiveOptions::hard_negatives`).
  std::vector<std::vector<int64_t>> labels;

  int64_t size() const { return images.defined() ? images.size(0) : 0; }
  /// Throws `fresco::Error` unless images is [N, C, S, S] (C 1 or 3, N >= 2) with N captions,
  /// and labels empty or N rows.
  void validate() const;
  /// The first `limit` samples (all when limit is 0 or larger than the set) of
  /// any captioned dataset, rescaled from [0, 1] to [-1, 1].
  static CaptionedImages from_dataset(const data::Dataset& dataset, int64_t limit = 0);
};

}  // namespace fresco::gan
