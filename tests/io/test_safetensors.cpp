// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>

#include <cstring>
#include <random>

#include <fresco/error.hpp>
#include <fresco/io/safetensors.hpp>

#include "io/atomic_file.hpp"
#include "temp_dir.hpp"

using namespace fresco;

namespace {

Tensor random_tensor(Shape shape, std::mt19937& rng) {
  std::normal_distribution<float> dist;
  std::vector<float> v(static_cast<size_t>(shape_numel(shape)));
  for (float& x : v) x = dist(rng);
  return tensor(std::move(v), std::move(shape));
}

bool same_bits(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape()) return false;
  auto va = a.to_vector(), vb = b.to_vector();
  return va.size() == vb.size() && (va.empty() || std::memcmp(va.data(), vb.data(), va.size() * sizeof(float)) == 0);
}

std::string u64_le(uint64_t n) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  return s;
}

// A file assembled by hand: header length, header text, data bytes.
std::string assemble(const std::string& header, const std::string& data) { return u64_le(header.size()) + header + data; }

std::string f32_bytes(std::initializer_list<float> values) {
  std::string s;
  for (float v : values) {
    uint32_t u;
    std::memcpy(&u, &v, 4);
    for (int i = 0; i < 4; ++i) s += static_cast<char>((u >> (8 * i)) & 0xff);
  }
  return s;
}

std::map<std::string, Tensor> sample_tensors() {
  std::mt19937 rng(42);
  std::map<std::string, Tensor> m;
  m["scalar"] = random_tensor({}, rng);
  m["empty"] = random_tensor({0}, rng);
  m["empty3d"] = random_tensor({2, 0, 3}, rng);
  m["vector"] = random_tensor({7}, rng);
  m["blocks.0.attn.in_proj_weight"] = random_tensor({6, 2}, rng);
  m["conv.weight"] = random_tensor({4, 3, 3, 3}, rng);
  return m;
}

std::string error_of(const std::string& bytes) {
  try {
    io::parse_safetensors(bytes, "case.safetensors");
  } catch (const IoError& e) {
    return e.what();
  }
  return "no error";
}

// The malformed-file cases: header entries over a data section of two floats.
constexpr const char* kOkEntry = R"("x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})";
std::string two_floats() { return f32_bytes({1, 2}); }
std::string with_entries(const std::string& entries) { return assemble("{" + entries + "}", two_floats()); }

}  // namespace

TEST_CASE("safetensors: round trip is bit for bit, with metadata", "[io][safetensors]") {
  auto tensors = sample_tensors();
  std::map<std::string, std::string> meta = {{"step", "1200"}, {"model", "gpt \"tiny\"\n"}};
  std::string bytes = io::serialize_safetensors(tensors, meta);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(bytes[i]);
  CHECK(n % 8 == 0);  // data section 8-byte aligned

  auto back = io::parse_safetensors(bytes, "memory");
  REQUIRE(back.size() == tensors.size());
  for (const auto& [name, t] : tensors) {
    INFO(name);
    REQUIRE(back.count(name) == 1);
    CHECK(same_bits(back.at(name), t));
  }
  CHECK(io::parse_safetensors_header(bytes, "memory").metadata == meta);

  test::TempDir dir;
  const std::string path = dir.file("model.safetensors");
  io::save_safetensors(tensors, path, meta);
  CHECK(test::read_bytes(path) == bytes);
  auto loaded = io::load_safetensors(path);
  for (const auto& [name, t] : tensors) CHECK(same_bits(loaded.at(name), t));
  CHECK(io::load_safetensors_metadata(path) == meta);
}

TEST_CASE("safetensors: a non-contiguous tensor is saved in row-major order", "[io][safetensors]") {
  Tensor t = tensor({1, 2, 3, 4, 5, 6}, {2, 3}).transpose(0, 1);  // [3, 2]: 1 4 / 2 5 / 3 6
  auto back = io::parse_safetensors(io::serialize_safetensors({{"t", t}}), "memory");
  CHECK(back.at("t").shape() == Shape{3, 2});
  CHECK(back.at("t").to_vector() == std::vector<float>{1, 4, 2, 5, 3, 6});
}

TEST_CASE("safetensors: a file written by hand loads with the right values", "[io][safetensors]") {
  // F32 [2,2] at [0,16), F16 [3] at [16,22), BF16 [1] at [22,24), I64 [] at [24,32).
  const std::string header =
      R"({"__metadata__":{"format":"pt"},)"
      R"("a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},)"
      R"("half":{"dtype":"F16","shape":[3],"data_offsets":[16,22]},)"
      R"("brain":{"dtype":"BF16","shape":[1],"data_offsets":[22,24]},)"
      R"("count":{"dtype":"I64","shape":[],"data_offsets":[24,32]}})";
  std::string data = f32_bytes({1.0f, -2.0f, 0.5f, 3.25f});
  data += std::string("\x00\x3c\x00\xc0\x00\x38", 6);          // F16 1.0, -2.0, 0.5
  data += std::string("\xc0\x40", 2);                          // BF16 6.0 (0x40c0)
  data += std::string("\xf9\xff\xff\xff\xff\xff\xff\xff", 8);  // I64 -7
  test::TempDir dir;
  const std::string path = dir.file("fixture.safetensors");
  test::write_bytes(path, assemble(header, data));

  auto t = io::load_safetensors(path);
  REQUIRE(t.size() == 4);
  CHECK(t.at("a").shape() == Shape{2, 2});
  CHECK(t.at("a").to_vector() == std::vector<float>{1.0f, -2.0f, 0.5f, 3.25f});
  CHECK(t.at("half").to_vector() == std::vector<float>{1.0f, -2.0f, 0.5f});
  CHECK(t.at("brain").to_vector() == std::vector<float>{6.0f});
  CHECK(t.at("count").shape() == Shape{});
  CHECK(t.at("count").item() == -7.0f);
  CHECK(io::load_safetensors_metadata(path) == std::map<std::string, std::string>{{"format", "pt"}});
}

TEST_CASE("safetensors: a malformed header length or JSON header is an error naming the problem", "[io][safetensors]") {
  CHECK_THAT(error_of(with_entries(kOkEntry)), Catch::Contains("no error"));
  CHECK_THAT(error_of("abc"), Catch::Contains("case.safetensors") && Catch::Contains("shorter than the 8-byte"));
  CHECK_THAT(error_of(u64_le(1000) + "{}"), Catch::Contains("exceeds the 2 bytes after it"));
  CHECK_THAT(error_of(u64_le(uint64_t{1} << 62) + "{}"), Catch::Contains("exceeds the limit"));
  CHECK_THAT(error_of(assemble("{\"x\":", two_floats())), Catch::Contains("malformed"));
  CHECK_THAT(error_of(assemble("[1,2]", two_floats())), Catch::Contains("not an object"));
  CHECK_THAT(error_of(assemble(std::string(100, '[') + std::string(100, ']'), two_floats())), Catch::Contains("nests deeper"));
}

TEST_CASE("safetensors: a malformed tensor entry is an error naming the problem", "[io][safetensors]") {
  // One header entry each, and a phrase its error must contain.
  const std::pair<std::string, std::string> bad_entries[] = {
      {R"("x":{"dtype":"F99","shape":[2],"data_offsets":[0,8]})",
       "unsupported dtype \"F99\""},
      {R"("x":{"shape":[2],"data_offsets":[0,8]})",
       "no \"dtype\""},
      {R"("x":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]})",
       "not a non-negative integer"},
      {R"("x":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]})",
       "not a non-negative integer"},
      {R"("x":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]})",
       "overflows"},
      {R"("x":{"dtype":"F32","shape":[18446744073709551615],"data_offsets":[0,8]})",
       "overflows"},
      {R"("x":{"dtype":"F32","shape":[1e30],"data_offsets":[0,8]})",
       "not a non-negative integer"},
      {R"("x":{"dtype":"F32","shape":[3],"data_offsets":[0,8]})",
       "spans 8 bytes but its shape [3] of F32 needs 12 bytes"},
      {R"("x":{"dtype":"F32","shape":[2],"data_offsets":[8,16]})",
       "past the end of the data section"},
      {R"("x":{"dtype":"F32","shape":[2],"data_offsets":[8,0]})",
       "begin > end"},
      {R"("x":{"dtype":"F32","shape":[2],"data_offsets":[0]})",
       "data_offsets"},
      {R"("x":{"dtype":"F32","shape":[2],"data_offsets":[0,18446744073709551615]})",
       "past the end"},
  };
  for (const auto& [entry, phrase] : bad_entries) {
    INFO(entry);
    CHECK_THAT(error_of(with_entries(entry)), Catch::Contains(phrase));
  }
  CHECK_THAT(error_of(with_entries(R"("x":[1])")), Catch::Contains("not a JSON object"));
}

TEST_CASE("safetensors: overlapping tensors and malformed metadata are errors naming the problem", "[io][safetensors]") {
  CHECK_THAT(error_of(with_entries(R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                   R"("b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]})")),
             Catch::Contains("overlap") && Catch::Contains("\"a\"") && Catch::Contains("\"b\""));
  CHECK_THAT(error_of(with_entries(std::string(kOkEntry) + R"(,"__metadata__":{"k":1})")), Catch::Contains("not a string"));
  CHECK_THAT(error_of(with_entries(std::string(kOkEntry) + R"(,"__metadata__":[1])")),
             Catch::Contains("\"__metadata__\" is not"));
}

TEST_CASE("safetensors: 10,000 truncated or mutated files each load or throw fresco::Error", "[io][safetensors][fuzz]") {
  const std::string base = io::serialize_safetensors(sample_tensors(), {{"step", "7"}});
  const uint64_t header_len = base.size() >= 8 ? static_cast<unsigned char>(base[0]) | (static_cast<unsigned char>(base[1]) << 8) : 0;
  const std::vector<std::string> tokens = {"\"F32\"", "\"F16\"", "\"X9\"", "-1", "0", "1", "18446744073709551616",
                                           "99999999999999999999999", "1e308", "null", "[]", "{}", "[0,0]", "\"\"",
                                           "[4096,4096]", "true", ",", ":", "\"__metadata__\"", "[0,1,2]"};
  std::mt19937_64 rng(2024);
  int loaded = 0, rejected = 0;
  for (int iter = 0; iter < 10000; ++iter) {
    std::string m = base;
    switch (iter % 5) {
      case 0:  // truncate
        m.resize(rng() % m.size());
        break;
      case 1:  // flip a few bytes anywhere
        for (int k = 0, n = 1 + static_cast<int>(rng() % 4); k < n; ++k) m[rng() % m.size()] ^= static_cast<char>(1 + rng() % 255);
        break;
      case 2: {  // rewrite the header length
        const uint64_t choices[] = {0, 1, header_len - 1, header_len + 1, header_len + 8, m.size(), ~uint64_t{0},
                                    uint64_t{1} << 63, rng()};
        std::string len = u64_le(choices[rng() % std::size(choices)]);
        m.replace(0, 8, len);
        break;
      }
      case 3: {  // replace a JSON token-ish span of the header with another token
        size_t pos = 8 + rng() % header_len;
        size_t len = rng() % 8;
        m.replace(pos, std::min(len, 8 + header_len - pos), tokens[rng() % tokens.size()]);
        // keep the stated header length: the data section shifts, which is also a fine mutation
        break;
      }
      default: {  // replace one number in the header with an extreme or random one
        size_t pos = 8 + rng() % header_len;
        while (pos < 8 + header_len && !(m[pos] >= '0' && m[pos] <= '9')) ++pos;
        size_t end = pos;
        while (end < 8 + header_len && m[end] >= '0' && m[end] <= '9') ++end;
        const std::string repl[] = {"-3", "0", std::to_string(rng() % 5000), "4294967297", "18446744073709551615", "1.5"};
        m.replace(pos, end - pos, repl[rng() % std::size(repl)]);
        break;
      }
    }
    try {
      auto t = io::parse_safetensors(m, "mutant.safetensors");
      for (auto& [name, x] : t) (void)x.to_vector();
      ++loaded;
    } catch (const Error& e) {
      ++rejected;
      REQUIRE_THAT(e.what(), Catch::StartsWith("mutant.safetensors: "));
    }
  }
  INFO("loaded " << loaded << ", rejected " << rejected);
  CHECK(loaded + rejected == 10000);
  CHECK(rejected > 5000);
  CHECK(loaded > 0);
}

TEST_CASE("safetensors: a missing file is an error naming it", "[io][safetensors]") {
  CHECK_THROWS_WITH(io::load_safetensors("/nonexistent/dir/model.safetensors"),
                    Catch::Contains("/nonexistent/dir/model.safetensors") && Catch::Contains("no such"));
  CHECK_THROWS_AS(io::load_safetensors_metadata("/nonexistent/x.safetensors"), IoError);
}

TEST_CASE("safetensors: a failed save leaves the existing file intact and no temporary files", "[io][safetensors]") {
  test::TempDir dir;
  const std::string path = dir.file("ckpt.safetensors");
  auto first = sample_tensors();
  io::save_safetensors(first, path, {{"step", "1"}});
  const std::string before = test::read_bytes(path);

  std::mt19937 rng(1);
  std::map<std::string, Tensor> second = {{"big", random_tensor({64, 64}, rng)}};
  // A disk that fills up half way through the data section.
  io::detail::set_write_failure_after_for_testing(4096);
  CHECK_THROWS_AS(io::save_safetensors(second, path, {{"step", "2"}}), IoError);
  io::detail::set_write_failure_after_for_testing(0);
  CHECK(test::read_bytes(path) == before);

  // An undefined tensor is refused; again nothing changes.
  CHECK_THROWS_WITH(io::save_safetensors({{"w", Tensor()}}, path), Catch::Contains("\"w\" is undefined"));
  CHECK(test::read_bytes(path) == before);
  // A directory that does not exist.
  CHECK_THROWS_WITH(io::save_safetensors(first, dir.file("no/such/dir/x.safetensors")), Catch::Contains("no/such/dir"));

  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    INFO(entry.path());
    CHECK(entry.path().filename() == "ckpt.safetensors");
    ++files;
  }
  CHECK(files == 1);
  // And the next save succeeds and replaces it.
  io::save_safetensors(second, path, {{"step", "2"}});
  CHECK(io::load_safetensors_metadata(path).at("step") == "2");
}

TEST_CASE("safetensors: an independent Python reader agrees", "[io][safetensors][python]") {
  // Not a skip: python3 is a declared dependency of the tests.
  INFO("python3 with json and struct is required (scripts/install-deps.sh installs it)");
  REQUIRE(std::system("python3 -c 'import struct, json' >/dev/null 2>&1") == 0);
  test::TempDir dir;
  const std::string path = dir.file("arange.safetensors");
  // Values the script recomputes: tensor k holds arange(numel) * 0.5 - k.
  std::map<std::string, Tensor> t;
  const std::vector<std::pair<std::string, Shape>> specs = {
      {"layer.weight", {3, 4}}, {"layer.bias", {4}}, {"scalar", {}}, {"empty", {0, 5}}, {"conv", {2, 1, 3, 3}}};
  std::string expect = "{";
  for (size_t k = 0; k < specs.size(); ++k) {
    const auto& [name, shape] = specs[k];
    std::vector<float> v(static_cast<size_t>(shape_numel(shape)));
    for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i) * 0.5f - static_cast<float>(k);
    t[name] = tensor(v, shape);
    expect += fmt::format("{}\"{}\": {{\"shape\": [{}], \"offset\": {}}}", k ? ", " : "", name, fmt::join(shape, ", "), k);
  }
  expect += "}";
  io::save_safetensors(t, path, {{"format", "pt"}, {"step", "12"}});
  test::write_bytes(dir.file("expect.json"), expect);
  const std::string script = FRESCO_TEST_DATA_DIR "/io/read_safetensors.py";   // absolute, whatever the working directory
  const std::string cmd = fmt::format("python3 '{}' '{}' '{}'", script, path, dir.file("expect.json"));
  INFO(cmd);
  CHECK(std::system(cmd.c_str()) == 0);
}
