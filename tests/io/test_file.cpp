// SPDX-License-Identifier: Apache-2.0
// write_file_atomic and read_file: round trip, replacement, and errors naming the file.
#include "support/check.hpp"

#include <filesystem>

#include <fresco/io/file.hpp>

#include "io/temp_dir.hpp"

using namespace fresco;

TEST_CASE("write_file_atomic replaces a file whole and read_file reads it back", "[io][file]") {
  test::TempDir dir;
  const std::string path = dir.file("notes.txt");
  io::write_file_atomic(path, "first");
  io::write_file_atomic(path, std::string("second\0with a zero", 18));
  CHECK(io::read_file(path, 100, "notes") == std::string("second\0with a zero", 18));
  // Nothing but the file itself is left in the directory.
  int64_t entries = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path())) ++entries;
  CHECK(entries == 1);
}

TEST_CASE("read_file names the file and the kind of file in its errors", "[io][file]") {
  test::TempDir dir;
  CHECK_THROWS_WITH(io::read_file(dir.file("absent.bin"), 100, "notes"),
                    Catch::Contains("absent.bin") && Catch::Contains("no such notes file"));
  io::write_file_atomic(dir.file("big.bin"), std::string(101, 'x'));
  CHECK_THROWS_AS(io::read_file(dir.file("big.bin"), 100, "notes"), IoError);
  CHECK_THROWS_WITH(io::read_file(dir.path().string(), 100, "notes"), Catch::Contains("not a regular file"));
  CHECK_THROWS_AS(io::write_file_atomic(dir.file("no/such/dir/x"), "x"), IoError);
}
