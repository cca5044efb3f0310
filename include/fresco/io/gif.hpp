// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file
/// Animated GIF files (via giflib), for interpolation sequences.
///
///     io::write_gif(frames, "morph.gif", {.delay_ms = 80, .scale = 4});   // frames: [3, H, W] each, in [0, 1]
///     io::GifInfo info = io::read_gif_info("morph.gif");                  // info.frames == frames.size()

#include <cstdint>
#include <string>
#include <vector>

#include <fresco/tensor/tensor.hpp>

namespace fresco::io {

/// Options of `write_gif`.
struct GifOptions {
  /// Time each frame is shown, in milliseconds (stored in hundredths of a second, at least 1).
  int delay_ms = 80;
  /// Each pixel becomes a scale × scale block (small images are hard to see otherwise).
  int scale = 1;
  /// Loop forever (the NETSCAPE2.0 extension); false plays once.
  bool loop = true;
};

/// Writes `frames` (each [C, H, W] or [H, W], C = 1 or 3, values in [0, 1],
/// all of one shape) as an animated GIF. RGB frames are quantised to a fixed
/// 6×7×6 colour cube (252 colours, nearest level per channel), grey frames to
/// 256 greys. Written to a temporary file and renamed into place. Throws
/// `fresco::Error` for no frames, mismatched or bad shapes and bad options,
/// `fresco::IoError` naming the file when writing fails.
void write_gif(const std::vector<Tensor>& frames, const std::string& path, const GifOptions& options = {});
/// `write_gif(frames, path, {.delay_ms = delay_ms})`.
void write_gif(const std::vector<Tensor>& frames, const std::string& path, int delay_ms);

/// Writes clips [N, T, C, H, W] (values in [0, 1]) as one animated GIF of T
/// frames: frame t tiles frame t of every clip, `columns` clips a row, as
/// `make_grid` does. Throws as `write_gif`, and `fresco::ShapeError` unless the
/// clips are 5-D.
///
///     io::write_clips_gif(model.generate(captions, 7), "clips.gif", 4, {.delay_ms = 150, .scale = 4});
void write_clips_gif(const Tensor& clips, const std::string& path, int64_t columns, const GifOptions& options = {});

/// What `read_gif_info` finds in a GIF file.
struct GifInfo {
  int64_t width = 0;
  int64_t height = 0;
  int64_t frames = 0;
  /// Delay of the first frame in milliseconds (0 when it has none).
  int delay_ms = 0;
};
/// Decodes a GIF file and reports its size, frame count and first delay.
/// Throws `fresco::IoError` naming the file when it is missing or not a valid GIF.
GifInfo read_gif_info(const std::string& path);

}  // namespace fresco::io
