// SPDX-License-Identifier: Apache-2.0
// data::MovingShapes: attributes, trajectories, the motion grammar and the
// frames of each clip. Clip i draws everything from its own stream, seeded by
// (seed, split, i), in a fixed order: object count, attributes, trajectories
// (redrawn until two objects never touch), caption words, then each object's
// size and colour jitter. Captions and labels therefore cost no rendering.
// The shape, colour and size words and the rasteriser are those of Shapes.

#include <algorithm>
#include <cmath>
#include <string_view>
#include <unordered_map>

#include <fresco/data/moving_shapes.hpp>
#include <fresco/error.hpp>

#include "data/shapes_internal.hpp"

namespace fresco::data {
namespace {

using detail::ShapesRng;
using detail::Words;

// Verb and path of each motion's phrasings; the speed adverb goes between them.
struct Phrase {
  std::string verb, path;
};
const std::vector<std::vector<Phrase>>& motion_phrases() {
  static const std::vector<std::vector<Phrase>> p = {
      {{"moves", "from left to right"}, {"moves", "to the right"}},
      {{"moves", "from right to left"}, {"moves", "to the left"}},
      {{"moves", "up"}, {"moves", "from bottom to top"}},
      {{"moves", "down"}, {"moves", "from top to bottom"}},
      {{"moves", "towards the top right"}, {"moves", "to the upper right"}},
      {{"moves", "towards the top left"}, {"moves", "to the upper left"}},
      {{"moves", "towards the bottom right"}, {"moves", "to the lower right"}},
      {{"moves", "towards the bottom left"}, {"moves", "to the lower left"}},
      {{"bounces", "left and right"}, {"bounces", "from side to side"}},
      {{"bounces", "up and down"}},
  };
  return p;
}
// Adverbs by speed class; the empty one (fast) is canonical.
const Words& speed_words() {
  static const Words w = {{"slowly"}, {"", "quickly"}};
  return w;
}

// Per motion: the direction on x and y (+1 right / down, -1 left / up, 0 still)
// and the axis that bounces (-1 none, 0 x, 1 y).
struct Movement {
  int dx, dy, bounce_axis;
};
constexpr Movement kMovements[kMovingShapesNumMotions] = {
    {1, 0, -1},  {-1, 0, -1}, {0, -1, -1}, {0, 1, -1}, {1, -1, -1},
    {-1, -1, -1}, {1, 1, -1},  {-1, 1, -1}, {0, 0, 0},  {0, 0, 1},
};
// The share of the free span an object travels over the clip, by speed class;
// motion_of splits the two at their midpoint.
constexpr float kTravel[kMovingShapesNumSpeeds] = {0.35f, 0.7f};
constexpr int kSeparationTries = 32;
// tan(22.5 deg): the slope between a straight direction and a diagonal, where motion_of's reading turns.
constexpr float kDiagonalSlope = 0.41421356f;
constexpr std::string_view kJoin = " and ";
constexpr std::string_view kNextClause = " and a ";

std::string clause(const std::string& size, const std::string& colour, const std::string& shape,
                   const Phrase& phrase, const std::string& adverb) {
  std::string c = "a " + size + " " + colour + " " + shape + " " + phrase.verb;
  if (!adverb.empty()) c += " " + adverb;
  return c + " " + phrase.path;
}

// Calls f(clause, object) for every clause of the grammar.
template <class F>
void for_each_clause(F&& f) {
  for (int z = 0; z < kShapesNumSizes; ++z)
    for (const auto& size : detail::size_words()[z])
      for (int c = 0; c < kShapesNumColours; ++c)
        for (const auto& colour : detail::colour_words()[c])
          for (int s = 0; s < kShapesNumShapes; ++s)
            for (const auto& shape : detail::shape_words()[s])
              for (int m = 0; m < kMovingShapesNumMotions; ++m)
                for (const Phrase& phrase : motion_phrases()[m])
                  for (int v = 0; v < kMovingShapesNumSpeeds; ++v)
                    for (const auto& adverb : speed_words()[v])
                      f(clause(size, colour, shape, phrase, adverb), MovingShapesObject{s, c, z, m, v});
}

const std::unordered_map<std::string, MovingShapesObject>& clause_map() {
  static const auto map = [] {
    std::unordered_map<std::string, MovingShapesObject> m;
    for_each_clause([&](std::string text, const MovingShapesObject& o) { m.emplace(std::move(text), o); });
    return m;
  }();
  return map;
}

std::string caption_of(const std::vector<MovingShapesObject>& objects, ShapesRng& rng) {
  auto pick = [&](const auto& synonyms) -> const auto& { return synonyms[rng.below(static_cast<int>(synonyms.size()))]; };
  std::string caption;
  for (size_t k = 0; k < objects.size(); ++k) {
    const MovingShapesObject& o = objects[k];
    const std::string& size = pick(detail::size_words()[o.size]);
    const std::string& colour = pick(detail::colour_words()[o.colour]);
    const std::string& shape = pick(detail::shape_words()[o.shape]);
    const Phrase& phrase = pick(motion_phrases()[o.motion]);
    const std::string& adverb = pick(speed_words()[o.speed]);
    if (k > 0) caption += kJoin;
    caption += clause(size, colour, shape, phrase, adverb);
  }
  return caption;
}

int split_id(const std::string& split) {
  if (split == "train") return 0;
  if (split == "test") return 1;
  if (split == "compositional") return 2;
  throw Error(fmt::format("MovingShapes: split must be \"train\", \"test\" or \"compositional\", got \"{}\"", split));
}

// The free range of an object's centre on either axis: [reach, S - reach].
struct Range {
  float lo, hi;
  float span() const { return hi - lo; }
};
Range free_range(int size, int64_t image_size) {
  const float reach = detail::shapes_reach(size, image_size);
  return {reach, static_cast<float>(image_size) - reach};
}

// One axis of a trajectory: still (direction 0), straight, or a bounce.
std::vector<float> axis_path(int direction, bool bounce, float travel, Range r, int64_t frames, ShapesRng& rng) {
  std::vector<float> v(static_cast<size_t>(frames));
  const int64_t last = frames - 1, turn = last / 2;   // a bounce reaches its far end at frame `turn`
  if (!bounce && direction == 0) {
    std::fill(v.begin(), v.end(), rng.uniform(r.lo, r.hi));
    return v;
  }
  if (bounce) direction = rng.below(2) == 0 ? 1 : -1;   // which end it starts at
  const float start = direction > 0 ? rng.uniform(r.lo, r.hi - travel) : rng.uniform(r.lo + travel, r.hi);
  for (int64_t t = 0; t < frames; ++t) {
    // 0 -> 1 at constant speed, or 0 -> 1 -> 0 (out in `turn` frames, back in the rest).
    const float along = !bounce     ? static_cast<float>(t) / static_cast<float>(last)
                        : t <= turn ? static_cast<float>(t) / static_cast<float>(turn)
                                    : static_cast<float>(last - t) / static_cast<float>(last - turn);
    v[static_cast<size_t>(t)] = start + static_cast<float>(direction) * travel * along;
  }
  return v;
}

std::vector<std::array<float, 2>> trajectory(const MovingShapesObject& o, int64_t image_size, int64_t frames,
                                             ShapesRng& rng) {
  const Movement& m = kMovements[o.motion];
  const Range r = free_range(o.size, image_size);
  const float travel = kTravel[o.speed] * r.span();
  const auto x = axis_path(m.dx, m.bounce_axis == 0, travel, r, frames, rng);
  const auto y = axis_path(m.dy, m.bounce_axis == 1, travel, r, frames, rng);
  std::vector<std::array<float, 2>> c(static_cast<size_t>(frames));
  for (size_t t = 0; t < c.size(); ++t) c[t] = {x[t], y[t]};
  return c;
}

bool apart(const std::vector<MovingShapesObject>& objects, const std::vector<std::vector<std::array<float, 2>>>& c,
           int64_t image_size) {
  if (objects.size() < 2) return true;
  const float min_distance =
      detail::shapes_reach(objects[0].size, image_size) + detail::shapes_reach(objects[1].size, image_size);
  // Each object's pixels lie in the square of half-side `reach` about its centre: the squares must not meet.
  for (size_t t = 0; t < c[0].size(); ++t)
    if (std::max(std::fabs(c[0][t][0] - c[1][t][0]), std::fabs(c[0][t][1] - c[1][t][1])) <= min_distance) return false;
  return true;
}

// Trajectories of the objects that keep them apart, in at most kSeparationTries draws; false when none did.
bool trajectories(const std::vector<MovingShapesObject>& objects, int64_t image_size, int64_t frames, ShapesRng& rng,
                  std::vector<std::vector<std::array<float, 2>>>& centres) {
  for (int attempt = 0; attempt < kSeparationTries; ++attempt) {
    centres.clear();
    for (const auto& o : objects) centres.push_back(trajectory(o, image_size, frames, rng));
    if (apart(objects, centres, image_size)) return true;
  }
  return false;
}

// Draws frames of objects with the given centres; the appearance jitter comes from `rng`.
std::vector<float> draw_clip(const std::vector<MovingShapesObject>& objects,
                             const std::vector<std::vector<std::array<float, 2>>>& centres, int64_t image_size,
                             int64_t frames, ShapesRng& rng, int64_t only_frame = -1) {
  const int64_t frame = 3 * image_size * image_size;
  std::vector<detail::ShapesGeometry> look;
  for (const auto& o : objects) look.push_back(detail::shapes_appearance(o.shape, o.colour, o.size, image_size, rng));
  const int64_t first = only_frame >= 0 ? only_frame : 0, last = only_frame >= 0 ? only_frame + 1 : frames;
  std::vector<float> out(static_cast<size_t>((last - first) * frame)), pixels;
  for (int64_t t = first; t < last; ++t) {
    for (size_t k = 0; k < look.size(); ++k) {
      look[k].cx = centres[k][static_cast<size_t>(t)][0];
      look[k].cy = centres[k][static_cast<size_t>(t)][1];
    }
    detail::shapes_draw(pixels, image_size, look);
    std::copy(pixels.begin(), pixels.end(), out.begin() + (t - first) * frame);
  }
  return out;
}

struct Triple {
  int shape, colour, motion;
};

}  // namespace

std::vector<MovingShapesCombination> moving_shapes_default_held_out() {
  using A = MovingShapesCombination::Attribute;
  return {
      {A::shape, static_cast<int>(ShapeKind::circle), static_cast<int>(ShapeMotion::down)},
      {A::shape, static_cast<int>(ShapeKind::triangle), static_cast<int>(ShapeMotion::bounce_horizontal)},
      {A::colour, static_cast<int>(ShapeColour::red), static_cast<int>(ShapeMotion::up_right)},
      {A::colour, static_cast<int>(ShapeColour::green), static_cast<int>(ShapeMotion::right_to_left)},
  };
}

struct MovingShapes::Plan {
  std::vector<MovingShapesObject> objects;
  std::vector<std::vector<std::array<float, 2>>> centres;
  std::string caption;
  ShapesRng rng{0};   // positioned after the caption: the appearance jitter comes next
};

MovingShapes::MovingShapes(MovingShapesOptions options) : options_(std::move(options)) {
  FRESCO_CHECK(options_.image_size >= 16 && options_.image_size <= 256,
               "MovingShapes: image_size must be in [16, 256], got {}", options_.image_size);
  FRESCO_CHECK(options_.frames >= 3 && options_.frames <= 16, "MovingShapes: frames must be in [3, 16], got {}",
               options_.frames);
  FRESCO_CHECK(options_.size >= 0, "MovingShapes: size must be >= 0, got {}", options_.size);
  FRESCO_CHECK(options_.two_object_fraction >= 0.f && options_.two_object_fraction <= 1.f,
               "MovingShapes: two_object_fraction must be in [0, 1], got {}", options_.two_object_fraction);
  split_id_ = split_id(options_.split);
  std::vector<MovingShapesCombination> held;
  for (const auto& h : options_.held_out) {
    const int values = h.attribute == MovingShapesCombination::Attribute::shape ? kShapesNumShapes : kShapesNumColours;
    FRESCO_CHECK(h.value >= 0 && h.value < values && h.motion >= 0 && h.motion < kMovingShapesNumMotions,
                 "MovingShapes: held-out combination ({} {}, motion {}) is out of range ({} values, {} motions)",
                 h.attribute == MovingShapesCombination::Attribute::shape ? "shape" : "colour", h.value, h.motion,
                 values, kMovingShapesNumMotions);
    if (std::find(held.begin(), held.end(), h) == held.end()) held.push_back(h);
  }
  options_.held_out = held;
  if (split_id_ == 2) {
    FRESCO_CHECK(!held.empty(), "MovingShapes: the compositional split needs at least one held-out combination");
  } else {
    bool any = false;
    for (int s = 0; s < kShapesNumShapes && !any; ++s)
      for (int c = 0; c < kShapesNumColours && !any; ++c)
        for (int m = 0; m < kMovingShapesNumMotions && !any; ++m) any = !is_held_out({{s, c, 0, m, 0}});
    FRESCO_CHECK(any, "MovingShapes: every (shape, colour, motion) is held out; the {} split is empty", options_.split);
  }
}

MovingShapes::Plan MovingShapes::plan(int64_t i) const {
  FRESCO_CHECK(i >= 0 && i < options_.size, "MovingShapes: clip index {} is out of range [0, {})", i, options_.size);
  Plan p;
  p.rng = ShapesRng(mix_seed(mix_seed(options_.seed ^ 0x6d6f76696e67ull, static_cast<uint64_t>(split_id_)),
                             static_cast<uint64_t>(i)));
  ShapesRng& rng = p.rng;
  const int count = rng.uniform() < options_.two_object_fraction ? 2 : 1;
  // The (shape, colour, motion) triples a train or test object may have.
  std::vector<Triple> allowed;
  if (split_id_ != 2)
    for (int s = 0; s < kShapesNumShapes; ++s)
      for (int c = 0; c < kShapesNumColours; ++c)
        for (int m = 0; m < kMovingShapesNumMotions; ++m)
          if (!is_held_out({{s, c, 0, m, 0}})) allowed.push_back({s, c, m});
  for (int redraw = 0;; ++redraw) {   // a pair that cannot share the frame is drawn again (rare; see the header)
    FRESCO_CHECK(redraw < 1000, "MovingShapes: clip {}: no pair of objects of this split fits in {}x{} frames", i,
                 options_.image_size, options_.image_size);
    p.objects.clear();
    const int held_slot = count == 2 ? rng.below(2) : 0;
    for (int k = 0; k < count; ++k) {
      MovingShapesObject o;
      if (split_id_ != 2) {
        const Triple& t = allowed[static_cast<size_t>(rng.below(static_cast<int>(allowed.size())))];
        o.shape = t.shape;
        o.colour = t.colour;
        o.motion = t.motion;
      } else if (k == held_slot) {
        const auto& h = options_.held_out[static_cast<size_t>(rng.below(static_cast<int>(options_.held_out.size())))];
        o.motion = h.motion;
        const bool shape = h.attribute == MovingShapesCombination::Attribute::shape;
        o.shape = shape ? h.value : rng.below(kShapesNumShapes);
        o.colour = shape ? rng.below(kShapesNumColours) : h.value;
      } else {
        o.shape = rng.below(kShapesNumShapes);
        o.colour = rng.below(kShapesNumColours);
        o.motion = rng.below(kMovingShapesNumMotions);
      }
      o.size = rng.below(kShapesNumSizes);
      o.speed = rng.below(kMovingShapesNumSpeeds);
      p.objects.push_back(o);
    }
    if (trajectories(p.objects, options_.image_size, options_.frames, rng, p.centres)) {
      p.caption = caption_of(p.objects, rng);
      return p;
    }
  }
}

MovingShapesSample MovingShapes::sample(int64_t i) const {
  Plan p = plan(i);
  MovingShapesSample s;
  s.pixels = draw_clip(p.objects, p.centres, options_.image_size, options_.frames, p.rng);
  s.caption = std::move(p.caption);
  s.objects = std::move(p.objects);
  s.centres = std::move(p.centres);
  return s;
}

MovingShapesSample MovingShapes::render(const std::vector<MovingShapesObject>& objects, uint64_t seed,
                                        int64_t image_size, int64_t frames) {
  check_objects(objects);
  MovingShapes({.image_size = image_size, .frames = frames, .size = 0});   // the constructor's range checks
  ShapesRng rng(mix_seed(seed, 0x72656e646572ull));
  MovingShapesSample s;
  FRESCO_CHECK(trajectories(objects, image_size, frames, rng, s.centres),
               "MovingShapes::render: \"{}\": the two objects cannot share the frame without touching",
               describe(objects));
  s.pixels = draw_clip(objects, s.centres, image_size, frames, rng);
  s.caption = describe(objects);
  s.objects = objects;
  return s;
}

Tensor MovingShapes::clip(int64_t i) const {
  const int64_t n = options_.image_size;
  return tensor(sample(i).pixels, {options_.frames, 3, n, n});
}

std::string MovingShapes::caption(int64_t i) const { return plan(i).caption; }

std::vector<MovingShapesObject> MovingShapes::objects(int64_t i) const { return plan(i).objects; }

bool MovingShapes::is_held_out(const std::vector<MovingShapesObject>& objects) const {
  return std::any_of(objects.begin(), objects.end(), [&](const MovingShapesObject& o) {
    return std::any_of(options_.held_out.begin(), options_.held_out.end(),
                       [&](const MovingShapesCombination& h) { return h.matches(o); });
  });
}

const std::vector<std::string>& MovingShapes::attribute_names() {
  static const std::vector<std::string> names = {"shape", "colour", "size", "motion", "speed"};
  return names;
}

std::array<int64_t, 5> MovingShapes::num_classes() {
  return {kShapesNumShapes, kShapesNumColours, kShapesNumSizes, kMovingShapesNumMotions, kMovingShapesNumSpeeds};
}

const std::vector<std::string>& MovingShapes::motion_names() {
  static const std::vector<std::string> names = {"left to right", "right to left", "up",        "down",
                                                 "up right",      "up left",       "down right", "down left",
                                                 "left and right", "up and down"};
  return names;
}

const std::vector<std::string>& MovingShapes::speed_names() {
  static const std::vector<std::string> names = {"slow", "fast"};
  return names;
}

void MovingShapes::check_objects(const std::vector<MovingShapesObject>& objects) {
  FRESCO_CHECK(objects.size() == 1 || objects.size() == 2, "MovingShapes: a clip holds one or two objects, got {}",
               objects.size());
  for (const auto& o : objects) {
    const std::array<int64_t, 5> labels = o.labels(), classes = num_classes();
    for (size_t a = 0; a < labels.size(); ++a)
      FRESCO_CHECK(labels[a] >= 0 && labels[a] < classes[a], "MovingShapes: {} index {} is not in [0, {})",
                   attribute_names()[a], labels[a], classes[a]);
  }
}

std::string MovingShapes::describe(const std::vector<MovingShapesObject>& objects) {
  check_objects(objects);
  std::string caption;
  for (size_t k = 0; k < objects.size(); ++k) {
    const MovingShapesObject& o = objects[k];
    if (k > 0) caption += kJoin;
    caption += clause(detail::size_words()[o.size][0], detail::colour_words()[o.colour][0],
                      detail::shape_words()[o.shape][0], motion_phrases()[o.motion][0], speed_words()[o.speed][0]);
  }
  return caption;
}

std::string MovingShapes::describe(const std::vector<MovingShapesObject>& objects, uint64_t seed) {
  check_objects(objects);
  ShapesRng rng(mix_seed(seed, 0x6d6f7665ull));
  return caption_of(objects, rng);
}

std::optional<std::vector<MovingShapesObject>> MovingShapes::parse(const std::string& caption) {
  // " and a " starts the second clause; no path contains it ("left and right" is followed by
  // the end or by " and a ").
  std::vector<std::string> parts;
  const size_t join = caption.find(kNextClause);
  if (join == std::string::npos) {
    parts = {caption};
  } else {
    parts = {caption.substr(0, join), caption.substr(join + kJoin.size())};
    if (parts[1].find(kNextClause) != std::string::npos) return std::nullopt;   // more than two objects
  }
  std::vector<MovingShapesObject> objects;
  for (const std::string& part : parts) {
    auto it = clause_map().find(part);
    if (it == clause_map().end()) return std::nullopt;
    objects.push_back(it->second);
  }
  return objects;
}

std::vector<std::string> MovingShapes::all_captions() {
  std::vector<std::string> captions;
  for_each_clause([&](std::string text, const MovingShapesObject&) { captions.push_back(std::move(text)); });
  return captions;
}

std::optional<std::array<int, 2>> MovingShapes::motion_of(const std::vector<std::array<float, 2>>& centres, int size,
                                                          int64_t image_size) {
  FRESCO_CHECK(centres.size() >= 3, "MovingShapes::motion_of: expected at least 3 centres, got {}", centres.size());
  FRESCO_CHECK(size >= 0 && size < kShapesNumSizes, "MovingShapes::motion_of: size index {} is not in [0, {})", size,
               kShapesNumSizes);
  FRESCO_CHECK(image_size >= 16 && image_size <= 256, "MovingShapes::motion_of: image_size must be in [16, 256], got {}",
               image_size);
  const float span = free_range(size, image_size).span();
  const float fast_from = 0.5f * (kTravel[0] + kTravel[1]) * span;
  struct Axis {
    float range = 0.f, net = 0.f;
    bool moves = false, bounces = false;
  };
  std::array<Axis, 2> axes;
  for (size_t a = 0; a < 2; ++a) {
    Axis& ax = axes[a];
    float lo = centres[0][a], hi = lo, far = 0.f;
    size_t far_at = 0;
    for (size_t t = 0; t < centres.size(); ++t) {
      const float v = centres[t][a];
      lo = std::min(lo, v);
      hi = std::max(hi, v);
      if (std::fabs(v - centres[0][a]) > far) far = std::fabs(v - centres[0][a]), far_at = t;
    }
    ax.range = hi - lo;
    ax.net = centres.back()[a] - centres[0][a];
    const bool moving = ax.range >= 0.1f * span;
    // Turned back after its farthest point and came a quarter of the way again.
    ax.bounces = moving && std::fabs(centres.back()[a] - centres[far_at][a]) >= 0.25f * ax.range;
    ax.moves = moving && std::fabs(ax.net) >= 0.1f * span;
  }
  // A wobble that comes back is a bounce only when it is the main motion: a straight move
  // that goes further on the other axis is that move, wobbling.
  for (size_t a = 0; a < 2; ++a)
    if (axes[a].bounces && axes[a].range < std::fabs(axes[1 - a].net)) axes[a].bounces = false;
  if (axes[0].bounces || axes[1].bounces) {
    const size_t a = (axes[0].bounces && (!axes[1].bounces || axes[0].range >= axes[1].range)) ? 0 : 1;
    const auto motion = a == 0 ? ShapeMotion::bounce_horizontal : ShapeMotion::bounce_vertical;
    return std::array<int, 2>{static_cast<int>(motion), axes[a].range >= fast_from ? 1 : 0};
  }
  // A person names the nearest of the eight compass directions: an axis that moves less than
  // tan(22.5 deg) of the other's net move is a drift along a straight path, not half of a diagonal.
  for (size_t a = 0; a < 2; ++a)
    if (axes[a].moves && axes[1 - a].moves && std::fabs(axes[a].net) < kDiagonalSlope * std::fabs(axes[1 - a].net))
      axes[a].moves = false;
  const int dx = axes[0].moves ? (axes[0].net > 0 ? 1 : -1) : 0;
  const int dy = axes[1].moves ? (axes[1].net > 0 ? 1 : -1) : 0;
  if (dx == 0 && dy == 0) return std::nullopt;
  int motion = 0;
  for (int m = 0; m < kMovingShapesNumMotions; ++m)
    if (kMovements[m].bounce_axis < 0 && kMovements[m].dx == dx && kMovements[m].dy == dy) motion = m;
  const float covered = std::max(axes[0].moves ? std::fabs(axes[0].net) : 0.f, axes[1].moves ? std::fabs(axes[1].net) : 0.f);
  return std::array<int, 2>{motion, covered >= fast_from ? 1 : 0};
}

Example MovingShapesFrames::get(int64_t i) const {
  const int64_t t = clips_.frames();
  FRESCO_CHECK(i >= 0 && i < size(), "MovingShapesFrames: frame index {} is out of range [0, {})", i, size());
  MovingShapes::Plan p = clips_.plan(i / t);
  const int64_t n = clips_.image_size();
  std::vector<int64_t> labels;
  for (const MovingShapesObject& o : p.objects) labels.insert(labels.end(), {o.shape, o.colour, o.size});
  return {tensor(draw_clip(p.objects, p.centres, n, t, p.rng, i % t), {3, n, n}), std::move(p.caption),
          std::move(labels)};
}

Example MovingShapesDataset::get(int64_t i) const {
  MovingShapesSample s = clips_.sample(i);
  const int64_t n = clips_.image_size();
  std::vector<int64_t> labels;
  for (const MovingShapesObject& o : s.objects) {
    const auto l = o.labels();
    labels.insert(labels.end(), l.begin(), l.end());
  }
  return {tensor(std::move(s.pixels), {clips_.frames(), 3, n, n}), std::move(s.caption), std::move(labels)};
}

}  // namespace fresco::data
