// SPDX-License-Identifier: Apache-2.0
// eval::augment_images keeps every Shapes label over many random draws (the
// object's centre stays in its cell, small objects stay smaller than large
// ones, the colour stays nearest its class hue); perturb_images on hand-built
// images; option checks.
#include "support/check.hpp"

#include <algorithm>
#include <cmath>

#include <fresco/eval/augment.hpp>

using fresco::Tensor;
namespace eval = fresco::eval;
namespace data = fresco::data;

namespace {

constexpr int64_t kSide = 32;

// What an image shows of its one object: where its mass is, how much of it
// there is, and the hue of its most covered pixels.
struct Seen {
  double cx = 0, cy = 0;  // centroid of the mass, pixels (pixel x covers [x, x + 1))
  double area = 0;        // total mass over the largest pixel mass
  double hue = 0;         // degrees, of the mean colour of pixels with half the largest mass or more
};

Seen look(const float* p) {
  const int64_t plane = kSide * kSide;
  // The background: the median of each channel (the object covers a small part).
  float bg[3];
  for (int c = 0; c < 3; ++c) {
    std::vector<float> v(p + c * plane, p + (c + 1) * plane);
    std::nth_element(v.begin(), v.begin() + plane / 2, v.end());
    bg[c] = v[plane / 2];
  }
  std::vector<double> mass(static_cast<size_t>(plane));
  double peak = 0;
  for (int64_t i = 0; i < plane; ++i) {
    double m = 0;
    for (int c = 0; c < 3; ++c) m += std::fabs(p[c * plane + i] - bg[c]);
    mass[i] = m > 0.3 ? m : 0;  // below: background noise
    peak = std::max(peak, mass[i]);
  }
  Seen s;
  double total = 0, rgb[3] = {0, 0, 0};
  for (int64_t i = 0; i < plane; ++i) {
    total += mass[i];
    s.cx += mass[i] * (static_cast<double>(i % kSide) + 0.5);
    s.cy += mass[i] * (static_cast<double>(i / kSide) + 0.5);
    if (mass[i] >= 0.5 * peak)
      for (int c = 0; c < 3; ++c) rgb[c] += p[c * plane + i];
  }
  s.cx /= total;
  s.cy /= total;
  s.area = total / peak;
  const double mx = std::max({rgb[0], rgb[1], rgb[2]}), mn = std::min({rgb[0], rgb[1], rgb[2]}), d = mx - mn;
  double h = mx == rgb[0] ? std::fmod((rgb[1] - rgb[2]) / d, 6.0) : mx == rgb[1] ? (rgb[2] - rgb[0]) / d + 2
                                                                                 : (rgb[0] - rgb[1]) / d + 4;
  h *= 60;
  s.hue = h < 0 ? h + 360 : h;
  return s;
}

// The class hue nearest `hue` (the renderer's: red 0, green 120, blue 220, yellow 55, purple 280, orange 28).
int nearest_colour(double hue) {
  const double class_hue[6] = {0, 120, 220, 55, 280, 28};
  int best = 0;
  double best_d = 1e9;
  for (int c = 0; c < 6; ++c) {
    double d = std::fabs(hue - class_hue[c]);
    d = std::min(d, 360 - d);
    if (d < best_d) best_d = d, best = c;
  }
  return best;
}

// `count` single-object test scenes [count, 3, 32, 32] and their objects.
std::pair<Tensor, std::vector<data::ShapesObject>> scenes(int64_t count, uint64_t seed) {
  const data::Shapes shapes({.size = count, .seed = seed, .split = "test", .two_object_fraction = 0.f});
  std::vector<Tensor> images;
  std::vector<data::ShapesObject> objects;
  for (int64_t i = 0; i < count; ++i) {
    images.push_back(shapes.image(i));
    objects.push_back(shapes.objects(i)[0]);
  }
  return {fresco::stack(images, 0), objects};
}

}  // namespace

TEST_CASE("augment: the object stays in its cell and keeps its colour class", "[eval][augment]") {
  const auto [clean, objects] = scenes(600, 21);
  // Every group on every image, amounts drawn up to the defaults' maxima.
  eval::AugmentOptions o{.enabled = true, .probability = 1.f};
  fresco::Generator g(5);
  int colour_kept = 0;
  double worst_margin = 1e9;
  for (int draw = 0; draw < 2; ++draw) {
    const Tensor x = eval::augment_images(clean, o, g).contiguous();
    REQUIRE(x.shape() == clean.shape());
    for (size_t n = 0; n < objects.size(); ++n) {
      const Seen s = look(x.data() + static_cast<int64_t>(n) * 3 * kSide * kSide);
      const int row = objects[n].position / 3, col = objects[n].position % 3;
      const double cell = kSide / 3.0;
      const double margin = std::min({s.cx - col * cell, (col + 1) * cell - s.cx, s.cy - row * cell,
                                      (row + 1) * cell - s.cy});
      worst_margin = std::min(worst_margin, margin);
      INFO("scene " << n << " draw " << draw << ": centroid (" << s.cx << ", " << s.cy << "), position "
                    << objects[n].position);
      CHECK(margin > 1.0);
      colour_kept += nearest_colour(s.hue) == objects[n].colour;
    }
  }
  INFO("worst centroid margin to the cell border " << worst_margin << " px");
  // Blur, contrast and brightness keep a hue; the per-channel gains move it by a few degrees.
  CHECK(colour_kept == 2 * static_cast<int>(objects.size()));
  // Within range: pixels stay in [0, 1].
  const Tensor x = eval::augment_images(clean, o, g);
  const auto v = x.to_vector();
  CHECK(*std::min_element(v.begin(), v.end()) >= 0.f);
  CHECK(*std::max_element(v.begin(), v.end()) <= 1.f);
}

TEST_CASE("augment: at the largest scale change a small object stays smaller than a large one", "[eval][augment]") {
  const auto [clean, objects] = scenes(400, 22);
  // Geometry alone (no blur or noise to smear the area), on every image.
  eval::AugmentOptions o{.enabled = true, .probability = 1.f};
  eval::AugmentOptions geometry = o;
  geometry.max_blur_sigma = geometry.brightness = geometry.contrast = geometry.channel_gain = geometry.max_noise = 0.f;
  fresco::Generator g(6);
  // Per shape: the largest small area and the smallest large area.
  double small_max[4] = {0, 0, 0, 0}, large_min[4] = {1e9, 1e9, 1e9, 1e9};
  for (int draw = 0; draw < 3; ++draw) {
    const Tensor x = eval::augment_images(clean, geometry, g).contiguous();
    for (size_t n = 0; n < objects.size(); ++n) {
      const double area = look(x.data() + static_cast<int64_t>(n) * 3 * kSide * kSide).area;
      const int shape = objects[n].shape;
      if (objects[n].size == 0) small_max[shape] = std::max(small_max[shape], area);
      else large_min[shape] = std::min(large_min[shape], area);
    }
  }
  for (int shape = 0; shape < 4; ++shape) {
    INFO("shape " << shape << ": largest small area " << small_max[shape] << ", smallest large " << large_min[shape]);
    CHECK(small_max[shape] > 0);
    CHECK(small_max[shape] < large_min[shape]);
  }
}

TEST_CASE("augment: off returns the input; a fixed seed repeats; bad options throw", "[eval][augment]") {
  const Tensor x = fresco::rand({4, 3, 32, 32});
  fresco::Generator g(1);
  CHECK(eval::augment_images(x, {}, g).to_vector() == x.to_vector());
  fresco::Generator a(9), b(9);
  const eval::AugmentOptions on{.enabled = true};
  CHECK(eval::augment_images(x, on, a).to_vector() == eval::augment_images(x, on, b).to_vector());
  CHECK(eval::augment_images(x, on, a).to_vector() != x.to_vector());
  CHECK_THROWS_WITH(eval::augment_images(x, {.enabled = true, .probability = 1.5f}, g),
                    Catch::Contains("probability in [0, 1]"));
  CHECK_THROWS_WITH(eval::augment_images(x, {.enabled = true, .max_scale = 0.6f}, g),
                    Catch::Contains("max_scale in [0, 0.5)"));
  CHECK_THROWS_WITH(eval::augment_images(x, {.enabled = true, .brightness = 1.f}, g),
                    Catch::Contains("brightness, contrast and channel_gain in [0, 1)"));
  CHECK_THROWS_AS(eval::augment_images(fresco::rand({3, 32, 32}), on, g), fresco::ShapeError);
  // train_classifier checks them before its first step.
  eval::Classifier clf({.channels = 3, .image_size = 16, .heads = {2}, .width = 2, .feature_dim = 4});
  auto ds = std::make_shared<data::ShapesDataset>(data::Shapes({.image_size = 16, .size = 8, .two_object_fraction = 0.f}));
  CHECK_THROWS_WITH(eval::train_classifier(clf, ds, ds, {.batch_size = 4, .augment = {.enabled = true, .max_noise = -1}, .max_steps = 1}),
                    Catch::Contains("max_noise >= 0"));
}

TEST_CASE("augment: fixed perturbations on hand-built images", "[eval][augment]") {
  // One white pixel at (x 10, y 12) on black, in every channel.
  Tensor dot = fresco::zeros({1, 3, 32, 32});
  for (int c = 0; c < 3; ++c) dot.data()[(c * 32 + 12) * 32 + 10] = 1.f;
  CHECK(eval::perturb_images(dot, eval::Perturbation::clean, 0).to_vector() == dot.to_vector());
  // Shifted by 2 px along each axis: the pixel lands 2 away in x and in y, whole.
  const Tensor shifted = eval::perturb_images(dot, eval::Perturbation::shifted, 3).contiguous();
  int found = 0;
  for (int y = 0; y < 32; ++y)
    for (int x = 0; x < 32; ++x)
      if (shifted.data()[y * 32 + x] > 0.99f) {
        ++found;
        CHECK(std::abs(x - 10) == 2);
        CHECK(std::abs(y - 12) == 2);
      }
  CHECK(found == 1);
  // Blurred: the mass is kept (far from the border), the peak is the kernel's centre squared, neighbours equal.
  const Tensor blurred = eval::perturb_images(dot, eval::Perturbation::blurred, 0).contiguous();
  double sum = 0;
  for (int i = 0; i < 32 * 32; ++i) sum += blurred.data()[i];
  CHECK(sum == Approx(1.0).epsilon(1e-4));
  const float* b = blurred.data();
  CHECK(b[12 * 32 + 10] == Approx(0.15925).epsilon(0.001));  // (1 / sum_k e^{-k^2/2}, k = -3..3)^2
  CHECK(b[12 * 32 + 9] == Approx(b[12 * 32 + 11]));
  CHECK(b[11 * 32 + 10] == Approx(b[13 * 32 + 10]));
  // Softened: a flat image stays flat; the dot spreads but keeps its mass.
  const Tensor flat = fresco::full({2, 3, 32, 32}, 0.25f);
  for (float v : eval::perturb_images(flat, eval::Perturbation::softened, 0).to_vector()) CHECK(v == Approx(0.25f));
  // Noised: on mid grey, zero mean and a spread of 0.06.
  const Tensor grey = fresco::full({4, 3, 32, 32}, 0.5f);
  const auto noised = eval::perturb_images(grey, eval::Perturbation::noised, 1).to_vector();
  double m = 0, v2 = 0;
  for (float v : noised) m += v - 0.5;
  m /= static_cast<double>(noised.size());
  for (float v : noised) v2 += (v - 0.5 - m) * (v - 0.5 - m);
  CHECK(std::fabs(m) < 0.005);
  CHECK(std::sqrt(v2 / static_cast<double>(noised.size())) == Approx(0.06).epsilon(0.05));
  // Coloured: every channel of a flat image scaled by 0.9 or 1.1 times a gain in 0.95..1.05.
  const auto coloured = eval::perturb_images(grey, eval::Perturbation::coloured, 2).to_vector();
  for (float v : coloured) {
    CHECK(v >= 0.5f * 0.9f * 0.95f - 1e-5f);
    CHECK(v <= 0.5f * 1.1f * 1.05f + 1e-5f);
    CHECK(std::fabs(v - 0.5f) > 0.5f * 0.04f);
  }
  CHECK(eval::all_perturbations().size() == 6);
  CHECK(eval::perturbation_name(eval::Perturbation::softened) == "softened");
}

TEST_CASE("augment: perturbed Shapes scenes keep their objects and their count", "[eval][augment]") {
  const data::Shapes shapes({.size = 20, .seed = 4, .split = "test", .two_object_fraction = 0.f});
  const auto sets = eval::perturbed_shapes_scenes(shapes, 20, 1);
  REQUIRE(sets.size() == 7);
  CHECK(sets.front().name == "clean");
  CHECK(sets.back().name == "supersampled");
  for (const auto& s : sets) CHECK(s.images.shape() == fresco::Shape{20, 3, 32, 32});
  // The supersampled render is the same scene: its centroid within a fraction of a pixel of the clean one.
  const Tensor clean = sets.front().images.contiguous(), fine = sets.back().images.contiguous();
  for (int64_t n = 0; n < 20; ++n) {
    const Seen a = look(clean.data() + n * 3 * kSide * kSide), b = look(fine.data() + n * 3 * kSide * kSide);
    CHECK(std::fabs(a.cx - b.cx) < 0.3);
    CHECK(std::fabs(a.cy - b.cy) < 0.3);
  }
  CHECK_THROWS_WITH(eval::perturbed_shapes_scenes(shapes, 21, 1), Catch::Contains("1 <= count <= 20"));
}
