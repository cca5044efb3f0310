// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file
/// `data::Dataset`: the small interface every captioned image dataset offers
/// to `DataLoader` and the evaluation code. The datasets themselves live in
/// their own headers: `ShapesDataset` in `shapes.hpp`, `FashionMnistDataset`
/// in `fashion_mnist.hpp`, `ImageFolder` in `image_folder.hpp`, and
/// `open_dataset` (a dataset by name) in `registry.hpp`.
///
///     auto ds = std::make_shared<fresco::data::ShapesDataset>(fresco::data::Shapes({.size = 1000}));
///     fresco::data::Example e = ds->get(3);   // e.image [3, 32, 32] in [0, 1], e.caption, e.labels

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <fresco/tensor/tensor.hpp>

namespace fresco::data {

/// One sample of a dataset.
struct Example {
  /// [C, H, W], values in [0, 1].
  Tensor image;
  /// A caption of the image (UTF-8).
  std::string caption;
  /// Class labels of the image; their meaning depends on the dataset (see each adapter).
  std::vector<int64_t> labels;
};

/// A random-access dataset of captioned images, all of the same shape.
/// `get` must be safe to call from another thread than the one that built the
/// dataset (the DataLoader's worker calls it), and must not use the global
/// random generator.
class Dataset {
public:
  virtual ~Dataset() = default;
  /// Number of samples.
  virtual int64_t size() const = 0;
  /// Sample i, 0 <= i < size(); throws `fresco::Error` for an index out of range.
  virtual Example get(int64_t i) const = 0;
};

/// The samples of another dataset at `indices`, in that order (a split of it):
/// sample i is `base->get(indices[i])`. Throws `fresco::Error` at construction
/// for an index outside the base dataset.
///
///     auto test = std::make_shared<fresco::data::Subset>(folder, std::vector<int64_t>{3, 7, 8});
class Subset : public Dataset {
public:
  Subset(std::shared_ptr<const Dataset> base, std::vector<int64_t> indices);
  int64_t size() const override { return static_cast<int64_t>(indices_.size()); }
  Example get(int64_t i) const override;
  /// The base dataset's index of sample i.
  int64_t base_index(int64_t i) const;

private:
  std::shared_ptr<const Dataset> base_;
  std::vector<int64_t> indices_;
};

}  // namespace fresco::data
