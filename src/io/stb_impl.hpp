// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file
/// fresco's narrow interface to stb_image / stb_image_write, whose
/// implementation is compiled (static, PNG/JPEG/BMP only, bounded sizes) in
/// stb_impl.cpp alone, so that no stb symbol leaves the library.

#include <string>

namespace fresco::io::detail {

/// Header-only probe: width, height and channels in the file. False when the
/// bytes are not a PNG, JPEG or BMP image stb_image accepts.
bool stb_info(const unsigned char* data, int len, int* width, int* height, int* channels);

/// Decodes to 8-bit interleaved HWC with `wanted` channels (0 = as in the
/// file; `channels` receives the file's count). Null on failure; free with `stb_free`.
unsigned char* stb_decode(const unsigned char* data, int len, int* width, int* height, int* channels, int wanted);

void stb_free(void* pixels);

/// stb_image's reason for the last failure on this thread.
const char* stb_failure_reason();

/// Encodes 8-bit interleaved HWC pixels; false on failure.
bool stb_encode_png(std::string& out, int width, int height, int channels, const unsigned char* pixels);
bool stb_encode_jpeg(std::string& out, int width, int height, int channels, const unsigned char* pixels, int quality);

}  // namespace fresco::io::detail
