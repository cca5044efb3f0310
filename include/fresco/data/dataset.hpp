// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file
/// `data::Dataset`: the small interface every captioned image dataset offers
/// to `DataLoader` and the evaluation code, and adapters for `Shapes` and
/// `FashionMnist`.
///
///     auto ds = std::make_shared<fresco::data::ShapesDataset>(fresco::data::Shapes({.size = 1000}));
///     fresco::data::Example e = ds->get(3);   // e.image [3, 32, 32] in [0, 1], e.caption, e.labels

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <fresco/data/fashion_mnist.hpp>
#include <fresco/data/shapes.hpp>
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

/// `Shapes` as a `Dataset`. Labels are the objects' attributes in
/// `Shapes::attribute_names()` order, four per object: {shape, colour, size,
/// position} for a one-object scene, eight for a two-object scene (the first
/// object's four, then the second's). Build the Shapes with
/// `.two_object_fraction = 0` for exactly four labels per sample.
///
///     fresco::data::ShapesDataset ds(fresco::data::Shapes({.size = 5000, .two_object_fraction = 0.f}));
///     ds.get(0).labels;   // e.g. {2, 0, 1, 4}: a large red triangle in the center
class ShapesDataset : public Dataset {
public:
  explicit ShapesDataset(Shapes shapes) : shapes_(std::move(shapes)) {}
  int64_t size() const override { return shapes_.size(); }
  /// Image [3, S, S], the sample's caption, the labels described above.
  Example get(int64_t i) const override {
    ShapesSample s = shapes_.sample(i);
    const int64_t n = shapes_.image_size();
    std::vector<int64_t> labels;
    for (const ShapesObject& o : s.objects) {
      const auto l = o.labels();
      labels.insert(labels.end(), l.begin(), l.end());
    }
    return {tensor(std::move(s.pixels), {3, n, n}), std::move(s.caption), std::move(labels)};
  }
  const Shapes& shapes() const { return shapes_; }

private:
  Shapes shapes_;
};

/// `FashionMnist` as a `Dataset`: images [1, S, S] (S = 28, or 32 with
/// `pad_to_32`), labels {class} (0..9, see `FashionMnist::class_names()`),
/// captions `FashionMnist::caption(i, caption_seed)`.
///
///     fresco::data::FashionMnistDataset ds(fresco::data::FashionMnist({.split = "test", .pad_to_32 = true}));
///     ds.get(0).labels;   // {9}: an ankle boot
class FashionMnistDataset : public Dataset {
public:
  explicit FashionMnistDataset(FashionMnist mnist, uint64_t caption_seed = 0)
      : mnist_(std::move(mnist)), caption_seed_(caption_seed) {}
  int64_t size() const override { return mnist_.size(); }
  Example get(int64_t i) const override {
    return {mnist_.image(i), mnist_.caption(i, caption_seed_), {mnist_.label(i)}};
  }
  const FashionMnist& mnist() const { return mnist_; }

private:
  FashionMnist mnist_;
  uint64_t caption_seed_;
};

}  // namespace fresco::data
