// SPDX-License-Identifier: Apache-2.0
#include <fresco/io/image.hpp>

#include <algorithm>
#include <cctype>
#include <climits>
#include <cmath>
#include <filesystem>
#include <memory>
#include <vector>

#include <fresco/error.hpp>

#include "io/atomic_file.hpp"
#include "io/stb_impl.hpp"

namespace fresco::io {
namespace {

struct StbFree {
  void operator()(unsigned char* p) const { detail::stb_free(p); }
};

uint8_t to_byte(float v) {
  float c = std::isnan(v) ? 0.f : std::clamp(v, 0.f, 1.f);
  return static_cast<uint8_t>(c * 255.f + 0.5f);
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

Tensor decode_image(std::string_view bytes, const std::string& name, const ReadImageOptions& options) {
  if (options.channels < 0 || options.channels > 4)
    throw Error(fmt::format("read_image: ReadImageOptions::channels must be 0 (as in the file) or 1..4, got {}",
                            options.channels));
  if (bytes.size() > static_cast<size_t>(INT_MAX) || bytes.size() > options.max_file_bytes)
    throw IoError(fmt::format("{}: the image file is {} bytes, more than the limit of {} bytes", name, bytes.size(),
                              std::min<uint64_t>(options.max_file_bytes, INT_MAX)));
  const auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
  const int len = static_cast<int>(bytes.size());
  int w = 0, h = 0, c = 0;
  // Check the dimensions in the header before letting the decoder allocate.
  if (!detail::stb_info(data, len, &w, &h, &c))
    throw IoError(fmt::format("{}: cannot read the image: not a PNG, JPEG or BMP file, or its header is corrupt "
                              "({}); convert it to PNG or JPEG",
                              name, detail::stb_failure_reason()));
  const int64_t pixels = int64_t{w} * h;
  if (w <= 0 || h <= 0 || pixels > options.max_pixels)
    throw IoError(fmt::format("{}: the image is {}x{} = {} pixels, over the limit of {} pixels "
                              "(ReadImageOptions::max_pixels); shrink it or raise the limit",
                              name, w, h, pixels, options.max_pixels));
  int w2 = 0, h2 = 0, file_channels = 0;
  std::unique_ptr<unsigned char, StbFree> px(detail::stb_decode(data, len, &w2, &h2, &file_channels, options.channels));
  if (!px)
    throw IoError(fmt::format("{}: cannot decode the image ({}); the file is corrupt or truncated", name,
                              detail::stb_failure_reason()));
  if (w2 != w || h2 != h || file_channels < 1 || file_channels > 4)
    throw IoError(fmt::format("{}: the image decoded to {}x{}x{} but its header says {}x{}; the file is corrupt",
                              name, w2, h2, file_channels, w, h));
  const int64_t channels = options.channels != 0 ? options.channels : file_channels;
  std::vector<float> out(static_cast<size_t>(channels * pixels));
  const unsigned char* src = px.get();
  // Interleaved HWC bytes -> planar CHW floats.
  for (int64_t p = 0; p < pixels; ++p)
    for (int64_t ch = 0; ch < channels; ++ch) out[static_cast<size_t>(ch * pixels + p)] = src[p * channels + ch] / 255.f;
  return tensor(std::move(out), {channels, h, w});
}

Tensor read_image(const std::string& path, const ReadImageOptions& options) {
  std::string bytes = read_file(path, options.max_file_bytes, "image");
  return decode_image(bytes, path, options);
}

std::string encode_image(const Tensor& chw, std::string_view format, const WriteImageOptions& options) {
  const std::string fmt_name = lower(std::string(format));
  if (fmt_name != "png" && fmt_name != "jpg" && fmt_name != "jpeg")
    throw Error(fmt::format("write_image: unsupported format \"{}\"; use png or jpeg", format));
  if (!chw.defined()) throw Error("write_image: the image tensor is undefined");
  if (chw.dim() != 2 && chw.dim() != 3)
    throw ShapeError(fmt::format("write_image: expected [C, H, W] or [H, W], got {}", shape_str(chw.shape())));
  const int64_t c = chw.dim() == 3 ? chw.size(0) : 1;
  const int64_t h = chw.size(-2), w = chw.size(-1);
  if (c < 1 || c > 4)
    throw ShapeError(fmt::format("write_image: expected 1 to 4 channels in [C, H, W], got {}", shape_str(chw.shape())));
  if (h < 1 || w < 1 || h > (1 << 16) || w > (1 << 16) || h * w * c > INT_MAX / 2)
    throw ShapeError(fmt::format("write_image: image size {} is empty or too large to encode", shape_str(chw.shape())));
  if (options.jpeg_quality < 1 || options.jpeg_quality > 100)
    throw Error(fmt::format("write_image: jpeg_quality must be in 1..100, got {}", options.jpeg_quality));
  const std::vector<float> v = chw.to_vector();
  const int64_t pixels = h * w;
  std::vector<unsigned char> hwc(static_cast<size_t>(pixels * c));
  for (int64_t ch = 0; ch < c; ++ch)
    for (int64_t p = 0; p < pixels; ++p) hwc[static_cast<size_t>(p * c + ch)] = to_byte(v[static_cast<size_t>(ch * pixels + p)]);
  std::string out;
  bool ok = fmt_name == "png"
                ? detail::stb_encode_png(out, static_cast<int>(w), static_cast<int>(h), static_cast<int>(c), hwc.data())
                : detail::stb_encode_jpeg(out, static_cast<int>(w), static_cast<int>(h), static_cast<int>(c), hwc.data(),
                                          options.jpeg_quality);
  if (!ok) throw Error(fmt::format("write_image: encoding a {} image as {} failed", shape_str(chw.shape()), fmt_name));
  return out;
}

void write_image(const Tensor& chw, const std::string& path, const WriteImageOptions& options) {
  std::string ext = lower(std::filesystem::path(path).extension().string());
  if (ext != ".png" && ext != ".jpg" && ext != ".jpeg")
    throw IoError(fmt::format("{}: cannot tell the image format from the extension \"{}\"; use .png, .jpg or .jpeg",
                              path, ext));
  std::string bytes;
  try {
    bytes = encode_image(chw, ext.substr(1), options);
  } catch (const ShapeError& e) {
    throw ShapeError(fmt::format("{}: {}", path, e.what()));
  } catch (const Error& e) {
    throw IoError(fmt::format("{}: {}", path, e.what()));
  }
  write_file_atomic(path, bytes);
}

Tensor make_grid(const Tensor& nchw, int64_t columns, const GridOptions& options) {
  if (!nchw.defined() || nchw.dim() != 4)
    throw ShapeError(fmt::format("make_grid: expected images [N, C, H, W], got {}",
                                 nchw.defined() ? shape_str(nchw.shape()) : "an undefined tensor"));
  if (columns < 1) throw Error(fmt::format("make_grid: columns must be at least 1, got {}", columns));
  if (options.padding < 0 || options.padding > 4096)
    throw Error(fmt::format("make_grid: padding must be in 0..4096, got {}", options.padding));
  const int64_t n = nchw.size(0), c = nchw.size(1), h = nchw.size(2), w = nchw.size(3), pad = options.padding;
  if (n < 1) throw ShapeError(fmt::format("make_grid: no images to tile in {}", shape_str(nchw.shape())));
  const int64_t cols = std::min(columns, n), rows = (n + cols - 1) / cols;
  const int64_t gh = rows * (h + pad) + pad, gw = cols * (w + pad) + pad;
  std::vector<float> out(static_cast<size_t>(c * gh * gw), options.background);
  const std::vector<float> v = nchw.to_vector();
  for (int64_t i = 0; i < n; ++i) {
    const int64_t top = pad + (i / cols) * (h + pad), left = pad + (i % cols) * (w + pad);
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t y = 0; y < h; ++y)
        std::copy_n(v.begin() + ((i * c + ch) * h + y) * w, w, out.begin() + (ch * gh + top + y) * gw + left);
  }
  return tensor(std::move(out), {c, gh, gw});
}

void write_image_grid(const Tensor& nchw, const std::string& path, int64_t columns) {
  write_image_grid(nchw, path, columns, GridOptions{});
}

void write_image_grid(const Tensor& nchw, const std::string& path, int64_t columns, const GridOptions& options) {
  write_image(make_grid(nchw, columns, options), path);
}

}  // namespace fresco::io
