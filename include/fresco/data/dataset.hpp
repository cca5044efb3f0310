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

}  // namespace fresco::data
