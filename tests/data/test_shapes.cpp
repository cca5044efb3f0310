// SPDX-License-Identifier: Apache-2.0
#include <algorithm>
#include <array>
#include <cmath>
#include <set>

#include <catch2/catch.hpp>

#include <fresco/data/shapes.hpp>
#include <fresco/error.hpp>

using fresco::data::ShapeColour;
using fresco::data::ShapeKind;
using fresco::data::ShapePosition;
using fresco::data::Shapes;
using fresco::data::ShapeSize;
using fresco::data::ShapesObject;

namespace {

constexpr float kBackground = 0.1f;

// Nominal RGB of each colour class, written out independently of the
// library's table (hsv(hue, 0.9, 0.95)), to decide which named colour a pixel is.
const std::array<std::array<float, 3>, 6> kNominal = {{
    {0.95f, 0.095f, 0.095f},   // red      0°
    {0.095f, 0.95f, 0.095f},   // green  120°
    {0.095f, 0.38f, 0.95f},    // blue   220°
    {0.95f, 0.855f, 0.095f},   // yellow  55°
    {0.665f, 0.095f, 0.95f},   // purple 280°
    {0.95f, 0.494f, 0.095f},   // orange  28°
}};

int nearest_colour(float r, float g, float b) {
  int best = -1;
  float best_d = 1e9f;
  for (int c = 0; c < 6; ++c) {
    const float d = (r - kNominal[c][0]) * (r - kNominal[c][0]) + (g - kNominal[c][1]) * (g - kNominal[c][1]) +
                    (b - kNominal[c][2]) * (b - kNominal[c][2]);
    if (d < best_d) best_d = d, best = c;
  }
  return best;
}

float pixel(const std::vector<float>& px, int64_t n, int c, int64_t y, int64_t x) { return px[(c * n + y) * n + x]; }

// Pixel coordinates of the centre of a grid cell.
std::pair<int64_t, int64_t> cell_centre(int position, int64_t n) {
  return {(2 * (position / 3) + 1) * n / 6, (2 * (position % 3) + 1) * n / 6};
}

// The pixel of a grid cell that differs most from the background: inside the cell's object,
// never on its anti-aliased edge (which blends the colour with the background).
std::pair<int64_t, int64_t> strongest_pixel(const std::vector<float>& px, int position, int64_t n) {
  const double cell = static_cast<double>(n) / 3.0;
  std::pair<int64_t, int64_t> best = cell_centre(position, n);
  float best_d = -1.f;
  for (int64_t y = 0; y < n; ++y) {
    if (std::min(2, static_cast<int>((static_cast<double>(y) + 0.5) / cell)) != position / 3) continue;
    for (int64_t x = 0; x < n; ++x) {
      if (std::min(2, static_cast<int>((static_cast<double>(x) + 0.5) / cell)) != position % 3) continue;
      const float d = std::fabs(pixel(px, n, 0, y, x) - kBackground) + std::fabs(pixel(px, n, 1, y, x) - kBackground) +
                      std::fabs(pixel(px, n, 2, y, x) - kBackground);
      if (d > best_d) best_d = d, best = {y, x};
    }
  }
  return best;
}

// Per grid cell, the number of pixels (by their centre) that differ from the background.
std::array<int, 9> covered(const std::vector<float>& px, int64_t n) {
  const double cell = static_cast<double>(n) / 3.0;
  std::array<int, 9> count{};
  for (int64_t y = 0; y < n; ++y) {
    const int row = std::min(2, static_cast<int>((static_cast<double>(y) + 0.5) / cell));
    for (int64_t x = 0; x < n; ++x) {
      const int col = std::min(2, static_cast<int>((static_cast<double>(x) + 0.5) / cell));
      if (std::fabs(pixel(px, n, 0, y, x) - kBackground) + std::fabs(pixel(px, n, 1, y, x) - kBackground) +
              std::fabs(pixel(px, n, 2, y, x) - kBackground) > 1e-6f)
        ++count[static_cast<size_t>(row * 3 + col)];
    }
  }
  return count;
}

bool has_held_out(const std::vector<ShapesObject>& objects) {
  for (const auto& o : objects) {
    if (o.colour == int(ShapeColour::red) && o.shape == int(ShapeKind::triangle)) return true;
    if (o.colour == int(ShapeColour::blue) && o.shape == int(ShapeKind::circle)) return true;
    if (o.colour == int(ShapeColour::yellow) && o.shape == int(ShapeKind::square)) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("Shapes: attribute tables", "[data][shapes]") {
  CHECK(Shapes::num_classes() == std::array<int64_t, 4>{4, 6, 2, 9});
  CHECK(Shapes::attribute_names() == std::vector<std::string>{"shape", "colour", "size", "position"});
  CHECK(Shapes::shape_names() == std::vector<std::string>{"circle", "square", "triangle", "diamond"});
  CHECK(Shapes::colour_names() == std::vector<std::string>{"red", "green", "blue", "yellow", "purple", "orange"});
  CHECK(Shapes::size_names() == std::vector<std::string>{"small", "large"});
  CHECK(Shapes::position_names().size() == 9);
  CHECK(Shapes::position_names()[4] == "center");
  CHECK(Shapes::num_templates() >= 3);
  const auto o = ShapesObject::of(ShapeKind::diamond, ShapeColour::orange, ShapeSize::large, ShapePosition::bottom);
  CHECK(o.labels() == std::array<int64_t, 4>{3, 5, 1, 7});
}

TEST_CASE("Shapes: describe gives the canonical caption", "[data][shapes]") {
  const auto a = ShapesObject::of(ShapeKind::triangle, ShapeColour::red, ShapeSize::small, ShapePosition::top_left);
  const auto b = ShapesObject::of(ShapeKind::square, ShapeColour::blue, ShapeSize::large, ShapePosition::bottom);
  CHECK(Shapes::describe({a}) == "a small red triangle at the top left");
  CHECK(Shapes::describe({a, b}) == "a small red triangle at the top left and a large blue square at the bottom");
  CHECK(Shapes::parse(Shapes::describe({a, b})) == std::vector<ShapesObject>{a, b});
  for (uint64_t seed = 0; seed < 200; ++seed) CHECK(Shapes::parse(Shapes::describe({b, a}, seed)) == std::vector{b, a});
  CHECK_THROWS_AS(Shapes::describe({}), fresco::Error);
  CHECK_THROWS_AS(Shapes::describe({a, a}), fresco::Error);  // same position
  CHECK_THROWS_AS(Shapes::describe({a, b, ShapesObject{}}), fresco::Error);
  CHECK_THROWS_AS(Shapes::describe({ShapesObject{4, 0, 0, 0}}), fresco::Error);
  CHECK_THROWS_AS(Shapes::describe({ShapesObject{0, 6, 0, 0}}), fresco::Error);
  CHECK_THROWS_AS(Shapes::describe({ShapesObject{0, 0, -1, 0}}), fresco::Error);
  CHECK_THROWS_AS(Shapes::describe({ShapesObject{0, 0, 0, 9}}), fresco::Error);
}

TEST_CASE("Shapes: parse reads known captions", "[data][shapes]") {
  using V = std::vector<ShapesObject>;
  CHECK(Shapes::parse("a big violet disc in the middle") ==
        V{ShapesObject::of(ShapeKind::circle, ShapeColour::purple, ShapeSize::large, ShapePosition::center)});
  CHECK(Shapes::parse("in the lower left there is a tiny orange rhombus") ==
        V{ShapesObject::of(ShapeKind::diamond, ShapeColour::orange, ShapeSize::small, ShapePosition::bottom_left)});
  CHECK(Shapes::parse("there is a little green box on the right and a large yellow triangle at the top") ==
        V{ShapesObject::of(ShapeKind::square, ShapeColour::green, ShapeSize::small, ShapePosition::right),
          ShapesObject::of(ShapeKind::triangle, ShapeColour::yellow, ShapeSize::large, ShapePosition::top)});
  CHECK(Shapes::parse("an image of a small blue circle in the top right corner") ==
        V{ShapesObject::of(ShapeKind::circle, ShapeColour::blue, ShapeSize::small, ShapePosition::top_right)});
}

TEST_CASE("Shapes: parse round trip on every single-object caption", "[data][shapes]") {
  const auto captions = Shapes::all_captions();
  // 5 templates × 7 shape words × 7 colour words × 5 size words × 23 position phrases.
  CHECK(captions.size() == 5u * 7 * 7 * 5 * 23);
  CHECK(std::set<std::string>(captions.begin(), captions.end()).size() == captions.size());
  std::set<std::array<int64_t, 4>> seen;
  int failures = 0;
  for (const auto& c : captions) {
    const auto parsed = Shapes::parse(c);
    if (!parsed || parsed->size() != 1) {
      if (++failures < 5) FAIL_CHECK("not parsed: " << c);
      continue;
    }
    seen.insert(parsed->front().labels());
    // The parsed attributes name the words of the caption: the canonical
    // caption of the same object shares its shape and colour words when those have no synonyms.
    const auto& o = parsed->front();
    if (o.shape == int(ShapeKind::triangle)) CHECK(c.find("triangle") != std::string::npos);
    if (o.colour == int(ShapeColour::red)) CHECK(c.find("red") != std::string::npos);
  }
  CHECK(failures == 0);
  CHECK(seen.size() == 4u * 6 * 2 * 9);  // every attribute combination is reachable
}

TEST_CASE("Shapes: parse round trip on random two-object captions", "[data][shapes]") {
  int failures = 0;
  for (uint64_t seed = 0; seed < 5000; ++seed) {
    // Attributes from a simple LCG, independent of the library's generator.
    uint64_t s = seed * 6364136223846793005ull + 1442695040888963407ull;
    auto next = [&](int n) {
      s = s * 6364136223846793005ull + 1442695040888963407ull;
      return static_cast<int>((s >> 33) % static_cast<uint64_t>(n));
    };
    ShapesObject a{next(4), next(6), next(2), next(9)};
    ShapesObject b{next(4), next(6), next(2), (a.position + 1 + next(8)) % 9};
    const std::string caption = Shapes::describe({a, b}, seed);
    if (Shapes::parse(caption) != std::vector<ShapesObject>{a, b} && ++failures < 5)
      FAIL_CHECK("round trip failed: " << caption);
  }
  CHECK(failures == 0);
}

TEST_CASE("Shapes: parse rejects everything outside the grammar", "[data][shapes]") {
  const std::vector<std::string> bad = {
      "",
      " ",
      "a",
      "a small red circle",                              // no position
      "a red circle at the top left",                    // no size
      "small red circle at the top left",                // no article
      "a small red circle at the top left ",             // trailing space
      " a small red circle at the top left",             // leading space
      "a small red circle at the top  left",             // double space
      "a small red circle at the top left.",             // punctuation
      "A small red circle at the top left",              // uppercase
      "a small Red circle at the top left",              // uppercase
      "a small red circel at the top left",              // typo
      "a small pink circle at the top left",             // unknown colour
      "a small red hexagon at the top left",             // unknown shape
      "a medium red circle at the top left",             // unknown size
      "a small red circle at the upper middle",          // unknown position
      "a small red circle at the top left corner",       // corner needs "in the"
      "a small red circle in the left",                  // wrong preposition
      "a red small circle at the top left",              // word order
      "a small red circle at the top left and",          // dangling join
      "a small red circle at the top left and a",        // truncated second object
      "a small red circle at the top left and a big blue box at the top left",  // same position
      "a small red circle at the top and a big blue box at the bottom and a small red disc in the middle",
      "there is a small red circle at the top left and at the bottom there is a big blue box",  // mixed templates
      "a picture of a small red circle at the top left please",                                 // extra word
      "a picture a small red circle at the top left",                                           // missing word
      "there are a small red circle at the top left",
      "at the top left there is a small red circle at the top left",
      "a small red circle at the top left\n",
      "a small red circle at the top\tleft",
      "a small red circle at the top left and  a big blue box at the bottom",
      "an small red circle at the top left",
  };
  for (const auto& c : bad) {
    INFO("caption: '" << c << "'");
    CHECK_FALSE(Shapes::parse(c).has_value());
  }
  // A caption with one character changed is rejected (no two captions differ by a single letter
  // except through real words, which we avoid by mutating into '#').
  const std::string good = "at the bottom right there is a big purple diamond";
  REQUIRE(Shapes::parse(good).has_value());
  for (size_t i = 0; i < good.size(); ++i) {
    std::string m = good;
    m[i] = '#';
    CHECK_FALSE(Shapes::parse(m).has_value());
    CHECK_FALSE(Shapes::parse(good.substr(0, i)).has_value());
  }
}

TEST_CASE("Shapes: deterministic by seed, split and index", "[data][shapes]") {
  Shapes a({.size = 100, .seed = 7});
  Shapes b({.size = 100, .seed = 7});
  Shapes c({.size = 100, .seed = 8});
  Shapes t({.size = 100, .seed = 7, .split = "test"});
  int same_as_other_seed = 0, same_as_test = 0;
  for (int64_t i = 0; i < 100; ++i) {
    const auto sa = a.sample(i), sb = b.sample(i);
    CHECK(sa.pixels == sb.pixels);
    CHECK(sa.caption == sb.caption);
    CHECK(sa.objects == sb.objects);
    CHECK(a.caption(i) == sa.caption);
    CHECK(a.objects(i) == sa.objects);
    same_as_other_seed += c.sample(i).pixels == sa.pixels;
    same_as_test += t.sample(i).pixels == sa.pixels;
  }
  CHECK(same_as_other_seed == 0);
  CHECK(same_as_test == 0);
  // Random access: reading backwards gives the same samples.
  for (int64_t i = 99; i >= 90; --i) CHECK(Shapes({.size = 100, .seed = 7}).sample(i).pixels == a.sample(i).pixels);
  // Dataset size does not change sample i.
  CHECK(Shapes({.size = 5000, .seed = 7}).sample(42).caption == a.sample(42).caption);
  // Golden values (integer arithmetic only, so the same on every machine):
  // a change to the sampler or the grammar shows up here.
  // (Recorded again when the per-sample stream became a Generator seeded by mix_seed.)
  CHECK(a.caption(0) == "an image of a big green diamond at the bottom right");
  CHECK(a.caption(2) == "there is a large yellow circle in the bottom left corner");
}

TEST_CASE("Shapes: captions agree with the labels over 10,000 samples", "[data][shapes]") {
  Shapes train({.size = 10000, .seed = 3});
  int failures = 0, two = 0;
  std::set<std::string> distinct;
  std::array<int, 5> templates_seen{};
  for (int64_t i = 0; i < train.size(); ++i) {
    const auto objects = train.objects(i);
    const auto caption = train.caption(i);
    REQUIRE((objects.size() == 1 || objects.size() == 2));
    if (objects.size() == 2) {
      ++two;
      CHECK(objects[0].position != objects[1].position);
    }
    if (Shapes::parse(caption) != objects && ++failures < 5) FAIL_CHECK("disagree: " << caption);
    distinct.insert(caption);
    if (caption.starts_with("there is ")) ++templates_seen[1];
    else if (caption.starts_with("a picture of ")) ++templates_seen[2];
    else if (caption.starts_with("an image of ")) ++templates_seen[3];
    else if (caption.starts_with("a ")) ++templates_seen[0];
    else ++templates_seen[4];
  }
  CHECK(failures == 0);
  CHECK(two > 2700);  // 30% two-object scenes
  CHECK(two < 3300);
  CHECK(distinct.size() > 8000);
  for (int n : templates_seen) CHECK(n > 1700);
}

TEST_CASE("Shapes: held-out combinations stay out of training", "[data][shapes]") {
  Shapes train({.size = 10000, .seed = 11});
  Shapes test({.size = 2000, .seed = 11, .split = "test"});
  Shapes comp({.size = 2000, .seed = 11, .split = "compositional"});
  std::set<std::pair<int, int>> train_pairs;
  for (int64_t i = 0; i < train.size(); ++i) {
    const auto objects = train.objects(i);
    CHECK_FALSE(has_held_out(objects));
    CHECK_FALSE(train.is_held_out(objects));
    for (const auto& o : objects) train_pairs.insert({o.colour, o.shape});
  }
  CHECK(train_pairs.size() == 6 * 4 - 3);  // every other pairing is seen
  for (int64_t i = 0; i < test.size(); ++i) CHECK_FALSE(has_held_out(test.objects(i)));
  std::set<std::pair<int, int>> comp_pairs;
  for (int64_t i = 0; i < comp.size(); ++i) {
    const auto objects = comp.objects(i);
    CHECK(has_held_out(objects));
    CHECK(comp.is_held_out(objects));
    CHECK(Shapes::parse(comp.caption(i)) == objects);
    for (const auto& o : objects)
      if (has_held_out({o})) comp_pairs.insert({o.colour, o.shape});
  }
  CHECK(comp_pairs.size() == 3);

  // Custom held-out set, and invalid options.
  Shapes custom({.size = 2000, .held_out = {{int(ShapeColour::green), int(ShapeKind::diamond)}}});
  for (int64_t i = 0; i < custom.size(); ++i)
    for (const auto& o : custom.objects(i))
      CHECK_FALSE((o.colour == int(ShapeColour::green) && o.shape == int(ShapeKind::diamond)));
  CHECK(has_held_out(custom.objects(0)) == has_held_out(custom.objects(0)));
  CHECK_THROWS_AS(Shapes({.split = "compositional", .held_out = {}}), fresco::Error);
  CHECK_THROWS_AS(Shapes({.held_out = {{6, 0}}}), fresco::Error);
  CHECK_THROWS_AS(Shapes({.split = "valid"}), fresco::Error);
  CHECK_THROWS_AS(Shapes({.image_size = 8}), fresco::Error);
  CHECK_THROWS_AS(Shapes({.size = -1}), fresco::Error);
  CHECK_THROWS_AS(Shapes({.two_object_fraction = 1.5f}), fresco::Error);
  CHECK_THROWS_AS(Shapes({.size = 10}).sample(10), fresco::Error);
  CHECK_THROWS_AS(Shapes({.size = 10}).caption(-1), fresco::Error);
  std::vector<fresco::data::ShapesCombination> all;
  for (int c = 0; c < 6; ++c)
    for (int s = 0; s < 4; ++s) all.push_back({c, s});
  CHECK_THROWS_AS(Shapes({.held_out = all}), fresco::Error);
  CHECK_NOTHROW(Shapes({.split = "compositional", .held_out = all}));
}

TEST_CASE("Shapes: pixels show the captioned objects", "[data][shapes]") {
  for (int64_t n : {32, 64}) {
    INFO("image size " << n);
    Shapes data({.image_size = n, .size = n == 32 ? 2000 : 500, .seed = 5});
    int colour_ok = 0, objects_total = 0;
    double small_area = 0, large_area = 0;
    int small_count = 0, large_count = 0;
    for (int64_t i = 0; i < data.size(); ++i) {
      const auto s = data.sample(i);
      REQUIRE(s.pixels.size() == static_cast<size_t>(3 * n * n));
      const auto [lo, hi] = std::minmax_element(s.pixels.begin(), s.pixels.end());
      CHECK(*lo >= 0.f);
      CHECK(*hi <= 1.f);
      std::set<int> occupied;
      const auto cells = covered(s.pixels, n);
      for (const auto& o : s.objects) {
        ++objects_total;
        occupied.insert(o.position);
        // Not the cell's centre: jitter can put a tiny triangle's edge there.
        const auto [y, x] = strongest_pixel(s.pixels, o.position, n);
        colour_ok += nearest_colour(pixel(s.pixels, n, 0, y, x), pixel(s.pixels, n, 1, y, x),
                                    pixel(s.pixels, n, 2, y, x)) == o.colour;
        const int area = cells[static_cast<size_t>(o.position)];
        if (o.size == 0) small_area += area, ++small_count;
        else large_area += area, ++large_count;
      }
      // Cells without an object are background.
      for (int p = 0; p < 9; ++p)
        if (!occupied.count(p)) CHECK(cells[static_cast<size_t>(p)] == 0);
    }
    CHECK(colour_ok == objects_total);
    // Large objects cover about (0.12 / 0.085)^2 = 2 times the area of small ones.
    const double ratio = (large_area / large_count) / (small_area / small_count);
    CHECK(ratio > 1.6);
    CHECK(ratio < 2.5);
    // Objects fill a sensible share of their cell.
    CHECK(large_area / large_count > 0.3 * (n / 3) * (n / 3));
  }
}

TEST_CASE("Shapes: anti-aliased edges", "[data][shapes]") {
  // A large circle at the center: pixels on its rim take values between the
  // background and the colour.
  const auto o = ShapesObject::of(ShapeKind::circle, ShapeColour::green, ShapeSize::large, ShapePosition::center);
  const auto px = Shapes::render({o}, 32, 1);
  int partial = 0;
  for (int64_t i = 0; i < 32 * 32; ++i) {
    const float g = px[static_cast<size_t>(32 * 32 + i)];  // green plane
    if (g > kBackground + 0.05f && g < 0.75f) ++partial;
  }
  CHECK(partial >= 12);
  CHECK(Shapes::render({o}, 32, 1) == px);
  CHECK(Shapes::render({o}, 32, 2) != px);
  CHECK_THROWS_AS(Shapes::render({o}, 4, 1), fresco::Error);
}

TEST_CASE("Shapes: image tensor", "[data][shapes][tensor]") {
  Shapes data({.image_size = 64, .size = 3});
  const fresco::Tensor x = data.image(2);
  CHECK(x.shape() == fresco::Shape{3, 64, 64});
  CHECK(x.to_vector() == data.sample(2).pixels);
}
