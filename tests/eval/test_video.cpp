// SPDX-License-Identifier: Apache-2.0
// The text-to-video evaluation: read_clip's motion and identity on real and
// made-up clips, and evaluate_text_to_video with generators whose answers are
// known (real clips of the caption: motion all right, Fréchet distance near
// the floor; still clips: no motion right).
#include <catch2/catch.hpp>

#include <cmath>
#include <memory>
#include <numeric>

#include <nlohmann/json.hpp>

#include <fresco/data/moving_shapes.hpp>
#include <fresco/eval/video.hpp>
#include <fresco/ops/shape.hpp>

using namespace fresco;
using data::MovingShapes;

namespace {

std::unique_ptr<eval::Classifier> frame_judge() {
  auto judge = std::make_unique<eval::Classifier>(
      eval::ClassifierConfig{.channels = 3, .image_size = 32, .heads = {4, 6, 2}, .width = 4, .feature_dim = 16});
  judge->eval();
  return judge;
}

// Real clips of each caption, drawn from the caption's objects.
Tensor real_clips(const std::vector<std::string>& captions, uint64_t seed) {
  std::vector<Tensor> clips;
  for (size_t i = 0; i < captions.size(); ++i) {
    const auto objects = MovingShapes::parse(captions[i]);
    REQUIRE(objects.has_value());
    clips.push_back(tensor(MovingShapes::render(*objects, seed * 1000 + i).pixels, {1, 8, 3, 32, 32}));
  }
  return cat(clips, 0);
}

// Clips of one named motion in a report's confusion table, read as anything.
int64_t row_total(const std::vector<int64_t>& row) { return std::accumulate(row.begin(), row.end(), int64_t{0}); }

}  // namespace

TEST_CASE("read_clip reads motion and speed from the object's path in real clips", "[eval][video]") {
  auto judge_ptr = frame_judge();
  eval::Classifier& judge = *judge_ptr;
  const MovingShapes clips({.size = 200, .seed = 4, .two_object_fraction = 0.f});
  for (int64_t i = 0; i < clips.size(); ++i) {
    const auto s = clips.sample(i);
    const auto r = eval::read_clip(judge, tensor(s.pixels, {8, 3, 32, 32}));
    INFO(s.caption);
    REQUIRE(r.found);
    REQUIRE(r.centres.size() == 8);
    // The judge is untrained: its size may be wrong, and the speed is read against that size's span.
    CHECK(r.motion == s.objects[0].motion);
    // The measured centre is the shape's centroid (a triangle's lies below its box's centre):
    // its moves follow the true centre's to within half a pixel (edge pixels below the threshold drop out).
    for (size_t t = 1; t < 8; ++t)
      for (size_t a = 0; a < 2; ++a)
        CHECK(std::abs((r.centres[t][a] - r.centres[0][a]) - (s.centres[0][t][a] - s.centres[0][0][a])) < 0.5f);
  }
  // A clip with an empty frame has no readable motion; a still clip keeps its identity.
  auto s = clips.sample(0);
  std::vector<float> pixels = s.pixels;
  std::fill(pixels.begin() + 3 * 3 * 32 * 32, pixels.begin() + 4 * 3 * 32 * 32, 0.1f);
  const auto gap = eval::read_clip(judge, tensor(pixels, {8, 3, 32, 32}));
  CHECK_FALSE(gap.found);
  CHECK(gap.motion == -1);
  std::vector<float> still;
  for (int t = 0; t < 8; ++t) still.insert(still.end(), s.pixels.begin(), s.pixels.begin() + 3 * 32 * 32);
  const auto r = eval::read_clip(judge, tensor(still, {8, 3, 32, 32}));
  CHECK(r.found);
  CHECK(r.consistent);
  CHECK(r.motion == -1);
  CHECK_THROWS_WITH(eval::read_clip(judge, zeros({2, 3, 32, 32})), Catch::Contains("expected a clip [T, 3, S, S]"));
}

TEST_CASE("evaluate_text_to_video: real clips score as real, still clips score no motion", "[eval][video]") {
  auto judge_ptr = frame_judge();
  eval::Classifier& judge = *judge_ptr;
  const eval::VideoEvaluateOptions o{.samples = 40, .seed = 3, .batch = 16, .diversity_captions = 3,
                                     .diversity_clips = 3};
  const auto real = eval::evaluate_text_to_video(real_clips, judge, o);
  CHECK(real.seen_count == 28);
  CHECK(real.held_out_count == 12);
  CHECK(real.accuracy_seen[3] == 1.0);
  CHECK(real.accuracy_held_out[3] == 1.0);
  // Generated and real clips are read alike, so every figure matches the judge's on real clips.
  for (size_t h = 0; h < 3; ++h) {
    CHECK(real.accuracy_seen[h] == Approx(real.real_accuracy_seen[h]).margin(0.15));
  }
  CHECK(real.frechet_distance < 3 * real.frechet_floor + 1e-6);
  CHECK(real.diversity_generated > 0);
  CHECK(real.diversity_generated == Approx(real.diversity_real).epsilon(0.5));
  // Every clip's motion is read as named: the confusion table is diagonal and counts every prompt.
  REQUIRE(real.motion_confusion.size() == MovingShapes::motion_names().size());
  int64_t diagonal = 0, all = 0;
  for (size_t m = 0; m < real.motion_confusion.size(); ++m) {
    REQUIRE(real.motion_confusion[m].size() == real.motion_confusion.size() + 1);
    all += row_total(real.motion_confusion[m]);
    diagonal += real.motion_confusion[m][m];
  }
  CHECK(all == 40);
  CHECK(diagonal == 40);

  const auto still = eval::evaluate_text_to_video(
      [](const std::vector<std::string>& captions, uint64_t seed) {
        // Every frame is the first frame of a real clip.
        const Tensor clips = real_clips(captions, seed);
        const auto n = static_cast<int64_t>(captions.size());
        std::vector<Tensor> frames(8, index_select(clips, 1, {0}));
        return cat(frames, 1).reshape({n, 8, 3, 32, 32});
      },
      judge, o);
  CHECK(still.accuracy_seen[3] == 0.0);
  CHECK(still.accuracy_held_out[3] == 0.0);
  CHECK(still.consistency == 1.0);
  CHECK(still.frechet_distance > real.frechet_distance);
  // A still clip has no motion to read: every prompt lands in the last ("none") column.
  int64_t none = 0;
  for (const auto& row : still.motion_confusion) none += row.back();
  CHECK(none == 40);
  CHECK_THAT(still.to_table(), Catch::Contains("motion named (generated clips)") && Catch::Contains("none "));
  // The JSON report holds the same figures, by head name.
  const auto j = nlohmann::json::parse(still.to_json());
  CHECK(j["heads"].size() == still.heads.size());
  CHECK(j["accuracy"]["seen"][still.heads[3]] == still.accuracy_seen[3]);
  CHECK(j["accuracy"]["held_out"][still.heads[0]] == still.accuracy_held_out[0]);
  CHECK(j["real_accuracy"]["seen"][still.heads[1]] == still.real_accuracy_seen[1]);
  CHECK(j["consistency"] == 1.0);
  CHECK(j["frechet_distance"] == still.frechet_distance);
  CHECK(j["frechet_floor"] == still.frechet_floor);
  CHECK(j["counts"]["seen"] == 28);
  CHECK(j["counts"]["held_out"] == 12);
  CHECK(j["diversity"]["generated"] == still.diversity_generated);
  CHECK(j["motion_confusion"]["motions"] == MovingShapes::motion_names());
  CHECK(j["motion_confusion"]["counts"] == still.motion_confusion);
  auto broken = still;
  broken.frechet_distance = std::nan("");
  CHECK(nlohmann::json::parse(broken.to_json())["frechet_distance"].is_null());

  CHECK_THROWS_WITH(eval::evaluate_text_to_video(real_clips, judge, {.samples = 2}), Catch::Contains("samples >= 4"));
  CHECK_THROWS_WITH(eval::evaluate_text_to_video(real_clips, judge, {.samples = 4, .held_out_fraction = 0.875}),
                    Catch::Contains("give 0 seen and 4 held-out prompts"));
  CHECK_THROWS_WITH(eval::evaluate_text_to_video(
                        [](const std::vector<std::string>& c, uint64_t) {
                          return zeros({static_cast<int64_t>(c.size()), 4, 3, 32, 32});
                        },
                        judge, o),
                    Catch::Contains("expected generated clips [16, 8, 3, 32, 32]"));
  eval::Classifier wrong({.channels = 3, .image_size = 32, .heads = {4, 6, 2, 9}, .width = 4, .feature_dim = 8});
  CHECK_THROWS_WITH(eval::evaluate_text_to_video(real_clips, wrong, o), Catch::Contains("found heads {4, 6, 2, 9}"));
}

TEST_CASE("evaluate_text_to_video: clips played backwards are read as the opposite motion", "[eval][video]") {
  auto judge_ptr = frame_judge();
  eval::Classifier& judge = *judge_ptr;
  const auto backwards = eval::evaluate_text_to_video(
      [](const std::vector<std::string>& captions, uint64_t seed) {
        return index_select(real_clips(captions, seed), 1, {7, 6, 5, 4, 3, 2, 1, 0});
      },
      judge, {.samples = 60, .seed = 5, .diversity_captions = 0});
  // left to right <-> right to left, up <-> down, up right <-> down left, up left <-> down right.
  const int opposite[8] = {1, 0, 3, 2, 7, 6, 5, 4};
  int64_t straight = 0;
  for (int m = 0; m < 8; ++m) {
    const auto& row = backwards.motion_confusion[static_cast<size_t>(m)];
    const int64_t total = row_total(row);
    INFO(MovingShapes::motion_names()[static_cast<size_t>(m)]);
    CHECK(row[static_cast<size_t>(opposite[m])] == total);
    straight += total;
  }
  CHECK(straight > 30);
  // Rows are the named motion, columns the read one: clips that always move left to right fill column 0.
  const auto rightwards = eval::evaluate_text_to_video(
      [](const std::vector<std::string>& captions, uint64_t seed) {
        std::vector<Tensor> clips;
        for (size_t i = 0; i < captions.size(); ++i) {
          const auto o = data::MovingShapesObject::of(data::ShapeKind::circle, data::ShapeColour::red,
                                                      data::ShapeSize::large, data::ShapeMotion::left_to_right);
          clips.push_back(tensor(MovingShapes::render({o}, seed * 1000 + i).pixels, {1, 8, 3, 32, 32}));
        }
        return cat(clips, 0);
      },
      judge, {.samples = 40, .seed = 6, .diversity_captions = 0});
  int64_t named_other = 0;
  for (size_t m = 0; m < rightwards.motion_confusion.size(); ++m) {
    const auto& row = rightwards.motion_confusion[m];
    const int64_t total = row_total(row);
    CHECK(row[0] == total);
    if (m != 0) named_other += total;
  }
  CHECK(named_other > 20);
  const std::string table = backwards.to_table();
  CHECK_THAT(table, Catch::Contains("  left to right") && Catch::Contains("0.0%   right to left"));
}
