// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file
/// Typed reads of safetensors string metadata (`io::load_safetensors_metadata`),
/// the one way fresco reads configs and counters back from its files.
///
///     auto meta = fresco::io::load_safetensors_metadata("model.safetensors");
///     int64_t layers = fresco::io::metadata_int(meta, "gpt.layers", "load_gpt");
///
/// Each read throws `fresco::Error` when the key is missing or its value is not
/// what was asked for, naming `context` (when given), the key, what was expected
/// and what was found: `GptConfig::from_metadata: metadata "gpt.layers" must be
/// an integer, found "four"`. Callers reading a file add its path.
/// Numbers are parsed whole, in the C locale, without leading spaces or '+'.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace fresco::io {

/// String metadata of a safetensors file: key -> value.
using Metadata = std::map<std::string, std::string>;

/// The value stored under `key`.
const std::string& metadata_string(const Metadata& metadata, const std::string& key, std::string_view context = {});
/// Throws `fresco::IoError` "<context>: <path> is not <what> (metadata "format" is "<found>",
/// expected "<format>")" unless the metadata's "format" is `format`: the first check of every
/// loader of fresco's own files.
void require_format(const Metadata& metadata, std::string_view format, const std::string& path,
                    std::string_view context, std::string_view what);

/// The signed decimal integer stored under `key`.
int64_t metadata_int(const Metadata& metadata, const std::string& key, std::string_view context = {});

/// The unsigned decimal integer stored under `key` (seeds: the full 64-bit range).
uint64_t metadata_uint(const Metadata& metadata, const std::string& key, std::string_view context = {});

/// The number stored under `key`, rounded once to double.
double metadata_double(const Metadata& metadata, const std::string& key, std::string_view context = {});

/// The number stored under `key`, rounded once to float (reads back exactly a
/// float written with `fmt::format("{}", x)`).
float metadata_float(const Metadata& metadata, const std::string& key, std::string_view context = {});

/// Writes a config's fields as metadata under a prefix. With `MetadataReader`, it lets a config
/// list its fields once, in a function that calls `field(name, member)` for each member, and
/// serve both directions:
///
///     template <class C, class F> void fields(C& c, F&& field) { field("layers", c.layers), field("seed", c.seed); }
///     MetadataWriter w("gpt.");  fields(config, w);          // w.metadata["gpt.layers"] == "4"
///     MetadataReader r(meta, "gpt.", "GptConfig");  fields(config, r);
///
/// Integers are written in decimal, bools as 1 or 0, floats in their shortest form that reads
/// back exactly.
class MetadataWriter {
public:
  explicit MetadataWriter(std::string prefix) : prefix_(std::move(prefix)) {}
  void operator()(const std::string& name, int64_t value);
  void operator()(const std::string& name, uint64_t value);
  void operator()(const std::string& name, bool value);
  void operator()(const std::string& name, float value);
  void operator()(const std::string& name, const std::string& value);
  Metadata metadata;

private:
  std::string prefix_;
};

/// Reads what `MetadataWriter` wrote, each field with the typed reads above (same errors).
class MetadataReader {
public:
  MetadataReader(const Metadata& metadata, std::string prefix, std::string_view context)
      : metadata_(metadata), prefix_(std::move(prefix)), context_(context) {}
  void operator()(const std::string& name, int64_t& value) const;
  void operator()(const std::string& name, uint64_t& value) const;
  void operator()(const std::string& name, bool& value) const;
  void operator()(const std::string& name, float& value) const;
  void operator()(const std::string& name, std::string& value) const;

private:
  const Metadata& metadata_;
  std::string prefix_;
  std::string_view context_;
};

}  // namespace fresco::io
