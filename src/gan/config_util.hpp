// SPDX-License-Identifier: Apache-2.0
#pragma once
// Reading configs back from safetensors string metadata.
#include <cstdint>
#include <map>
#include <string>

#include <fresco/error.hpp>

namespace fresco::gan::detail {

/// The integer stored under `key`; throws `fresco::Error` naming the key when it is missing or not an integer.
inline int64_t meta_int(const std::map<std::string, std::string>& m, const std::string& key) {
  auto it = m.find(key);
  FRESCO_CHECK(it != m.end(), "model metadata: the key \"{}\" is missing", key);
  size_t used = 0;
  int64_t v = 0;
  try {
    v = std::stoll(it->second, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  FRESCO_CHECK(used == it->second.size() && used > 0, "model metadata: \"{}\" must be an integer, got \"{}\"", key,
               it->second);
  return v;
}

/// The floating-point value stored under `key` (same errors as `meta_int`).
inline double meta_double(const std::map<std::string, std::string>& m, const std::string& key) {
  auto it = m.find(key);
  FRESCO_CHECK(it != m.end(), "model metadata: the key \"{}\" is missing", key);
  size_t used = 0;
  double v = 0;
  try {
    v = std::stod(it->second, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  FRESCO_CHECK(used == it->second.size() && used > 0, "model metadata: \"{}\" must be a number, got \"{}\"", key,
               it->second);
  return v;
}

}  // namespace fresco::gan::detail
