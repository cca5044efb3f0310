// SPDX-License-Identifier: Apache-2.0
// The rasteriser of data::Shapes. Legend: S = image side in pixels; a pixel
// (x, y) covers [x, x+1) × [y, y+1) and is sampled at its centre.
//
// Anti-aliasing is analytic: each shape has a signed distance d (pixels,
// negative inside), and a pixel's coverage is clamp(0.5 - d, 0, 1), the
// exact covered area for a straight edge crossing the pixel along an axis,
// and a close approximation at other angles. One distance per pixel and
// object, instead of the 16 samples of 4×4 supersampling.

#include <algorithm>
#include <cmath>

#include "data/shapes_internal.hpp"

namespace fresco::data::detail {
namespace {

// Geometry as fractions of S. Grid cells are S/3 wide. Every shape lies
// within 1.0 r of its centre (see below); the largest (r = 0.12 S with +5%
// size jitter) plus the centre jitter (0.015 S) reaches 0.141 S, and the
// edge ramp adds at most 0.71 pixel: 5.2 pixels at S = 32, under the half
// cell of 5.33. So an object never leaves its cell, and objects in different
// cells never touch.
constexpr float kRadius[kShapesNumSizes] = {0.085f, 0.12f};  // small, large
constexpr float kSizeJitter = 0.05f;
constexpr float kCentreJitter = 0.015f;
constexpr float kHueJitter = 6.f;  // degrees

// Shape extents relative to the nominal radius r: square half-side 0.88 r
// (the circle's area), diamond half-diagonal 1.0 r, triangle circumradius
// 1.15 r (half-width 0.996 r, half-height 0.86 r).
constexpr float kSquareHalf = 0.88f;
constexpr float kDiamondHalf = 1.0f;
constexpr float kTriangleR = 1.15f;

// Hue (degrees) of each colour class: red, green, blue, yellow, purple, orange.
constexpr float kHue[kShapesNumColours] = {0.f, 120.f, 220.f, 55.f, 280.f, 28.f};

std::array<float, 3> hsv_to_rgb(float h, float s, float v) {
  h = std::fmod(h + 360.f, 360.f) / 60.f;
  const int sector = std::min(static_cast<int>(h), 5);
  const float f = h - static_cast<float>(sector);
  const float p = v * (1.f - s), q = v * (1.f - s * f), t = v * (1.f - s * (1.f - f));
  switch (sector) {
    case 0: return {v, t, p};
    case 1: return {q, v, p};
    case 2: return {p, v, t};
    case 3: return {p, q, v};
    case 4: return {t, p, v};
    default: return {v, p, q};
  }
}

// Signed distance (pixels) from (dx, dy), relative to the centre, to the shape's edge.
float signed_distance(int shape, float dx, float dy, float r) {
  const float ax = std::fabs(dx), ay = std::fabs(dy);
  switch (static_cast<ShapeKind>(shape)) {
    case ShapeKind::circle: return std::sqrt(dx * dx + dy * dy) - r;
    case ShapeKind::square: return std::max(ax, ay) - kSquareHalf * r;
    case ShapeKind::diamond: return (ax + ay - kDiamondHalf * r) * 0.70710678f;
    case ShapeKind::triangle: {
      // Equilateral, pointing up, centred on its bounding box: apex at
      // -0.75 R, base at +0.75 R. The slanted edges have outward normals
      // (±cos 30°, -sin 30°) through the apex.
      const float big_r = kTriangleR * r;
      const float slant = 0.8660254f * ax - 0.5f * (dy + 0.75f * big_r);
      return std::max(slant, dy - 0.75f * big_r);
    }
  }
  return 1e9f;
}

}  // namespace

ShapesGeometry shapes_appearance(int shape, int colour, int size, int64_t image_size, ShapesRng& rng) {
  const float s = static_cast<float>(image_size);
  ShapesGeometry g;
  g.shape = shape;
  g.radius = s * kRadius[size] * (1.f + rng.uniform(-kSizeJitter, kSizeJitter));
  const float hue = kHue[colour] + rng.uniform(-kHueJitter, kHueJitter);
  const auto rgb = hsv_to_rgb(hue, rng.uniform(0.8f, 0.95f), rng.uniform(0.85f, 1.f));
  std::copy(rgb.begin(), rgb.end(), g.rgb);
  return g;
}

float shapes_reach(int size, int64_t image_size) {
  return static_cast<float>(image_size) * kRadius[size] * (1.f + kSizeJitter) + 1.f;
}

std::vector<ShapesGeometry> shapes_layout(const std::vector<ShapesObject>& objects, int64_t image_size,
                                          ShapesRng& rng) {
  const float s = static_cast<float>(image_size);
  std::vector<ShapesGeometry> out;
  out.reserve(objects.size());
  for (const ShapesObject& o : objects) {
    const int row = o.position / 3, col = o.position % 3;
    // The centre's jitter first, then the appearance: the order every sample was drawn in.
    const float cx = s * ((2.f * col + 1.f) / 6.f + rng.uniform(-kCentreJitter, kCentreJitter));
    const float cy = s * ((2.f * row + 1.f) / 6.f + rng.uniform(-kCentreJitter, kCentreJitter));
    ShapesGeometry g = shapes_appearance(o.shape, o.colour, o.size, image_size, rng);
    g.cx = cx;
    g.cy = cy;
    out.push_back(g);
  }
  return out;
}

void shapes_draw(std::vector<float>& pixels, int64_t image_size, const std::vector<ShapesGeometry>& geometry) {
  const int64_t n = image_size;
  pixels.assign(static_cast<size_t>(3 * n * n), kShapesBackground);
  float* planes[3] = {pixels.data(), pixels.data() + n * n, pixels.data() + 2 * n * n};
  for (const ShapesGeometry& g : geometry) {
    // Every shape lies within 1.0 r of its centre; one more pixel for the edge ramp.
    const float reach = g.radius + 1.f;
    const int64_t x0 = std::max<int64_t>(0, static_cast<int64_t>(std::floor(g.cx - reach)));
    const int64_t x1 = std::min<int64_t>(n, static_cast<int64_t>(std::ceil(g.cx + reach)));
    const int64_t y0 = std::max<int64_t>(0, static_cast<int64_t>(std::floor(g.cy - reach)));
    const int64_t y1 = std::min<int64_t>(n, static_cast<int64_t>(std::ceil(g.cy + reach)));
    for (int64_t y = y0; y < y1; ++y) {
      const float dy = static_cast<float>(y) + 0.5f - g.cy;
      for (int64_t x = x0; x < x1; ++x) {
        const float dx = static_cast<float>(x) + 0.5f - g.cx;
        const float a = std::clamp(0.5f - signed_distance(g.shape, dx, dy, g.radius), 0.f, 1.f);
        if (a <= 0.f) continue;
        const int64_t at = y * n + x;
        for (int c = 0; c < 3; ++c) planes[c][at] += a * (g.rgb[c] - planes[c][at]);
      }
    }
  }
}

}  // namespace fresco::data::detail
