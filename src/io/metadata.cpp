// SPDX-License-Identifier: Apache-2.0
#include <fresco/io/metadata.hpp>

#include <charconv>

#include <fresco/error.hpp>

namespace fresco::io {
namespace {

std::string prefix(std::string_view context) { return context.empty() ? "" : fmt::format("{}: ", context); }

// std::from_chars over the whole value: no locale, no leading space, no trailing text.
template <class T>
T parse(const Metadata& m, const std::string& key, std::string_view context, const char* expected) {
  const std::string& s = metadata_string(m, key, context);
  T v{};
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size())
    throw Error(fmt::format("{}metadata \"{}\" must be {}, found \"{}\"", prefix(context), key, expected, s));
  return v;
}

}  // namespace

const std::string& metadata_string(const Metadata& m, const std::string& key, std::string_view context) {
  auto it = m.find(key);
  if (it == m.end()) throw Error(fmt::format("{}metadata \"{}\" is missing", prefix(context), key));
  return it->second;
}

void require_format(const Metadata& m, std::string_view format, const std::string& path, std::string_view context,
                    std::string_view what) {
  const auto it = m.find("format");
  if (it == m.end() || it->second != format)
    throw IoError(fmt::format("{}: {} is not {} (metadata \"format\" is \"{}\", expected \"{}\")", context, path, what,
                              it == m.end() ? "" : it->second, format));
}

int64_t metadata_int(const Metadata& m, const std::string& key, std::string_view context) {
  return parse<int64_t>(m, key, context, "an integer");
}

uint64_t metadata_uint(const Metadata& m, const std::string& key, std::string_view context) {
  return parse<uint64_t>(m, key, context, "an integer >= 0");
}

double metadata_double(const Metadata& m, const std::string& key, std::string_view context) {
  return parse<double>(m, key, context, "a number");
}

float metadata_float(const Metadata& m, const std::string& key, std::string_view context) {
  return parse<float>(m, key, context, "a number");
}

void MetadataWriter::operator()(const std::string& name, int64_t value) { metadata[prefix_ + name] = std::to_string(value); }
void MetadataWriter::operator()(const std::string& name, uint64_t value) { metadata[prefix_ + name] = std::to_string(value); }
void MetadataWriter::operator()(const std::string& name, bool value) { metadata[prefix_ + name] = value ? "1" : "0"; }
void MetadataWriter::operator()(const std::string& name, float value) { metadata[prefix_ + name] = fmt::format("{}", value); }
void MetadataWriter::operator()(const std::string& name, const std::string& value) { metadata[prefix_ + name] = value; }

void MetadataReader::operator()(const std::string& name, int64_t& value) const {
  value = metadata_int(metadata_, prefix_ + name, context_);
}
void MetadataReader::operator()(const std::string& name, uint64_t& value) const {
  value = metadata_uint(metadata_, prefix_ + name, context_);
}
void MetadataReader::operator()(const std::string& name, bool& value) const {
  value = metadata_int(metadata_, prefix_ + name, context_) != 0;
}
void MetadataReader::operator()(const std::string& name, float& value) const {
  value = metadata_float(metadata_, prefix_ + name, context_);
}
void MetadataReader::operator()(const std::string& name, std::string& value) const {
  value = metadata_string(metadata_, prefix_ + name, context_);
}

}  // namespace fresco::io
