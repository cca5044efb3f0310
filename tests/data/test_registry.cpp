// SPDX-License-Identifier: Apache-2.0
// open_dataset: each name opens its dataset with the spec's size, seed and image side.
#include "support/check.hpp"

#include <fresco/data/registry.hpp>

#include "io/temp_dir.hpp"

using namespace fresco;

TEST_CASE("open_dataset opens Shapes with the spec's size, seed and share of two-object scenes", "[registry]") {
  const auto ds = data::open_dataset({.name = "shapes", .limit = 30, .seed = 5, .image_size = 16,
                                      .two_object_fraction = 0.f});
  REQUIRE(ds->size() == 30);
  const data::Shapes same({.image_size = 16, .size = 30, .seed = 5, .split = "train", .two_object_fraction = 0.f});
  for (int64_t i : {0, 7, 29}) {
    const data::Example e = ds->get(i);
    CHECK(e.image.shape() == Shape{3, 16, 16});
    CHECK(e.caption == same.caption(i));
    CHECK(e.labels.size() == 4);
  }
  CHECK(data::open_dataset({.name = "shapes"})->size() == 20000);
}

TEST_CASE("open_dataset reads the first `limit` images of a folder", "[registry]") {
  test::TempDir dir;
  for (int i = 0; i < 3; ++i) io::write_image(full({3, 4, 4}, 0.25f * static_cast<float>(i)), dir.file(fmt::format("{}.png", i)));
  test::write_bytes(dir.file("captions.tsv"), "0.png\tzero\n1.png\tone\n2.png\ttwo\n");
  const std::string name = "folder:" + dir.path().string();
  CHECK(data::open_dataset({.name = name, .image_size = 4})->size() == 3);
  const auto two = data::open_dataset({.name = name, .limit = 2, .image_size = 4});
  REQUIRE(two->size() == 2);
  CHECK(two->get(1).caption == "one");
  CHECK(two->get(1).image.shape() == Shape{3, 4, 4});
  CHECK_THROWS_AS(two->get(2), Error);
}

TEST_CASE("open_dataset names the valid datasets when it does not know one", "[registry]") {
  CHECK_THROWS_WITH(data::open_dataset({.name = "circles"}),
                    Catch::Contains("unknown dataset \"circles\"") && Catch::Contains("fashion-mnist"));
  CHECK_THROWS_WITH(data::open_dataset({.name = "folder:"}), Catch::Contains("needs a directory"));
}
