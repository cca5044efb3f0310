// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file
/// Fashion-MNIST (Xiao et al. 2017): 70,000 grey 28x28 images of clothing in
/// 10 classes, read from the gzipped IDX files of Debian's
/// `dataset-fashion-mnist` package, with captions made from the class names.
///
///     data::FashionMnist train({.split = "train", .pad_to_32 = true});
///     Tensor x = train.image(0);                 // [1, 32, 32] in [0, 1]
///     std::string c = train.caption(0, 7);       // e.g. "a photo of an ankle boot"

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fresco/data/dataset.hpp>
#include <fresco/tensor/tensor.hpp>

namespace fresco::data {

/// Options of `FashionMnist`.
struct FashionMnistOptions {
  /// Directory holding train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz,
  /// t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz.
  std::string root = "/usr/share/datasets/fashion-mnist";
  /// "train" (60,000 images) or "test" (10,000 images).
  std::string split = "train";
  /// Pad each image with 2 black pixels per side to 32x32.
  bool pad_to_32 = false;
  /// Keep only the first `limit` samples (0 keeps all).
  int64_t limit = 0;
};

/// An IDX array (LeCun's MNIST format) of unsigned bytes.
struct IdxArray {
  /// The 4-byte big-endian magic number: 0x0000 08 <number of dims>
  /// (2049 for a 1-D label file, 2051 for a 3-D image file).
  uint32_t magic = 0;
  /// Sizes per dimension, outermost first.
  std::vector<uint32_t> dims;
  /// The elements, row-major.
  std::vector<uint8_t> data;
};

/// Parses a (decompressed) IDX file of unsigned bytes held in memory.
/// Throws `fresco::IoError` naming `name_for_errors` on a bad magic number,
/// an unsupported element type, truncation or trailing bytes.
IdxArray parse_idx(std::string_view bytes, const std::string& name_for_errors);

/// Decompresses a gzip file held in memory (concatenated members allowed).
/// Throws `fresco::IoError` naming `name_for_errors` when the bytes are not
/// gzip, are corrupt or truncated, or decompress to more than `max_bytes`.
std::string gunzip(std::string_view bytes, const std::string& name_for_errors, uint64_t max_bytes);

/// The Fashion-MNIST train or test split, held in memory as bytes.
class FashionMnist {
public:
  /// Reads the split from `options.root`. Throws `fresco::IoError` naming
  /// the file when it is absent (with the package to install), corrupt or
  /// inconsistent (magic numbers, 28x28 images, image and label counts,
  /// labels 0..9); throws `fresco::Error` for bad options.
  explicit FashionMnist(FashionMnistOptions options = {});

  /// Builds the dataset from the gzipped bytes of an image file and a label
  /// file (as read from disk), with the same checks; names are for messages.
  static FashionMnist from_gzip_bytes(std::string_view images_gz, std::string_view labels_gz,
                                      FashionMnistOptions options = {}, const std::string& images_name = "<images>",
                                      const std::string& labels_name = "<labels>");

  /// Number of samples.
  int64_t size() const { return static_cast<int64_t>(labels_.size()); }
  /// Side of the returned images: 28, or 32 with pad_to_32.
  int64_t image_size() const { return options_.pad_to_32 ? 32 : 28; }
  /// Sample i -> [1, S, S] in [0, 1], S = image_size(). Throws for i out of range.
  Tensor image(int64_t i) const;
  /// Samples at `indices` -> [N, 1, S, S] in [0, 1].
  Tensor images(const std::vector<int64_t>& indices) const;
  /// Class of sample i, 0..9 (see class_names()).
  int64_t label(int64_t i) const;
  /// All pixels, unpadded: size() x 28 x 28 bytes, row-major.
  const std::vector<uint8_t>& pixels() const { return pixels_; }
  /// All labels, one byte each.
  const std::vector<uint8_t>& labels() const { return labels_; }
  /// A caption for sample i: one of captions_for_class(label(i)), chosen
  /// deterministically from (i, seed).
  std::string caption(int64_t i, uint64_t seed) const;

  /// "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal",
  /// "Shirt", "Sneaker", "Bag", "Ankle boot".
  static const std::vector<std::string>& class_names();
  /// The phrasings of class `label` (at least 5), e.g. "a sneaker",
  /// "a photo of a sports shoe". Throws for a label outside 0..9.
  static std::vector<std::string> captions_for_class(int64_t label);

private:
  FashionMnist(FashionMnistOptions options, int);
  void load_from(std::string_view images_gz, std::string_view labels_gz, const std::string& images_name,
                 const std::string& labels_name);
  void check_index(int64_t i, const char* fn) const;

  FashionMnistOptions options_;
  std::vector<uint8_t> pixels_;
  std::vector<uint8_t> labels_;
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
  Example get(int64_t i) const override;
  const FashionMnist& mnist() const { return mnist_; }

private:
  FashionMnist mnist_;
  uint64_t caption_seed_;
};

}  // namespace fresco::data
