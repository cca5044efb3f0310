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

// Closes the encoder (once) and removes the temporary file unless committed.
struct Writer {
  GifFileType* gif = nullptr;
  std::string tmp;
  bool committed = false;
  ~Writer() {
    if (gif) {
      int err = 0;
      EGifCloseFile(gif, &err);
    }
    if (!committed) std::remove(tmp.c_str());
  }
};

}  // namespace

void write_gif(const std::vector<Tensor>& frames, const std::string& path, int delay_ms) {
  write_gif(frames, path, GifOptions{.delay_ms = delay_ms});
}

void write_gif(const std::vector<Tensor>& frames, const std::string& path, const GifOptions& options) {
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

  // Palette: 6×7×6 RGB cube (index = (r·7 + g)·6 + b), or 256 greys.
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

  Writer wr;
  wr.tmp = fmt::format("{}.tmp.{}", path, static_cast<long>(getpid()));
  int err = 0;
  wr.gif = EGifOpenFileName(wr.tmp.c_str(), false, &err);
  if (!wr.gif) {
    GifFreeMapObject(map);
    throw IoError(fmt::format("write_gif: cannot open {} for writing: {}", path, gif_error(err)));
  }
  EGifSetGifVersion(wr.gif, true);
  auto check = [&](int rc, const char* what) {
    if (rc != GIF_OK) throw IoError(fmt::format("write_gif: {}: {} failed: {}", path, what, gif_error(wr.gif->Error)));
  };
  const int put = EGifPutScreenDesc(wr.gif, static_cast<int>(sw), static_cast<int>(sh), 8, 0, map);
  GifFreeMapObject(map);   // the encoder keeps its own copy
  check(put, "writing the screen descriptor");
  if (options.loop) {
    check(EGifPutExtensionLeader(wr.gif, APPLICATION_EXT_FUNC_CODE), "the loop extension");
    check(EGifPutExtensionBlock(wr.gif, 11, "NETSCAPE2.0"), "the loop extension");
    const unsigned char forever[3] = {1, 0, 0};
    check(EGifPutExtensionBlock(wr.gif, 3, forever), "the loop extension");
    check(EGifPutExtensionTrailer(wr.gif), "the loop extension");
  }
  std::vector<GifPixelType> line(static_cast<size_t>(sw));
  for (const Tensor& frame : frames) {
    GraphicsControlBlock gcb{};
    gcb.DisposalMode = DISPOSE_DO_NOT;
    gcb.DelayTime = std::max(1, (options.delay_ms + 5) / 10);
    gcb.TransparentColor = NO_TRANSPARENT_COLOR;
    GifByteType ext[4];
    const size_t len = EGifGCBToExtension(&gcb, ext);
    check(EGifPutExtension(wr.gif, GRAPHICS_EXT_FUNC_CODE, static_cast<int>(len), ext), "the frame delay");
    check(EGifPutImageDesc(wr.gif, 0, 0, static_cast<int>(sw), static_cast<int>(sh), false, nullptr),
          "the frame descriptor");
    const Tensor px = frame.contiguous();
    const float* d = px.data();
    for (int64_t y = 0; y < sh; ++y) {
      const int64_t sy = y / options.scale;
      for (int64_t x = 0; x < sw; ++x) {
        const int64_t p = sy * w + x / options.scale;
        if (c == 1) {
          line[static_cast<size_t>(x)] = static_cast<GifPixelType>(level(d[p], 256));
        } else {
          const int r = level(d[p], kLevelsR), g = level(d[h * w + p], kLevelsG), b = level(d[2 * h * w + p], kLevelsB);
          line[static_cast<size_t>(x)] = static_cast<GifPixelType>((r * kLevelsG + g) * kLevelsB + b);
        }
      }
      check(EGifPutLine(wr.gif, line.data(), static_cast<int>(sw)), "writing pixels");
    }
  }
  GifFileType* gif = wr.gif;
  wr.gif = nullptr;
  if (EGifCloseFile(gif, &err) != GIF_OK)
    throw IoError(fmt::format("write_gif: {}: closing the file failed: {}", path, gif_error(err)));
  std::error_code ec;
  // giflib creates the file owner-only (0600); give it an ordinary file's permissions.
  namespace fs = std::filesystem;
  fs::permissions(wr.tmp, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read | fs::perms::others_read,
                  ec);
  std::filesystem::rename(wr.tmp, path, ec);
  if (ec) throw IoError(fmt::format("write_gif: cannot move the finished file into place at {}: {}", path, ec.message()));
  wr.committed = true;
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
