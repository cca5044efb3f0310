// SPDX-License-Identifier: Apache-2.0
// The cell judge's pieces: crops at hand-computed places, labels of
// hand-built scenes, the crops dataset, two-object scoring with hand-computed
// results (directly and through evaluate_text_to_image with stand-in judges),
// the file holding both judges, and a tiny training that reads real
// two-object scenes well.
#include "support/check.hpp"

#include <cstdlib>
#include <filesystem>
#include <map>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <fresco/eval/cells.hpp>
#include <fresco/eval/evaluate.hpp>

using fresco::Tensor;
namespace eval = fresco::eval;
namespace data = fresco::data;

namespace {

bool quick() {
  const char* q = std::getenv("FRESCO_TEST_QUICK");
  return q != nullptr && std::string(q) == "1";
}

std::string temp_file(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("fresco-cells-" + std::to_string(::getpid()) + "-" + name)).string();
}

data::ShapesObject object(int shape, int colour, int size, int position) {
  return {.shape = shape, .colour = colour, .size = size, .position = position};
}

}  // namespace

TEST_CASE("cells: crops sit around each cell's centre, edges repeated", "[eval][cells]") {
  // Two images [2, 1, 32, 32] whose pixel (y, x) holds 1000 n + 32 y + x.
  std::vector<float> v;
  for (int n = 0; n < 2; ++n)
    for (int i = 0; i < 32 * 32; ++i) v.push_back(static_cast<float>(1000 * n + i));
  const Tensor images = fresco::tensor(v, {2, 1, 32, 32});
  const Tensor crops = eval::cell_crops(images).contiguous();
  REQUIRE(crops.shape() == fresco::Shape{18, 1, 16, 16});
  // Crop starts per row / column: round(32 (2k + 1) / 6 - 8) = -3, 8, 19.
  auto at = [&](int64_t row, int64_t y, int64_t x) { return crops.data()[(row * 16 + y) * 16 + x]; };
  auto pixel = [](int n, int y, int x) {
    return static_cast<float>(1000 * n + 32 * std::clamp(y, 0, 31) + std::clamp(x, 0, 31));
  };
  for (int n = 0; n < 2; ++n)
    for (int p = 0; p < 9; ++p) {
      const int y0 = std::array{-3, 8, 19}[p / 3], x0 = std::array{-3, 8, 19}[p % 3];
      for (int y = 0; y < 16; ++y)
        for (int x = 0; x < 16; ++x) {
          INFO("image " << n << " cell " << p << " at " << y << ", " << x);
          REQUIRE(at(9 * n + p, y, x) == pixel(n, y0 + y, x0 + x));
        }
    }
  // The top-left crop repeats the corner; the centre crop is a plain window.
  CHECK(at(0, 0, 0) == 0.f);
  CHECK(at(0, 3, 3) == 0.f);
  CHECK(at(0, 4, 4) == 33.f);
  CHECK(at(4, 0, 0) == 8 * 32 + 8);
  CHECK(at(17, 15, 15) == 1000 + 31 * 32 + 31);
  CHECK(eval::cell_crop(images, 5).to_vector() == fresco::index_select(crops, 0, {5, 14}).to_vector());
  CHECK_THROWS_AS(eval::cell_crops(fresco::zeros({1, 3, 31, 31})), fresco::ShapeError);
  CHECK_THROWS_AS(eval::cell_crops(fresco::zeros({3, 32, 32})), fresco::ShapeError);
  CHECK_THROWS_WITH(eval::cell_crop(images, 9), Catch::Contains("a cell in 0..8, found 9"));
}

TEST_CASE("cells: labels of hand-built scenes", "[eval][cells]") {
  const std::vector<data::ShapesObject> scene{object(2, 0, 1, 0), object(3, 5, 0, 7)};
  CHECK(eval::cell_labels(scene, 0) == std::array<int64_t, 3>{2, 0, 1});
  CHECK(eval::cell_labels(scene, 7) == std::array<int64_t, 3>{3, 5, 0});
  for (int p : {1, 2, 3, 4, 5, 6, 8}) CHECK(eval::cell_labels(scene, p) == std::array<int64_t, 3>{4, 6, 2});
  CHECK(eval::cell_labels({}, 4) == eval::kCellNone);
  CHECK_THROWS_WITH(eval::cell_labels(scene, -1), Catch::Contains("a cell in 0..8, found -1"));
  const auto c = eval::cell_judge_config(8, 16);
  CHECK(c.heads == std::vector<int64_t>{5, 7, 3});
  CHECK(c.image_size == 16);
  CHECK(eval::is_cell_judge_config(c));
  CHECK_FALSE(eval::is_cell_judge_config({.heads = {4, 6, 2, 9}}));
}

TEST_CASE("cells: the crops dataset labels what its crops show", "[eval][cells]") {
  const data::Shapes scenes({.size = 300, .seed = 5, .two_object_fraction = 0.5f});
  const eval::ShapesCellCrops crops(scenes, 9, 0.6);
  int occupied = 0;
  for (int64_t i = 0; i < crops.size(); ++i) {
    const data::Example e = crops.get(i);
    REQUIRE(e.image.shape() == fresco::Shape{3, 16, 16});
    const auto objects = scenes.objects(i);
    const auto expected = eval::cell_labels(objects, crops.cell_of(i));
    REQUIRE(e.labels == std::vector<int64_t>(expected.begin(), expected.end()));
    CHECK(e.caption == scenes.caption(i));
    // The cell proper (crop pixels 3..12 of 16): an object there covers some of it,
    // an empty cell's is flat background (neighbours only reach the margin).
    const Tensor x = e.image.contiguous();
    float most = 0;
    for (int c = 0; c < 3; ++c)
      for (int y = 3; y < 13; ++y)
        for (int xx = 3; xx < 13; ++xx) most = std::max(most, std::fabs(x.data()[(c * 16 + y) * 16 + xx] - 0.1f));
    const bool has_object = expected != eval::kCellNone;
    occupied += has_object;
    INFO("example " << i << " cell " << crops.cell_of(i));
    if (has_object) CHECK(most > 0.4f);
    else CHECK(most < 1e-6f);
  }
  CHECK(occupied == Approx(0.6 * 300).margin(30));
  // Same (seed, i), same crop.
  CHECK(crops.get(17).image.to_vector() == eval::ShapesCellCrops(scenes, 9, 0.6).get(17).image.to_vector());
  CHECK_THROWS_WITH(eval::ShapesCellCrops(scenes, 0, 1.5), Catch::Contains("occupied_share in [0, 1]"));
}

TEST_CASE("cells: two-object scores, hand-computed", "[eval][cells]") {
  // Image 0 names a red large triangle top left (cell 0) and a small orange diamond at the bottom (cell 7).
  // Image 1 names a green small circle in the centre (4) and a blue large square on the right (5).
  const std::vector<std::vector<data::ShapesObject>> objects{{object(2, 0, 1, 0), object(3, 5, 0, 7)},
                                                             {object(0, 1, 0, 4), object(1, 2, 1, 5)}};
  std::vector<std::vector<int64_t>> cells{std::vector<int64_t>(18, 4), std::vector<int64_t>(18, 6),
                                          std::vector<int64_t>(18, 2)};
  auto set = [&](int image, int cell, int64_t shape, int64_t colour, int64_t size) {
    cells[0][9 * image + cell] = shape;
    cells[1][9 * image + cell] = colour;
    cells[2][9 * image + cell] = size;
  };
  // Image 0 read exactly; image 1: the circle read as a square, the square right, and an extra object in cell 8.
  set(0, 0, 2, 0, 1);
  set(0, 7, 3, 5, 0);
  set(1, 4, 1, 1, 0);
  set(1, 5, 1, 2, 1);
  set(1, 8, 0, 3, 0);
  const eval::TwoObjectScores s = eval::score_two_objects(objects, cells);
  CHECK(s.images == 2);
  CHECK(s.all_right == 0.5);                 // image 0
  CHECK(s.attributes[0] == 0.75);            // 3 of 4 shapes
  CHECK(s.attributes[1] == 1.0);
  CHECK(s.attributes[2] == 1.0);
  CHECK(s.object_right == 0.75);
  CHECK(s.extra_object == 0.5);              // image 1's cell 8
  CHECK(s.object_placed == 1.0);
  CHECK(s.swapped == 0.0);
  // An object read as "none" is wrong on all three.
  set(0, 7, 4, 6, 2);
  const auto t = eval::score_two_objects(objects, cells);
  CHECK(t.all_right == 0.0);
  CHECK(t.attributes == std::array<double, 3>{0.5, 0.75, 0.75});
  CHECK(t.object_placed == 0.75);            // image 0's cell 7 read as empty
  // Image 0 drawn with its two objects exchanged: swapped, and nothing right.
  set(0, 0, 3, 5, 0);
  set(0, 7, 2, 0, 1);
  const auto u = eval::score_two_objects(objects, cells);
  CHECK(u.swapped == 0.5);
  CHECK(u.all_right == 0.0);
  CHECK(u.object_placed == 1.0);
  // Swapped needs every attribute of both: one colour off is not a swap.
  set(0, 7, 2, 1, 1);
  CHECK(eval::score_two_objects(objects, cells).swapped == 0.0);
  CHECK(eval::score_two_objects({}, {{}, {}, {}}).images == 0);
  CHECK_THROWS_WITH(eval::score_two_objects(objects, {cells[0], cells[1]}), Catch::Contains("3 heads, found 2"));
  cells[2].pop_back();
  CHECK_THROWS_WITH(eval::score_two_objects(objects, cells), Catch::Contains("(18 for 2 images), found 17"));
}

namespace {

// Remembers the cell labels of every crop of every image the stand-in model
// draws (keyed by the crop's pixels as the judge sees them) and answers from
// that memory; crops it never drew (the real scenes) read "none".
struct CellBook {
  std::map<std::vector<int32_t>, std::array<int64_t, 3>> labels;
  static std::vector<int32_t> key(const float* p, int64_t n) {
    std::vector<int32_t> k(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) k[i] = static_cast<int32_t>(std::lround(p[i] * 4096));
    return k;
  }
  std::vector<std::vector<int64_t>> predict(const Tensor& crops) const {
    const Tensor c = crops.contiguous();
    const int64_t n = c.size(0), per = c.numel() / n;
    std::vector<std::vector<int64_t>> out(3);
    for (int64_t i = 0; i < n; ++i) {
      const auto it = labels.find(key(c.data() + i * per, per));
      for (size_t h = 0; h < 3; ++h) out[h].push_back(it == labels.end() ? eval::kCellNone[h] : it->second[h]);
    }
    return out;
  }
};

}  // namespace

TEST_CASE("cells: evaluate_text_to_image scores two-object prompts with the cell judge", "[eval][cells]") {
  auto book = std::make_shared<CellBook>();
  int64_t two_object_calls = 0;
  // Renders the caption's scene; remembers each crop's labels.
  const eval::GenerateFn model = [book, &two_object_calls](const std::vector<std::string>& captions, uint64_t seed) {
    std::vector<float> all;
    for (size_t i = 0; i < captions.size(); ++i) {
      const auto objects = data::Shapes::parse(captions[i]);
      REQUIRE(objects.has_value());
      const auto pixels = data::Shapes::render(*objects, 32, seed * 1000 + i);
      const Tensor crops = eval::cell_crops(fresco::tensor(pixels, {1, 3, 32, 32}) * 2.f - 1.f).contiguous();
      for (int64_t p = 0; p < 9; ++p)
        book->labels[CellBook::key(crops.data() + p * 3 * 256, 3 * 256)] = eval::cell_labels(*objects, p);
      all.insert(all.end(), pixels.begin(), pixels.end());
    }
    two_object_calls += data::Shapes::parse(captions[0])->size() == 2;
    return fresco::tensor(all, {static_cast<int64_t>(captions.size()), 3, 32, 32});
  };
  eval::ImageJudge judge{
      .config = {.channels = 3, .image_size = 32, .heads = {4, 6, 2, 9}},
      .features = [](const Tensor& x) { return fresco::avg_pool2d(x, {8, 8}, {8, 8}).reshape({x.size(0), 48}); },
      .predict = [](const Tensor& x) { return std::vector<std::vector<int64_t>>(4, std::vector<int64_t>(x.size(0), 0)); },
      .cell_config = eval::cell_judge_config(),
      .predict_cells = [book](const Tensor& crops) { return book->predict(crops); }};
  eval::EvaluateOptions o{.samples = 40, .seed = 2, .batch = 16, .diversity_captions = 2, .diversity_images = 2,
                          .two_object_samples = 50};
  std::vector<fresco::Progress> reports;
  o.on_progress = [&](const fresco::Progress& p) { reports.push_back(p); };
  const auto r = eval::evaluate_text_to_image(model, judge, eval::DatasetKind::shapes, o);
  // 50 prompts, 30% held out: 35 seen, 15 held-out, in calls of 16 (4 calls).
  CHECK(two_object_calls == 4);
  CHECK(reports.size() == 3 + 2 + 4 + 1);
  CHECK(reports.front().total == 9);
  CHECK(r.two_object_seen.images == 35);
  CHECK(r.two_object_held_out.images == 15);
  // The generated images are read exactly; the real ones (never drawn by the model) read empty.
  CHECK(r.two_object_seen.all_right == 1.0);
  CHECK(r.two_object_held_out.all_right == 1.0);
  CHECK(r.two_object_seen.attributes == std::array<double, 3>{1, 1, 1});
  CHECK(r.two_object_seen.extra_object == 0.0);
  CHECK(r.two_object_real_seen.images == 35);
  CHECK(r.two_object_real_seen.all_right == 0.0);
  CHECK(r.two_object_real_held_out.object_right == 0.0);
  // The table and JSON carry the lines.
  const std::string table = r.to_table();
  CHECK_THAT(table, Catch::Contains("two objects named (35 + 15 prompts)"));
  CHECK_THAT(table, Catch::Contains("both objects right"));
  CHECK_THAT(table, Catch::Contains("the two objects swapped"));
  CHECK_THAT(table, Catch::Contains("object: an object in its cell"));
  CHECK_THAT(table, Catch::Contains("conditional accuracy (cell judge)"));
  CHECK(r.cell_judge);
  const auto j = nlohmann::json::parse(r.to_json());
  CHECK(j["two_objects"]["generated"]["seen"]["all_right"] == 1.0);
  CHECK(j["two_objects"]["generated"]["held_out"]["images"] == 15);
  CHECK(j["two_objects"]["real"]["seen"]["all_right"] == 0.0);
  CHECK(j["two_objects"]["generated"]["seen"]["object_placed"] == r.two_object_seen.object_placed);
  CHECK(j["two_objects"]["generated"]["seen"]["swapped"] == r.two_object_seen.swapped);
  // The prompts name two objects each, in different cells; held-out ones have a held-out pair.
  const auto prompts = eval::make_prompts(eval::DatasetKind::shapes, 50, 2, 0.3, 2);
  const auto held = data::shapes_default_held_out();
  for (const auto& p : prompts) {
    REQUIRE(p.labels.size() == 8);
    CHECK(p.labels[3] != p.labels[7]);
    const auto parsed = data::Shapes::parse(p.caption);
    REQUIRE(parsed.has_value());
    REQUIRE(parsed->size() == 2);
    CHECK((*parsed)[1].labels()[3] == p.labels[7]);
    bool has_held = false;
    for (int k = 0; k < 2; ++k)
      has_held |= std::find(held.begin(), held.end(),
                            data::ShapesCombination{static_cast<int>(p.labels[4 * k + 1]),
                                                    static_cast<int>(p.labels[4 * k])}) != held.end();
    CHECK(has_held == p.held_out);
  }
  // Without a cell judge, or with 0 prompts, no two-object lines.
  judge.predict_cells = {};
  o.on_progress = {};
  const auto plain = eval::evaluate_text_to_image(model, judge, eval::DatasetKind::shapes, o);
  CHECK(plain.two_object_seen.images == 0);
  CHECK_FALSE(plain.cell_judge);
  CHECK_THAT(plain.to_table(), !Catch::Contains("two objects"));
  CHECK(nlohmann::json::parse(plain.to_json())["two_objects"]["generated"]["seen"].is_null());
  // A cell judge of the wrong size is refused.
  judge.predict_cells = [book](const Tensor& crops) { return book->predict(crops); };
  judge.cell_config.image_size = 32;
  CHECK_THROWS_WITH(eval::evaluate_text_to_image(model, judge, eval::DatasetKind::shapes, o),
                    Catch::Contains("crops of 16 px"));
  CHECK_THROWS_WITH(eval::make_prompts(eval::DatasetKind::fashion_mnist, 4, 0, 0.0, 2),
                    Catch::Contains("1 object per prompt"));
}

TEST_CASE("cells: both judges in one file; old files still load", "[eval][cells]") {
  fresco::manual_seed(8);
  eval::Classifier scene({.channels = 3, .image_size = 32, .heads = {4, 6, 2, 9}, .width = 4, .feature_dim = 8});
  eval::Classifier cell(eval::cell_judge_config(4, 16));
  scene.eval();
  cell.eval();
  const std::string both = temp_file("both.safetensors"), plain = temp_file("plain.safetensors");
  eval::save_judges(scene, cell, both);
  scene.save(plain);
  const Tensor x = fresco::rand({3, 3, 32, 32}) * 2.f - 1.f;
  const Tensor crops = eval::cell_crops(x);
  const auto judges = eval::load_judges(both);
  REQUIRE(judges.cell != nullptr);
  CHECK(judges.scene->logits(x)[0].to_vector() == scene.logits(x)[0].to_vector());
  CHECK(judges.cell->logits(crops)[2].to_vector() == cell.logits(crops)[2].to_vector());
  CHECK(judges.cell->config().heads == std::vector<int64_t>{5, 7, 3});
  // Classifier::load reads the scene classifier of the file with both.
  CHECK(eval::Classifier::load(both)->logits(x)[3].to_vector() == scene.logits(x)[3].to_vector());
  // A file of Classifier::save: no cell judge.
  const auto old = eval::load_judges(plain);
  CHECK(old.cell == nullptr);
  CHECK(old.scene->logits(x)[1].to_vector() == scene.logits(x)[1].to_vector());
  std::filesystem::remove(both);
  std::filesystem::remove(plain);
}

TEST_CASE("cells: a short training reads real two-object scenes", "[eval][cells]") {
  fresco::manual_seed(12);
  eval::Classifier judge(eval::cell_judge_config(8, 16));
  data::ShapesOptions o{.size = 20000, .seed = 3, .two_object_fraction = 0.5f};
  o.held_out.clear();
  auto train = std::make_shared<eval::ShapesCellCrops>(data::Shapes(o), 1);
  auto test = std::make_shared<eval::ShapesCellCrops>(
      data::Shapes({.size = 300, .seed = 4, .split = "test", .two_object_fraction = 0.5f}), 2);
  const int64_t steps = quick() ? 120 : 200;
  const auto r = eval::train_classifier(judge, train, test,
                                        {.lr = 5e-3f, .warmup_steps = 20, .batch_size = 64,
                                         .log_every = 0, .max_steps = steps});
  INFO("crop accuracy " << r.test_accuracy[0] << " " << r.test_accuracy[1] << " " << r.test_accuracy[2]);
  // Real two-object test scenes, judged cell by cell.
  const data::Shapes pairs({.size = 100, .seed = 6, .split = "test", .two_object_fraction = 1.f});
  std::vector<Tensor> images;
  std::vector<std::vector<data::ShapesObject>> objects;
  for (int64_t i = 0; i < pairs.size(); ++i) {
    images.push_back(pairs.image(i));
    objects.push_back(pairs.objects(i));
  }
  const Tensor x = fresco::stack(images, 0) * 2.f - 1.f;
  const auto s = eval::score_two_objects(objects, judge.predict(eval::cell_crops(x)));
  INFO("both right " << s.all_right << ", shape " << s.attributes[0] << ", colour " << s.attributes[1] << ", size "
                     << s.attributes[2] << ", extra " << s.extra_object);
  CHECK(s.all_right >= (quick() ? 0.75 : 0.9));
  CHECK(s.extra_object <= 0.1);
}

TEST_CASE("cells: single objects are read in the cell at their predicted position", "[eval][cells]") {
  // The classifier reads image 0 as a small red circle in the centre (4), image 1 as a large green square at
  // the bottom right (8).
  const std::vector<std::vector<int64_t>> scene{{0, 1}, {0, 1}, {0, 1}, {4, 8}};
  std::vector<std::vector<int64_t>> cells{std::vector<int64_t>(18, 4), std::vector<int64_t>(18, 6),
                                          std::vector<int64_t>(18, 2)};
  // Image 0's centre cell holds a large yellow triangle; image 1's cell 8 reads empty, its cell 0 a diamond.
  cells[0][4] = 2, cells[1][4] = 3, cells[2][4] = 1;
  cells[0][9 + 0] = 3, cells[1][9 + 0] = 3, cells[2][9 + 0] = 0;
  const auto read = eval::read_at_position(scene, cells);
  CHECK(read == std::vector<std::vector<int64_t>>{{2, 1}, {3, 1}, {1, 1}, {4, 8}});
  // A head that reads "none" where the others read an object keeps the classifier's label.
  cells[1][4] = 6;
  CHECK(eval::read_at_position(scene, cells)[1] == std::vector<int64_t>{0, 1});
  CHECK_THROWS_WITH(eval::read_at_position(scene, {cells[0], cells[1]}), Catch::Contains("3 cell heads, found 4 and 2"));
  cells[0].resize(17);
  CHECK_THROWS_WITH(eval::read_at_position(scene, cells), Catch::Contains("cell head 0 has 17 labels for 2 images"));
}
