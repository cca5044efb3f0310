// SPDX-License-Identifier: Apache-2.0
#include <fresco/data/fashion_mnist.hpp>

#include <algorithm>
#include <filesystem>

#include <fresco/error.hpp>
#include <fresco/io/file.hpp>
#include <fresco/tensor/random.hpp>

namespace fresco::data {
namespace {

constexpr int64_t kSide = 28;
constexpr uint32_t kImagesMagic = 2051, kLabelsMagic = 2049;
// The train images decompress to 47,040,016 bytes; allow some headroom.
constexpr uint64_t kMaxDecompressed = uint64_t{1} << 27;
constexpr uint64_t kMaxCompressed = uint64_t{1} << 27;
constexpr const char* kInstallHint = "install it with `apt-get install dataset-fashion-mnist`, or set "
                                     "FashionMnistOptions::root to the directory holding the files";

std::string read_dataset_file(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec))
    throw IoError(fmt::format("{}: Fashion-MNIST file not found; {}", path, kInstallHint));
  return io::read_file(path, kMaxCompressed, "Fashion-MNIST");
}

// Checks the magic number first, so that a wrong file gets the clearest message.
IdxArray parse_expecting(const std::string& raw, const std::string& name, uint32_t magic, const char* kind,
                         const std::string& hint) {
  if (raw.size() >= 4) {
    const auto* b = reinterpret_cast<const unsigned char*>(raw.data());
    const uint32_t found = (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | b[3];
    if (found != magic)
      throw IoError(fmt::format("{}: magic number {} (0x{:08x}) but an IDX {} file has {}; {}", name, found, found,
                                kind, magic, hint));
  }
  return parse_idx(raw, name);
}

}  // namespace

FashionMnist::FashionMnist(FashionMnistOptions options, int) : options_(std::move(options)) {
  if (options_.split != "train" && options_.split != "test")
    throw Error(fmt::format("FashionMnist: split must be \"train\" or \"test\", got \"{}\"", options_.split));
  if (options_.limit < 0) throw Error(fmt::format("FashionMnist: limit must be >= 0, got {}", options_.limit));
}

FashionMnist::FashionMnist(FashionMnistOptions options) : FashionMnist(std::move(options), 0) {
  const std::string prefix = options_.split == "train" ? "train" : "t10k";
  const std::string images = (std::filesystem::path(options_.root) / (prefix + "-images-idx3-ubyte.gz")).string();
  const std::string labels = (std::filesystem::path(options_.root) / (prefix + "-labels-idx1-ubyte.gz")).string();
  const std::string images_gz = read_dataset_file(images);
  const std::string labels_gz = read_dataset_file(labels);
  load_from(images_gz, labels_gz, images, labels);
}

FashionMnist FashionMnist::from_gzip_bytes(std::string_view images_gz, std::string_view labels_gz,
                                           FashionMnistOptions options, const std::string& images_name,
                                           const std::string& labels_name) {
  FashionMnist d(std::move(options), 0);
  d.load_from(images_gz, labels_gz, images_name, labels_name);
  return d;
}

void FashionMnist::load_from(std::string_view images_gz, std::string_view labels_gz, const std::string& images_name,
                             const std::string& labels_name) {
  const std::string hint = "the file is damaged; reinstall with `apt-get install --reinstall dataset-fashion-mnist`";
  IdxArray im = parse_expecting(gunzip(images_gz, images_name, kMaxDecompressed), images_name, kImagesMagic, "image", hint);
  if (im.dims[1] != kSide || im.dims[2] != kSide)
    throw IoError(fmt::format("{}: images are {}x{}, expected {}x{}; {}", images_name, im.dims[1], im.dims[2], kSide,
                              kSide, hint));
  IdxArray lb = parse_expecting(gunzip(labels_gz, labels_name, kMaxDecompressed), labels_name, kLabelsMagic, "label", hint);
  if (im.dims[0] != lb.dims[0])
    throw IoError(fmt::format("{} holds {} images but {} holds {} labels; the files do not belong together",
                              images_name, im.dims[0], labels_name, lb.dims[0]));
  for (size_t i = 0; i < lb.data.size(); ++i)
    if (lb.data[i] > 9)
      throw IoError(fmt::format("{}: label {} of sample {} is outside 0..9; {}", labels_name, lb.data[i], i, hint));
  size_t n = lb.data.size();
  if (options_.limit > 0) n = std::min(n, static_cast<size_t>(options_.limit));
  lb.data.resize(n);
  im.data.resize(n * kSide * kSide);
  labels_ = std::move(lb.data);
  pixels_ = std::move(im.data);
}

void FashionMnist::check_index(int64_t i, const char* fn) const {
  if (i < 0 || i >= size())
    throw Error(fmt::format("FashionMnist::{}: index {} is out of range for {} samples", fn, i, size()));
}

Tensor FashionMnist::images(const std::vector<int64_t>& indices) const {
  const int64_t s = image_size(), pad = (s - kSide) / 2;
  std::vector<float> out(indices.size() * static_cast<size_t>(s * s), 0.f);
  for (size_t k = 0; k < indices.size(); ++k) {
    check_index(indices[k], "images");
    const uint8_t* src = pixels_.data() + indices[k] * kSide * kSide;
    float* dst = out.data() + k * static_cast<size_t>(s * s);
    for (int64_t y = 0; y < kSide; ++y)
      for (int64_t x = 0; x < kSide; ++x) dst[(y + pad) * s + x + pad] = src[y * kSide + x] / 255.f;
  }
  return tensor(std::move(out), {static_cast<int64_t>(indices.size()), 1, s, s});
}

Tensor FashionMnist::image(int64_t i) const {
  check_index(i, "image");
  return images({i}).reshape({1, image_size(), image_size()});
}

int64_t FashionMnist::label(int64_t i) const {
  check_index(i, "label");
  return labels_[static_cast<size_t>(i)];
}

std::string FashionMnist::caption(int64_t i, uint64_t seed) const {
  check_index(i, "caption");
  const std::vector<std::string> options = captions_for_class(label(i));
  return options[mix_seed(seed, static_cast<uint64_t>(i)) % options.size()];
}

const std::vector<std::string>& FashionMnist::class_names() {
  static const std::vector<std::string> names = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                                 "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  return names;
}

std::vector<std::string> FashionMnist::captions_for_class(int64_t label) {
  static const std::vector<std::vector<std::string>> captions = {
      {"a t-shirt", "a photo of a t-shirt", "a picture of a top", "a short-sleeved top", "an image of a tee"},
      {"a pair of trousers", "a photo of trousers", "a picture of pants", "a pair of pants", "an image of trousers"},
      {"a pullover", "a photo of a sweater", "a picture of a pullover", "a jumper", "an image of a sweater"},
      {"a dress", "a photo of a dress", "a picture of a dress", "a summer dress", "an image of a dress"},
      {"a coat", "a photo of a coat", "a picture of a jacket", "a warm coat", "an image of a jacket"},
      {"a sandal", "a photo of a sandal", "a picture of a sandal", "an open shoe", "an image of a summer sandal"},
      {"a shirt", "a photo of a shirt", "a picture of a shirt", "a button-up shirt", "an image of a blouse"},
      {"a sneaker", "a photo of a sports shoe", "a picture of a sneaker", "a running shoe", "an image of a trainer"},
      {"a bag", "a photo of a handbag", "a picture of a bag", "a purse", "an image of a bag"},
      {"an ankle boot", "a photo of a boot", "a picture of an ankle boot", "a short boot", "an image of a boot"},
  };
  if (label < 0 || label > 9)
    throw Error(fmt::format("FashionMnist::captions_for_class: label must be in 0..9, got {}", label));
  return captions[static_cast<size_t>(label)];
}

Example FashionMnistDataset::get(int64_t i) const {
  return {mnist_.image(i), mnist_.caption(i, caption_seed_), {mnist_.label(i)}};
}

}  // namespace fresco::data
