// SPDX-License-Identifier: Apache-2.0
// data::Shapes: options, splits and the drawing of each sample's attributes.
// Sample i draws everything from its own stream, seeded by (seed, split, i),
// in a fixed order: object count, attributes, caption words, jitter. The
// caption and labels of a sample therefore cost no rendering, and any sample
// can be read without the ones before it.

#include <algorithm>

#include <fresco/data/shapes.hpp>
#include <fresco/error.hpp>

#include "data/shapes_internal.hpp"

namespace fresco::data {

std::vector<ShapesCombination> shapes_default_held_out() {
  return {
      {static_cast<int>(ShapeColour::red), static_cast<int>(ShapeKind::triangle)},
      {static_cast<int>(ShapeColour::blue), static_cast<int>(ShapeKind::circle)},
      {static_cast<int>(ShapeColour::yellow), static_cast<int>(ShapeKind::square)},
  };
}

namespace {

int split_id(const std::string& split) {
  if (split == "train") return 0;
  if (split == "test") return 1;
  if (split == "compositional") return 2;
  throw Error(fmt::format("Shapes: split must be \"train\", \"test\" or \"compositional\", got \"{}\"", split));
}

void check_image_size(int64_t image_size) {
  FRESCO_CHECK(image_size >= 16 && image_size <= 256, "Shapes: image_size must be in [16, 256] (32 or 64), got {}",
               image_size);
}

}  // namespace

struct Shapes::Plan {
  std::vector<ShapesObject> objects;
  std::string caption;
  detail::ShapesRng rng{0};  // positioned after the caption: the jitter comes next
};

Shapes::Shapes(ShapesOptions options) : options_(std::move(options)) {
  check_image_size(options_.image_size);
  FRESCO_CHECK(options_.size >= 0, "Shapes: size must be >= 0, got {}", options_.size);
  FRESCO_CHECK(options_.two_object_fraction >= 0.f && options_.two_object_fraction <= 1.f,
               "Shapes: two_object_fraction must be in [0, 1], got {}", options_.two_object_fraction);
  split_id_ = split_id(options_.split);
  std::vector<ShapesCombination> held;
  for (const ShapesCombination& h : options_.held_out) {
    FRESCO_CHECK(h.colour >= 0 && h.colour < kShapesNumColours && h.shape >= 0 && h.shape < kShapesNumShapes,
                 "Shapes: held-out combination (colour {}, shape {}) is out of range ({} colours, {} shapes)",
                 h.colour, h.shape, kShapesNumColours, kShapesNumShapes);
    if (std::find(held.begin(), held.end(), h) == held.end()) held.push_back(h);
  }
  options_.held_out = held;
  for (int c = 0; c < kShapesNumColours; ++c)
    for (int s = 0; s < kShapesNumShapes; ++s)
      if (std::find(held.begin(), held.end(), ShapesCombination{c, s}) == held.end()) allowed_.push_back({c, s});
  if (split_id_ == 2)
    FRESCO_CHECK(!held.empty(), "Shapes: the compositional split needs at least one held-out combination");
  else
    FRESCO_CHECK(!allowed_.empty(), "Shapes: every (colour, shape) combination is held out; the {} split is empty",
                 options_.split);
}

Shapes::Plan Shapes::plan(int64_t i) const {
  FRESCO_CHECK(i >= 0 && i < options_.size, "Shapes: sample index {} is out of range [0, {})", i, options_.size);
  Plan p;
  p.rng = detail::ShapesRng(
      mix_seed(mix_seed(options_.seed, static_cast<uint64_t>(split_id_)), static_cast<uint64_t>(i)));
  detail::ShapesRng& rng = p.rng;
  const int count = rng.uniform() < options_.two_object_fraction ? 2 : 1;
  // The object that carries the held-out combination in a compositional scene.
  const int held_slot = count == 2 ? rng.below(2) : 0;
  const int first_position = rng.below(kShapesNumPositions);
  for (int k = 0; k < count; ++k) {
    ShapesObject o;
    if (k == 0) {
      o.position = first_position;
    } else {
      o.position = rng.below(kShapesNumPositions - 1);
      if (o.position >= first_position) ++o.position;
    }
    o.size = rng.below(kShapesNumSizes);
    ShapesCombination pair;
    if (split_id_ != 2) {
      pair = allowed_[rng.below(static_cast<int>(allowed_.size()))];
    } else if (k == held_slot) {
      pair = options_.held_out[rng.below(static_cast<int>(options_.held_out.size()))];
    } else {
      pair = {rng.below(kShapesNumColours), rng.below(kShapesNumShapes)};
    }
    o.colour = pair.colour;
    o.shape = pair.shape;
    p.objects.push_back(o);
  }
  p.caption = detail::shapes_caption(p.objects, rng);
  return p;
}

ShapesSample Shapes::sample(int64_t i) const {
  Plan p = plan(i);
  ShapesSample s;
  detail::shapes_draw(s.pixels, options_.image_size, detail::shapes_layout(p.objects, options_.image_size, p.rng));
  s.caption = std::move(p.caption);
  s.objects = std::move(p.objects);
  return s;
}

Tensor Shapes::image(int64_t i) const {
  const int64_t n = options_.image_size;
  return tensor(sample(i).pixels, {3, n, n});
}

std::string Shapes::caption(int64_t i) const { return plan(i).caption; }

std::vector<ShapesObject> Shapes::objects(int64_t i) const { return plan(i).objects; }

bool Shapes::is_held_out(const std::vector<ShapesObject>& objects) const {
  return std::any_of(objects.begin(), objects.end(), [&](const ShapesObject& o) {
    return std::find(options_.held_out.begin(), options_.held_out.end(), ShapesCombination{o.colour, o.shape}) !=
           options_.held_out.end();
  });
}

std::vector<float> Shapes::render(const std::vector<ShapesObject>& objects, int64_t image_size, uint64_t seed) {
  check_objects(objects);
  check_image_size(image_size);
  detail::ShapesRng rng(mix_seed(seed, 0x5a4e5ull));
  std::vector<float> pixels;
  detail::shapes_draw(pixels, image_size, detail::shapes_layout(objects, image_size, rng));
  return pixels;
}

Example ShapesDataset::get(int64_t i) const {
  ShapesSample s = shapes_.sample(i);
  const int64_t n = shapes_.image_size();
  std::vector<int64_t> labels;
  for (const ShapesObject& o : s.objects) {
    const auto l = o.labels();
    labels.insert(labels.end(), l.begin(), l.end());
  }
  return {tensor(std::move(s.pixels), {3, n, n}), std::move(s.caption), std::move(labels)};
}

}  // namespace fresco::data
