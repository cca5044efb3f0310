// SPDX-License-Identifier: Apache-2.0
// The safetensors format: [u64 LE header length N][N bytes JSON][data].
// Reference: https://github.com/huggingface/safetensors (format section).
#include <fresco/io/safetensors.hpp>

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>

#include <nlohmann/json.hpp>

#include <fresco/error.hpp>

#include "io/atomic_file.hpp"

namespace fresco::io {
namespace {

using json = nlohmann::json;

// Checkpoints are read whole; this only stops absurd sizes early.
constexpr uint64_t kMaxFileBytes = uint64_t{1} << 40;
constexpr size_t kMaxDims = 64;
constexpr int kMaxNesting = 16;

[[noreturn]] void fail(const std::string& file, std::string_view problem) {
  throw IoError(fmt::format("{}: not a valid safetensors file: {} (the file may be truncated or damaged; "
                            "write it again)",
                            file, problem));
}

/// A tensor name for messages: JSON-quoted (control characters escaped) and cut short.
std::string quote_name(const std::string& name) {
  std::string q = json(name).dump(-1, ' ', false, json::error_handler_t::replace);
  if (q.size() > 80) q = q.substr(0, 77) + "...";
  return q;
}

struct DTypeInfo {
  const char* name;
  uint64_t size;
};
constexpr DTypeInfo kDTypes[] = {{"F32", 4}, {"F16", 2}, {"BF16", 2}, {"F64", 8}, {"I64", 8},
                                 {"I32", 4}, {"I16", 2}, {"I8", 1},   {"U8", 1},  {"BOOL", 1}};

const DTypeInfo* find_dtype(const std::string& name) {
  for (const auto& d : kDTypes)
    if (name == d.name) return &d;
  return nullptr;
}

uint64_t read_u64_le(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

bool as_u64(const json& j, uint64_t& out) {
  if (j.is_number_unsigned()) {
    out = j.get<uint64_t>();
    return true;
  }
  if (j.is_number_integer()) {
    int64_t v = j.get<int64_t>();
    if (v < 0) return false;
    out = static_cast<uint64_t>(v);
    return true;
  }
  return false;
}

// nlohmann::json destroys nested values recursively; our header never nests
// deeper than 3, so refuse deep nesting before parsing.
void check_nesting(std::string_view s, const std::string& file) {
  int depth = 0;
  bool in_string = false, escaped = false;
  for (char c : s) {
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > kMaxNesting) fail(file, fmt::format("the JSON header nests deeper than {} levels", kMaxNesting));
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
}

SafetensorsEntry parse_entry(const std::string& name, const json& j, uint64_t data_size, const std::string& file) {
  const std::string q = quote_name(name);
  if (!j.is_object()) fail(file, fmt::format("the entry of tensor {} is not a JSON object", q));
  SafetensorsEntry e;
  e.name = name;

  auto dt = j.find("dtype");
  if (dt == j.end() || !dt->is_string()) fail(file, fmt::format("tensor {} has no \"dtype\" string", q));
  e.dtype = dt->get<std::string>();
  const DTypeInfo* info = find_dtype(e.dtype);
  if (!info)
    fail(file, fmt::format("tensor {} has unsupported dtype {} (supported: F32, F16, BF16, F64, I64, I32, I16, "
                           "I8, U8, BOOL)",
                           q, quote_name(e.dtype)));

  auto sh = j.find("shape");
  if (sh == j.end() || !sh->is_array()) fail(file, fmt::format("tensor {} has no \"shape\" list", q));
  if (sh->size() > kMaxDims) fail(file, fmt::format("tensor {} has {} dimensions (at most {})", q, sh->size(), kMaxDims));
  // numel, and the product of the nonzero sizes (bounded so strides never overflow).
  uint64_t numel = 1, span = 1;
  for (const json& d : *sh) {
    uint64_t v = 0;
    if (!as_u64(d, v)) fail(file, fmt::format("tensor {} has a shape entry {} that is not a non-negative integer", q, d.dump()));
    if (__builtin_mul_overflow(span, std::max<uint64_t>(v, 1), &span) ||
        span > static_cast<uint64_t>(std::numeric_limits<int64_t>::max() / 8))
      fail(file, fmt::format("tensor {} has a shape {} whose size overflows", q, sh->dump()));
    numel *= v;
    e.shape.push_back(static_cast<int64_t>(v));
  }

  auto off = j.find("data_offsets");
  if (off == j.end() || !off->is_array() || off->size() != 2)
    fail(file, fmt::format("tensor {} has no \"data_offsets\" pair [begin, end]", q));
  if (!as_u64((*off)[0], e.begin) || !as_u64((*off)[1], e.end))
    fail(file, fmt::format("tensor {} has data_offsets {} that are not non-negative integers", q, off->dump()));
  if (e.begin > e.end) fail(file, fmt::format("tensor {} has data_offsets {} with begin > end", q, off->dump()));
  if (e.end > data_size)
    fail(file, fmt::format("tensor {} has data_offsets {} past the end of the data section ({} bytes)", q,
                           off->dump(), data_size));
  // numel * size cannot overflow here: span <= 2^60 and size <= 8.
  uint64_t bytes = numel * info->size;
  if (e.end - e.begin != bytes)
    fail(file, fmt::format("tensor {} spans {} bytes but its shape {} of {} needs {} bytes", q, e.end - e.begin,
                           sh->dump(), e.dtype, bytes));
  return e;
}

std::map<std::string, std::string> parse_metadata(const json& j, const std::string& file) {
  std::map<std::string, std::string> out;
  if (j.is_null()) return out;
  if (!j.is_object()) fail(file, "\"__metadata__\" is not a JSON object");
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (!it->is_string())
      fail(file, fmt::format("\"__metadata__\" value of key {} is not a string", quote_name(it.key())));
    out.emplace(it.key(), it->get<std::string>());
  }
  return out;
}

float half_to_float(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t mant = h & 0x3ffu;
  uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal half: normalise
      int e = -1;
      do {
        ++e;
        mant <<= 1;
      } while ((mant & 0x400u) == 0);
      bits = sign | (static_cast<uint32_t>(127 - 15 - e) << 23) | ((mant & 0x3ffu) << 13);
    }
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  return std::bit_cast<float>(bits);
}

template <class T>
T load_le(const unsigned char* p) {
  using U = std::conditional_t<sizeof(T) == 8, uint64_t, std::conditional_t<sizeof(T) == 4, uint32_t, std::conditional_t<sizeof(T) == 2, uint16_t, uint8_t>>>;
  U u = 0;
  for (size_t i = sizeof(T); i-- > 0;) u = static_cast<U>((u << 8) | p[i]);
  return std::bit_cast<T>(u);
}

void convert(const std::string& dtype, const unsigned char* src, uint64_t n, float* dst) {
  if (dtype == "F32") {
    if constexpr (std::endian::native == std::endian::little) {
      std::memcpy(dst, src, n * 4);
    } else {
      for (uint64_t i = 0; i < n; ++i) dst[i] = load_le<float>(src + 4 * i);
    }
  } else if (dtype == "F16") {
    for (uint64_t i = 0; i < n; ++i) dst[i] = half_to_float(load_le<uint16_t>(src + 2 * i));
  } else if (dtype == "BF16") {
    for (uint64_t i = 0; i < n; ++i) dst[i] = std::bit_cast<float>(static_cast<uint32_t>(load_le<uint16_t>(src + 2 * i)) << 16);
  } else if (dtype == "F64") {
    for (uint64_t i = 0; i < n; ++i) dst[i] = static_cast<float>(load_le<double>(src + 8 * i));
  } else if (dtype == "I64") {
    for (uint64_t i = 0; i < n; ++i) dst[i] = static_cast<float>(load_le<int64_t>(src + 8 * i));
  } else if (dtype == "I32") {
    for (uint64_t i = 0; i < n; ++i) dst[i] = static_cast<float>(load_le<int32_t>(src + 4 * i));
  } else if (dtype == "I16") {
    for (uint64_t i = 0; i < n; ++i) dst[i] = static_cast<float>(load_le<int16_t>(src + 2 * i));
  } else if (dtype == "I8") {
    for (uint64_t i = 0; i < n; ++i) dst[i] = static_cast<float>(static_cast<int8_t>(src[i]));
  } else if (dtype == "U8") {
    for (uint64_t i = 0; i < n; ++i) dst[i] = static_cast<float>(src[i]);
  } else {  // BOOL
    for (uint64_t i = 0; i < n; ++i) dst[i] = src[i] != 0 ? 1.f : 0.f;
  }
}

// Serialises to any sink with `write(std::string_view)`; the header first,
// then each tensor's bytes straight from its storage.
template <class Sink>
void write_safetensors(const std::map<std::string, Tensor>& tensors, const std::map<std::string, std::string>& metadata,
                       const std::string& file, Sink& sink) {
  static_assert(std::endian::native == std::endian::little, "safetensors writer assumes a little-endian host");
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::vector<Tensor> contiguous;
  contiguous.reserve(tensors.size());
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    if (name == "__metadata__") throw IoError(fmt::format("{}: \"__metadata__\" cannot be a tensor name", file));
    if (!t.defined()) throw IoError(fmt::format("{}: tensor {} is undefined; nothing to save", file, quote_name(name)));
    Tensor c = t.contiguous();
    uint64_t bytes = static_cast<uint64_t>(c.numel()) * sizeof(float);
    header[name] = {{"dtype", "F32"}, {"shape", c.shape()}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
    contiguous.push_back(std::move(c));
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const nlohmann::json::exception& e) {
    throw IoError(fmt::format("{}: cannot write the header: a tensor name or metadata string is not valid UTF-8 ({})",
                              file, e.what()));
  }
  // Pad with spaces so the data section starts 8-byte aligned, as the reference writer does.
  text.append((8 - text.size() % 8) % 8, ' ');
  char prefix[8];
  uint64_t n = text.size();
  for (int i = 0; i < 8; ++i) prefix[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  sink.write(std::string_view(prefix, 8));
  sink.write(text);
  for (const Tensor& c : contiguous) {
    if (c.numel() == 0) continue;
    sink.write(std::string_view(reinterpret_cast<const char*>(c.data()), static_cast<size_t>(c.numel()) * sizeof(float)));
  }
}

struct StringSink {
  std::string out;
  void write(std::string_view b) { out.append(b); }
};

}  // namespace

namespace {

// The header's length as the first 8 bytes state it, checked against the file's size.
uint64_t header_length(std::string_view head, uint64_t file_size, const std::string& file) {
  if (file_size < 8 || head.size() < 8)
    fail(file, fmt::format("it is {} bytes long, shorter than the 8-byte header length", file_size));
  const uint64_t n = read_u64_le(head.data());
  const uint64_t rest = file_size - 8;
  if (n > kMaxSafetensorsHeaderBytes)
    fail(file, fmt::format("the header length {} exceeds the limit of {} bytes", n, kMaxSafetensorsHeaderBytes));
  if (n > rest) fail(file, fmt::format("the header length {} exceeds the {} bytes after it", n, rest));
  if (n < 2) fail(file, fmt::format("the header length {} is too short for a JSON object", n));
  return n;
}

// `head` holds the file's first 8 + N bytes (or more); `file_size` bounds the data section.
SafetensorsHeader parse_header(std::string_view head, uint64_t file_size, const std::string& file) {
  const uint64_t n = header_length(head, file_size, file);
  const uint64_t rest = file_size - 8;
  if (head.size() < 8 + n) fail(file, fmt::format("the header length {} exceeds the {} bytes read", n, head.size() - 8));
  std::string_view text = head.substr(8, n);
  check_nesting(text, file);

  json root;
  try {
    root = json::parse(text.begin(), text.end());
  } catch (const json::exception& e) {
    fail(file, fmt::format("the JSON header is malformed ({})", e.what()));
  }
  if (!root.is_object()) fail(file, "the JSON header is not an object");

  SafetensorsHeader h;
  h.data_start = 8 + n;
  h.data_size = rest - n;
  for (auto it = root.begin(); it != root.end(); ++it) {
    if (it.key() == "__metadata__") h.metadata = parse_metadata(*it, file);
    else h.entries.push_back(parse_entry(it.key(), *it, h.data_size, file));
  }
  std::sort(h.entries.begin(), h.entries.end(), [](const auto& a, const auto& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  uint64_t covered = 0;
  const SafetensorsEntry* prev = nullptr;
  for (const auto& e : h.entries) {
    if (e.begin < covered)
      fail(file, fmt::format("tensors {} and {} overlap in the data section ([{}, {}) and [{}, {}))", quote_name(prev->name),
                             quote_name(e.name), prev->begin, prev->end, e.begin, e.end));
    if (e.end > covered) {
      covered = e.end;
      prev = &e;
    } else if (!prev) {
      prev = &e;
    }
  }
  return h;
}

}  // namespace

SafetensorsHeader parse_safetensors_header(std::string_view bytes, const std::string& file) {
  return parse_header(bytes, bytes.size(), file);
}

SafetensorsHeader read_safetensors_header(const std::string& path) {
  uint64_t size = 0;
  const std::string prefix = detail::read_file_range(path, 0, 8, kMaxFileBytes, "safetensors checkpoint", &size);
  const uint64_t n = header_length(prefix, size, path);
  const std::string head = detail::read_file_range(path, 0, 8 + n, kMaxFileBytes, "safetensors checkpoint", &size);
  // The file may have changed between the two reads: parse_header checks what was read against the new size.
  return parse_header(head, size, path);
}

uint64_t tensor_bytes_as_f32(const SafetensorsHeader& header) {
  uint64_t total = 0;
  for (const auto& e : header.entries) {
    uint64_t numel = 1;
    for (int64_t d : e.shape) numel *= static_cast<uint64_t>(d);   // bounded by the parser: numel * 8 < 2^63
    total += numel * sizeof(float);   // each term is at most 4x its bytes in the file, so the sum cannot wrap
  }
  return total;
}

std::map<std::string, Tensor> parse_safetensors(std::string_view bytes, const std::string& file) {
  SafetensorsHeader h = parse_safetensors_header(bytes, file);
  std::map<std::string, Tensor> out;
  for (const auto& e : h.entries) {
    Tensor t = empty(e.shape);
    uint64_t numel = static_cast<uint64_t>(t.numel());
    if (numel > 0) {
      const auto* src = reinterpret_cast<const unsigned char*>(bytes.data() + h.data_start + e.begin);
      convert(e.dtype, src, numel, t.data());
    }
    out.insert_or_assign(e.name, std::move(t));
  }
  return out;
}

std::map<std::string, Tensor> load_safetensors(const std::string& path) {
  std::string bytes = read_file(path, kMaxFileBytes, "safetensors checkpoint");
  return parse_safetensors(bytes, path);
}

std::map<std::string, std::string> load_safetensors_metadata(const std::string& path) {
  return read_safetensors_header(path).metadata;
}

std::string serialize_safetensors(const std::map<std::string, Tensor>& tensors,
                                  const std::map<std::string, std::string>& metadata, const std::string& file) {
  StringSink sink;
  write_safetensors(tensors, metadata, file, sink);
  return std::move(sink.out);
}

void save_safetensors(const std::map<std::string, Tensor>& tensors, const std::string& path,
                      const std::map<std::string, std::string>& metadata) {
  detail::AtomicFile file(path);
  write_safetensors(tensors, metadata, path, file);
  file.commit();
}

}  // namespace fresco::io
