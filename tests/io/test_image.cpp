// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <random>

#include <fresco/error.hpp>
#include <fresco/io/image.hpp>

#include "io/stb_impl.hpp"
#include "temp_dir.hpp"

using namespace fresco;

namespace {

// Pixels k/255 with k drawn at random: exactly representable in 8 bits.
Tensor random_pixels(Shape shape, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<float> v(static_cast<size_t>(shape_numel(shape)));
  for (float& x : v) x = static_cast<float>(rng() % 256) / 255.f;
  return tensor(std::move(v), std::move(shape));
}

// A smooth RGB gradient (JPEG handles these well).
Tensor gradient_rgb(int64_t h, int64_t w) {
  std::vector<float> v;
  for (int64_t c = 0; c < 3; ++c)
    for (int64_t y = 0; y < h; ++y)
      for (int64_t x = 0; x < w; ++x) v.push_back(0.2f + 0.6f * static_cast<float>(c * y + (3 - c) * x) / static_cast<float>(3 * (h + w)));
  return tensor(std::move(v), {3, h, w});
}

// A 24-bit BMP assembled by hand: 14-byte file header, 40-byte info header,
// bottom-up BGR rows padded to 4 bytes.
std::string make_bmp(int w, int h, const std::vector<uint8_t>& rgb) {
  const int row = (3 * w + 3) / 4 * 4;
  const uint32_t data_size = static_cast<uint32_t>(row * h), file_size = 54 + data_size;
  std::string s;
  auto u16 = [&](uint32_t v) { s += static_cast<char>(v & 0xff); s += static_cast<char>((v >> 8) & 0xff); };
  auto u32 = [&](uint32_t v) { u16(v & 0xffff); u16(v >> 16); };
  s += "BM";
  u32(file_size); u32(0); u32(54);
  u32(40); u32(static_cast<uint32_t>(w)); u32(static_cast<uint32_t>(h)); u16(1); u16(24); u32(0); u32(data_size);
  u32(2835); u32(2835); u32(0); u32(0);
  for (int y = h - 1; y >= 0; --y) {
    for (int x = 0; x < w; ++x)
      for (int c = 2; c >= 0; --c) s += static_cast<char>(rgb[static_cast<size_t>((y * w + x) * 3 + c)]);
    s.append(static_cast<size_t>(row - 3 * w), '\0');
  }
  return s;
}

std::string decode_error(const std::string& bytes, const io::ReadImageOptions& options = {}) {
  try {
    io::decode_image(bytes, "pic.png", options);
  } catch (const IoError& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("image: PNG write then read gives the same pixels", "[io][image]") {
  test::TempDir dir;
  for (int64_t c : {1, 2, 3, 4}) {
    INFO("channels " << c);
    Tensor img = random_pixels({c, 5, 7}, static_cast<uint32_t>(c));
    const std::string path = dir.file("img" + std::to_string(c) + ".PNG");
    io::write_image(img, path);
    Tensor back = io::read_image(path);
    CHECK(back.shape() == Shape{c, 5, 7});
    CHECK(back.to_vector() == img.to_vector());
    CHECK(io::decode_image(io::encode_image(img, "png"), "mem").to_vector() == img.to_vector());
  }
  // [H, W] is written as grey; out-of-range values are clamped, NaN becomes 0.
  Tensor hw = tensor({-1.f, 0.5f, 2.f, std::nanf("")}, {2, 2});
  CHECK(io::decode_image(io::encode_image(hw, "png"), "mem").to_vector() ==
        std::vector<float>{0.f, 128 / 255.f, 1.f, 0.f});
}

TEST_CASE("image: channel conversion on read", "[io][image]") {
  Tensor grey = random_pixels({1, 3, 4}, 9);
  std::string png = io::encode_image(grey, "png");
  Tensor rgb = io::decode_image(png, "mem", {.channels = 3});
  REQUIRE(rgb.shape() == Shape{3, 3, 4});
  auto v = rgb.to_vector(), g = grey.to_vector();
  for (size_t i = 0; i < g.size(); ++i) {
    CHECK(v[i] == g[i]);
    CHECK(v[12 + i] == g[i]);
    CHECK(v[24 + i] == g[i]);
  }
  Tensor rgba = io::decode_image(png, "mem", {.channels = 4});
  CHECK(rgba.to_vector()[36] == 1.f);  // opaque alpha added
  CHECK_THROWS_AS(io::decode_image(png, "mem", {.channels = 5}), Error);
}

TEST_CASE("image: JPEG round trip is close", "[io][image]") {
  test::TempDir dir;
  Tensor img = gradient_rgb(16, 24);
  const std::string path = dir.file("g.jpg");
  io::write_image(img, path);
  Tensor back = io::read_image(path);
  REQUIRE(back.shape() == Shape{3, 16, 24});
  auto a = img.to_vector(), b = back.to_vector();
  double err = 0, worst = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    err += std::abs(a[i] - b[i]);
    worst = std::max(worst, static_cast<double>(std::abs(a[i] - b[i])));
  }
  INFO("mean abs error " << err / a.size() << ", largest " << worst);
  CHECK(err / a.size() < 0.02);
  CHECK(worst < 0.1);
  io::write_image(img, dir.file("q.jpeg"), {.jpeg_quality = 20});
  CHECK(io::read_image(dir.file("q.jpeg")).shape() == Shape{3, 16, 24});
}

TEST_CASE("image: a hand-made BMP reads with the right pixels", "[io][image]") {
  // 3x2 image: row 0 red, green, blue; row 1 white, black, grey 128.
  std::vector<uint8_t> rgb = {255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255, 0, 0, 0, 128, 128, 128};
  Tensor t = io::decode_image(make_bmp(3, 2, rgb), "hand.bmp");
  REQUIRE(t.shape() == Shape{3, 2, 3});
  auto v = t.to_vector();
  for (int c = 0; c < 3; ++c)
    for (int p = 0; p < 6; ++p) CHECK(v[static_cast<size_t>(c * 6 + p)] == rgb[static_cast<size_t>(p * 3 + c)] / 255.f);
}

TEST_CASE("image: grid places tiles at known positions", "[io][image]") {
  // Three 1x2x2 tiles filled with 0.1, 0.2, 0.3; 2 columns, padding 1, background 0.5.
  std::vector<float> v;
  for (float f : {0.1f, 0.2f, 0.3f}) v.insert(v.end(), 4, f);
  Tensor grid = io::make_grid(tensor(v, {3, 1, 2, 2}), 2, {.padding = 1, .background = 0.5f});
  REQUIRE(grid.shape() == Shape{1, 7, 7});
  auto g = grid.to_vector();
  auto at = [&](int y, int x) { return g[static_cast<size_t>(y * 7 + x)]; };
  CHECK(at(0, 0) == 0.5f);
  CHECK(at(1, 1) == 0.1f);
  CHECK(at(2, 2) == 0.1f);
  CHECK(at(1, 3) == 0.5f);  // padding between columns
  CHECK(at(1, 4) == 0.2f);
  CHECK(at(2, 5) == 0.2f);
  CHECK(at(4, 1) == 0.3f);
  CHECK(at(5, 2) == 0.3f);
  CHECK(at(4, 4) == 0.5f);  // the empty fourth cell
  CHECK(at(6, 6) == 0.5f);
  // Default options, like torchvision.utils.make_grid: padding 2, black.
  CHECK(io::make_grid(zeros({5, 3, 4, 4}), 8).shape() == Shape{3, 8, 32});

  test::TempDir dir;
  io::write_image_grid(tensor(v, {3, 1, 2, 2}), dir.file("grid.png"), 2, {.padding = 1, .background = 0.5f});
  Tensor back = io::read_image(dir.file("grid.png"));
  CHECK(back.shape() == Shape{1, 7, 7});
  CHECK(std::abs(back.to_vector()[8] - 0.1f) < 0.5f / 255);
  CHECK_THROWS_AS(io::make_grid(zeros({3, 4, 4}), 2), ShapeError);
  CHECK_THROWS_AS(io::make_grid(zeros({1, 1, 4, 4}), 0), Error);
}

TEST_CASE("image: bilinear resize matches PyTorch's align_corners=False", "[io][image]") {
  Tensor img = tensor({0, 1, 2, 3}, {1, 2, 2});
  // torch.nn.functional.interpolate(x, size=(4, 4), mode="bilinear", align_corners=False)
  std::vector<float> want = {0.f,  0.25f, 0.75f, 1.f,  0.5f, 0.75f, 1.25f, 1.5f,
                             1.5f, 1.75f, 2.25f, 2.5f, 2.f,  2.25f, 2.75f, 3.f};
  Tensor up = io::resize_bilinear(img, 4, 4);
  CHECK(up.shape() == Shape{1, 4, 4});
  auto got = up.to_vector();
  for (size_t i = 0; i < want.size(); ++i) CHECK(got[i] == Approx(want[i]).margin(1e-6));
  // Halving samples at the centre of each 2x2 block.
  Tensor big = arange(16).reshape({1, 4, 4});
  CHECK(io::resize_bilinear(big, 2, 2).to_vector() == std::vector<float>{2.5f, 4.5f, 10.5f, 12.5f});
  CHECK(io::resize_bilinear(big, 4, 4).to_vector() == big.to_vector());
  CHECK(io::resize_bilinear(zeros({2, 3, 5, 5}), 3, 2).shape() == Shape{2, 3, 3, 2});
}

TEST_CASE("image: area resize averages the covered cells", "[io][image]") {
  Tensor big = arange(16).reshape({1, 4, 4});
  CHECK(io::resize_area(big, 2, 2).to_vector() == std::vector<float>{2.5f, 4.5f, 10.5f, 12.5f});
  // 3 -> 2 covers [0, 2) and [1, 3), as adaptive_avg_pool2d.
  CHECK(io::resize_area(tensor({0, 3, 6}, {1, 1, 3}), 1, 2).to_vector() == std::vector<float>{1.5f, 4.5f});
  CHECK(io::resize_area(big, 1, 1).item() == 7.5f);
}

TEST_CASE("image: center crop takes torchvision's window", "[io][image]") {
  Tensor img = arange(20).reshape({1, 4, 5});
  // top = round((4-2)/2) = 1, left = round((5-3)/2) = 1
  CHECK(io::center_crop(img, 2, 3).to_vector() == std::vector<float>{6, 7, 8, 11, 12, 13});
  // (5-2)/2 = 1.5 rounds half to even: 2
  Tensor sq = arange(25).reshape({1, 5, 5});
  CHECK(io::center_crop(sq, 2, 2).to_vector() == std::vector<float>{12, 13, 17, 18});
  CHECK_THROWS_AS(io::center_crop(img, 5, 5), ShapeError);
}

TEST_CASE("image: unreadable files are errors naming the file", "[io][image]") {
  CHECK_THROWS_WITH(io::read_image("/nonexistent/cat.png"), Catch::Contains("/nonexistent/cat.png"));
  CHECK_THAT(decode_error("this is not an image"), Catch::Contains("pic.png") && Catch::Contains("not a PNG, JPEG or BMP"));
  CHECK_THAT(decode_error("GIF89a\x01\x00\x01\x00\x00\x00\x00;"), Catch::Contains("not a PNG, JPEG or BMP"));
  const std::string png = io::encode_image(random_pixels({3, 32, 32}, 3), "png");
  CHECK_THAT(decode_error(png.substr(0, png.size() / 2)), Catch::Contains("pic.png") && Catch::Contains("corrupt"));
  CHECK_THAT(decode_error(png, {.max_pixels = 1000}), Catch::Contains("32x32 = 1024 pixels") && Catch::Contains("limit"));
  CHECK_THAT(decode_error(png, {.max_file_bytes = 10}), Catch::Contains("limit"));
  CHECK_THAT(decode_error(""), Catch::Contains("pic.png"));

  test::TempDir dir;
  CHECK_THROWS_WITH(io::write_image(zeros({3, 2, 2}), dir.file("x.gif")), Catch::Contains("x.gif") && Catch::Contains(".png"));
  CHECK_THROWS_AS(io::write_image(zeros({5, 2, 2}), dir.file("x.png")), ShapeError);
  CHECK_THROWS_AS(io::write_image(tensor({}, {3, 0, 2}), dir.file("x.png")), ShapeError);
  CHECK_THROWS_AS(io::write_image(zeros({3, 2, 2}), dir.file("x.jpg"), {.jpeg_quality = 0}), IoError);
  CHECK_THROWS_AS(io::write_image(zeros({3, 2, 2}), dir.file("missing/x.png")), IoError);
  CHECK(std::distance(std::filesystem::directory_iterator(dir.path()), std::filesystem::directory_iterator()) == 0);
}

TEST_CASE("image: 10,000 mutated PNG, JPEG and BMP files each load or throw fresco::Error", "[io][image][fuzz]") {
  std::vector<uint8_t> rgb(6 * 5 * 3);
  for (size_t i = 0; i < rgb.size(); ++i) rgb[i] = static_cast<uint8_t>(i * 37);
  const std::vector<std::string> bases = {
      io::encode_image(random_pixels({3, 6, 8}, 1), "png"), io::encode_image(random_pixels({4, 5, 3}, 2), "png"),
      io::encode_image(gradient_rgb(8, 8), "jpeg"), io::encode_image(random_pixels({1, 9, 9}, 4), "jpeg"),
      make_bmp(5, 6, rgb)};
  // A small pixel limit keeps mutants that claim huge sizes fast.
  const io::ReadImageOptions options{.max_pixels = 1 << 12};
  std::mt19937_64 rng(77);
  int loaded = 0, rejected = 0;
  for (int iter = 0; iter < 10000; ++iter) {
    std::string m = bases[static_cast<size_t>(iter) % bases.size()];
    switch ((iter / 5) % 4) {
      case 0:
        m.resize(rng() % m.size());
        break;
      case 1:
        for (int k = 0, n = 1 + static_cast<int>(rng() % 4); k < n; ++k) m[rng() % m.size()] ^= static_cast<char>(1 + rng() % 255);
        break;
      case 2:  // header fields (sizes, types) live in the first bytes
        for (int k = 0, n = 1 + static_cast<int>(rng() % 3); k < n; ++k)
          m[rng() % std::min<size_t>(m.size(), 64)] = static_cast<char>(rng() % 2 ? 0xff : rng());
        break;
      default: {  // insert or delete a run of bytes
        size_t pos = rng() % m.size();
        if (rng() % 2) m.insert(pos, std::string(1 + rng() % 16, static_cast<char>(rng())));
        else m.erase(pos, 1 + rng() % 16);
        break;
      }
    }
    try {
      Tensor t = io::decode_image(m, "mutant.img", options);
      REQUIRE(t.dim() == 3);
      REQUIRE(t.size(1) * t.size(2) <= options.max_pixels);
      ++loaded;
    } catch (const Error& e) {
      REQUIRE_THAT(e.what(), Catch::StartsWith("mutant.img: "));
      ++rejected;
    }
  }
  INFO("loaded " << loaded << ", rejected " << rejected);
  CHECK(loaded > 0);
  CHECK(rejected > 1000);
}

TEST_CASE("image: JPEG inputs that crashed stb_image 2.27 are rejected or decoded within bounds", "[io][image][fuzz]") {
  // Found by tests/fuzz/fuzz_image.cpp: a DHT segment of more than 256 codes
  // that wrote past the Huffman table, and a corrupt Huffman table that made
  // stbi__jpeg_huff_decode read out of bounds (fixed in third_party/stb/stb_image_patched.h).
  // Under FRESCO_SANITIZE (-fno-sanitize-recover) an access out of bounds
  // aborts the test; in the plain build the decoder's reason tells the
  // patched DHT check ("bad DHT header") from 2.27, which goes on to build
  // the table and fails later with "bad code lengths".
  const std::string dht_over_256_codes(
      "\xff\xd8\xff\xe0\x00\x10\x4a\x46\x49\x46\x00\x01\x01\x11\x00\x02\x11\x01\x03\x11\x01\xff\xc4\x01"
      "\xa2\x00\x00\x01\x05\x00\x00\x00\x08\xff\xd8\xff\xed\xea\x03",
      39);
  CHECK_THROWS_WITH(io::decode_image(dht_over_256_codes, "crash.jpg"),
                    Catch::StartsWith("crash.jpg: ") && Catch::Contains("not a PNG, JPEG or BMP"));
  int w = 0, h = 0, c = 0;
  const auto* data = reinterpret_cast<const unsigned char*>(dht_over_256_codes.data());
  unsigned char* pixels = io::detail::stb_decode(data, static_cast<int>(dht_over_256_codes.size()), &w, &h, &c, 0);
  if (pixels) io::detail::stb_free(pixels);
  CHECK(pixels == nullptr);
  CHECK(std::string(io::detail::stb_failure_reason()) == "bad DHT header");

  // The corrupt Huffman table: the patched decoder reads it without leaving
  // the tables and produces an image of the size its header states.
  const std::string corrupt_huffman_table(
      "\xff\xd8\xff\xe0\x00\x10\x4a\x46\x49\x46\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xdb\x00\x84"
      "\x00\x02\x01\x01\x01\x01\x01\x02\x01\x01\x01\x02\x02\x02\x02\x02\x04\x03\x02\x02\x02\x02\x05\x04"
      "\x04\x03\x04\x06\x05\x06\x25\x06\x05\x06\x06\x06\x07\x09\x08\x06\x07\x09\x07\x06\x06\x08\x0b\x08"
      "\x09\x0a\x0a\x0a\x0a\x0a\x06\x08\x0b\x0c\x0b\x0a\x0c\x09\x0a\x0a\x0a\x01\x02\x02\x02\x02\x02\x02"
      "\x05\x03\x03\x05\x0a\x07\x06\x07\x0a\x0a\x0a\x0a\x0a\x0a\x0a\x0a\x0a\x0a\x0a\x0a\x0a\x0a\x0a\x0a"
      "\x0a\x0a\x0a\x0a\x0a\x0a\x0a\x0a\x0a\x0a\x0a\x0a\x0a\x0a\x0a\x0a\x0a\x0a\x0a\x0a\x0a\x0a\x0a\x29"
      "\x0a\x0a\x0a\x0a\x0a\x0a\x0a\x0a\x0a\x0a\xff\xc0\x00\x11\x08\x00\x08\x00\x08\x03\x01\x11\x00\x02"
      "\x11\x01\x03\x11\x01\xff\xc4\x01\xa2\x00\x00\x01\x05\x01\x01\x01\x01\x01\x01\x00\x00\x00\x00\x00"
      "\x00\x00\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x13\x00\x02\x01\x03\x03\x02\x04\x03\x05"
      "\x05\x04\x04\x00\x00\x01\x7d\x01\x02\x03\x00\x04\x11\x05\x12\x21\x30\x41\x06\x13\x51\x61\x07\x22"
      "\x71\x14\x32\x81\x91\xa1\x08\x23\x42\xb1\xc1\x15\x52\xd1\xf0\x24\x33\x62\x72\x82\x09\x0a\x16\x17"
      "\x18\x19\x1a\x25\x26\x27\x28\x29\x2a\x34\x35\x36\x37\x38\x39\x3a\x43\x44\x45\x46\x47\x48\x49\x4a"
      "\x53\x54\x55\x56\x57\x58\x59\x5a\x63\x64\x65\x66\x67\x68\x69\x6a\x73\x74\x75\x76\x77\x78\x79\x7a"
      "\x83\x84\x85\x86\x87\x88\x89\x8a\x92\x93\x94\x95\x96\x97\x98\x99\x9a\xa2\xa3\xa4\xa5\xa6\xa7\xa8"
      "\xa9\xaa\xb2\xb3\xb4\xb5\xb6\xb7\xb8\xb9\xba\xc2\xc3\xc4\xc5\xc6\xc7\xc8\xc9\xca\xd2\xd3\xd4\xd5"
      "\xd6\xd7\xd8\xd9\xda\xe1\xe2\xe3\xe4\xe5\xe6\xe7\xe8\xe9\xea\xf1\xf2\xf3\xf4\xf5\xf6\xf7\xf8\xf9"
      "\xfa\x01\x00\x03\x01\x01\x01\x01\x01\x01\x01\x01\x01\x00\x00\x00\x00\x00\x00\x01\x02\x03\x04\x05"
      "\x06\x07\x08\x09\x0a\x0b\x11\x00\x02\x01\x02\x04\x04\x03\x04\x07\x05\x04\x04\x00\x01\x02\x77\x00"
      "\x01\x02\x03\x11\x04\x05\x21\x30\x06\x12\x41\x51\x07\x61\x71\x13\x22\x32\x81\x08\x14\x42\x91\xa1"
      "\xb1\xc1\x09\x23\x33\x52\xf0\x15\x62\x72\xd1\x0a\x16\x24\x34\xe1\x25\xf1\x17\x18\x19\x1a\x26\x27"
      "\x28\x29\x2a\x35\x36\x37\x38\x39\x3a\x43\x44\x45\x46\x47\x48\x49\x4a\x53\x54\x55\x56\x57\x58\x59"
      "\x5a\x63\x64\x65\x66\x67\x68\x69\x6a\x73\x74\x75\x76\x77\x78\x79\x7a\x82\x83\x84\x85\x86\x87\x88"
      "\x89\x8a\x92\x93\x94\x95\x96\x97\x98\x99\x9a\xa2\xa3\xa4\xa5\xa6\xa7\xa8\xa9\xaa\xb2\xb3\xb4\xb5"
      "\xb6\xb7\xb8\xb9\xba\xc2\xc3\xc4\xc5\xc6\xc7\xc8\xc9\xca\xd2\xd3\xd4\xd5\xd6\xd7\xd8\xd9\xda\xe2"
      "\xe3\xe4\xe5\xe6\xe7\xe8\xe9\xea\xf2\xf3\xf4\xf5\xf6\xf7\xf8\xf9\xfa\xff\xda\x00\x0c\x03\x01\x00"
      "\x02\x11\x03\x11\x00\x3f\x00\x97\xc0\xcb\xe3\xcf\x18\xeb\xb0\x69\x7f\xb3\x96\x94\xde\x19\xd5\x2f"
      "\x63\xd2\x74\xcb\xad\x72\x38\xad\xa4\x97\xce\xb7\x7b\xd7\x73\x76\x66\x7b\x74\xd4\x92\x69\x22\x89"
      "\xa1\xb9\x92\x66\x69\x2d\x37\x45\xf6\x58\x9e\x53\xbb\x5c\x5e\x07\x0b\x4b\x0f\x57\x27\x86\x86\x86"
      "\x86\x86\x86\x0b\x00\x00\x00\x86\x86\x86\x86\x86\x86\x86\x86\x86\x86\x86\x86\x86\x86\x86\x86\x86"
      "\x86\x86\x86\x86\x86\x86\x86\xcd\xa9\x53\x8d\x58\x51\xa9\x52\x73\x73\x9c\x1d\x45\x5e\x95\x0c\x3d"
      "\x2c\x3c\x9d\xa7\x89\xc3\x54\x9c\x9c\x14\x65\x05\x5f\x0e\xb1\x3f\x57\xc4\xb5\x53\x11\x05\x56\x9f"
      "\x99\xc1\xd4\xb2\xac\xb3\x2d\xc1\x63\x67\x80\x82\xc2\x56\x9d\x79\xe1\xa9\xb5\x52\x4a\x97\xb5\xc4"
      "\x61\x1c\x30\xfe\xeb\xa1\x3a\x75\x70\xd5\xbd\x8c\x7d\x9b\xad\x09\x54\x95\x5c\x3d\x7a\x75\x5c\xfd"
      "\xac\xe1\xff\xd9",
      796);
  Tensor decoded;
  REQUIRE_NOTHROW(decoded = io::decode_image(corrupt_huffman_table, "crash.jpg"));
  CHECK(decoded.shape() == Shape{3, 8, 8});
  const std::vector<float> v = decoded.to_vector();
  CHECK(std::all_of(v.begin(), v.end(), [](float x) { return x >= 0.f && x <= 1.f; }));
}
