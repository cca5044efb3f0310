// SPDX-License-Identifier: Apache-2.0
// ImageFolder: captions files (TSV, JSONL), resizing and cropping against
// naive loops, UTF-8, and every error naming the captions file and line.
#include "support/check.hpp"

#include <cmath>
#include <filesystem>

#include "io/temp_dir.hpp"

#include <fresco/data/registry.hpp>

using fresco::Tensor;
using fresco::data::ImageFolder;
using fresco::test::TempDir;
using fresco::test::write_bytes;

namespace {

// An RGB image [3, h, w] whose values are distinct multiples of 1/255 (exact in 8 bits).
Tensor pattern(int64_t h, int64_t w, int seed) {
  std::vector<float> v(static_cast<size_t>(3 * h * w));
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>((i * 37 + seed * 11) % 256) / 255.f;
  return fresco::tensor(v, {3, h, w});
}

}  // namespace

TEST_CASE("ImageFolder reads TSV captions, shrinks by area and crops the centre", "[image_folder]") {
  TempDir dir;
  const Tensor wide = pattern(16, 32, 1);  // H 16, W 32 -> shorter side 8 -> 8 x 16 -> centre 8 x 8
  const Tensor small = pattern(4, 4, 2);   // enlarged to 8 x 8 (bilinear)
  fresco::io::write_image(wide, dir.file("wide.png"));
  std::filesystem::create_directories(dir.path() / "sub");
  fresco::io::write_image(small, dir.file("sub/small.png"));
  write_bytes(dir.file("captions.tsv"),
              "wide.png\ta wide picture\n\nsub/small.png\tun caf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC\r\n"
              "wide.png\tthe same picture, again\n");
  ImageFolder folder({.root = dir.path().string(), .image_size = 8});
  REQUIRE(folder.size() == 3);
  CHECK(folder.caption(1) == "un caf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC");
  CHECK(folder.file(1) == "sub/small.png");
  CHECK(folder.get(2).caption == "the same picture, again");
  CHECK(folder.get(0).labels.empty());

  // Area shrink by 2: mean of each 2x2 block; the 16 columns are cropped to 4..11.
  std::vector<float> expected;
  const std::vector<float> src = wide.to_vector();
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < 8; ++y)
      for (int x = 4; x < 12; ++x) {
        float s = 0;
        for (int dy = 0; dy < 2; ++dy)
          for (int dx = 0; dx < 2; ++dx) s += src[static_cast<size_t>(c * 512 + (2 * y + dy) * 32 + 2 * x + dx)];
        expected.push_back(s / 4);
      }
  // Stored as 8 bits: within half a level of the exact mean.
  CHECK_TENSOR(folder.get(0).image, (fresco::Shape{3, 8, 8}), expected, 0.5 / 255 + 1e-6);
  CHECK_TENSOR(folder.get(2).image, (fresco::Shape{3, 8, 8}), expected, 0.5 / 255 + 1e-6);
  CHECK_TENSOR(folder.get(1).image, (fresco::Shape{3, 8, 8}), fresco::io::resize_bilinear(small, 8, 8).to_vector(),
               0.5 / 255 + 1e-6);
  CHECK_THROWS_WITH(folder.get(3), Catch::Contains("index 3 out of range for 3 entries"));
  CHECK_THROWS_WITH(folder.get(-1), Catch::Contains("out of range"));
}

TEST_CASE("ImageFolder reads JSONL captions and converts to grey", "[image_folder]") {
  TempDir dir;
  fresco::io::write_image(pattern(8, 8, 3), dir.file("a.png"));
  fresco::io::write_image(pattern(10, 6, 4), dir.file("b.jpg"));
  write_bytes(dir.file("captions.jsonl"),
              "{\"file\": \"a.png\", \"caption\": \"first \\u00e9\"}\n"
              "{\"caption\": \"second\", \"file\": \"b.jpg\", \"extra\": 1}\n");
  ImageFolder folder({.root = dir.path().string(), .image_size = 4, .channels = 1});
  REQUIRE(folder.size() == 2);
  CHECK(folder.caption(0) == "first \xC3\xA9");
  CHECK(folder.get(1).image.shape() == fresco::Shape{1, 4, 4});
  for (float v : folder.get(1).image.to_vector()) CHECK((v >= 0.f && v <= 1.f));
  CHECK(folder.captions_path().ends_with("captions.jsonl"));
}

TEST_CASE("ImageFolder composites transparent pixels on the background before resizing", "[image_folder]") {
  TempDir dir;
  // RGBA 2 x 2, as planes R, G, B, A: opaque red, transparent (black underneath),
  // blue at alpha 0.4 and green at alpha 0.8 (both exact in 8 bits).
  const std::vector<float> rgba = {1, 0, 0, 0,    0, 0, 0, 1,    0, 0, 1, 0,    1, 0, 102.f / 255, 204.f / 255};
  fresco::io::write_image(fresco::tensor(rgba, {4, 2, 2}), dir.file("rgba.png"));
  // Grey + alpha 2 x 2: grey 0.2 at alpha 1, 0, 0.4, 1.
  fresco::io::write_image(fresco::tensor({51.f / 255, 0, 51.f / 255, 51.f / 255, 1, 0, 102.f / 255, 1}, {2, 2, 2}),
                          dir.file("grey_alpha.png"));
  write_bytes(dir.file("captions.tsv"), "rgba.png\tcolour with alpha\ngrey_alpha.png\tgrey with alpha\n");

  const auto expect = [](float v, float a, float bg) { return v * a + bg * (1 - a); };
  for (float bg : {1.f, 0.f, 0.5f}) {
    ImageFolder folder({.root = dir.path().string(), .image_size = 2, .background = bg});
    const float a2 = 102.f / 255, a3 = 204.f / 255;
    std::vector<float> want = {expect(1, 1, bg), expect(0, 0, bg), expect(0, a2, bg), expect(0, a3, bg),
                               expect(0, 1, bg), expect(0, 0, bg), expect(0, a2, bg), expect(1, a3, bg),
                               expect(0, 1, bg), expect(0, 0, bg), expect(1, a2, bg), expect(0, a3, bg)};
    CHECK_TENSOR(folder.get(0).image, (fresco::Shape{3, 2, 2}), want, 0.5 / 255 + 1e-6);
    const float g = 51.f / 255;
    want = {expect(g, 1, bg), expect(g, 0, bg), expect(g, a2, bg), expect(g, 1, bg)};
    for (int c = 0; c < 2; ++c) want.insert(want.end(), want.begin(), want.begin() + 4);   // grey -> RGB
    CHECK_TENSOR(folder.get(1).image, (fresco::Shape{3, 2, 2}), want, 0.5 / 255 + 1e-6);

    // Composited first, then shrunk: 2 x 2 -> 1 x 1 is the mean of the composited pixels.
    ImageFolder grey({.root = dir.path().string(), .image_size = 1, .channels = 1, .background = bg});
    CHECK_THAT(grey.get(1).image.item(),
               Catch::WithinAbs((expect(g, 1, bg) * 2 + expect(g, 0, bg) + expect(g, a2, bg)) / 4, 1.0 / 255));
  }
  CHECK_THROWS_WITH(ImageFolder({.root = dir.path().string(), .background = 2.f}),
                    Catch::Contains("grey level in [0, 1], got 2"));
}

TEST_CASE("ImageFolder leaves out the images an exclude file lists", "[image_folder]") {
  TempDir dir;
  for (int i = 0; i < 4; ++i) fresco::io::write_image(pattern(4, 4, i), dir.file(fmt::format("{}.png", i)));
  write_bytes(dir.file("captions.tsv"), "0.png\tzero\n1.png\tone\n2.png\ttwo\n1.png\tone again\n3.png\tthree\n");
  write_bytes(dir.file("heldout.txt"), "1.png\r\n\n3.png\nnot-in-the-captions.png\n");
  ImageFolder folder({.root = dir.path().string(), .image_size = 4, .exclude_file = dir.file("heldout.txt")});
  REQUIRE(folder.size() == 2);
  CHECK(folder.excluded() == 3);
  CHECK(folder.caption(0) == "zero");
  CHECK(folder.caption(1) == "two");
  CHECK_TENSOR(folder.get(1).image, (fresco::Shape{3, 4, 4}), pattern(4, 4, 2).to_vector(), 0.5 / 255 + 1e-6);

  auto via_spec = fresco::data::open_dataset(
      {.name = "folder:" + dir.path().string(), .image_size = 4, .exclude_file = dir.file("heldout.txt")});
  CHECK(via_spec->size() == 2);
  CHECK_THROWS_WITH(fresco::data::open_dataset({.name = "shapes", .exclude_file = dir.file("heldout.txt")}),
                    Catch::Contains("are for folders (folder:DIR), not for \"shapes\""));
  CHECK_THROWS_WITH(fresco::data::open_dataset({.name = "fashion-mnist", .caption_keys = {"caption"}}),
                    Catch::Contains("not for \"fashion-mnist\""));
  CHECK_THROWS_WITH(ImageFolder({.root = dir.path().string(), .exclude_file = dir.file("missing.txt")}),
                    Catch::Contains("cannot open the exclude file"));
  write_bytes(dir.file("all.txt"), "0.png\n1.png\n2.png\n3.png\n");
  CHECK_THROWS_WITH(ImageFolder({.root = dir.path().string(), .exclude_file = dir.file("all.txt")}),
                    Catch::Contains("every entry is listed in the exclude file"));
}

TEST_CASE("ImageFolder reads labels from JSONL fields, numbered over the whole file", "[image_folder]") {
  TempDir dir;
  for (int i = 0; i < 3; ++i) fresco::io::write_image(pattern(4, 4, i), dir.file(fmt::format("{}.png", i)));
  write_bytes(dir.file("meta.jsonl"),
              "{\"file\": \"0.png\", \"caption\": \"a\", \"group\": \"food\", \"tone\": \"\"}\n"
              "{\"file\": \"1.png\", \"caption\": \"b\", \"group\": \"animals\", \"tone\": \"dark\"}\n"
              "{\"file\": \"2.png\", \"caption\": \"c\", \"group\": \"food\", \"tone\": \"light\"}\n");
  write_bytes(dir.file("out.txt"), "1.png\n");
  ImageFolder folder({.root = dir.path().string(), .image_size = 4, .captions_file = "meta.jsonl",
                      .label_keys = {"group", "tone"}, .exclude_file = dir.file("out.txt")});
  REQUIRE(folder.size() == 2);
  // Classes sorted over all three lines, the excluded one included.
  CHECK(folder.label_names(0) == std::vector<std::string>{"animals", "food"});
  CHECK(folder.label_names(1) == std::vector<std::string>{"", "dark", "light"});
  CHECK(folder.get(0).labels == std::vector<int64_t>{1, 0});
  CHECK(folder.get(1).labels == std::vector<int64_t>{1, 2});
  CHECK_THROWS_WITH(folder.label_names(2), Catch::Contains("key 2 out of range for 2 label keys"));

  // A split of it: samples in the order given, errors for indices outside it.
  auto shared = std::make_shared<ImageFolder>(folder);
  const fresco::data::Subset split(shared, {1, 0, 1});
  REQUIRE(split.size() == 3);
  CHECK(split.get(0).caption == "c");
  CHECK(split.get(1).caption == "a");
  CHECK(split.base_index(2) == 1);
  CHECK_THROWS_WITH(split.get(3), Catch::Contains("sample 3 out of range [0, 3)"));
  CHECK_THROWS_WITH(fresco::data::Subset(shared, {2}), Catch::Contains("index 2 out of range for a dataset of 2"));

  CHECK_THROWS_WITH(ImageFolder({.root = dir.path().string(), .captions_file = "meta.jsonl", .label_keys = {"colour"}}),
                    Catch::Contains("meta.jsonl:1: missing label key \"colour\""));
  write_bytes(dir.file("bad.jsonl"), "{\"file\": \"0.png\", \"caption\": \"a\", \"group\": 3}\n");
  CHECK_THROWS_WITH(ImageFolder({.root = dir.path().string(), .captions_file = "bad.jsonl", .label_keys = {"group"}}),
                    Catch::Contains("bad.jsonl:1: label \"group\" is not a string"));
  write_bytes(dir.file("captions.tsv"), "0.png\ta\n");
  CHECK_THROWS_WITH(ImageFolder({.root = dir.path().string(), .captions_file = "captions.tsv", .label_keys = {"group"}}),
                    Catch::Contains("label keys (group) need a JSONL captions file"));
}

TEST_CASE("ImageFolder makes an entry of every caption the caption keys name", "[image_folder]") {
  TempDir dir;
  for (int i = 0; i < 2; ++i) fresco::io::write_image(pattern(4, 4, i), dir.file(fmt::format("{}.png", i)));
  write_bytes(dir.file("meta.jsonl"),
              "{\"file\": \"0.png\", \"caption\": \"apple\", \"more\": [\"red apple\", \"\", \"fruit\"], \"g\": \"food\"}\n"
              "{\"file\": \"1.png\", \"caption\": \"dog\", \"more\": \"\", \"g\": \"animal\"}\n");
  const std::string root = dir.path().string();
  ImageFolder folder({.root = root, .image_size = 4, .captions_file = "meta.jsonl", .label_keys = {"g"},
                      .caption_keys = {"caption", "more"}});
  // Line 1: "apple", then the array's non-empty strings in order; line 2: "dog" alone.
  REQUIRE(folder.size() == 4);
  const std::vector<std::string> expected = {"apple", "red apple", "fruit", "dog"};
  for (int64_t i = 0; i < 4; ++i) CHECK(folder.caption(i) == expected[static_cast<size_t>(i)]);
  CHECK(folder.file(2) == "0.png");
  // The entries of one image share its pixels and labels.
  CHECK(folder.get(0).image.to_vector() == folder.get(2).image.to_vector());
  CHECK(folder.get(1).labels == std::vector<int64_t>{1});
  CHECK(folder.get(3).labels == std::vector<int64_t>{0});
  // The default is the "caption" field alone.
  CHECK(ImageFolder({.root = root, .image_size = 4, .captions_file = "meta.jsonl"}).size() == 2);

  auto fails = [&](const std::string& body, const std::vector<std::string>& keys) {
    write_bytes(dir.file("bad.jsonl"), body);
    return ImageFolder({.root = root, .image_size = 4, .captions_file = "bad.jsonl", .caption_keys = keys});
  };
  CHECK_THROWS_WITH(fails("{\"file\": \"0.png\", \"caption\": \"a\"}\n", {"caption", "more"}),
                    Catch::Contains("bad.jsonl:1: missing key \"more\""));
  CHECK_THROWS_WITH(fails("{\"file\": \"0.png\", \"more\": 3}\n", {"more"}),
                    Catch::Contains("\"more\" is not a string or an array of strings"));
  CHECK_THROWS_WITH(fails("{\"file\": \"0.png\", \"more\": [\"a\", 3]}\n", {"more"}),
                    Catch::Contains("\"more\" holds a value that is not a string"));
  CHECK_THROWS_WITH(fails("{\"file\": \"0.png\", \"a\": \" \", \"b\": []}\n", {"a", "b"}),
                    Catch::Contains("bad.jsonl:1: empty caption for '0.png' (fields a, b)"));
  write_bytes(dir.file("captions.tsv"), "0.png\ta\n");
  CHECK_THROWS_WITH(ImageFolder({.root = root, .captions_file = "captions.tsv", .caption_keys = {"more"}}),
                    Catch::Contains("caption keys (more) need a JSONL captions file"));
}

TEST_CASE("ImageFolder errors name the captions file and line", "[image_folder]") {
  TempDir dir;
  fresco::io::write_image(pattern(8, 8, 5), dir.file("ok.png"));
  write_bytes(dir.file("broken.png"), "\x89PNG\r\n\x1a\n this is not a png");
  const std::string root = dir.path().string();
  struct Case {
    std::string body;
    std::string message;
  };
  const std::vector<Case> tsv_cases = {
      {"ok.png\tfine\nok.png no tab here\n", "captions.tsv:2: no tab"},
      {"ok.png\tfine\n\nok.png\t   \n", "captions.tsv:3: empty caption for 'ok.png'"},
      {"\tcaption without file\n", "captions.tsv:1: empty file name"},
      {"ok.png\tfine\nmissing.png\tgone\n", "captions.tsv:2: image '"},
      {"ok.png\tfine\nbroken.png\tcorrupt\n", "captions.tsv:2: cannot read image '"},
      {"ok.png\tbad \xC3\x28 utf8\n", "captions.tsv:1: invalid UTF-8 at byte 12"},
      {"ok.png\toverlong \xC0\xAF\n", "captions.tsv:1: invalid UTF-8"},
      {"ok.png\tsurrogate \xED\xA0\x80\n", "captions.tsv:1: invalid UTF-8"},
      {"\n\n", "captions.tsv: no entries"},
  };
  for (const Case& c : tsv_cases) {
    write_bytes(dir.file("captions.tsv"), c.body);
    INFO(c.body);
    CHECK_THROWS_AS(ImageFolder({.root = root}), fresco::IoError);
    CHECK_THROWS_WITH(ImageFolder({.root = root}), Catch::Contains(c.message));
  }
  CHECK_THROWS_WITH(ImageFolder({.root = root}), Catch::Contains(dir.file("captions.tsv")));
  write_bytes(dir.file("captions.tsv"), "ok.png\tfine\nmissing.png\tgone\n");
  CHECK_THROWS_WITH(ImageFolder({.root = root}), Catch::Contains("missing.png' does not exist"));

  std::filesystem::remove(dir.file("captions.tsv"));
  const std::vector<Case> jsonl_cases = {
      {"{\"file\": \"ok.png\", \"caption\": \"x\"}\n{\"file\": \"ok.png\", \"caption\": }\n",
       "captions.jsonl:2: bad JSON"},
      {"[\"ok.png\", \"x\"]\n", "captions.jsonl:1: expected a JSON object"},
      {"{\"file\": \"ok.png\"}\n", "captions.jsonl:1: missing key \"caption\""},
      {"{\"caption\": \"x\"}\n", "captions.jsonl:1: missing key \"file\""},
      {"{\"file\": 3, \"caption\": \"x\"}\n", "captions.jsonl:1: \"file\" is not a string"},
      {"{\"file\": \"ok.png\", \"caption\": \"\"}\n", "captions.jsonl:1: empty caption"},
      {"{\"file\": \"ok.png\", \"caption\": \"\xFF\"}\n", "captions.jsonl:1: invalid UTF-8"},
  };
  for (const Case& c : jsonl_cases) {
    write_bytes(dir.file("captions.jsonl"), c.body);
    INFO(c.body);
    CHECK_THROWS_AS(ImageFolder({.root = root}), fresco::IoError);
    CHECK_THROWS_WITH(ImageFolder({.root = root}), Catch::Contains(c.message));
  }

  write_bytes(dir.file("captions.tsv"), "ok.png\tfine\n");
  CHECK_THROWS_WITH(ImageFolder({.root = root}), Catch::Contains("both captions.tsv and captions.jsonl"));
  CHECK(ImageFolder({.root = root, .captions_file = "captions.tsv"}).size() == 1);
  std::filesystem::remove(dir.file("captions.tsv"));
  std::filesystem::remove(dir.file("captions.jsonl"));
  CHECK_THROWS_WITH(ImageFolder({.root = root}), Catch::Contains("no captions file"));
  CHECK_THROWS_WITH(ImageFolder({.root = dir.file("nope")}), Catch::Contains("is not a directory"));
  CHECK_THROWS_WITH(ImageFolder({.root = root, .image_size = 0}), Catch::Contains(".image_size must be in 1..4096"));
  CHECK_THROWS_WITH(ImageFolder({.root = root, .channels = 2}), Catch::Contains(".channels must be 1 or 3"));
}

TEST_CASE("is_valid_utf8 accepts well-formed text and rejects the rest", "[image_folder]") {
  using fresco::data::is_valid_utf8;
  CHECK(is_valid_utf8(""));
  CHECK(is_valid_utf8("plain ascii"));
  CHECK(is_valid_utf8("\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80"));  // é € 😀
  CHECK(is_valid_utf8("\xF4\x8F\xBF\xBF"));                      // U+10FFFF
  size_t at = 0;
  CHECK_FALSE(is_valid_utf8("ab\x80", &at));
  CHECK(at == 2);
  CHECK_FALSE(is_valid_utf8("\xE2\x82"));          // truncated
  CHECK_FALSE(is_valid_utf8("\xE0\x80\xAF"));      // overlong '/'
  CHECK_FALSE(is_valid_utf8("\xF4\x90\x80\x80"));  // above U+10FFFF
  CHECK_FALSE(is_valid_utf8("\xED\xBF\xBF"));      // surrogate
  CHECK_FALSE(is_valid_utf8("\xF8\x88\x80\x80\x80"));
}
