// SPDX-License-Identifier: Apache-2.0
// Resampling and cropping of [..., H, W] images. Leading dimensions are
// flattened into "planes" that are processed independently.
#include <algorithm>
#include <cmath>
#include <vector>

#include <fresco/error.hpp>
#include <fresco/io/image.hpp>

namespace fresco::io {
namespace {

struct Planes {
  Shape lead;        // the dimensions before H, W
  int64_t count = 1; // their product
  int64_t h = 0, w = 0;
};

Planes check_image(const Tensor& t, int64_t height, int64_t width, const char* fn) {
  if (!t.defined() || t.dim() < 2)
    throw ShapeError(fmt::format("{}: expected an image [..., H, W], got {}", fn,
                                 t.defined() ? shape_str(t.shape()) : "an undefined tensor"));
  if (height < 1 || width < 1 || height > (1 << 16) || width > (1 << 16))
    throw Error(fmt::format("{}: output size {}x{} must be in 1..65536", fn, height, width));
  Planes p;
  p.lead.assign(t.shape().begin(), t.shape().end() - 2);
  p.count = shape_numel(p.lead);
  p.h = t.size(-2);
  p.w = t.size(-1);
  if (p.h < 1 || p.w < 1) throw ShapeError(fmt::format("{}: empty image {}", fn, shape_str(t.shape())));
  return p;
}

Shape out_shape(const Planes& p, int64_t height, int64_t width) {
  Shape s = p.lead;
  s.push_back(height);
  s.push_back(width);
  return s;
}

// PyTorch's half-pixel source coordinate for align_corners=False, clamped at 0.
struct Tap {
  int64_t i0, i1;
  float frac;
};
std::vector<Tap> bilinear_taps(int64_t in, int64_t out) {
  std::vector<Tap> taps(static_cast<size_t>(out));
  const double scale = static_cast<double>(in) / static_cast<double>(out);
  for (int64_t o = 0; o < out; ++o) {
    double src = std::max(0.0, (o + 0.5) * scale - 0.5);
    int64_t i0 = std::min(static_cast<int64_t>(src), in - 1);
    taps[static_cast<size_t>(o)] = {i0, std::min(i0 + 1, in - 1), static_cast<float>(src - static_cast<double>(i0))};
  }
  return taps;
}

}  // namespace

Tensor resize_bilinear(const Tensor& img, int64_t height, int64_t width) {
  const Planes p = check_image(img, height, width, "resize_bilinear");
  const std::vector<float> v = img.to_vector();
  const auto ty = bilinear_taps(p.h, height), tx = bilinear_taps(p.w, width);
  std::vector<float> out(static_cast<size_t>(p.count * height * width));
  for (int64_t k = 0; k < p.count; ++k) {
    const float* src = v.data() + k * p.h * p.w;
    float* dst = out.data() + k * height * width;
    for (int64_t y = 0; y < height; ++y) {
      const Tap a = ty[static_cast<size_t>(y)];
      for (int64_t x = 0; x < width; ++x) {
        const Tap b = tx[static_cast<size_t>(x)];
        const float top = src[a.i0 * p.w + b.i0] * (1 - b.frac) + src[a.i0 * p.w + b.i1] * b.frac;
        const float bot = src[a.i1 * p.w + b.i0] * (1 - b.frac) + src[a.i1 * p.w + b.i1] * b.frac;
        dst[y * width + x] = top * (1 - a.frac) + bot * a.frac;
      }
    }
  }
  return tensor(std::move(out), out_shape(p, height, width));
}

Tensor resize_area(const Tensor& img, int64_t height, int64_t width) {
  const Planes p = check_image(img, height, width, "resize_area");
  const std::vector<float> v = img.to_vector();
  std::vector<float> out(static_cast<size_t>(p.count * height * width));
  // Adaptive average pooling: cell o covers [floor(o*in/out), ceil((o+1)*in/out)).
  auto start = [](int64_t o, int64_t in, int64_t out) { return (o * in) / out; };
  auto end = [](int64_t o, int64_t in, int64_t out) { return ((o + 1) * in + out - 1) / out; };
  for (int64_t k = 0; k < p.count; ++k) {
    const float* src = v.data() + k * p.h * p.w;
    float* dst = out.data() + k * height * width;
    for (int64_t y = 0; y < height; ++y) {
      const int64_t y0 = start(y, p.h, height), y1 = end(y, p.h, height);
      for (int64_t x = 0; x < width; ++x) {
        const int64_t x0 = start(x, p.w, width), x1 = end(x, p.w, width);
        double sum = 0;
        for (int64_t yy = y0; yy < y1; ++yy)
          for (int64_t xx = x0; xx < x1; ++xx) sum += src[yy * p.w + xx];
        dst[y * width + x] = static_cast<float>(sum / static_cast<double>((y1 - y0) * (x1 - x0)));
      }
    }
  }
  return tensor(std::move(out), out_shape(p, height, width));
}

Tensor center_crop(const Tensor& img, int64_t height, int64_t width) {
  const Planes p = check_image(img, height, width, "center_crop");
  if (height > p.h || width > p.w)
    throw ShapeError(fmt::format("center_crop: crop {}x{} is larger than the image {}", height, width,
                                 shape_str(img.shape())));
  // torchvision: int(round((H - h) / 2.0)), Python rounding halves to even.
  const int64_t top = static_cast<int64_t>(std::nearbyint((p.h - height) / 2.0));
  const int64_t left = static_cast<int64_t>(std::nearbyint((p.w - width) / 2.0));
  const std::vector<float> v = img.to_vector();
  std::vector<float> out(static_cast<size_t>(p.count * height * width));
  for (int64_t k = 0; k < p.count; ++k)
    for (int64_t y = 0; y < height; ++y)
      std::copy_n(v.begin() + (k * p.h + top + y) * p.w + left, width, out.begin() + (k * height + y) * width);
  return tensor(std::move(out), out_shape(p, height, width));
}

}  // namespace fresco::io
