// SPDX-License-Identifier: Apache-2.0
#pragma once
// Reading configs and counters back from safetensors string metadata: the
// names the GAN's files have used, kept over `fresco/io/metadata.hpp`.
#include <cstdint>
#include <map>
#include <string>

#include <fresco/io/metadata.hpp>

namespace fresco::gan::detail {

/// The integer stored under `key` (`io::metadata_int`); throws `fresco::Error` naming the key.
inline int64_t meta_int(const std::map<std::string, std::string>& m, const std::string& key) {
  return io::metadata_int(m, key, "model metadata");
}

/// The floating-point value stored under `key` (`io::metadata_double`).
inline double meta_double(const std::map<std::string, std::string>& m, const std::string& key) {
  return io::metadata_double(m, key, "model metadata");
}

}  // namespace fresco::gan::detail
