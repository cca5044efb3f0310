// SPDX-License-Identifier: Apache-2.0
#pragma once
// Pieces of data::Shapes shared by its three source files: the per-sample
// random stream, the caption grammar and the rasteriser. Not installed.

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include <fresco/data/shapes.hpp>

namespace fresco::data::detail {

/// splitmix64: one 64-bit state, fast, and every (seed, split, index) gets
/// its own well-mixed stream, which is what random access to samples needs.
class ShapesRng {
public:
  explicit ShapesRng(uint64_t seed) : state_(seed) {}
  uint64_t next_u64() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  /// Uniform in [0, 1).
  float uniform() { return static_cast<float>(next_u64() >> 40) * 0x1.0p-24f; }
  /// Uniform in [lo, hi).
  float uniform(float lo, float hi) { return lo + (hi - lo) * uniform(); }
  /// Uniform integer in [0, n), n > 0 (Lemire's multiply-shift; the bias is below 2^-58 for our n).
  int below(int n) {
    return static_cast<int>((static_cast<unsigned __int128>(next_u64()) * static_cast<uint64_t>(n)) >> 64);
  }

private:
  uint64_t state_;
};

/// The finalizer of splitmix64, used to derive stream seeds.
inline uint64_t shapes_mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

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

/// The jittered placement and colour of each object, drawn from `rng`.
std::vector<ShapesGeometry> shapes_layout(const std::vector<ShapesObject>& objects, int64_t image_size,
                                          ShapesRng& rng);

/// Draws the objects over the background into `pixels` [3, S, S] (resized here).
void shapes_draw(std::vector<float>& pixels, int64_t image_size, const std::vector<ShapesGeometry>& geometry);

/// Grey level of the background.
inline constexpr float kShapesBackground = 0.1f;

}  // namespace fresco::data::detail
