// SPDX-License-Identifier: Apache-2.0
// Random and fixed perturbations of images in [0, 1], one image plane at a
// time on plain float buffers (images are small: 3 × 32 × 32).
#include <fresco/eval/augment.hpp>

#include <algorithm>
#include <cmath>

#include <fresco/autograd/autograd.hpp>
#include <fresco/error.hpp>
#include <fresco/io/image.hpp>
#include <fresco/ops/elementwise.hpp>
#include <fresco/ops/shape.hpp>

namespace fresco::eval {
namespace {

// One image [C, H, W] as a float buffer.
struct Image {
  int64_t c, h, w;
  float* p;
  float& at(int64_t ch, int64_t y, int64_t x) { return p[(ch * h + y) * w + x]; }
};

// Bilinear sample of plane `ch` at (x, y) in pixel-centre coordinates, edges replicated.
float sample(const std::vector<float>& src, const Image& im, int64_t ch, float x, float y) {
  x = std::clamp(x, 0.f, static_cast<float>(im.w - 1));
  y = std::clamp(y, 0.f, static_cast<float>(im.h - 1));
  const auto x0 = static_cast<int64_t>(std::floor(x)), y0 = static_cast<int64_t>(std::floor(y));
  const int64_t x1 = std::min(x0 + 1, im.w - 1), y1 = std::min(y0 + 1, im.h - 1);
  const float fx = x - static_cast<float>(x0), fy = y - static_cast<float>(y0);
  const float* s = src.data() + ch * im.h * im.w;
  const float top = s[y0 * im.w + x0] * (1 - fx) + s[y0 * im.w + x1] * fx;
  const float bottom = s[y1 * im.w + x0] * (1 - fx) + s[y1 * im.w + x1] * fx;
  return top * (1 - fy) + bottom * fy;
}

// out(x) = in(centre + (x - centre) / scale - shift): the content moves by
// `shift` and grows by `scale` about the image centre.
void warp(Image im, float shift_x, float shift_y, float scale) {
  const std::vector<float> src(im.p, im.p + im.c * im.h * im.w);
  const float cx = 0.5f * static_cast<float>(im.w - 1), cy = 0.5f * static_cast<float>(im.h - 1);
  for (int64_t ch = 0; ch < im.c; ++ch)
    for (int64_t y = 0; y < im.h; ++y)
      for (int64_t x = 0; x < im.w; ++x)
        im.at(ch, y, x) = sample(src, im, ch, cx + (static_cast<float>(x) - cx) / scale - shift_x,
                                 cy + (static_cast<float>(y) - cy) / scale - shift_y);
}

// Separable Gaussian blur, edges replicated.
void blur(Image im, float sigma) {
  if (sigma < 0.05f) return;
  const int radius = static_cast<int>(std::ceil(3 * sigma));
  std::vector<float> k(static_cast<size_t>(2 * radius + 1));
  float sum = 0;
  for (int i = -radius; i <= radius; ++i) sum += k[i + radius] = std::exp(-0.5f * static_cast<float>(i * i) / (sigma * sigma));
  for (float& v : k) v /= sum;
  std::vector<float> tmp(static_cast<size_t>(im.h * im.w));
  for (int64_t ch = 0; ch < im.c; ++ch) {
    float* plane = im.p + ch * im.h * im.w;
    for (int64_t y = 0; y < im.h; ++y)
      for (int64_t x = 0; x < im.w; ++x) {
        float a = 0;
        for (int i = -radius; i <= radius; ++i) a += k[i + radius] * plane[y * im.w + std::clamp<int64_t>(x + i, 0, im.w - 1)];
        tmp[y * im.w + x] = a;
      }
    for (int64_t y = 0; y < im.h; ++y)
      for (int64_t x = 0; x < im.w; ++x) {
        float a = 0;
        for (int i = -radius; i <= radius; ++i) a += k[i + radius] * tmp[std::clamp<int64_t>(y + i, 0, im.h - 1) * im.w + x];
        plane[y * im.w + x] = a;
      }
  }
}

// Contrast about the image mean, then brightness and per-channel gains.
void colour(Image im, float brightness, float contrast, const std::vector<float>& gains) {
  const int64_t n = im.c * im.h * im.w;
  double mean = 0;
  for (int64_t i = 0; i < n; ++i) mean += im.p[i];
  const auto m = static_cast<float>(mean / static_cast<double>(n));
  for (int64_t ch = 0; ch < im.c; ++ch)
    for (int64_t i = 0; i < im.h * im.w; ++i) {
      float& v = im.p[ch * im.h * im.w + i];
      v = ((v - m) * contrast + m) * brightness * gains[static_cast<size_t>(ch)];
    }
}

void noise(Image im, float std, Generator& rng) {
  for (int64_t i = 0; i < im.c * im.h * im.w; ++i) im.p[i] += std * rng.normal();
}

float uniform(Generator& rng, float lo, float hi) { return lo + (hi - lo) * rng.uniform(); }

}  // namespace

void check_augment_options(const AugmentOptions& o) {
  FRESCO_CHECK(o.probability >= 0 && o.probability <= 1, "augment_images: expected probability in [0, 1], found {}",
               o.probability);
  FRESCO_CHECK(o.max_shift >= 0 && o.max_scale >= 0 && o.max_scale < 0.5f && o.max_blur_sigma >= 0 &&
                   o.max_noise >= 0,
               "augment_images: expected max_shift, max_blur_sigma, max_noise >= 0 and max_scale in [0, 0.5), found "
               "{}, {}, {} and {}",
               o.max_shift, o.max_blur_sigma, o.max_noise, o.max_scale);
  FRESCO_CHECK(o.brightness >= 0 && o.brightness < 1 && o.contrast >= 0 && o.contrast < 1 && o.channel_gain >= 0 &&
                   o.channel_gain < 1,
               "augment_images: expected brightness, contrast and channel_gain in [0, 1), found {}, {} and {}",
               o.brightness, o.contrast, o.channel_gain);
}

namespace {

// A contiguous copy of `images` (4-D, detached) to change in place.
Tensor writable_copy(const Tensor& images, const char* who) {
  FRESCO_CHECK_SHAPE(images.defined() && images.dim() == 4, "{}: expected images [N, C, H, W], found {}", who,
                     images.defined() ? shape_str(images.shape()) : std::string("an undefined tensor"));
  NoGradGuard guard;
  return images.detach().contiguous().clone();
}

Image image_of(Tensor& x, int64_t n) {
  const int64_t c = x.size(1), h = x.size(2), w = x.size(3);
  return {c, h, w, x.data() + n * c * h * w};
}

}  // namespace

Tensor augment_images(const Tensor& images, const AugmentOptions& o, Generator& rng) {
  check_augment_options(o);
  if (!o.enabled) return images;
  Tensor x = writable_copy(images, "augment_images");
  auto chance = [&] { return rng.uniform() < o.probability; };
  for (int64_t n = 0; n < x.size(0); ++n) {
    Image im = image_of(x, n);
    if (chance())
      warp(im, uniform(rng, -o.max_shift, o.max_shift), uniform(rng, -o.max_shift, o.max_shift),
           1.f + uniform(rng, -o.max_scale, o.max_scale));
    if (chance()) blur(im, uniform(rng, 0, o.max_blur_sigma));
    if (chance()) {
      const float brightness = 1.f + uniform(rng, -o.brightness, o.brightness);
      const float contrast = 1.f + uniform(rng, -o.contrast, o.contrast);
      std::vector<float> gains(static_cast<size_t>(im.c));
      for (float& g : gains) g = 1.f + uniform(rng, -o.channel_gain, o.channel_gain);
      colour(im, brightness, contrast, gains);
    }
    if (chance()) noise(im, uniform(rng, 0, o.max_noise), rng);
  }
  return clamp(x, 0.f, 1.f);
}

const std::vector<Perturbation>& all_perturbations() {
  static const std::vector<Perturbation> all{Perturbation::clean,   Perturbation::blurred,  Perturbation::noised,
                                             Perturbation::shifted, Perturbation::coloured, Perturbation::softened};
  return all;
}

std::string perturbation_name(Perturbation p) {
  switch (p) {
    case Perturbation::clean: return "clean";
    case Perturbation::blurred: return "blurred";
    case Perturbation::noised: return "noised";
    case Perturbation::shifted: return "shifted";
    case Perturbation::coloured: return "coloured";
    case Perturbation::softened: return "softened";
  }
  return "?";
}

Tensor perturb_images(const Tensor& images, Perturbation p, uint64_t seed) {
  Tensor x = writable_copy(images, "perturb_images");
  if (p == Perturbation::softened) {
    NoGradGuard guard;
    const int64_t h = x.size(2), w = x.size(3);
    return clamp(io::resize_bilinear(io::resize_area(x, (h + 1) / 2, (w + 1) / 2), h, w), 0.f, 1.f);
  }
  Generator rng(seed);
  auto sign = [&] { return rng.below(2) ? 1.f : -1.f; };
  for (int64_t n = 0; n < x.size(0); ++n) {
    Image im = image_of(x, n);
    switch (p) {
      case Perturbation::clean:
      case Perturbation::softened: break;
      case Perturbation::blurred: blur(im, 1.f); break;
      case Perturbation::noised: noise(im, 0.06f, rng); break;
      case Perturbation::shifted: warp(im, 2.f * sign(), 2.f * sign(), 1.f); break;
      case Perturbation::coloured: {
        std::vector<float> gains(static_cast<size_t>(im.c));
        for (float& g : gains) g = uniform(rng, 0.95f, 1.05f);
        colour(im, 1.f + 0.1f * sign(), 1.f, gains);
        break;
      }
    }
  }
  return clamp(x, 0.f, 1.f);
}

std::vector<PerturbedScenes> perturbed_shapes_scenes(const data::Shapes& scenes, int64_t count, uint64_t seed) {
  FRESCO_CHECK(count >= 1 && count <= scenes.size(), "perturbed_shapes_scenes: expected 1 <= count <= {}, found {}",
               scenes.size(), count);
  const int64_t s = scenes.image_size();
  std::vector<Tensor> plain, fine;
  for (int64_t i = 0; i < count; ++i) {
    const auto objects = scenes.objects(i);
    const uint64_t jitter = mix_seed(seed, static_cast<uint64_t>(i));
    plain.push_back(tensor(data::Shapes::render(objects, s, jitter), {3, s, s}));
    fine.push_back(tensor(data::Shapes::render(objects, 4 * s, jitter), {3, 4 * s, 4 * s}));
  }
  const Tensor clean = stack(plain, 0);
  std::vector<PerturbedScenes> out;
  for (Perturbation p : all_perturbations())
    out.push_back({perturbation_name(p), perturb_images(clean, p, mix_seed(seed, 0x9e47 + static_cast<uint64_t>(p)))});
  NoGradGuard guard;
  out.push_back({"supersampled", io::resize_area(stack(fine, 0), s, s)});
  return out;
}

}  // namespace fresco::eval
