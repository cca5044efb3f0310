// SPDX-License-Identifier: Apache-2.0
#include <fresco/data/registry.hpp>

#include <algorithm>
#include <utility>

#include <fresco/data/fashion_mnist.hpp>
#include <fresco/data/image_folder.hpp>
#include <fresco/data/shapes.hpp>
#include <fresco/error.hpp>

namespace fresco::data {

namespace {

/// The first `n` samples of a dataset it owns.
class FirstSamples : public Dataset {
public:
  FirstSamples(std::unique_ptr<Dataset> all, int64_t n) : all_(std::move(all)), n_(std::min(n, all_->size())) {}
  int64_t size() const override { return n_; }
  Example get(int64_t i) const override {
    FRESCO_CHECK(i >= 0 && i < n_, "open_dataset: sample {} out of range [0, {})", i, n_);
    return all_->get(i);
  }

private:
  std::unique_ptr<Dataset> all_;
  int64_t n_;
};

}  // namespace

std::unique_ptr<Dataset> open_dataset(const DatasetSpec& spec) {
  const bool folder_name = spec.name.rfind("folder:", 0) == 0;
  FRESCO_CHECK(folder_name || (spec.exclude_file.empty() && spec.captions_file.empty() && spec.caption_keys.empty()),
               "open_dataset: an exclude file, a captions file and caption keys are for folders (folder:DIR), "
               "not for \"{}\"", spec.name);
  if (spec.name == "shapes")
    return std::make_unique<ShapesDataset>(Shapes({.image_size = spec.image_size,
                                                   .size = spec.limit > 0 ? spec.limit : 20000,
                                                   .seed = spec.seed,
                                                   .split = "train",
                                                   .two_object_fraction = spec.two_object_fraction}));
  if (spec.name == "fashion-mnist")
    return std::make_unique<FashionMnistDataset>(FashionMnist({.split = "train", .pad_to_32 = true, .limit = spec.limit}),
                                                 spec.seed);
  if (folder_name) {
    const std::string root = spec.name.substr(7);
    FRESCO_CHECK(!root.empty(), "open_dataset: \"folder:\" needs a directory, e.g. folder:my_images");
    auto folder = std::make_unique<ImageFolder>(
        ImageFolderOptions{.root = root, .image_size = spec.image_size, .channels = 3,
                           .captions_file = spec.captions_file, .label_keys = {}, .caption_keys = spec.caption_keys,
                           .exclude_file = spec.exclude_file});
    if (spec.limit <= 0 || spec.limit >= folder->size()) return folder;
    return std::make_unique<FirstSamples>(std::move(folder), spec.limit);
  }
  throw Error(fmt::format("open_dataset: unknown dataset \"{}\"; expected shapes, fashion-mnist or folder:DIR",
                          spec.name));
}

}  // namespace fresco::data
