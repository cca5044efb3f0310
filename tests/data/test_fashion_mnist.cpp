// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <random>
#include <set>

#include <zlib.h>

#include <fresco/data/fashion_mnist.hpp>
#include <fresco/error.hpp>

#include "../io/temp_dir.hpp"

using namespace fresco;
using data::FashionMnist;
using data::FashionMnistOptions;

namespace {

std::string u32_be(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>((v >> 16) & 0xff), static_cast<char>((v >> 8) & 0xff),
          static_cast<char>(v & 0xff)};
}

std::string idx(uint32_t magic, const std::vector<uint32_t>& dims, const std::string& payload) {
  std::string s = u32_be(magic);
  for (uint32_t d : dims) s += u32_be(d);
  return s + payload;
}

// Gzip with zlib's deflate (windowBits 16 + 15 writes a gzip header and trailer).
std::string gzip(const std::string& raw) {
  z_stream zs{};
  REQUIRE(deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  std::string out(deflateBound(&zs, raw.size()) + 32, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(raw.data()));
  zs.avail_in = static_cast<uInt>(raw.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  REQUIRE(deflate(&zs, Z_FINISH) == Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

// n images whose pixel (y, x) of image i is (i * 7 + y * 3 + x) % 256, labels i % 10.
std::string image_payload(int n) {
  std::string s;
  for (int i = 0; i < n; ++i)
    for (int y = 0; y < 28; ++y)
      for (int x = 0; x < 28; ++x) s += static_cast<char>((i * 7 + y * 3 + x) % 256);
  return s;
}
std::string label_payload(int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s += static_cast<char>(i % 10);
  return s;
}
std::string images_idx(int n) { return idx(2051, {static_cast<uint32_t>(n), 28, 28}, image_payload(n)); }
std::string labels_idx(int n) { return idx(2049, {static_cast<uint32_t>(n)}, label_payload(n)); }

std::string load_error(const std::string& images_raw, const std::string& labels_raw, bool gz = true) {
  try {
    FashionMnist::from_gzip_bytes(gz ? gzip(images_raw) : images_raw, gz ? gzip(labels_raw) : labels_raw, {},
                                  "im.gz", "lb.gz");
  } catch (const IoError& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("FashionMnist: parse_idx reads dimensions and data", "[data][fashion_mnist]") {
  data::IdxArray a = data::parse_idx(idx(0x0803, {2, 1, 3}, "abcdef"), "x");
  CHECK(a.magic == 2051);
  CHECK(a.dims == std::vector<uint32_t>{2, 1, 3});
  CHECK(a.data == std::vector<uint8_t>{'a', 'b', 'c', 'd', 'e', 'f'});
  CHECK(data::gunzip(gzip("hello") + gzip(" world"), "x", 100) == "hello world");
}

TEST_CASE("FashionMnist: a hand-made dataset loads with the right pixels and labels", "[data][fashion_mnist]") {
  auto d = FashionMnist::from_gzip_bytes(gzip(images_idx(12)), gzip(labels_idx(12)));
  REQUIRE(d.size() == 12);
  CHECK(d.pixels().size() == 12u * 784);
  CHECK(d.label(3) == 3);
  CHECK(d.label(11) == 1);
  Tensor img = d.image(5);
  REQUIRE(img.shape() == Shape{1, 28, 28});
  auto v = img.to_vector();
  CHECK(v[0] == 35 / 255.f);                  // (5*7 + 0 + 0)
  CHECK(v[2 * 28 + 4] == (35 + 6 + 4) / 255.f);  // y = 2, x = 4
  CHECK(d.images({0, 5, 11}).shape() == Shape{3, 1, 28, 28});
  CHECK_THROWS_AS(d.image(12), Error);
  CHECK_THROWS_AS(d.label(-1), Error);

  auto padded = FashionMnist::from_gzip_bytes(gzip(images_idx(12)), gzip(labels_idx(12)), {.pad_to_32 = true, .limit = 4});
  CHECK(padded.size() == 4);
  CHECK(padded.pixels().size() == 4u * 784);
  Tensor p = padded.image(2);
  REQUIRE(p.shape() == Shape{1, 32, 32});
  auto pv = p.to_vector();
  CHECK(pv[0] == 0.f);
  CHECK(pv[1 * 32 + 31] == 0.f);
  CHECK(pv[2 * 32 + 2] == 14 / 255.f);                    // pixel (0, 0) of image 2
  CHECK(pv[(2 + 27) * 32 + 2 + 27] == (14 + 81 + 27) / 255.f);  // pixel (27, 27)
  CHECK(pv[31 * 32 + 30] == 0.f);
}

TEST_CASE("FashionMnist: reads files from a directory; missing files name the package", "[data][fashion_mnist]") {
  test::TempDir dir;
  test::write_bytes(dir.file("t10k-images-idx3-ubyte.gz"), gzip(images_idx(7)));
  test::write_bytes(dir.file("t10k-labels-idx1-ubyte.gz"), gzip(labels_idx(7)));
  FashionMnist test_split({.root = dir.path().string(), .split = "test"});
  CHECK(test_split.size() == 7);
  CHECK(test_split.label(6) == 6);
  CHECK_THROWS_WITH(FashionMnist({.root = dir.path().string(), .split = "train"}),
                    Catch::Contains("train-images-idx3-ubyte.gz") &&
                        Catch::Contains("apt-get install dataset-fashion-mnist"));
  CHECK_THROWS_AS(FashionMnist({.root = dir.path().string(), .split = "valid"}), Error);
  CHECK_THROWS_AS(FashionMnist({.root = dir.path().string(), .split = "test", .limit = -1}), Error);
}

TEST_CASE("FashionMnist: every kind of corruption is an error naming the file", "[data][fashion_mnist]") {
  const std::string im = images_idx(4), lb = labels_idx(4);
  CHECK(load_error(im, lb) == "no error");
  CHECK_THAT(load_error(idx(2050, {4, 28, 28}, image_payload(4)), lb), Catch::Contains("im.gz") && Catch::Contains("magic number 2050"));
  CHECK_THAT(load_error(lb, lb), Catch::Contains("im.gz") && Catch::Contains("magic number 2049"));
  CHECK_THAT(load_error(im, im), Catch::Contains("lb.gz") && Catch::Contains("magic number 2051"));
  CHECK_THAT(load_error(idx(0x12345678, {}, ""), lb), Catch::Contains("im.gz") && Catch::Contains("0x12345678"));
  CHECK_THAT(load_error(idx(0x0D03, {4, 28, 28}, image_payload(4)), lb), Catch::Contains("magic number 3331"));
  CHECK_THROWS_WITH(data::parse_idx(idx(0x0D03, {1}, "abcd"), "f.idx"), Catch::Contains("element type 0x0d"));
  CHECK_THROWS_WITH(data::parse_idx(idx(0x01000803, {}, ""), "f.idx"), Catch::Contains("two zero bytes"));
  CHECK_THROWS_WITH(data::parse_idx(idx(0x0800, {}, ""), "f.idx"), Catch::Contains("0 dimensions"));
  CHECK_THAT(load_error(idx(2051, {4, 27, 28}, image_payload(4).substr(0, 4 * 27 * 28)), lb),
             Catch::Contains("27x28, expected 28x28"));
  CHECK_THAT(load_error(im.substr(0, im.size() - 1), lb), Catch::Contains("im.gz") && Catch::Contains("truncated"));
  CHECK_THAT(load_error(im.substr(0, 10), lb), Catch::Contains("truncated"));
  CHECK_THAT(load_error(im + "x", lb), Catch::Contains("unexpected bytes"));
  CHECK_THAT(load_error(im, labels_idx(3)), Catch::Contains("4 images") && Catch::Contains("3 labels"));
  CHECK_THAT(load_error(im, idx(2049, {4}, std::string("\x01\x02\x0a\x03", 4))),
             Catch::Contains("lb.gz") && Catch::Contains("label 10 of sample 2"));
  CHECK_THAT(load_error(im, lb, /*gz=*/false), Catch::Contains("im.gz") && Catch::Contains("not a gzip file"));
  const std::string gz = gzip(im);
  auto raw_error = [&](const std::string& images_gz) {
    try {
      FashionMnist::from_gzip_bytes(images_gz, gzip(lb), {}, "im.gz", "lb.gz");
    } catch (const IoError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK_THAT(raw_error(gz.substr(0, gz.size() - 12)), Catch::Contains("im.gz") && Catch::Contains("truncated"));
  std::string flipped = gz;
  flipped[gz.size() - 6] ^= 0x40;  // inside the CRC-32 / length trailer
  CHECK_THAT(raw_error(flipped), Catch::Contains("im.gz") && Catch::Contains("corrupt"));
  CHECK_THAT(raw_error(gz + "trailing"), Catch::Contains("garbage"));
  // A gzip bomb: far more output than any IDX file of the dataset.
  CHECK_THROWS_WITH(data::gunzip(gzip(std::string(1 << 20, '\0')), "bomb.gz", 1000),
                    Catch::Contains("bomb.gz") && Catch::Contains("limit of 1000 bytes"));
}

TEST_CASE("FashionMnist: 10,000 mutated IDX and gzip files each load or throw fresco::Error", "[data][fashion_mnist][fuzz]") {
  const std::string im = images_idx(3), lb = labels_idx(3);
  const std::string im_gz = gzip(im), lb_gz = gzip(lb);
  std::mt19937_64 rng(5);
  auto mutate = [&](std::string m) {
    switch (rng() % 4) {
      case 0:
        m.resize(rng() % (m.size() + 1));
        break;
      case 1:
        for (int k = 0, n = 1 + static_cast<int>(rng() % 3); k < n && !m.empty(); ++k)
          m[rng() % m.size()] ^= static_cast<char>(1 + rng() % 255);
        break;
      case 2:  // the magic number and dimension sizes
        for (int k = 0, n = 1 + static_cast<int>(rng() % 2); k < n && !m.empty(); ++k)
          m[rng() % std::min<size_t>(m.size(), 16)] = static_cast<char>(rng() % 2 ? 0xff : rng());
        break;
      default:
        if (!m.empty()) {
          size_t pos = rng() % m.size();
          if (rng() % 2) m.insert(pos, std::string(1 + rng() % 8, static_cast<char>(rng())));
          else m.erase(pos, 1 + rng() % 8);
        }
    }
    return m;
  };
  int loaded = 0, rejected = 0;
  for (int iter = 0; iter < 10000; ++iter) {
    try {
      switch (iter % 3) {
        case 0: {  // raw IDX through the parser
          data::IdxArray a = data::parse_idx(mutate(iter % 2 ? im : lb), "mutant.idx");
          uint64_t n = 1;
          for (uint32_t d : a.dims) n *= d;
          REQUIRE(a.data.size() == n);
          break;
        }
        case 1: {  // IDX mutated, then gzipped: the dataset's own checks
          auto d = FashionMnist::from_gzip_bytes(gzip(mutate(im)), gzip(mutate(lb)), {}, "mutant.idx", "mutant.idx");
          REQUIRE(d.pixels().size() == static_cast<size_t>(d.size()) * 784);
          break;
        }
        default: {  // the gzip stream itself mutated
          auto d = FashionMnist::from_gzip_bytes(mutate(im_gz), rng() % 2 ? lb_gz : mutate(lb_gz), {}, "mutant.idx",
                                                 "mutant.idx");
          REQUIRE(d.size() <= 3);
        }
      }
      ++loaded;
    } catch (const Error& e) {
      REQUIRE_THAT(e.what(), Catch::Contains("mutant.idx"));
      ++rejected;
    }
  }
  INFO("loaded " << loaded << ", rejected " << rejected);
  CHECK(loaded > 0);
  CHECK(rejected > 5000);
}

TEST_CASE("FashionMnist: class names and captions", "[data][fashion_mnist]") {
  const auto& names = FashionMnist::class_names();
  REQUIRE(names.size() == 10);
  CHECK(names[0] == "T-shirt/top");
  CHECK(names[7] == "Sneaker");
  CHECK(names[9] == "Ankle boot");
  std::set<std::string> all;
  for (int c = 0; c < 10; ++c) {
    auto caps = FashionMnist::captions_for_class(c);
    CHECK(std::set<std::string>(caps.begin(), caps.end()).size() >= 5);
    all.insert(caps.begin(), caps.end());
  }
  CHECK(all.size() >= 50);  // no phrasing shared between classes
  CHECK_THROWS_AS(FashionMnist::captions_for_class(10), Error);
  auto sneaker = FashionMnist::captions_for_class(7);
  CHECK(std::find(sneaker.begin(), sneaker.end(), "a photo of a sports shoe") != sneaker.end());

  auto d = FashionMnist::from_gzip_bytes(gzip(images_idx(20)), gzip(labels_idx(20)));
  std::set<std::string> seen;
  for (uint64_t seed = 0; seed < 50; ++seed) {
    const std::string c = d.caption(7, seed);
    CHECK(c == d.caption(7, seed));  // deterministic
    CHECK(std::find(sneaker.begin(), sneaker.end(), c) != sneaker.end());
    seen.insert(c);
  }
  CHECK(seen.size() == sneaker.size());  // every phrasing is used
}

TEST_CASE("FashionMnist: the installed dataset has 60,000 + 10,000 balanced samples", "[data][fashion_mnist][real]") {
  const std::string root = FashionMnistOptions{}.root;
  if (!std::filesystem::exists(root + "/train-images-idx3-ubyte.gz")) {
    WARN("Fashion-MNIST not installed (apt-get install dataset-fashion-mnist): skipping");
    return;
  }
  for (const auto& [split, n] : {std::pair<std::string, int>{"train", 60000}, {"test", 10000}}) {
    FashionMnist d({.split = split});
    REQUIRE(d.size() == n);
    std::array<int, 10> hist{};
    for (uint8_t l : d.labels()) ++hist[l];
    for (int c = 0; c < 10; ++c) CHECK(hist[static_cast<size_t>(c)] == n / 10);
    Tensor x = d.image(0);
    auto v = x.to_vector();
    CHECK(*std::max_element(v.begin(), v.end()) <= 1.f);
    CHECK(*std::min_element(v.begin(), v.end()) >= 0.f);
  }
}
