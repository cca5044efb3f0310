// SPDX-License-Identifier: Apache-2.0
// Writes that the system refuses: a file-size limit (setrlimit) makes write() fail for real,
// as a full disk does, and prepare_output_directory rejects what cannot hold files.
#include "support/check.hpp"

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include <fresco/io/file.hpp>
#include <fresco/io/safetensors.hpp>
#include <fresco/tensor/tensor.hpp>

#include "io/temp_dir.hpp"

using namespace fresco;

namespace {

// The files in `dir`, by name.
std::vector<std::string> entries(const std::filesystem::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// While alive, files this process writes cannot grow past `bytes`: write() fails with EFBIG
// (SIGXFSZ is ignored meanwhile), the same path through the code as ENOSPC on a full disk.
class FileSizeLimit {
public:
  explicit FileSizeLimit(rlim_t bytes) {
    ::getrlimit(RLIMIT_FSIZE, &old_);
    old_handler_ = ::signal(SIGXFSZ, SIG_IGN);
    rlimit limit = old_;
    limit.rlim_cur = bytes;
    active_ = ::setrlimit(RLIMIT_FSIZE, &limit) == 0;
  }
  ~FileSizeLimit() {
    ::setrlimit(RLIMIT_FSIZE, &old_);
    ::signal(SIGXFSZ, old_handler_);
  }
  bool active() const { return active_; }

private:
  rlimit old_{};
  sighandler_t old_handler_ = SIG_DFL;
  bool active_ = false;
};

}  // namespace

TEST_CASE("write_file_atomic: a write the system refuses names the file, keeps the old one, leaves no temporary",
          "[io][file]") {
  test::TempDir dir;
  const std::string path = dir.file("checkpoint.bin");
  io::write_file_atomic(path, "the old content");
  {
    FileSizeLimit limit(64 * 1024);
    REQUIRE(limit.active());
    CHECK_THROWS_WITH(io::write_file_atomic(path, std::string(1 << 20, 'x')),
                      Catch::Contains(path) && Catch::Contains("write failed") &&
                          Catch::Contains(std::strerror(EFBIG)) && Catch::Contains("left unchanged"));
    // A file below the limit still goes through.
    io::write_file_atomic(dir.file("small.bin"), std::string(1000, 's'));
  }
  CHECK(io::read_file(path, 1 << 20, "checkpoint") == "the old content");
  CHECK(entries(dir.path()) == std::vector<std::string>{"checkpoint.bin", "small.bin"});
}

TEST_CASE("save_safetensors: a failed save leaves the previous checkpoint loadable", "[io][file]") {
  test::TempDir dir;
  const std::string path = dir.file("checkpoint.safetensors");
  io::save_safetensors({{"w", tensor({1.f, 2.f, 3.f}, {3})}}, path, {{"step", "10"}});
  {
    FileSizeLimit limit(16 * 1024);
    REQUIRE(limit.active());
    CHECK_THROWS_AS(io::save_safetensors({{"w", zeros({100000})}}, path, {{"step", "20"}}), IoError);
  }
  const auto loaded = io::load_safetensors(path);
  CHECK(loaded.at("w").to_vector() == std::vector<float>{1.f, 2.f, 3.f});
  CHECK(io::load_safetensors_metadata(path).at("step") == "10");
  CHECK(entries(dir.path()) == std::vector<std::string>{"checkpoint.safetensors"});
}

TEST_CASE("prepare_output_directory: creates the directory and leaves it empty", "[io][file]") {
  test::TempDir dir;
  const std::string out = dir.file("runs/a/b");
  io::prepare_output_directory(out);
  CHECK(std::filesystem::is_directory(out));
  CHECK(entries(out).empty());
  io::prepare_output_directory(out);   // an existing directory is fine, and stays as it was
  io::write_file_atomic(out + "/keep.txt", "k");
  io::prepare_output_directory(out);
  CHECK(entries(out) == std::vector<std::string>{"keep.txt"});
}

TEST_CASE("prepare_output_directory: a path that cannot hold files is refused with the reason", "[io][file]") {
  test::TempDir dir;
  io::write_file_atomic(dir.file("plain"), "a file, not a directory");
  CHECK_THROWS_WITH(io::prepare_output_directory(dir.file("plain")),
                    Catch::Contains(dir.file("plain")) &&
                        Catch::Contains("not a directory", Catch::CaseSensitive::No));
  CHECK_THROWS_WITH(io::prepare_output_directory(dir.file("plain/sub")),
                    Catch::Contains(dir.file("plain/sub")) && Catch::Contains("cannot create it"));
  CHECK_THROWS_AS(io::prepare_output_directory(""), IoError);
  // /proc/self is a directory no file can be created in, even by root.
  if (std::filesystem::is_directory("/proc/self"))
    CHECK_THROWS_WITH(io::prepare_output_directory("/proc/self"),
                      Catch::Contains("/proc/self") && Catch::Contains("cannot create a file in it"));
}

TEST_CASE("remove_stale_temporaries: removes a dead writer's temporaries, nothing else", "[io][file]") {
  test::TempDir dir;
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  REQUIRE(child > 0);
  ::waitpid(child, nullptr, 0);   // a process id that existed and is gone
  const std::string dead = std::to_string(child), alive = std::to_string(::getpid());
  std::filesystem::create_directories(dir.path() / "sub");
  const std::vector<std::string> names = {"a.safetensors.tmp." + dead + ".0", "sub/b.png.tmp." + dead + ".17",
                                         "a.safetensors.tmp." + alive + ".3", "a.safetensors", "notes.tmp.txt",
                                         "c.tmp." + dead, "d.tmp." + dead + ".x"};
  for (const std::string& name : names)
    io::write_file_atomic(dir.file(name), "x");
  CHECK(io::remove_stale_temporaries(dir.path().string()) == 2);
  CHECK(entries(dir.path()) == std::vector<std::string>{"a.safetensors", "a.safetensors.tmp." + alive + ".3",
                                                        "c.tmp." + dead, "d.tmp." + dead + ".x", "notes.tmp.txt",
                                                        "sub"});
  CHECK(entries(dir.path() / "sub").empty());
  CHECK(io::remove_stale_temporaries(dir.file("absent")) == 0);
}
