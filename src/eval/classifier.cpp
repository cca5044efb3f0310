// SPDX-License-Identifier: Apache-2.0
// The evaluation CNN: forward pass, checkpoint with the config in metadata.
// Training lives in classifier_train.cpp.
#include <fresco/eval/classifier.hpp>

#include <fresco/autograd/autograd.hpp>
#include <fresco/error.hpp>
#include <fresco/io/checkpoint.hpp>
#include <fresco/io/metadata.hpp>
#include <fresco/io/safetensors.hpp>
#include <fresco/ops/conv.hpp>
#include <fresco/ops/elementwise.hpp>
#include <fresco/ops/reduce.hpp>

namespace fresco::eval {
namespace {

constexpr const char* kFormat = "fresco.eval.Classifier";

const ClassifierConfig& checked(const ClassifierConfig& c) {
  FRESCO_CHECK(c.channels >= 1 && c.channels <= 4, "Classifier: channels must be in 1..4, got {}", c.channels);
  FRESCO_CHECK(c.image_size >= 16 && c.image_size % 16 == 0 && c.image_size <= 1024,
               "Classifier: image_size must be a multiple of 16 in 16..1024, got {}", c.image_size);
  FRESCO_CHECK(!c.heads.empty(), "Classifier: heads is empty; expected the number of classes of each head");
  for (int64_t k : c.heads) FRESCO_CHECK(k >= 2, "Classifier: every head needs >= 2 classes, got {}", k);
  FRESCO_CHECK(c.width >= 1 && c.feature_dim >= 1, "Classifier: width and feature_dim must be >= 1, got {} and {}",
               c.width, c.feature_dim);
  return c;
}

}  // namespace

Classifier::Classifier(ClassifierConfig config)
    : conv1(checked(config).channels, config.width, 3, {.padding = 1, .bias = false}),
      conv2(config.width, 2 * config.width, 3, {.padding = 1, .bias = false}),
      conv3(2 * config.width, 4 * config.width, 3, {.padding = 1, .bias = false}),
      bn1(config.width),
      bn2(2 * config.width),
      bn3(4 * config.width),
      fc(4 * config.width * 16, config.feature_dim),
      config_(std::move(config)) {
  register_module("conv1", conv1);
  register_module("bn1", bn1);
  register_module("conv2", conv2);
  register_module("bn2", bn2);
  register_module("conv3", conv3);
  register_module("bn3", bn3);
  register_module("fc", fc);
  for (int64_t k : config_.heads) heads.emplace_back(config_.feature_dim, k);
  register_module("heads", heads);
}

Tensor Classifier::trunk(const Tensor& x) {
  const auto& c = config_;
  FRESCO_CHECK_SHAPE(x.defined() && x.dim() == 4 && x.size(1) == c.channels && x.size(2) == c.image_size &&
                         x.size(3) == c.image_size,
                     "Classifier: expected images [N, {}, {}, {}], got {}", c.channels, c.image_size, c.image_size,
                     x.defined() ? shape_str(x.shape()) : "an undefined tensor");
  Tensor h = max_pool2d(relu(bn1(conv1(x))), {2, 2}, {2, 2});
  h = max_pool2d(relu(bn2(conv2(h))), {2, 2}, {2, 2});
  h = relu(bn3(conv3(h)));
  const int64_t k = c.image_size / 16;  // S/4 -> 4
  if (k > 1) h = avg_pool2d(h, {k, k}, {k, k});
  return relu(fc(h.flatten(1)));
}

Tensor Classifier::features(const Tensor& images) { return trunk(images); }

std::vector<Tensor> Classifier::logits(const Tensor& images) {
  const Tensor f = trunk(images);
  std::vector<Tensor> out;
  for (nn::Linear& head : heads) out.push_back(head(f));
  return out;
}

std::vector<std::vector<int64_t>> Classifier::predict(const Tensor& images) {
  NoGradGuard guard;
  std::vector<std::vector<int64_t>> out;
  for (const Tensor& l : logits(images)) {
    std::vector<int64_t> labels;
    for (float v : argmax(l, 1).to_vector()) labels.push_back(static_cast<int64_t>(v));
    out.push_back(std::move(labels));
  }
  return out;
}

std::map<std::string, std::string> Classifier::config_to_metadata(const ClassifierConfig& c) {
  std::string heads;
  for (int64_t k : c.heads) heads += (heads.empty() ? "" : ",") + std::to_string(k);
  return {{"format", kFormat},
          {"channels", std::to_string(c.channels)},
          {"image_size", std::to_string(c.image_size)},
          {"heads", heads},
          {"width", std::to_string(c.width)},
          {"feature_dim", std::to_string(c.feature_dim)}};
}

ClassifierConfig Classifier::config_from_metadata(const std::map<std::string, std::string>& m,
                                                  const std::string& source) {
  auto get = [&](const std::string& key) -> const std::string& {
    auto it = m.find(key);
    if (it == m.end())
      throw IoError(fmt::format("Classifier::load: {}: metadata '{}' is missing; not a classifier checkpoint", source,
                                key));
    return it->second;
  };
  if (get("format") != kFormat)
    throw IoError(fmt::format("Classifier::load: {}: metadata 'format' is '{}', expected '{}'", source, get("format"),
                              kFormat));
  ClassifierConfig c;
  const std::string context = fmt::format("Classifier::load: {}", source);
  try {
    c.channels = io::metadata_int(m, "channels", context);
    c.image_size = io::metadata_int(m, "image_size", context);
    c.width = io::metadata_int(m, "width", context);
    c.feature_dim = io::metadata_int(m, "feature_dim", context);
  } catch (const Error& e) {
    throw IoError(e.what());
  }
  c.heads.clear();
  const std::string& h = get("heads");
  size_t start = 0;
  while (start <= h.size()) {
    size_t comma = h.find(',', start);
    if (comma == std::string::npos) comma = h.size();
    const std::string piece = h.substr(start, comma - start);
    if (piece.empty() || piece.find_first_not_of("0123456789") != std::string::npos)
      throw IoError(fmt::format("Classifier::load: {}: metadata 'heads' is '{}', expected class counts like '4,6,2,9'",
                                source, h));
    try {
      c.heads.push_back(io::metadata_int({{"heads", piece}}, "heads", context));
    } catch (const Error&) {
      throw IoError(fmt::format("{}: metadata 'heads' has a class count out of range: '{}'", context, h));
    }
    start = comma + 1;
  }
  try {
    checked(c);
  } catch (const Error& e) {
    throw IoError(fmt::format("Classifier::load: {}: bad config in metadata: {}", source, e.what()));
  }
  return c;
}

void Classifier::save(const std::string& path) const { io::save(*this, path, config_to_metadata(config_)); }

namespace {

constexpr const char* kCellPrefix = "cell.";

// The scene classifier's tensors: every name outside the cell judge's prefix.
std::map<std::string, Tensor> scene_tensors(const std::map<std::string, Tensor>& all) {
  std::map<std::string, Tensor> out;
  for (const auto& [name, t] : all)
    if (name.rfind(kCellPrefix, 0) != 0) out.emplace(name, t);
  return out;
}

// The metadata entries under `prefix`, with the prefix taken off.
std::map<std::string, std::string> strip_metadata(const std::map<std::string, std::string>& m, const std::string& prefix) {
  std::map<std::string, std::string> out;
  for (const auto& [key, value] : m)
    if (key.rfind(prefix, 0) == 0) out.emplace(key.substr(prefix.size()), value);
  return out;
}

std::unique_ptr<Classifier> load_scene(const std::map<std::string, std::string>& metadata,
                                       const std::map<std::string, Tensor>& tensors, const std::string& path) {
  auto model = std::make_unique<Classifier>(Classifier::config_from_metadata(metadata, path));
  io::load_module_state(*model, scene_tensors(tensors), path);
  model->eval();
  return model;
}

}  // namespace

std::unique_ptr<Classifier> Classifier::load(const std::string& path) {
  const io::LoadLimit limit(path, "Classifier::load");   // no tensor past what the file can fill
  return load_scene(limit.header().metadata, io::load_safetensors(path), path);
}

void save_judges(const Classifier& scene, const Classifier& cell, const std::string& path) {
  std::map<std::string, Tensor> tensors = io::module_state(scene);
  for (auto& [name, t] : io::with_prefix(io::module_state(cell), kCellPrefix)) tensors.emplace(name, t);
  std::map<std::string, std::string> metadata = Classifier::config_to_metadata(scene.config());
  for (const auto& [key, value] : Classifier::config_to_metadata(cell.config()))
    metadata.emplace(kCellPrefix + key, value);
  io::save_safetensors(tensors, path, metadata);
}

Judges load_judges(const std::string& path) {
  const io::LoadLimit limit(path, "load_judges");   // no tensor past what the file can fill
  const auto& metadata = limit.header().metadata;
  const auto tensors = io::load_safetensors(path);
  Judges j;
  j.scene = load_scene(metadata, tensors, path);
  const auto cell_metadata = strip_metadata(metadata, kCellPrefix);
  if (!cell_metadata.empty()) {
    const std::string source = path + " (cell judge)";
    j.cell = std::make_unique<Classifier>(Classifier::config_from_metadata(cell_metadata, source));
    io::load_module_state(*j.cell, io::strip_prefix(tensors, kCellPrefix), source);
    j.cell->eval();
  }
  return j;
}

}  // namespace fresco::eval
