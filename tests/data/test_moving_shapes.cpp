// SPDX-License-Identifier: Apache-2.0
// MovingShapes: the grammar's round trip on every clause, clips against their
// labels (the motion read back from the rendered pixels, objects inside the
// frame and apart), the splits, determinism and the errors.
#include <algorithm>
#include <array>
#include <cmath>
#include <set>

#include <catch2/catch.hpp>

#include <fresco/data/moving_shapes.hpp>
#include <fresco/error.hpp>
#include <fresco/tensor/random.hpp>

using fresco::data::MovingShapes;
using fresco::data::MovingShapesDataset;
using fresco::data::MovingShapesObject;
using fresco::data::ShapeColour;
using fresco::data::ShapeKind;
using fresco::data::ShapeMotion;
using fresco::data::ShapeSize;
using fresco::data::ShapeSpeed;

namespace {

constexpr float kBackground = 0.1f;

// Centroid (x, y), in pixels, of the pixels of frame t that differ from the background.
std::array<float, 2> centroid(const std::vector<float>& pixels, int64_t t, int64_t n) {
  const float* f = pixels.data() + t * 3 * n * n;
  double sx = 0, sy = 0, sw = 0;
  for (int64_t y = 0; y < n; ++y)
    for (int64_t x = 0; x < n; ++x) {
      double w = 0;
      for (int c = 0; c < 3; ++c) w = std::max(w, static_cast<double>(std::fabs(f[c * n * n + y * n + x] - kBackground)));
      sx += w * (static_cast<double>(x) + 0.5);
      sy += w * (static_cast<double>(y) + 0.5);
      sw += w;
    }
  return {static_cast<float>(sx / sw), static_cast<float>(sy / sw)};
}

}  // namespace

TEST_CASE("MovingShapes grammar: every clause parses to its object and back", "[moving_shapes]") {
  const auto captions = MovingShapes::all_captions();
  CHECK(captions.size() == 13965);   // 5 size x 7 colour x 7 shape words x 19 motion phrases x 3 adverbs
  CHECK(std::set<std::string>(captions.begin(), captions.end()).size() == captions.size());
  std::array<std::set<int64_t>, 5> seen;
  for (const std::string& c : captions) {
    const auto objects = MovingShapes::parse(c);
    REQUIRE(objects.has_value());
    REQUIRE(objects->size() == 1);
    // The canonical caption of what was parsed parses to the same object.
    const std::string canonical = MovingShapes::describe(*objects);
    REQUIRE(MovingShapes::parse(canonical) == objects);
    const auto labels = objects->front().labels();
    for (size_t a = 0; a < 5; ++a) seen[a].insert(labels[a]);
  }
  const auto classes = MovingShapes::num_classes();
  for (size_t a = 0; a < 5; ++a) CHECK(static_cast<int64_t>(seen[a].size()) == classes[a]);

  // Two clauses, drawn at random, including paths with "and" in them.
  fresco::Generator g(5);
  for (int k = 0; k < 3000; ++k) {
    const std::string& a = captions[g.below(captions.size())];
    const std::string& b = captions[g.below(captions.size())];
    const auto objects = MovingShapes::parse(a + " and " + b);
    REQUIRE(objects.has_value());
    REQUIRE(objects->size() == 2);
    CHECK((*objects)[0] == MovingShapes::parse(a)->front());
    CHECK((*objects)[1] == MovingShapes::parse(b)->front());
  }

  CHECK(MovingShapes::describe({MovingShapesObject::of(ShapeKind::circle, ShapeColour::red, ShapeSize::large,
                                                       ShapeMotion::left_to_right)}) ==
        "a large red circle moves from left to right");
  CHECK(MovingShapes::describe({MovingShapesObject::of(ShapeKind::square, ShapeColour::blue, ShapeSize::small,
                                                       ShapeMotion::bounce_vertical, ShapeSpeed::slow),
                                MovingShapesObject::of(ShapeKind::triangle, ShapeColour::green, ShapeSize::small,
                                                       ShapeMotion::up_right)}) ==
        "a small blue square bounces slowly up and down and a small green triangle moves towards the top right");
  const auto issue_examples = {"a big red circle moves from left to right", "a small blue square bounces up and down",
                               "a tiny green triangle moves slowly towards the top right"};
  for (const char* c : issue_examples) CHECK(MovingShapes::parse(c).has_value());
  for (const char* bad : {"", "a big red circle", "a big red circle moves", "a big red circle moves sideways",
                          "A big red circle moves up", "a big red circle moves  up", "a big red circle moves up.",
                          "a big red circle moves up and", "a big red circle moves slowly quickly up",
                          "a big red circle moves up and a big red circle moves up and a big red circle moves up"})
    CHECK_FALSE(MovingShapes::parse(bad).has_value());
}

TEST_CASE("MovingShapes clips: motion read from the pixels matches the labels, objects stay in frame", "[moving_shapes]") {
  for (int64_t frames : {3, 4, 8, 16}) {
    INFO("frames " << frames);
    const MovingShapes clips({.frames = frames, .size = 300, .seed = 11, .two_object_fraction = 0.f});
    const int64_t n = clips.image_size();
    std::array<int, 10> motions{};
    for (int64_t i = 0; i < clips.size(); ++i) {
      const auto s = clips.sample(i);
      REQUIRE(s.pixels.size() == static_cast<size_t>(frames * 3 * n * n));
      REQUIRE(s.objects.size() == 1);
      const auto& o = s.objects[0];
      ++motions[static_cast<size_t>(o.motion)];
      // The centres the clip reports, and the centres measured in its pixels, show its labelled motion.
      std::vector<std::array<float, 2>> measured;
      for (int64_t t = 0; t < frames; ++t) measured.push_back(centroid(s.pixels, t, n));
      INFO(s.caption);
      const std::array<int, 2> expected{o.motion, o.speed};
      CHECK(MovingShapes::motion_of(s.centres[0], o.size, n) == expected);
      CHECK(MovingShapes::motion_of(measured, o.size, n) == expected);
      // Every drawn pixel lies within the object's reach of its centre, and the reach inside the frame.
      const float reach = n * (o.size == 0 ? 0.085f : 0.12f) * 1.05f + 1.f;
      for (int64_t t = 0; t < frames; ++t) {
        const auto c = s.centres[0][static_cast<size_t>(t)];
        REQUIRE(c[0] >= reach - 1e-4f);
        REQUIRE(c[0] <= n - reach + 1e-4f);
        REQUIRE(c[1] >= reach - 1e-4f);
        REQUIRE(c[1] <= n - reach + 1e-4f);
        const float* f = s.pixels.data() + t * 3 * n * n;
        for (int64_t y = 0; y < n; ++y)
          for (int64_t x = 0; x < n; ++x) {
            if (f[y * n + x] == kBackground && f[n * n + y * n + x] == kBackground &&
                f[2 * n * n + y * n + x] == kBackground)
              continue;
            REQUIRE(std::max(std::fabs(x + 0.5f - c[0]), std::fabs(y + 0.5f - c[1])) <= reach);
          }
      }
    }
    for (int m = 0; m < 10; ++m) CHECK(motions[static_cast<size_t>(m)] > 0);
  }
}

TEST_CASE("MovingShapes two-object clips keep the objects apart and name both", "[moving_shapes]") {
  const MovingShapes clips({.size = 400, .seed = 3, .two_object_fraction = 1.f});
  const int64_t n = clips.image_size();
  for (int64_t i = 0; i < clips.size(); ++i) {
    const auto s = clips.sample(i);
    REQUIRE(s.objects.size() == 2);
    CHECK(MovingShapes::parse(s.caption) == s.objects);
    CHECK(clips.objects(i) == s.objects);
    CHECK(clips.caption(i) == s.caption);
    const float min_distance = n * ((s.objects[0].size == 0 ? 0.085f : 0.12f) + (s.objects[1].size == 0 ? 0.085f : 0.12f)) * 1.05f + 2.f;
    for (size_t t = 0; t < s.centres[0].size(); ++t) {
      const float dx = s.centres[0][t][0] - s.centres[1][t][0], dy = s.centres[0][t][1] - s.centres[1][t][1];
      REQUIRE(std::max(std::fabs(dx), std::fabs(dy)) > min_distance - 1e-3f);
    }
    for (size_t k = 0; k < 2; ++k) {
      const std::array<int, 2> expected{s.objects[k].motion, s.objects[k].speed};
      CHECK(MovingShapes::motion_of(s.centres[k], s.objects[k].size, n) == expected);
    }
  }
}

TEST_CASE("MovingShapes splits hold out their combinations; clips are repeatable", "[moving_shapes]") {
  const auto held = fresco::data::moving_shapes_default_held_out();
  const MovingShapes train({.size = 2000, .seed = 1, .two_object_fraction = 0.5f});
  const MovingShapes test({.size = 500, .seed = 1, .split = "test"});
  const MovingShapes comp({.size = 500, .seed = 1, .split = "compositional", .two_object_fraction = 0.5f});
  std::set<std::array<int, 3>> train_triples;
  for (int64_t i = 0; i < train.size(); ++i) {
    const auto objects = train.objects(i);
    CHECK_FALSE(train.is_held_out(objects));
    for (const auto& o : objects) train_triples.insert({o.shape, o.colour, o.motion});
  }
  // Every (shape, colour, motion) triple that is allowed is seen: 240 less the 6 + 6 + 4 + 4 held out.
  CHECK(train_triples.size() == 220);
  for (int64_t i = 0; i < test.size(); ++i) CHECK_FALSE(test.is_held_out(test.objects(i)));
  std::set<size_t> comp_combinations;
  for (int64_t i = 0; i < comp.size(); ++i) {
    const auto objects = comp.objects(i);
    REQUIRE(comp.is_held_out(objects));
    for (const auto& o : objects)
      for (size_t h = 0; h < held.size(); ++h)
        if (held[h].matches(o)) comp_combinations.insert(h);
  }
  CHECK(comp_combinations.size() == held.size());
  CHECK(train.caption(5) != test.caption(5));

  const auto a = train.sample(17), b = train.sample(17);
  CHECK(a.pixels == b.pixels);
  CHECK(a.caption == b.caption);
  const MovingShapes other_seed({.size = 2000, .seed = 2});
  CHECK(other_seed.sample(17).pixels != a.pixels);

  const MovingShapesDataset dataset(MovingShapes({.image_size = 16, .frames = 5, .size = 10, .two_object_fraction = 1.f}));
  const auto e = dataset.get(3);
  CHECK(e.image.shape() == fresco::Shape{5, 3, 16, 16});
  CHECK(e.labels.size() == 10);
  CHECK(MovingShapes::parse(e.caption).has_value());
}

TEST_CASE("MovingShapes frames one by one, and clips of given objects", "[moving_shapes]") {
  const MovingShapes clips({.frames = 5, .size = 20, .seed = 9, .two_object_fraction = 0.5f});
  const fresco::data::MovingShapesFrames frames(clips);
  REQUIRE(frames.size() == 100);
  for (int64_t i : {0, 7, 13, 99}) {
    const auto clip = clips.sample(i / 5);
    const auto e = frames.get(i);
    const size_t per_frame = 3 * 32 * 32;
    CHECK(e.image.to_vector() == std::vector<float>(clip.pixels.begin() + (i % 5) * per_frame,
                                                    clip.pixels.begin() + (i % 5 + 1) * per_frame));
    CHECK(e.caption == clip.caption);
    std::vector<int64_t> labels;
    for (const auto& o : clip.objects) labels.insert(labels.end(), {o.shape, o.colour, o.size});
    CHECK(e.labels == labels);
  }
  CHECK_THROWS_WITH(frames.get(100), Catch::Contains("frame index 100 is out of range [0, 100)"));

  const std::vector<MovingShapesObject> objects = {
      MovingShapesObject::of(ShapeKind::diamond, ShapeColour::orange, ShapeSize::large, ShapeMotion::down_left,
                             ShapeSpeed::slow)};
  const auto a = MovingShapes::render(objects, 4), b = MovingShapes::render(objects, 4), c = MovingShapes::render(objects, 5);
  CHECK(a.pixels == b.pixels);
  CHECK(a.pixels != c.pixels);
  CHECK(a.caption == "a large orange diamond moves slowly towards the bottom left");
  CHECK(a.pixels.size() == 8 * 3 * 32 * 32);
  const std::array<int, 2> expected{static_cast<int>(ShapeMotion::down_left), static_cast<int>(ShapeSpeed::slow)};
  CHECK(MovingShapes::motion_of(a.centres[0], 1, 32) == expected);
  // Two large objects on the same diagonal, both fast and opposite: they cannot avoid each other.
  const std::vector<MovingShapesObject> crash = {
      MovingShapesObject::of(ShapeKind::circle, ShapeColour::red, ShapeSize::large, ShapeMotion::up_right),
      MovingShapesObject::of(ShapeKind::square, ShapeColour::blue, ShapeSize::large, ShapeMotion::down_left)};
  CHECK_THROWS_WITH(MovingShapes::render(crash, 1), Catch::Contains("cannot share the frame"));
}

TEST_CASE("MovingShapes::motion_of names the nearest of the eight compass directions", "[moving_shapes]") {
  // A straight path of 8 centres from `from` by (dx, dy) pixels (y grows downwards).
  const auto path = [](float x, float y, float dx, float dy) {
    std::vector<std::array<float, 2>> c;
    for (int t = 0; t < 8; ++t) c.push_back({x + dx * static_cast<float>(t) / 7.f, y + dy * static_cast<float>(t) / 7.f});
    return c;
  };
  using M = ShapeMotion;
  const auto motion = [](M m) { return static_cast<int>(m); };
  // A small object in 32 x 32 frames: free span 32 - 2 * 3.856 = 24.3 px, fast from 52.5% of it (12.75 px).
  CHECK((*MovingShapes::motion_of(path(8, 16, 16, 3), 0, 32))[0] == motion(M::left_to_right));    // 10.6 deg off
  CHECK((*MovingShapes::motion_of(path(8, 16, 16, -6), 0, 32))[0] == motion(M::left_to_right));   // 20.6 deg off
  CHECK((*MovingShapes::motion_of(path(8, 16, 16, -7), 0, 32))[0] == motion(M::up_right));        // 23.6 deg off
  CHECK((*MovingShapes::motion_of(path(16, 4, -3, 20), 0, 32))[0] == motion(M::down));
  CHECK((*MovingShapes::motion_of(path(8, 8, 10, 10), 0, 32)) == std::array<int, 2>{motion(M::down_right), 0});
  // A wobble of 3 pixels down and back on a 15-pixel move to the right is that move; the same wobble
  // with a 2-pixel drift to the right is a bounce.
  std::vector<std::array<float, 2>> wobble;
  const float ys[8] = {16, 17, 18, 19, 18, 17, 16, 16};
  for (int t = 0; t < 8; ++t) wobble.push_back({8.f + 15.f * static_cast<float>(t) / 7.f, ys[t] * 1.f});
  CHECK((*MovingShapes::motion_of(wobble, 0, 32))[0] == motion(M::left_to_right));
  for (int t = 0; t < 8; ++t) wobble[static_cast<size_t>(t)] = {16.f + 2.f * static_cast<float>(t) / 7.f, 10.f + 3.f * (ys[t] - 16.f)};
  CHECK((*MovingShapes::motion_of(wobble, 0, 32))[0] == motion(M::bounce_vertical));
  // Over many directions and lengths: the sector of the angle, the same as rounding it to 45 degrees.
  uint64_t state = 12345;
  const auto uniform = [&state] {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<float>(state >> 40) / static_cast<float>(1ULL << 24);
  };
  const int by_sector[8] = {motion(M::left_to_right), motion(M::up_right),  motion(M::up),   motion(M::up_left),
                            motion(M::right_to_left), motion(M::down_left), motion(M::down), motion(M::down_right)};
  int checked = 0;
  for (int i = 0; i < 5000; ++i) {
    const float angle = 2.f * 3.14159265f * uniform(), length = 8.f + 12.f * uniform();
    const float sector = angle / (3.14159265f / 4.f);
    if (std::fabs(sector - std::floor(sector) - 0.5f) < 0.02f) continue;   // on a boundary: either name is fair
    const int k = static_cast<int>(std::lround(sector)) % 8;
    const auto m = MovingShapes::motion_of(path(16, 16, length * std::cos(angle), -length * std::sin(angle)), 0, 32);
    REQUIRE(m.has_value());
    INFO("angle " << angle * 180 / 3.14159265f << " length " << length);
    CHECK((*m)[0] == by_sector[k]);
    ++checked;
  }
  CHECK(checked > 4800);
}

TEST_CASE("MovingShapes errors say what was expected", "[moving_shapes]") {
  using fresco::data::MovingShapesCombination;
  CHECK_THROWS_WITH(MovingShapes({.image_size = 8}), Catch::Contains("image_size must be in [16, 256], got 8"));
  CHECK_THROWS_WITH(MovingShapes({.frames = 2}), Catch::Contains("frames must be in [3, 16], got 2"));
  CHECK_THROWS_WITH(MovingShapes({.frames = 17}), Catch::Contains("frames must be in [3, 16], got 17"));
  CHECK_THROWS_WITH(MovingShapes({.split = "val"}), Catch::Contains("split must be \"train\", \"test\""));
  CHECK_THROWS_WITH(MovingShapes({.two_object_fraction = 1.5f}), Catch::Contains("two_object_fraction"));
  CHECK_THROWS_WITH(MovingShapes({.held_out = {{MovingShapesCombination::Attribute::colour, 6, 0}}}),
                    Catch::Contains("out of range"));
  CHECK_THROWS_WITH(MovingShapes({.split = "compositional", .held_out = {}}),
                    Catch::Contains("needs at least one held-out combination"));
  std::vector<MovingShapesCombination> every;
  for (int s = 0; s < 4; ++s)
    for (int m = 0; m < 10; ++m) every.push_back({MovingShapesCombination::Attribute::shape, s, m});
  CHECK_THROWS_WITH(MovingShapes({.held_out = every}), Catch::Contains("the train split is empty"));
  const MovingShapes clips({.size = 3});
  CHECK_THROWS_WITH(clips.sample(3), Catch::Contains("clip index 3 is out of range [0, 3)"));
  CHECK_THROWS_WITH(MovingShapes::describe({}), Catch::Contains("one or two objects, got 0"));
  CHECK_THROWS_WITH(MovingShapes::describe({{0, 0, 0, 10, 0}}), Catch::Contains("motion index 10 is not in [0, 10)"));
  CHECK_THROWS_WITH(MovingShapes::motion_of({{1.f, 1.f}, {2.f, 2.f}}, 0, 32), Catch::Contains("at least 3 centres"));
  CHECK_THROWS_WITH(MovingShapes::motion_of({{1.f, 1.f}, {2.f, 2.f}, {3.f, 3.f}}, 0, 8),
                    Catch::Contains("image_size must be in [16, 256], got 8"));
  CHECK_FALSE(MovingShapes::motion_of({{16.f, 16.f}, {16.2f, 16.f}, {16.f, 16.1f}}, 0, 32).has_value());
}
