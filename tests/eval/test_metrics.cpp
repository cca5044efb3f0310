// SPDX-License-Identifier: Apache-2.0
// Conditional accuracy, diversity, the image adapter and the end-to-end
// evaluation with stand-ins for the model and the classifier whose answers
// are known: a "model" that renders the exact Shapes scene of a caption, one
// that ignores the caption, one that paints one picture per caption, and a
// "classifier" that knows the labels of every image it is shown.
#include "support/check.hpp"

#include <filesystem>
#include <map>
#include <memory>

#include <nlohmann/json.hpp>

#include <fresco/eval/evaluate.hpp>
#include <fresco/eval/metrics.hpp>

using fresco::Tensor;
namespace eval = fresco::eval;
namespace data = fresco::data;

namespace {

// Remembers the labels of every image drawn, keyed by its pixels as the judge
// sees them ([-1, 1], quantised), and answers `predict` from that memory.
struct LabelBook {
  std::map<std::vector<int32_t>, std::vector<int64_t>> labels;

  static std::vector<int32_t> key(const float* p, int64_t n, bool unit_range) {
    std::vector<int32_t> k(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) k[i] = static_cast<int32_t>(std::lround((unit_range ? 2 * p[i] - 1 : p[i]) * 4096));
    return k;
  }
  void remember(const std::vector<float>& pixels01, std::vector<int64_t> l) {
    labels[key(pixels01.data(), static_cast<int64_t>(pixels01.size()), true)] = std::move(l);
  }
  std::vector<std::vector<int64_t>> predict(const Tensor& x, size_t heads) const {
    const Tensor c = x.contiguous();
    const int64_t n = c.size(0), per = c.numel() / n;
    std::vector<std::vector<int64_t>> out(heads);
    for (int64_t i = 0; i < n; ++i) {
      const auto it = labels.find(key(c.data() + i * per, per, false));
      REQUIRE(it != labels.end());
      for (size_t h = 0; h < heads; ++h) out[h].push_back(it->second[h]);
    }
    return out;
  }
};

// Features: the mean of each channel over 8×8 cells ([N, C, 32, 32] -> [N, 16 C]).
Tensor cell_means(const Tensor& x) {
  return fresco::avg_pool2d(x, {8, 8}, {8, 8}).reshape({x.size(0), x.size(1) * 16});
}

eval::ImageJudge shapes_judge(std::shared_ptr<LabelBook> book) {
  return {.config = {.channels = 3, .image_size = 32, .heads = {4, 6, 2, 9}},
          .features = cell_means,
          .predict = [book](const Tensor& x) { return book->predict(x, 4); }};
}

std::vector<int64_t> labels_of(const data::ShapesObject& o) {
  const auto l = o.labels();
  return {l.begin(), l.end()};
}

// Renders the scene the caption describes, with jitter from (seed, row).
eval::GenerateFn faithful_shapes(std::shared_ptr<LabelBook> book) {
  return [book](const std::vector<std::string>& captions, uint64_t seed) {
    std::vector<float> all;
    for (size_t i = 0; i < captions.size(); ++i) {
      const auto objects = data::Shapes::parse(captions[i]);
      REQUIRE(objects.has_value());
      auto pixels = data::Shapes::render(*objects, 32, seed * 1000 + i);
      book->remember(pixels, labels_of(objects->front()));
      all.insert(all.end(), pixels.begin(), pixels.end());
    }
    return fresco::tensor(all, {static_cast<int64_t>(captions.size()), 3, 32, 32});
  };
}

const eval::EvaluateOptions kQuick{.samples = 200, .seed = 3, .batch = 32, .diversity_captions = 8,
                                       .diversity_images = 6};

}  // namespace

TEST_CASE("metrics: conditional accuracy per head, seen and held-out", "[eval][metrics]") {
  // 5 prompts, 2 heads; prompts 3 and 4 held out.
  const std::vector<std::vector<int64_t>> intended{{0, 1}, {1, 1}, {2, 0}, {0, 0}, {1, 2}};
  const std::vector<std::vector<int64_t>> predicted{{0, 1, 0, 0, 0}, {1, 0, 0, 0, 2}};
  const auto r = eval::conditional_accuracy(intended, predicted, {false, false, false, true, true});
  CHECK(r.seen_count == 3);
  CHECK(r.held_out_count == 2);
  CHECK(r.seen == std::vector<double>{2.0 / 3, 2.0 / 3});
  CHECK(r.held_out == std::vector<double>{0.5, 1.0});
  // Both heads right at once: prompts 0 (seen) and 3 (held out).
  CHECK(r.all_seen == 1.0 / 3);
  CHECK(r.all_held_out == 0.5);
  const auto all_seen = eval::conditional_accuracy(intended, predicted);
  CHECK(all_seen.seen == std::vector<double>{3.0 / 5, 4.0 / 5});
  CHECK(all_seen.all_seen == 2.0 / 5);
  CHECK(all_seen.all_held_out == 0.0);
  CHECK(all_seen.held_out.empty());
  CHECK_THROWS_WITH(eval::conditional_accuracy(intended, {{0, 1, 0}}), Catch::Contains("expected 5 predictions"));
  CHECK_THROWS_WITH(eval::conditional_accuracy({{0}, {1}}, {{0, 1}, {0, 1}}), Catch::Contains("intended labels"));
  CHECK_THROWS_WITH(eval::conditional_accuracy(intended, predicted, {true}), Catch::Contains("held-out flags"));
}

TEST_CASE("metrics: mean pairwise distance and diversity", "[eval][metrics]") {
  // Rows (0, 0), (3, 4), (0, 4): distances 5, 3, 4.
  const Tensor a = fresco::tensor({0, 0, 3, 4, 0, 4}, {3, 2});
  CHECK(eval::mean_pairwise_distance(a) == Approx(4.0));
  const Tensor same = fresco::tensor({1, 2, 1, 2, 1, 2, 1, 2}, {4, 2});
  CHECK(eval::mean_pairwise_distance(same) == 0.0);
  CHECK(eval::diversity({a, same}) == Approx(2.0));
  CHECK_THROWS_AS(eval::mean_pairwise_distance(fresco::zeros({1, 3})), fresco::ShapeError);
  CHECK_THROWS_WITH(eval::diversity({}), Catch::Contains("at least one group"));
}

TEST_CASE("metrics: images reach the classifier's convention", "[eval][metrics]") {
  const eval::ClassifierConfig grey32{.channels = 1, .image_size = 32, .heads = {10}};
  // [0, 1] -> [-1, 1], clamping what lies outside.
  const Tensor x = fresco::tensor({0.f, 0.5f, 1.f, 1.5f}, {1, 1, 2, 2});
  CHECK_TENSOR(eval::to_classifier_input(x, {.channels = 1, .image_size = 2}), (fresco::Shape{1, 1, 2, 2}),
               (std::vector<float>{-1, 0, 1, 1}), 1e-6);
  // 28×28 -> 32×32 with a 2-pixel black border, as FashionMnist's pad_to_32.
  const Tensor y = eval::to_classifier_input(fresco::full({2, 1, 28, 28}, 0.75f), grey32);
  REQUIRE(y.shape() == fresco::Shape{2, 1, 32, 32});
  const auto v = y.to_vector();
  CHECK(v[0] == -1.f);
  CHECK(v[1 * 32 + 1] == -1.f);
  CHECK(v[2 * 32 + 2] == Approx(0.5f));
  CHECK(v[29 * 32 + 29] == Approx(0.5f));
  CHECK(v[30 * 32 + 29] == -1.f);
  CHECK(v[32 * 32 + 31] == -1.f);  // second image, first row
  // 64×64 -> 32×32 by area averages: a 2×2 checkerboard of 0/1 becomes 0.5 -> 0.
  std::vector<float> board(64 * 64);
  for (int i = 0; i < 64 * 64; ++i) board[i] = static_cast<float>(((i / 64) + (i % 64)) % 2);
  const Tensor z = eval::to_classifier_input(fresco::tensor(board, {1, 1, 64, 64}), grey32);
  CHECK_TENSOR(z, (fresco::Shape{1, 1, 32, 32}), std::vector<float>(32 * 32, 0.f), 1e-6);
  CHECK_THROWS_WITH(eval::to_classifier_input(fresco::zeros({1, 3, 32, 32}), grey32),
                    Catch::Contains("reads 1 channel(s), found images [1, 3, 32, 32]"));
  CHECK_THROWS_AS(eval::to_classifier_input(fresco::zeros({3, 32, 32}), grey32), fresco::ShapeError);
}

TEST_CASE("metrics: prompts carry the labels their captions state", "[eval][metrics]") {
  const auto prompts = eval::make_prompts(eval::DatasetKind::shapes, 100, 5, 0.3);
  REQUIRE(prompts.size() == 100);
  const data::Shapes train;
  int held = 0;
  for (const auto& p : prompts) {
    const auto objects = data::Shapes::parse(p.caption);
    REQUIRE(objects.has_value());
    REQUIRE(objects->size() == 1);
    CHECK(labels_of(objects->front()) == p.labels);
    CHECK(train.is_held_out(*objects) == p.held_out);
    held += p.held_out;
  }
  CHECK(held == 30);
  CHECK(!prompts[69].held_out);
  CHECK(prompts[70].held_out);
  for (const auto& p : eval::make_prompts(eval::DatasetKind::fashion_mnist, 50, 5)) {
    const auto phrasings = data::FashionMnist::captions_for_class(p.labels.at(0));
    CHECK(std::find(phrasings.begin(), phrasings.end(), p.caption) != phrasings.end());
    CHECK(!p.held_out);
  }
  CHECK(eval::make_prompts(eval::DatasetKind::shapes, 40, 9)[7].caption ==
        eval::make_prompts(eval::DatasetKind::shapes, 40, 9)[7].caption);
}

TEST_CASE("metrics: a faithful model scores 100% and matches real diversity", "[eval][metrics]") {
  auto book = std::make_shared<LabelBook>();
  const auto r = eval::evaluate_text_to_image(faithful_shapes(book), shapes_judge(book), eval::DatasetKind::shapes, kQuick);
  CHECK(r.dataset == "shapes");
  CHECK(r.heads == std::vector<std::string>{"shape", "colour", "size", "position"});
  CHECK(r.seen_count == 140);
  CHECK(r.held_out_count == 60);
  CHECK(r.accuracy_seen == std::vector<double>(4, 1.0));
  CHECK(r.accuracy_held_out == std::vector<double>(4, 1.0));
  CHECK(r.frechet_samples == 140);
  // The same distribution as the real test images: about the floor.
  CHECK(r.frechet_floor > 0);
  CHECK(r.frechet_distance < 2 * r.frechet_floor);
  // Jittered renders of one caption, beside jittered renders of the same labels.
  CHECK(r.diversity_real > 0);
  CHECK(r.diversity_generated == Approx(r.diversity_real).epsilon(0.3));
  CHECK(r.diversity_captions == 8);
  CHECK(r.diversity_images == 6);
}

TEST_CASE("metrics: evaluation reports its progress per generator call", "[eval][metrics]") {
  auto book = std::make_shared<LabelBook>();
  std::vector<fresco::Progress> reports;
  eval::EvaluateOptions o = kQuick;
  o.on_progress = [&](const fresco::Progress& p) { reports.push_back(p); };
  const auto r = eval::evaluate_text_to_image(faithful_shapes(book), shapes_judge(book), eval::DatasetKind::shapes, o);
  // 200 samples in calls of 32: 7 calls, then one per diversity caption (8), then the final report.
  REQUIRE(reports.size() == 7 + 8 + 1);
  for (size_t i = 0; i + 1 < reports.size(); ++i) {
    CHECK(reports[i].stage == "evaluate");
    CHECK(reports[i].step == static_cast<int64_t>(i) + 1);
    CHECK(reports[i].total == 15);
    CHECK_FALSE(reports[i].done);
  }
  CHECK(reports.back().done);
  CHECK(reports.back().fraction == 1.0);
  REQUIRE(reports.back().values.size() == 3);
  CHECK(reports.back().values[1].second == r.frechet_distance);
}

TEST_CASE("metrics: a model that ignores the caption is at chance level", "[eval][metrics]") {
  auto book = std::make_shared<LabelBook>();
  // Draws a random scene from the test distribution for every row.
  const data::Shapes scenes({.size = 1 << 20, .seed = 11, .split = "test", .two_object_fraction = 0.f});
  auto next = std::make_shared<int64_t>(0);
  const eval::GenerateFn ignore = [&scenes, book, next](const std::vector<std::string>& captions, uint64_t) {
    std::vector<float> all;
    for (size_t i = 0; i < captions.size(); ++i) {
      const auto s = scenes.sample((*next)++);
      book->remember(s.pixels, labels_of(s.objects.front()));
      all.insert(all.end(), s.pixels.begin(), s.pixels.end());
    }
    return fresco::tensor(all, {static_cast<int64_t>(captions.size()), 3, 32, 32});
  };
  const auto r = eval::evaluate_text_to_image(ignore, shapes_judge(book), eval::DatasetKind::shapes, kQuick);
  const std::vector<double> chance{1.0 / 4, 1.0 / 6, 1.0 / 2, 1.0 / 9};
  for (size_t h = 0; h < 4; ++h) {
    INFO("head " << r.heads[h] << ": seen " << r.accuracy_seen[h] << ", chance " << chance[h]);
    CHECK(std::abs(r.accuracy_seen[h] - chance[h]) < 0.15);
    CHECK(r.accuracy_held_out[h] < chance[h] + 0.2);
  }
  // Its images follow the real distribution, so the Fréchet distance does not
  // see the problem; diversity does: one caption's images differ like any two scenes.
  CHECK(r.diversity_generated > 1.5 * r.diversity_real);
}

TEST_CASE("metrics: one picture per caption shows as zero diversity", "[eval][metrics]") {
  auto book = std::make_shared<LabelBook>();
  const auto faithful = faithful_shapes(book);
  const eval::GenerateFn collapsed = [faithful](const std::vector<std::string>& captions, uint64_t) {
    return faithful(captions, 0);  // the seed is ignored, and so is each row's index: same caption, same image
  };
  const eval::GenerateFn one_per_caption = [book](const std::vector<std::string>& captions, uint64_t) {
    std::vector<float> all;
    for (const auto& c : captions) {
      const auto objects = *data::Shapes::parse(c);
      auto pixels = data::Shapes::render(objects, 32, std::hash<std::string>{}(c));
      book->remember(pixels, labels_of(objects.front()));
      all.insert(all.end(), pixels.begin(), pixels.end());
    }
    return fresco::tensor(all, {static_cast<int64_t>(captions.size()), 3, 32, 32});
  };
  const auto r = eval::evaluate_text_to_image(one_per_caption, shapes_judge(book), eval::DatasetKind::shapes, kQuick);
  CHECK(r.accuracy_seen == std::vector<double>(4, 1.0));
  CHECK(r.diversity_generated == 0.0);
  CHECK(r.diversity_real > 0.0);
}

TEST_CASE("metrics: the report as a table and as JSON", "[eval][metrics]") {
  auto book = std::make_shared<LabelBook>();
  const auto r = eval::evaluate_text_to_image(faithful_shapes(book), shapes_judge(book), eval::DatasetKind::shapes,
                                              {.samples = 40, .seed = 1, .diversity_captions = 2, .diversity_images = 3});
  const auto j = nlohmann::json::parse(r.to_json());
  CHECK(j.at("dataset") == "shapes");
  CHECK(j.at("heads").size() == 4);
  CHECK(j.at("accuracy").at("seen").at("colour").get<double>() == 1.0);
  CHECK(j.at("accuracy").at("held_out").at("position").get<double>() == 1.0);
  CHECK(j.at("counts").at("seen").get<int64_t>() == 28);
  CHECK(j.at("counts").at("held_out").get<int64_t>() == 12);
  CHECK(j.at("counts").at("frechet_samples").get<int64_t>() == 28);
  CHECK(j.at("frechet_distance").get<double>() == Approx(r.frechet_distance));
  CHECK(j.at("frechet_floor").get<double>() == Approx(r.frechet_floor));
  CHECK(j.at("diversity").at("generated").get<double>() == Approx(r.diversity_generated));
  CHECK(j.at("diversity").at("real").get<double>() == Approx(r.diversity_real));
  CHECK(j.contains("seconds"));
  const std::string t = r.to_table();
  CHECK_THAT(t, Catch::Contains("conditional accuracy") && Catch::Contains("held-out") &&
                    Catch::Contains("100.0%") && Catch::Contains("real floor") && Catch::Contains("28 vs 28"));
  // A diverged model's NaN figure is written as null, which JSON can hold.
  eval::EvaluationReport nan_report = r;
  nan_report.frechet_distance = NAN;
  CHECK(nlohmann::json::parse(nan_report.to_json()).at("frechet_distance").is_null());
}

TEST_CASE("metrics: evaluation errors", "[eval][metrics]") {
  auto book = std::make_shared<LabelBook>();
  auto judge = shapes_judge(book);
  CHECK_THROWS_WITH(eval::evaluate_text_to_image(faithful_shapes(book), judge, eval::DatasetKind::fashion_mnist, kQuick),
                    Catch::Contains("fashion-mnist classifier has 1 channel(s) and heads [10]"));
  const eval::GenerateFn short_model = [](const std::vector<std::string>&, uint64_t) { return fresco::zeros({1, 3, 32, 32}); };
  CHECK_THROWS_WITH(eval::evaluate_text_to_image(short_model, judge, eval::DatasetKind::shapes, kQuick),
                    Catch::Contains("the model returned [1, 3, 32, 32] for 32 captions"));
  CHECK_THROWS_WITH(eval::evaluate_text_to_image(faithful_shapes(book), judge, eval::DatasetKind::shapes, {.samples = 2}),
                    Catch::Contains("samples >= 4"));
  CHECK_THROWS_WITH(eval::parse_dataset_kind("cifar"), Catch::Contains("found \"cifar\""));
  CHECK(eval::parse_dataset_kind("fashion-mnist") == eval::DatasetKind::fashion_mnist);
}

TEST_CASE("metrics: Fashion-MNIST with real test images as the model", "[eval][metrics]") {
  const std::string root = "/usr/share/datasets/fashion-mnist";
  if (!std::filesystem::exists(root + "/t10k-images-idx3-ubyte.gz")) {
    WARN("Fashion-MNIST is not installed (dataset-fashion-mnist); skipped");
    return;
  }
  auto book = std::make_shared<LabelBook>();
  auto test = std::make_shared<data::FashionMnist>(data::FashionMnistOptions{.split = "test"});
  std::map<std::string, int64_t> class_of;
  for (int64_t c = 0; c < 10; ++c)
    for (const auto& p : data::FashionMnist::captions_for_class(c)) class_of[p] = c;
  auto next = std::make_shared<int64_t>(0);
  // Returns unpadded 28×28 test images of the prompted class (the adapter pads them).
  const eval::GenerateFn real_model = [test, book, class_of, next](const std::vector<std::string>& captions, uint64_t) {
    std::vector<int64_t> picks;
    for (const auto& c : captions) {
      const int64_t want = class_of.at(c);
      while (test->label(*next % test->size()) != want) ++*next;
      picks.push_back((*next)++ % test->size());
    }
    const Tensor images = test->images(picks);
    for (size_t i = 0; i < picks.size(); ++i) {
      const Tensor padded = eval::to_classifier_input(images.slice(0, i, i + 1), {.channels = 1, .image_size = 32});
      const auto v = padded.to_vector();
      book->labels[LabelBook::key(v.data(), static_cast<int64_t>(v.size()), false)] = {test->label(picks[i])};
    }
    return images;
  };
  const eval::ImageJudge judge{.config = {.channels = 1, .image_size = 32, .heads = {10}},
                               .features = cell_means,
                               .predict = [book](const Tensor& x) { return book->predict(x, 1); }};
  const auto r = eval::evaluate_text_to_image(real_model, judge, eval::DatasetKind::fashion_mnist, kQuick);
  CHECK(r.heads == std::vector<std::string>{"class"});
  CHECK(r.seen_count == 200);
  CHECK(r.held_out_count == 0);
  CHECK(r.accuracy_seen == std::vector<double>{1.0});
  CHECK(r.accuracy_held_out.empty());
  CHECK(r.frechet_distance < 2 * r.frechet_floor);
  CHECK(r.diversity_generated == Approx(r.diversity_real).epsilon(0.3));
}

TEST_CASE("metrics: an eval::Classifier judges through judge_of", "[eval][metrics]") {
  // An untrained classifier: the figures are arbitrary but well formed.
  fresco::manual_seed(4);
  eval::Classifier clf({.channels = 3, .image_size = 32, .heads = {4, 6, 2, 9}, .width = 8, .feature_dim = 16});
  auto book = std::make_shared<LabelBook>();
  const auto r = eval::evaluate_text_to_image(faithful_shapes(book), clf, eval::DatasetKind::shapes,
                                              {.samples = 40, .seed = 2, .diversity_captions = 2, .diversity_images = 3});
  CHECK(!clf.is_training());
  REQUIRE(r.accuracy_seen.size() == 4);
  REQUIRE(r.accuracy_held_out.size() == 4);
  for (double a : r.accuracy_seen) CHECK((a >= 0 && a <= 1));
  CHECK(std::isfinite(r.frechet_distance));
  CHECK(r.frechet_floor >= 0);
  CHECK(r.diversity_real >= 0);
  CHECK_THROWS_WITH(eval::evaluate_text_to_image(faithful_shapes(book), clf, eval::DatasetKind::fashion_mnist, {}),
                    Catch::Contains("heads [4, 6, 2, 9]"));
}

namespace {

// Ten "kinds" of entry, each a flat grey image of level (k + 1) / 11 with the caption
// "kind k" and labels {k % 5, k / 5}; entry i is kind i % 10.
class Kinds : public data::Dataset {
public:
  Kinds(int64_t n, int64_t offset) : n_(n), offset_(offset) {}
  int64_t size() const override { return n_; }
  data::Example get(int64_t i) const override {
    const int64_t k = (i + offset_) % 10;
    return {fresco::full({3, 16, 16}, static_cast<float>(k + 1) / 11.f), fmt::format("kind {}", k), {k % 5, k / 5, 7}};
  }

private:
  int64_t n_, offset_;
};

// Reads the grey level back: the kind, its labels, and [level, level^2] as features.
eval::ImageJudge kinds_judge() {
  eval::ImageJudge j;
  j.config = {.channels = 3, .image_size = 16, .heads = {5, 2}};
  const auto kind_of = [](const Tensor& x, int64_t n) {
    const float v = (x.contiguous().data()[n * 3 * 16 * 16] + 1.f) * 0.5f;   // [-1, 1] -> [0, 1]
    return std::clamp<int64_t>(std::lround(v * 11.f) - 1, 0, 9);
  };
  j.predict = [kind_of](const Tensor& x) {
    std::vector<std::vector<int64_t>> out(2);
    for (int64_t n = 0; n < x.size(0); ++n) {
      out[0].push_back(kind_of(x, n) % 5);
      out[1].push_back(kind_of(x, n) / 5);
    }
    return out;
  };
  j.features = [](const Tensor& x) {
    std::vector<float> f;
    for (int64_t n = 0; n < x.size(0); ++n) {
      const float v = x.contiguous().data()[n * 3 * 16 * 16];
      f.push_back(v);
      f.push_back(v * v);
    }
    return fresco::tensor(f, {x.size(0), 2});
  };
  return j;
}

// A model that draws kind k + shift for the caption "kind k".
eval::GenerateFn kinds_model(int64_t shift) {
  return [shift](const std::vector<std::string>& captions, uint64_t) {
    std::vector<Tensor> out;
    for (const auto& c : captions) {
      const int64_t k = (std::stoll(c.substr(5)) + shift) % 10;
      out.push_back(fresco::full({3, 16, 16}, static_cast<float>(k + 1) / 11.f));
    }
    return fresco::stack(out, 0);
  };
}

}  // namespace

TEST_CASE("metrics: evaluation on labelled datasets, seen and held-out, beside the real images", "[eval][metrics]") {
  const eval::DatasetPrompts prompts{.name = "folder:kinds",
                                     .seen = std::make_shared<Kinds>(200, 0),
                                     .held_out = std::make_shared<Kinds>(30, 3),
                                     .heads = {"first", "second"}};
  const eval::EvaluateOptions options{.samples = 40, .seed = 5, .batch = 16, .held_out_fraction = 0.25,
                                      .diversity_captions = 4, .diversity_images = 3};
  const auto faithful = eval::evaluate_on_dataset(kinds_model(0), kinds_judge(), prompts, options);
  CHECK(faithful.dataset == "folder:kinds");
  CHECK(faithful.seen_count == 30);
  CHECK(faithful.held_out_count == 10);
  CHECK(faithful.accuracy_seen == std::vector<double>{1.0, 1.0});
  CHECK(faithful.accuracy_held_out == std::vector<double>{1.0, 1.0});
  CHECK(faithful.real_accuracy_seen == std::vector<double>{1.0, 1.0});
  CHECK(faithful.all_right_seen == 1.0);
  // One flat picture per caption: no diversity; the real entries of a caption are identical too.
  CHECK(faithful.diversity_generated == 0.0);
  CHECK(faithful.diversity_real == 0.0);
  CHECK(faithful.retrieval_precision == -1.0);
  CHECK(faithful.frechet_samples == 30);

  // Drawing the next kind: head "first" (k % 5) is always wrong, "second" (k / 5) wrong for k = 4 and 9.
  const auto shifted = eval::evaluate_on_dataset(kinds_model(1), kinds_judge(), prompts, options);
  CHECK(shifted.accuracy_seen[0] == 0.0);
  CHECK(shifted.accuracy_seen[1] > 0.5);
  CHECK(shifted.accuracy_seen[1] < 1.0);
  CHECK(shifted.real_accuracy_seen == std::vector<double>{1.0, 1.0});   // the judge is not to blame
  CHECK(shifted.all_right_seen == 0.0);
  const auto json = nlohmann::json::parse(shifted.to_json());
  CHECK(json["real_accuracy"]["seen"]["first"] == 1.0);
  CHECK(json["retrieval"].is_null());
  CHECK_THAT(shifted.to_table(), Catch::Contains("the judge on the real images"));

  // Errors: a judge with another head count, too few entries.
  auto three = kinds_judge();
  three.config.heads = {5, 2, 8};
  CHECK_THROWS_WITH(eval::evaluate_on_dataset(kinds_model(0), three, prompts, options),
                    Catch::Contains("the judge has 3 head(s), the prompts name 2"));
  const eval::DatasetPrompts tiny{.name = "tiny", .seen = std::make_shared<Kinds>(3, 0), .heads = {"first", "second"}};
  CHECK_THROWS_WITH(eval::evaluate_on_dataset(kinds_model(0), kinds_judge(), tiny, options),
                    Catch::Contains("at least 4 seen entries"));
}
