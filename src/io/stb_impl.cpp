// SPDX-License-Identifier: Apache-2.0
// The one translation unit that compiles stb_image and stb_image_write.
// Debian ships a 2022 snapshot (stb_image 2.27) that predates the fixes of
// 2.28 (CVE-2023-45661..45667, mostly in the GIF, TGA and PSD loaders and in
// vertical flipping), so: only the PNG, JPEG and BMP decoders are compiled,
// no stdio, no HDR/linear paths, dimensions capped, everything `static` so
// no stb symbol is exported, and callers check the header dimensions with
// stb_info() before decoding. The decoder is the vendored, patched copy in
// third_party/stb/ (see its README.md); stb_image_write is the system's.
#include "io/stb_impl.hpp"

#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_STATIC
#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#define STBI_ONLY_BMP
#define STBI_NO_STDIO
#define STBI_NO_HDR
#define STBI_NO_LINEAR
#define STBI_MAX_DIMENSIONS (1 << 14)

#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STB_IMAGE_WRITE_STATIC
#define STBI_WRITE_NO_STDIO

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#pragma GCC diagnostic ignored "-Wtype-limits"
#if !defined(__clang__)  // a GCC-only warning; clang warns about the unknown name
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <stb/stb_image_patched.h>  // third_party/stb: Debian's 2.27 with bounds checks from 2.28
#include <stb/stb_image_write.h>
#pragma GCC diagnostic pop

namespace fresco::io::detail {
namespace {
void append_to_string(void* context, void* data, int size) {
  static_cast<std::string*>(context)->append(static_cast<const char*>(data), static_cast<size_t>(size));
}
}  // namespace

bool stb_info(const unsigned char* data, int len, int* width, int* height, int* channels) {
  return stbi_info_from_memory(data, len, width, height, channels) != 0;
}

unsigned char* stb_decode(const unsigned char* data, int len, int* width, int* height, int* channels, int wanted) {
  return stbi_load_from_memory(data, len, width, height, channels, wanted);
}

void stb_free(void* pixels) { stbi_image_free(pixels); }

const char* stb_failure_reason() {
  const char* r = stbi_failure_reason();
  return r ? r : "unknown reason";
}

bool stb_encode_png(std::string& out, int width, int height, int channels, const unsigned char* pixels) {
  return stbi_write_png_to_func(append_to_string, &out, width, height, channels, pixels, width * channels) != 0;
}

bool stb_encode_jpeg(std::string& out, int width, int height, int channels, const unsigned char* pixels, int quality) {
  return stbi_write_jpg_to_func(append_to_string, &out, width, height, channels, pixels, quality) != 0;
}

}  // namespace fresco::io::detail
