// SPDX-License-Identifier: Apache-2.0
// TextToImage: save/load, determinism, animation; the GIF writer.
#include <filesystem>
#include <fstream>

#include <fresco/gan/text_to_image.hpp>
#include <fresco/io/gif.hpp>
#include <fresco/text_to_image.hpp>

#include "support/check.hpp"
#include "tiny.hpp"

using namespace fresco;
namespace fs = std::filesystem;

namespace {

std::string temp_path(const std::string& name) {
  return (fs::temp_directory_path() / fmt::format("fresco_t2i_{}_{}", ::getpid(), name)).string();
}

gan::TextToImage tiny_model() {
  text::Gpt gpt(testing::tiny_gpt_config());
  gan::Generator g(testing::tiny_generator_config());
  {
    // Train mode once, so that the BatchNorm statistics are not the defaults.
    g(randn({4, 4}), randn({4, 8}), randn({4, 3, 8}), zeros({4, 3}));
  }
  return gan::TextToImage::from_parts(testing::tiny_tokenizer(), gpt, g);
}

}  // namespace

TEST_CASE("TextToImage: generate is deterministic, in [0, 1], one image per caption", "[gan][t2i]") {
  auto model = tiny_model();
  Tensor a = model.generate({"a red dot", "a blue box", "a red dot"}, 7);
  CHECK(a.shape() == Shape{3, 3, 8, 8});
  for (float v : a.to_vector()) REQUIRE((v >= 0.f && v <= 1.f));
  CHECK(model.generate({"a red dot", "a blue box", "a red dot"}, 7).to_vector() == a.to_vector());
  CHECK(model.generate({"a red dot", "a blue box", "a red dot"}, 8).to_vector() != a.to_vector());
  // Image i depends on (caption i, seed, i), not on the other captions.
  Tensor single = model.generate({"a red dot"}, 7);
  CHECK(testing::max_abs_diff(single.to_vector(), a.slice(0, 0, 1).contiguous().to_vector()) < 1e-5);
  CHECK_THROWS_WITH(model.generate({}, 7), Catch::Contains("no captions"));
  CHECK_THROWS_WITH(model.generate({std::string(40, 'x') + " y z w v u t s r q p"}, 7),
                    Catch::Contains("context of 16"));
}

TEST_CASE("TextToImage: save and load reproduce the images bit for bit", "[gan][t2i]") {
  auto model = tiny_model();
  const std::string path = temp_path("model.safetensors");
  model.save(path);
  auto loaded = gan::TextToImage::load(path);
  const std::vector<std::string> prompts = {"a green box", "two red dots"};
  CHECK(loaded.generate(prompts, 3).to_vector() == model.generate(prompts, 3).to_vector());
  CHECK(loaded.generator().config().base_width == 8);
  CHECK(loaded.tokenizer().vocab_size() == model.tokenizer().vocab_size());
  // Through the interface of both families: the family from the file, the same images.
  CHECK(text_to_image_family(path) == "gan");
  auto any = load_text_to_image(path);
  CHECK(any->family() == "gan");
  CHECK(any->generate(prompts, 3).to_vector() == model.generate(prompts, 3).to_vector());
  // A file from before the sentence standardisation (no such buffers) loads without it.
  {
    auto tensors = io::load_safetensors(path);
    REQUIRE(tensors.erase("generator.sentence_mean") == 1);
    REQUIRE(tensors.erase("generator.sentence_scale") == 1);
    const std::string old_path = temp_path("old.safetensors");
    io::save_safetensors(tensors, old_path, io::load_safetensors_metadata(path));
    auto old = gan::TextToImage::load(old_path);
    CHECK(old.generator().sentence_mean.to_vector() == std::vector<float>(8, 0.f));
    CHECK(old.generator().sentence_scale.to_vector() == std::vector<float>{1.f});
    CHECK(old.generate(prompts, 3).to_vector() == model.generate(prompts, 3).to_vector());
    fs::remove(old_path);
  }
  fs::remove(path);
  CHECK_THROWS_WITH(gan::TextToImage::load(path), Catch::Contains(path));
  // A safetensors file of another kind is refused with its name.
  io::save_safetensors({{"w", ones({2})}}, path, {{"format", "other"}});
  CHECK_THROWS_WITH(gan::TextToImage::load(path), Catch::Contains("is not a text-to-image model"));
  fs::remove(path);
}

TEST_CASE("TextToImage: animate goes from caption a to caption b", "[gan][t2i]") {
  auto model = tiny_model();
  auto frames = model.animate("a red dot", "a blue box", 5, 4);
  REQUIRE(frames.size() == 5);
  CHECK(frames[0].shape() == Shape{3, 8, 8});
  // The ends are the two captions with the noise streams (4, 0) and (4, 1).
  Tensor a = model.generate({"a red dot"}, 4);
  CHECK(testing::max_abs_diff(frames[0].to_vector(), a.to_vector()) < 1e-5);
  CHECK(frames[2].to_vector() != frames[0].to_vector());
  CHECK_THROWS_WITH(model.animate("a", "b", 1, 0), Catch::Contains("frames must be >= 2"));
}

TEST_CASE("write_gif: a valid animated GIF with the frames, size and delay", "[gan][gif]") {
  const std::string path = temp_path("anim.gif");
  std::vector<Tensor> frames;
  for (int i = 0; i < 5; ++i) frames.push_back(rand({3, 8, 6}));
  io::write_gif(frames, path, {.delay_ms = 80, .scale = 2});
  auto info = io::read_gif_info(path);
  CHECK(info.width == 12);
  CHECK(info.height == 16);
  CHECK(info.frames == 5);
  CHECK(info.delay_ms == 80);
  std::ifstream in(path, std::ios::binary);
  char magic[6];
  in.read(magic, 6);
  CHECK(std::string(magic, 6) == "GIF89a");
  io::write_gif({rand({1, 4, 4}), rand({1, 4, 4})}, path, 40);
  CHECK(io::read_gif_info(path).frames == 2);
  CHECK_THROWS_WITH(io::write_gif({}, path), Catch::Contains("no frames"));
  CHECK_THROWS_WITH(io::write_gif({rand({3, 4, 4}), rand({3, 4, 5})}, path), Catch::Contains("frame 1 is [3, 4, 5]"));
  CHECK_THROWS_WITH(io::write_gif({rand({2, 4, 4})}, path), Catch::Contains("C = 1 or 3"));
  fs::remove(path);
  std::ofstream(path) << "not a gif";
  CHECK_THROWS_AS(io::read_gif_info(path), IoError);
  fs::remove(path);

  // Clips [N, T, C, H, W]: T frames, each the grid of the clips' frame t (5 clips, 3 a row: 2 rows).
  io::write_clips_gif(rand({5, 4, 3, 6, 8}), path, 3, {.scale = 2});
  info = io::read_gif_info(path);
  CHECK(info.frames == 4);
  CHECK(info.width == 2 * (3 * (8 + 2) + 2));
  CHECK(info.height == 2 * (2 * (6 + 2) + 2));
  CHECK_THROWS_WITH(io::write_clips_gif(rand({4, 3, 6, 8}), path, 3), Catch::Contains("expected clips [N, T, C, H, W]"));
  fs::remove(path);
}
