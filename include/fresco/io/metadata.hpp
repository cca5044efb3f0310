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

/// The signed decimal integer stored under `key`.
int64_t metadata_int(const Metadata& metadata, const std::string& key, std::string_view context = {});

/// The unsigned decimal integer stored under `key` (seeds: the full 64-bit range).
uint64_t metadata_uint(const Metadata& metadata, const std::string& key, std::string_view context = {});

/// The number stored under `key`, rounded once to double.
double metadata_double(const Metadata& metadata, const std::string& key, std::string_view context = {});

/// The number stored under `key`, rounded once to float (reads back exactly a
/// float written with `fmt::format("{}", x)`).
float metadata_float(const Metadata& metadata, const std::string& key, std::string_view context = {});

}  // namespace fresco::io
