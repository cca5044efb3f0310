// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file
/// Image files in and out, and the small resampling helpers datasets need.
/// Images are float tensors [C, H, W] with values in [0, 1]; C is 1 (grey),
/// 2 (grey + alpha), 3 (RGB) or 4 (RGBA).
///
///     Tensor img = io::read_image("cat.jpg", {.channels = 3});   // [3, H, W]
///     io::write_image(io::resize_bilinear(img, 64, 64), "small.png");
///     io::write_image_grid(samples, "grid.png", 8);              // [N, C, H, W] -> one sheet

#include <cstdint>
#include <string>
#include <string_view>

#include <fresco/tensor/tensor.hpp>

namespace fresco::io {

/// Options of `read_image` / `decode_image`.
struct ReadImageOptions {
  /// Channels of the result: 0 keeps the file's, 1..4 converts (grey, grey+alpha, RGB, RGBA).
  int channels = 0;
  /// Images with more pixels (width x height) than this are refused before decoding.
  int64_t max_pixels = int64_t{1} << 26;
  /// Files larger than this many bytes are refused before reading.
  uint64_t max_file_bytes = uint64_t{1} << 28;
};

/// Reads a PNG, JPEG or BMP file -> [C, H, W] in [0, 1].
/// Throws `fresco::IoError` naming the file when it is missing, corrupt,
/// truncated, in another format, or larger than the limits in `options`.
Tensor read_image(const std::string& path, const ReadImageOptions& options = {});

/// `read_image` on the bytes of a file held in memory; `name_for_errors` is used in messages.
Tensor decode_image(std::string_view bytes, const std::string& name_for_errors, const ReadImageOptions& options = {});

/// Options of `write_image` / `encode_image`.
struct WriteImageOptions {
  /// JPEG quality, 1..100.
  int jpeg_quality = 95;
};

/// Writes [C, H, W] (or [H, W], grey) with C in 1..4 as PNG or JPEG, chosen
/// by the extension (.png, .jpg, .jpeg; any case). Values are clamped to
/// [0, 1] (NaN becomes 0) and rounded to 8 bits. The file is written to a
/// temporary file and renamed, so a failure never leaves a partial image.
void write_image(const Tensor& chw, const std::string& path, const WriteImageOptions& options = {});

/// The bytes of `write_image`'s file; `format` is "png" or "jpeg" (or "jpg").
std::string encode_image(const Tensor& chw, std::string_view format, const WriteImageOptions& options = {});

/// Options of `make_grid` / `write_image_grid`.
struct GridOptions {
  /// Pixels between tiles and around the sheet.
  int64_t padding = 2;
  /// Value of the padding pixels, in [0, 1].
  float background = 0.f;
};

/// Tiles [N, C, H, W] into one image [C, rows*(H+p)+p, cols*(W+p)+p] with
/// cols = min(columns, N), rows = ceil(N / cols), p = padding; tile i goes to
/// row i / cols, column i % cols (as torchvision.utils.make_grid).
Tensor make_grid(const Tensor& nchw, int64_t columns, const GridOptions& options = {});

/// Writes `make_grid(nchw, columns)` to `path` (a sample sheet).
void write_image_grid(const Tensor& nchw, const std::string& path, int64_t columns);
/// Writes `make_grid(nchw, columns, options)` to `path`.
void write_image_grid(const Tensor& nchw, const std::string& path, int64_t columns, const GridOptions& options);

/// Bilinear resampling [..., H, W] -> [..., height, width], half-pixel
/// centres (PyTorch's `interpolate(mode="bilinear", align_corners=False)`).
Tensor resize_bilinear(const Tensor& chw, int64_t height, int64_t width);

/// Area resampling [..., H, W] -> [..., height, width]: each output pixel is
/// the mean of the input pixels its cell covers (PyTorch's `mode="area"`,
/// i.e. adaptive average pooling). The right choice for shrinking.
Tensor resize_area(const Tensor& chw, int64_t height, int64_t width);

/// The central height x width window of [..., H, W] (torchvision's
/// center_crop offsets: round((H - height) / 2)). Throws when larger than the image.
Tensor center_crop(const Tensor& chw, int64_t height, int64_t width);

}  // namespace fresco::io
