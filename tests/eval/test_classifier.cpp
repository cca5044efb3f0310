// SPDX-License-Identifier: Apache-2.0
// eval::Classifier: shapes, config checks, bit-exact save/load, and a short
// training run on an easy task (Shapes colour) that must reach high accuracy.
#include "support/check.hpp"

#include <cstdlib>
#include <filesystem>
#include <unistd.h>

using fresco::Tensor;
using fresco::eval::Classifier;

namespace {

bool quick() {
  const char* q = std::getenv("FRESCO_TEST_QUICK");
  return q != nullptr && std::string(q) == "1";
}

std::string temp_file(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("fresco-clf-" + std::to_string(::getpid()) + "-" + name)).string();
}

// Single-object Shapes scenes with one label: the colour (6 classes).
class ShapesColour : public fresco::data::Dataset {
public:
  ShapesColour(int64_t n, int64_t image_size, const std::string& split)
      : shapes_({.image_size = image_size, .size = n, .seed = 11, .split = split, .two_object_fraction = 0.f}) {}
  int64_t size() const override { return shapes_.size(); }
  fresco::data::Example get(int64_t i) const override {
    fresco::data::ShapesSample s = shapes_.sample(i);
    const int64_t n = shapes_.image_size();
    return {fresco::tensor(std::move(s.pixels), {3, n, n}), s.caption, {s.objects[0].colour}};
  }

private:
  fresco::data::Shapes shapes_;
};

}  // namespace

TEST_CASE("Classifier outputs have the documented shapes", "[classifier]") {
  fresco::manual_seed(1);
  Classifier clf({.channels = 3, .image_size = 32, .heads = {4, 6, 2, 9}, .width = 8, .feature_dim = 24});
  const Tensor x = fresco::uniform({5, 3, 32, 32}, -1.f, 1.f);
  const std::vector<Tensor> logits = clf.logits(x);
  REQUIRE(logits.size() == 4);
  const std::vector<int64_t> k = {4, 6, 2, 9};
  for (size_t h = 0; h < 4; ++h) CHECK(logits[h].shape() == fresco::Shape{5, k[h]});
  CHECK(clf.features(x).shape() == fresco::Shape{5, 24});
  for (float v : clf.features(x).to_vector()) CHECK(v >= 0.f);  // after the ReLU
  const auto pred = clf.predict(x);
  REQUIRE(pred.size() == 4);
  for (size_t h = 0; h < 4; ++h) {
    REQUIRE(pred[h].size() == 5);
    for (int64_t p : pred[h]) CHECK((p >= 0 && p < k[h]));
  }
  // Gradients reach the first layer.
  fresco::sum(logits[1]).backward();
  REQUIRE(clf.conv1.weight.grad().defined());

  Classifier grey({.channels = 1, .image_size = 16, .heads = {10}, .width = 4});
  CHECK(grey.logits(fresco::zeros({2, 1, 16, 16}))[0].shape() == fresco::Shape{2, 10});
  CHECK_THROWS_WITH(grey.logits(fresco::zeros({2, 3, 16, 16})), Catch::Contains("expected images [N, 1, 16, 16]"));
  CHECK_THROWS_WITH(Classifier({.image_size = 28}), Catch::Contains("multiple of 16"));
  CHECK_THROWS_WITH(Classifier({.heads = {}}), Catch::Contains("heads is empty"));
  CHECK_THROWS_WITH(Classifier({.heads = {4, 1}}), Catch::Contains(">= 2 classes"));
}

TEST_CASE("Classifier save/load reproduces the logits bit for bit", "[classifier]") {
  fresco::manual_seed(2);
  Classifier clf({.channels = 3, .image_size = 16, .heads = {3, 5}, .width = 4, .feature_dim = 16});
  // A few training-mode passes move the BatchNorm running statistics off their defaults.
  for (int i = 0; i < 3; ++i) clf.logits(fresco::uniform({8, 3, 16, 16}, -1.f, 1.f));
  clf.eval();
  const Tensor x = fresco::uniform({6, 3, 16, 16}, -1.f, 1.f);
  const std::vector<Tensor> before = clf.logits(x);
  const std::string path = temp_file("roundtrip.safetensors");
  clf.save(path);
  const auto loaded = Classifier::load(path);
  CHECK_FALSE(loaded->is_training());
  CHECK(loaded->config().heads == std::vector<int64_t>{3, 5});
  CHECK(loaded->config().width == 4);
  const std::vector<Tensor> after = loaded->logits(x);
  for (size_t h = 0; h < 2; ++h) CHECK(after[h].to_vector() == before[h].to_vector());
  CHECK(loaded->features(x).to_vector() == clf.features(x).to_vector());

  // A checkpoint without the classifier metadata, or with bad metadata, is refused by name.
  const std::string other = temp_file("other.safetensors");
  fresco::io::save_safetensors({{"w", fresco::zeros({2})}}, other);
  CHECK_THROWS_AS(Classifier::load(other), fresco::IoError);
  CHECK_THROWS_WITH(Classifier::load(other), Catch::Contains(other) && Catch::Contains("not a classifier checkpoint"));
  auto meta = Classifier::config_to_metadata(clf.config());
  meta["heads"] = "3,x";
  CHECK_THROWS_WITH(Classifier::config_from_metadata(meta, "f"), Catch::Contains("metadata 'heads' is '3,x'"));
  meta["heads"] = "3,5";
  meta["image_size"] = "17";
  CHECK_THROWS_WITH(Classifier::config_from_metadata(meta, "f"), Catch::Contains("bad config"));
  std::filesystem::remove(path);
  std::filesystem::remove(other);
}

TEST_CASE("Classifier learns Shapes colour in a short run", "[classifier]") {
  fresco::manual_seed(3);
  Classifier clf({.channels = 3, .image_size = 16, .heads = {6}, .width = 8, .feature_dim = 32});
  auto train = std::make_shared<ShapesColour>(4000, 16, "train");
  auto test = std::make_shared<ShapesColour>(quick() ? 200 : 600, 16, "test");
  const int64_t steps = quick() ? 80 : 200;
  const fresco::eval::ClassifierReport r = fresco::eval::train_classifier(
      clf, train, test, {.lr = 5e-3f, .warmup_steps = 10, .batch_size = 32, .log_every = 0, .max_steps = steps});
  CHECK(r.steps == steps);
  REQUIRE(r.test_accuracy.size() == 1);
  INFO("colour accuracy " << r.test_accuracy[0]);
  CHECK(r.test_accuracy[0] >= (quick() ? 0.8 : 0.95));
  CHECK_FALSE(clf.is_training());
  // evaluate_classifier agrees with the report.
  CHECK(fresco::eval::evaluate_classifier(clf, test, 64)[0] == r.test_accuracy[0]);
  CHECK_THROWS_WITH(fresco::eval::train_classifier(clf, train, test, {}), Catch::Contains("set .epochs, .minutes"));
}

TEST_CASE("train_classifier reports progress to the callback, the last report done", "[classifier]") {
  fresco::manual_seed(4);
  Classifier clf({.channels = 3, .image_size = 16, .heads = {6}, .width = 4, .feature_dim = 8});
  auto train = std::make_shared<ShapesColour>(64, 16, "train");
  auto test = std::make_shared<ShapesColour>(16, 16, "test");
  std::vector<fresco::Progress> reports;
  const auto r = fresco::eval::train_classifier(
      clf, train, test,
      {.warmup_steps = 2, .batch_size = 8, .log_every = 2, .max_steps = 6,
       .on_progress = [&](const fresco::Progress& p) { reports.push_back(p); }});
  REQUIRE(r.steps == 6);
  REQUIRE(reports.size() == 4);   // steps 2, 4, 6, then the final report
  for (size_t i = 0; i < 3; ++i) {
    INFO("report " << i);
    CHECK(reports[i].stage == "classifier");
    CHECK(reports[i].step == 2 * static_cast<int64_t>(i) + 2);
    CHECK(reports[i].total == 6);
    CHECK(reports[i].fraction == Approx(static_cast<double>(reports[i].step) / 6));
    CHECK_FALSE(reports[i].done);
    REQUIRE(reports[i].values.size() == 4);
    CHECK(reports[i].values[1].first == "loss");
    CHECK(std::isfinite(reports[i].values[1].second));
  }
  const fresco::Progress& last = reports.back();
  CHECK(last.done);
  CHECK(last.step == 6);
  REQUIRE(last.values.size() == 1);
  CHECK(last.values[0].second == Approx(100.0 * r.test_accuracy[0]));
}
