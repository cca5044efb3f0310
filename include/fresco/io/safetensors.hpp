// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file
/// Checkpoints in the safetensors format, readable by the Python
/// `safetensors` package:
///
///     [u64 little-endian N][N bytes of JSON header][data section]
///
/// The header maps each tensor name to `{"dtype": "F32", "shape": [..],
/// "data_offsets": [begin, end]}` (byte offsets into the data section) and
/// may hold `"__metadata__": {"key": "value", ...}`. See docs/io.md.
///
///     io::save_safetensors({{"w", fresco::randn({3, 4})}}, "w.safetensors", {{"step", "100"}});
///     auto tensors = io::load_safetensors("w.safetensors");   // tensors["w"]: [3, 4]

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <fresco/tensor/tensor.hpp>

namespace fresco::io {

/// One tensor's entry in a safetensors header, as validated by the parser.
struct SafetensorsEntry {
  std::string name;
  /// "F32", "F16", "BF16", "F64", "I64", "I32", "I16", "I8", "U8" or "BOOL".
  std::string dtype;
  Shape shape;
  /// Byte range [begin, end) within the data section.
  uint64_t begin = 0, end = 0;
};

/// A validated safetensors header: entries sorted by `begin`, the metadata,
/// and where the data section starts in the file.
struct SafetensorsHeader {
  std::vector<SafetensorsEntry> entries;
  std::map<std::string, std::string> metadata;
  uint64_t data_start = 0;
  uint64_t data_size = 0;
};

/// Largest header the loader accepts (the format's own reference uses 100 MB).
inline constexpr uint64_t kMaxSafetensorsHeaderBytes = 100'000'000;

/// Writes `tensors` (any strides; each becomes contiguous little-endian F32)
/// and string `metadata` to `path`. Tensors are stored sorted by name. The
/// file is written to a temporary file and renamed, so a failure or crash
/// mid-save never damages an existing file at `path`.
/// Throws `fresco::IoError` naming the file for undefined tensors, names
/// that are not valid UTF-8 and any write failure.
void save_safetensors(const std::map<std::string, Tensor>& tensors, const std::string& path,
                      const std::map<std::string, std::string>& metadata = {});

/// Serialises like `save_safetensors` into a byte string (no file involved).
/// `name_for_errors` is used in messages.
std::string serialize_safetensors(const std::map<std::string, Tensor>& tensors,
                                  const std::map<std::string, std::string>& metadata = {},
                                  const std::string& name_for_errors = "<memory>");

/// Reads every tensor of a safetensors file; each becomes a contiguous f32
/// tensor with the stored shape (other dtypes are converted to f32).
/// Everything is validated before any tensor is built: header length,
/// JSON, dtypes, shapes, offsets in bounds and not overlapping, byte spans
/// equal to shape x element size. Any problem throws `fresco::IoError`
/// naming the file and the problem.
std::map<std::string, Tensor> load_safetensors(const std::string& path);

/// The `__metadata__` string map of a safetensors file (empty if absent).
/// Validates the header the same way `load_safetensors` does; reads only the header.
std::map<std::string, std::string> load_safetensors_metadata(const std::string& path);

/// The validated header of a safetensors file: its tensor index (names,
/// dtypes, shapes, byte ranges) and metadata, read without the data section.
/// The header length, every byte range and the shapes' sizes are checked
/// against the file's size and against overflow, as `load_safetensors` does.
SafetensorsHeader read_safetensors_header(const std::string& path);

/// Bytes the header's tensors take once loaded as f32 (`load_safetensors`
/// converts every dtype to f32): at most 4x the file's size.
uint64_t tensor_bytes_as_f32(const SafetensorsHeader& header);

/// Validates the header of an in-memory safetensors file (`bytes` is the
/// whole file) without building tensors. Throws `fresco::IoError` whose
/// message starts with `name_for_errors`.
SafetensorsHeader parse_safetensors_header(std::string_view bytes, const std::string& name_for_errors);

/// `load_safetensors` on an in-memory file; `name_for_errors` is used in messages.
std::map<std::string, Tensor> parse_safetensors(std::string_view bytes, const std::string& name_for_errors);

}  // namespace fresco::io
