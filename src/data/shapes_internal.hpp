// SPDX-License-Identifier: Apache-2.0
#pragma once
// Pieces of data::Shapes shared by its three source files: the per-sample
// random stream, the caption grammar and the rasteriser. Not installed.

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include <fresco/data/shapes.hpp>
#include <fresco/tensor/random.hpp>

namespace fresco::data::detail {

/// The per-sample random stream: a `fresco::Generator` seeded by `fresco::mix_seed`
/// from (seed, split, index), so that random access to samples gives each its own
/// stream, with the draws the scene code needs.
class ShapesRng {
public:
  explicit ShapesRng(uint64_t seed) : gen_(seed) {}
  /// Uniform in [0, 1).
  float uniform() { return gen_.uniform(); }
  /// Uniform in [lo, hi).
  float uniform(float lo, float hi) { return lo + (hi - lo) * uniform(); }
  /// Uniform integer in [0, n), n > 0.
  int below(int n) { return static_cast<int>(gen_.below(static_cast<uint64_t>(n))); }

private:
  fresco::Generator gen_;
};

/// Word tables of the grammar: [class][synonym], synonym 0 canonical (shared with MovingShapes).
using Words = std::vector<std::vector<std::string>>;
const Words& shape_words();
const Words& colour_words();
const Words& size_words();

/// A caption of the objects with template and synonyms drawn from `rng`.
/// The objects must already be valid (Shapes::check_objects).
std::string shapes_caption(const std::vector<ShapesObject>& objects, ShapesRng& rng);

/// An object placed in pixel units, ready to draw.
struct ShapesGeometry {
  int shape = 0;
  float cx = 0.f, cy = 0.f;  // centre, pixels (pixel (x, y) covers [x, x+1) × [y, y+1))
  float radius = 0.f;        // the shape's nominal radius, pixels
  float rgb[3] = {0.f, 0.f, 0.f};
};

/// An object's jittered size and colour (its centre left at 0), drawn from `rng`:
/// the radius first, then hue, saturation and value.
ShapesGeometry shapes_appearance(int shape, int colour, int size, int64_t image_size, ShapesRng& rng);

/// The largest distance from an object's centre that its pixels reach
/// (nominal radius with the largest size jitter, plus one pixel of edge), by size class.
float shapes_reach(int size, int64_t image_size);

/// The jittered placement and colour of each object, drawn from `rng`.
std::vector<ShapesGeometry> shapes_layout(const std::vector<ShapesObject>& objects, int64_t image_size,
                                          ShapesRng& rng);

/// Draws the objects over the background into `pixels` [3, S, S] (resized here).
void shapes_draw(std::vector<float>& pixels, int64_t image_size, const std::vector<ShapesGeometry>& geometry);

/// Grey level of the background.
inline constexpr float kShapesBackground = 0.1f;

}  // namespace fresco::data::detail
