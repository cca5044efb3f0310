// SPDX-License-Identifier: Apache-2.0
// Animated GIFs through giflib's low-level encoder: screen descriptor, a
// global colour map, the looping extension, then per frame a graphics
// control block (the delay) and the LZW-coded indices.
#include <fresco/io/gif.hpp>

#include <gif_lib.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include <fresco/error.hpp>
#include <fresco/io/image.hpp>
#include <fresco/ops/shape.hpp>

namespace fresco::io {

namespace {

constexpr int kLevelsR = 6, kLevelsG = 7, kLevelsB = 6;

int level(float v, int levels) {
  if (!(v > 0.f)) return 0;   // also NaN
  if (v >= 1.f) return levels - 1;
  return static_cast<int>(std::lround(v * static_cast<float>(levels - 1)));
}

std::string gif_error(int code) {
  const char* s = GifErrorString(code);
  return s ? s : fmt::format("giflib error {}", code);
}

// The frames' common layout: C channels of H x W, written scaled to SH x SW.
struct FrameLayout {
  int64_t c, h, w, sh, sw;
};

// All frames [C, H, W] with C = 1 or 3, or [H, W], of one shape and a
// size the format can hold.
FrameLayout check_frames(const std::vector<Tensor>& frames, const std::string& path, const GifOptions& options) {
  FRESCO_CHECK(!frames.empty(), "write_gif: no frames to write to {}", path);
  FRESCO_CHECK(options.delay_ms >= 0 && options.delay_ms <= 655350, "write_gif: delay_ms must be in [0, 655350], got {}",
               options.delay_ms);
  FRESCO_CHECK(options.scale >= 1 && options.scale <= 64, "write_gif: scale must be in [1, 64], got {}", options.scale);
  const Shape shape = frames[0].defined() ? frames[0].shape() : Shape{};
  const bool hw = shape.size() == 2;
  FRESCO_CHECK_SHAPE((hw || (shape.size() == 3 && (shape[0] == 1 || shape[0] == 3))),
                     "write_gif: expected frames [C, H, W] with C = 1 or 3, or [H, W]; got {}", shape_str(shape));
  const int64_t c = hw ? 1 : shape[0], h = shape[shape.size() - 2], w = shape[shape.size() - 1];
  const int64_t sh = h * options.scale, sw = w * options.scale;
  FRESCO_CHECK(h >= 1 && w >= 1 && sh <= 65535 && sw <= 65535, "write_gif: frame size {}x{} (x{}) is out of range", h,
               w, options.scale);
  for (size_t i = 0; i < frames.size(); ++i)
    FRESCO_CHECK_SHAPE(frames[i].defined() && frames[i].shape() == shape, "write_gif: frame {} is {}, frame 0 is {}",
                       i, frames[i].defined() ? shape_str(frames[i].shape()) : "undefined", shape_str(shape));
  return {c, h, w, sh, sw};
}

// Palette: 6×7×6 RGB cube (index = (r·7 + g)·6 + b), or 256 greys.
ColorMapObject* make_palette(int64_t c, const std::string& path) {
  ColorMapObject* map = GifMakeMapObject(256, nullptr);
  if (!map) throw IoError(fmt::format("write_gif: {}: out of memory for the colour map", path));
  for (int i = 0; i < 256; ++i) {
    GifColorType& col = map->Colors[i];
    if (c == 1) {
      col.Red = col.Green = col.Blue = static_cast<GifByteType>(i);
    } else if (i < kLevelsR * kLevelsG * kLevelsB) {
      col.Red = static_cast<GifByteType>(255 * (i / (kLevelsG * kLevelsB)) / (kLevelsR - 1));
      col.Green = static_cast<GifByteType>(255 * (i / kLevelsB % kLevelsG) / (kLevelsG - 1));
      col.Blue = static_cast<GifByteType>(255 * (i % kLevelsB) / (kLevelsB - 1));
    } else {
      col.Red = col.Green = col.Blue = 0;
    }
  }
  return map;
}

// Closes the encoder (once) and removes the temporary file unless committed.
struct Writer {
  GifFileType* gif = nullptr;
  std::string path;
  std::string tmp;
  bool committed = false;
  ~Writer() {
    if (gif) {
      int err = 0;
      EGifCloseFile(gif, &err);
    }
    if (!committed) std::remove(tmp.c_str());
  }
  void check(int rc, const char* what) const {
    if (rc != GIF_OK) throw IoError(fmt::format("write_gif: {}: {} failed: {}", path, what, gif_error(gif->Error)));
  }
};

// Opens the temporary file and writes the screen descriptor with `map`
// (freed here: the encoder keeps its own copy) and the looping extension.
void begin(Writer& wr, ColorMapObject* map, const FrameLayout& f, bool loop) {
  wr.tmp = fmt::format("{}.tmp.{}", wr.path, static_cast<long>(getpid()));
  int err = 0;
  wr.gif = EGifOpenFileName(wr.tmp.c_str(), false, &err);
  if (!wr.gif) {
    GifFreeMapObject(map);
    throw IoError(fmt::format("write_gif: cannot open {} for writing: {}", wr.path, gif_error(err)));
  }
  EGifSetGifVersion(wr.gif, true);
  const int put = EGifPutScreenDesc(wr.gif, static_cast<int>(f.sw), static_cast<int>(f.sh), 8, 0, map);
  GifFreeMapObject(map);
  wr.check(put, "writing the screen descriptor");
  if (loop) {
    wr.check(EGifPutExtensionLeader(wr.gif, APPLICATION_EXT_FUNC_CODE), "the loop extension");
    wr.check(EGifPutExtensionBlock(wr.gif, 11, "NETSCAPE2.0"), "the loop extension");
    const unsigned char forever[3] = {1, 0, 0};
    wr.check(EGifPutExtensionBlock(wr.gif, 3, forever), "the loop extension");
    wr.check(EGifPutExtensionTrailer(wr.gif), "the loop extension");
  }
}

// Row y of the scaled frame as palette indices: a grey level, or the cube
// index of the quantised (r, g, b).
void quantize_row(std::vector<GifPixelType>& line, const float* d, int64_t y, const FrameLayout& f, int scale) {
  const int64_t sy = y / scale, plane = f.h * f.w;
  for (int64_t x = 0; x < f.sw; ++x) {
    const int64_t p = sy * f.w + x / scale;
    if (f.c == 1) {
      line[static_cast<size_t>(x)] = static_cast<GifPixelType>(level(d[p], 256));
    } else {
      const int r = level(d[p], kLevelsR), g = level(d[plane + p], kLevelsG), b = level(d[2 * plane + p], kLevelsB);
      line[static_cast<size_t>(x)] = static_cast<GifPixelType>((r * kLevelsG + g) * kLevelsB + b);
    }
  }
}

// One frame: its graphics control block (the delay), descriptor and rows.
void write_frame(Writer& wr, const Tensor& frame, const FrameLayout& f, const GifOptions& options,
                 std::vector<GifPixelType>& line) {
  GraphicsControlBlock gcb{};
  gcb.DisposalMode = DISPOSE_DO_NOT;
  gcb.DelayTime = std::max(1, (options.delay_ms + 5) / 10);
  gcb.TransparentColor = NO_TRANSPARENT_COLOR;
  GifByteType ext[4];
  const size_t len = EGifGCBToExtension(&gcb, ext);
  wr.check(EGifPutExtension(wr.gif, GRAPHICS_EXT_FUNC_CODE, static_cast<int>(len), ext), "the frame delay");
  wr.check(EGifPutImageDesc(wr.gif, 0, 0, static_cast<int>(f.sw), static_cast<int>(f.sh), false, nullptr),
           "the frame descriptor");
  const Tensor px = frame.contiguous();
  const float* d = px.data();
  for (int64_t y = 0; y < f.sh; ++y) {
    quantize_row(line, d, y, f, options.scale);
    wr.check(EGifPutLine(wr.gif, line.data(), static_cast<int>(f.sw)), "writing pixels");
  }
}

// Closes the file and renames it into place.
void commit(Writer& wr) {
  GifFileType* gif = wr.gif;
  wr.gif = nullptr;
  int err = 0;
  if (EGifCloseFile(gif, &err) != GIF_OK)
    throw IoError(fmt::format("write_gif: {}: closing the file failed: {}", wr.path, gif_error(err)));
  std::error_code ec;
  // giflib creates the file owner-only (0600); give it an ordinary file's permissions.
  namespace fs = std::filesystem;
  fs::permissions(wr.tmp, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read | fs::perms::others_read,
                  ec);
  std::filesystem::rename(wr.tmp, wr.path, ec);
  if (ec)
    throw IoError(fmt::format("write_gif: cannot move the finished file into place at {}: {}", wr.path, ec.message()));
  wr.committed = true;
}

}  // namespace

void write_clips_gif(const Tensor& clips, const std::string& path, int64_t columns, const GifOptions& options) {
  FRESCO_CHECK_SHAPE(clips.dim() == 5, "write_clips_gif: expected clips [N, T, C, H, W], got {}",
                     shape_str(clips.shape()));
  const int64_t n = clips.size(0), t = clips.size(1);
  const Tensor x = clips.contiguous();
  std::vector<Tensor> frames;
  for (int64_t k = 0; k < t; ++k)
    frames.push_back(make_grid(index_select(x, 1, {k}).reshape({n, x.size(2), x.size(3), x.size(4)}), columns));
  write_gif(frames, path, options);
}

void write_gif(const std::vector<Tensor>& frames, const std::string& path, int delay_ms) {
  write_gif(frames, path, GifOptions{.delay_ms = delay_ms});
}

void write_gif(const std::vector<Tensor>& frames, const std::string& path, const GifOptions& options) {
  const FrameLayout f = check_frames(frames, path, options);
  ColorMapObject* map = make_palette(f.c, path);
  Writer wr;
  wr.path = path;
  begin(wr, map, f, options.loop);
  std::vector<GifPixelType> line(static_cast<size_t>(f.sw));
  for (const Tensor& frame : frames) write_frame(wr, frame, f, options, line);
  commit(wr);
}

GifInfo read_gif_info(const std::string& path) {
  int err = 0;
  GifFileType* gif = DGifOpenFileName(path.c_str(), &err);
  if (!gif) throw IoError(fmt::format("read_gif_info: cannot open {} as a GIF: {}", path, gif_error(err)));
  if (DGifSlurp(gif) != GIF_OK) {
    const int code = gif->Error;
    DGifCloseFile(gif, &err);
    throw IoError(fmt::format("read_gif_info: {} is not a valid GIF: {}", path, gif_error(code)));
  }
  GifInfo info{gif->SWidth, gif->SHeight, gif->ImageCount, 0};
  GraphicsControlBlock gcb{};
  if (gif->ImageCount > 0 && DGifSavedExtensionToGCB(gif, 0, &gcb) == GIF_OK) info.delay_ms = gcb.DelayTime * 10;
  DGifCloseFile(gif, &err);
  return info;
}

}  // namespace fresco::io
