// SPDX-License-Identifier: Apache-2.0
// Model files whose metadata lies: every loader that builds modules from a file's
// metadata refuses a configuration larger than the file's tensors, quickly and
// without allocating the claimed model; the header-only reader checks the file's size.
#include <catch2/catch.hpp>

#include <functional>

#include <fresco/error.hpp>
#include <fresco/eval/classifier.hpp>
#include <fresco/gan/text_to_image.hpp>
#include <fresco/io/checkpoint.hpp>
#include <fresco/io/safetensors.hpp>
#include <fresco/tensor/memory_limit.hpp>
#include <fresco/text/gpt.hpp>
#include <fresco/vq/image_tokenizer.hpp>

#include "gan/tiny.hpp"
#include "temp_dir.hpp"

using namespace fresco;

namespace {

using Metadata = std::map<std::string, std::string>;

/// `in` written again to `out` with its metadata changed by `edit` (tensors untouched).
void rewrite_metadata(const std::string& in, const std::string& out, const std::function<void(Metadata&)>& edit) {
  Metadata meta = io::load_safetensors_metadata(in);
  edit(meta);
  io::save_safetensors(io::load_safetensors(in), out, meta);
}

/// Runs `load` under a 64 MiB limit of the test's own: a loader that allocated the claimed
/// model would hit it (and the message would name "the test's limit", not the file).
/// Returns the message of the error the loader threw.
std::string load_error(const std::function<void()>& load) {
  MemoryLimit test_limit(int64_t{64} << 20, "the test's limit");
  try {
    load();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

gan::TextToImage tiny_text_to_image() {
  text::Gpt gpt(testing::tiny_gpt_config());
  gan::Generator g(testing::tiny_generator_config());
  return gan::TextToImage::from_parts(testing::tiny_tokenizer(), gpt, g);
}

}  // namespace

TEST_CASE("read_safetensors_header reads the index only and checks it against the file's size",
          "[io][hostile]") {
  test::TempDir dir;
  const std::string path = dir.file("w.safetensors");
  io::save_safetensors({{"a", zeros({2, 3})}, {"b", ones({4})}}, path, {{"k", "v"}});
  const io::SafetensorsHeader h = io::read_safetensors_header(path);
  REQUIRE(h.entries.size() == 2);
  CHECK(h.entries[0].name == "a");
  CHECK(h.entries[0].shape == Shape{2, 3});
  CHECK(h.entries[1].begin == 24);
  CHECK(h.data_size == 40);
  CHECK(h.metadata.at("k") == "v");
  CHECK(io::tensor_bytes_as_f32(h) == 40);

  // Cut the data section short: the header alone is intact, but its offsets pass the end of the file.
  const std::string bytes = test::read_bytes(path);
  const std::string cut = dir.file("cut.safetensors");
  test::write_bytes(cut, bytes.substr(0, bytes.size() - 4));
  CHECK_THROWS_AS(io::read_safetensors_header(cut), IoError);
  CHECK_THROWS_WITH(io::read_safetensors_header(cut), Catch::Contains("cut.safetensors") &&
                                                          Catch::Contains("past the end of the data section"));
  // A header length larger than the file.
  std::string lying = bytes;
  lying[0] = static_cast<char>(0xff);
  lying[1] = static_cast<char>(0x7f);
  test::write_bytes(cut, lying);
  CHECK_THROWS_WITH(io::read_safetensors_header(cut), Catch::Contains("exceeds the"));
  CHECK_THROWS_WITH(io::load_safetensors_metadata(dir.file("missing.safetensors")), Catch::Contains("no such"));
}

TEST_CASE("LoadLimit: sized by the file, names the first tensor that does not match", "[io][hostile]") {
  test::TempDir dir;
  const std::string path = dir.file("w.safetensors");
  io::save_safetensors({{"w", zeros({256, 256})}}, path);   // 256 KiB of tensors
  const io::LoadLimit limit(path, "my_loader");
  CHECK(limit.memory().max_bytes() ==
        io::LoadLimit::kLoadMemoryFactor * (256 * 256 * 4 + MemoryLimit::kTensorOverheadBytes) +
            io::LoadLimit::kLoadMemorySlackBytes);
  CHECK_NOTHROW(limit.expect_tensor("w", {256, 256}));
  CHECK_THROWS_WITH(limit.expect_tensor("w", {256, 512}),
                    Catch::StartsWith("my_loader: " + path) && Catch::Contains("needs tensor w of shape [256, 512]") &&
                        Catch::Contains("the file holds [256, 256]"));
  CHECK_THROWS_WITH(limit.expect_tensor("v", {1}), Catch::Contains("holds no such tensor"));
  // Within the scope a model of the file's size fits; one 4x larger plus the slack does not.
  Tensor fits = zeros({256, 256});
  CHECK_THROWS_AS(zeros({4 * 256 * 256 + (8 << 20) / 4}), MemoryLimitError);
  CHECK_THROWS_WITH(zeros({4 * 256 * 256 + (8 << 20) / 4}),
                    Catch::StartsWith("my_loader: " + path + ": the configuration in its metadata describes a model "
                                      "larger than the file holds (1 tensors, 262144 bytes as f32)"));
}

TEST_CASE("TextToImage::load refuses a file whose metadata claims a huge model", "[io][hostile][gan]") {
  test::TempDir dir;
  const std::string good = dir.file("model.safetensors"), bad = dir.file("hostile.safetensors");
  tiny_text_to_image().save(good);
  CHECK_NOTHROW(gan::TextToImage::load(good));

  // The report: 3000 layers of width 1024 claimed by a file of a few kilobytes.
  rewrite_metadata(good, bad, [](Metadata& m) {
    m["gpt.layers"] = "3000";
    m["gpt.d_model"] = "1024";
    m["generator.text_dim"] = "1024";
  });
  std::string msg = load_error([&] { gan::TextToImage::load(bad); });
  CHECK_THAT(msg, Catch::StartsWith("TextToImage::load: " + bad) &&
                      Catch::Contains("needs tensor gpt.wte.weight of shape [300, 1024], the file holds [300, 8]"));
  // The text model's tensors match but the generator claims to be 512 times wider: the memory limit stops it.
  rewrite_metadata(good, bad, [](Metadata& m) { m["generator.base_width"] = "4096"; });
  msg = load_error([&] { gan::TextToImage::load(bad); });
  CHECK_THAT(msg, Catch::StartsWith("TextToImage::load: " + bad + ": the configuration in its metadata describes a "
                                    "model larger than the file holds"));
  // More layers than the file holds blocks of.
  rewrite_metadata(good, bad, [](Metadata& m) { m["gpt.layers"] = "3000"; });
  msg = load_error([&] { gan::TextToImage::load(bad); });
  CHECK_THAT(msg, Catch::Contains(bad) && Catch::Contains("gpt.blocks.2999.attn.in_proj_weight") &&
                      Catch::Contains("no such tensor"));
  // Sizes no model has.
  rewrite_metadata(good, bad, [](Metadata& m) { m["gpt.layers"] = "1000000000000"; });
  msg = load_error([&] { gan::TextToImage::load(bad); });
  CHECK_THAT(msg, Catch::Contains(bad) && Catch::Contains("gpt.layers is 1000000000000, more than any model"));
}

TEST_CASE("load_gpt refuses a file whose metadata claims a huge model", "[io][hostile][text]") {
  test::TempDir dir;
  const std::string good = dir.file("gpt.safetensors"), bad = dir.file("hostile.safetensors");
  text::save_gpt(text::Gpt(testing::tiny_gpt_config()), testing::tiny_tokenizer(), good);
  CHECK(text::load_gpt(good).gpt->config().layers == 1);
  rewrite_metadata(good, bad, [](Metadata& m) {
    m["gpt.layers"] = "3000";
    m["gpt.d_model"] = "1024";
  });
  const std::string msg = load_error([&] { text::load_gpt(bad); });
  CHECK_THAT(msg, Catch::StartsWith("load_gpt: " + bad) &&
                      Catch::Contains("needs tensor wte.weight of shape [300, 1024], the file holds [300, 8]"));
}

TEST_CASE("Classifier::load and ImageTokenizer::load refuse files that claim huge models", "[io][hostile]") {
  test::TempDir dir;
  const std::string good = dir.file("good.safetensors"), bad = dir.file("hostile.safetensors");
  {
    eval::Classifier(eval::ClassifierConfig{.channels = 1, .image_size = 16, .heads = {2}, .width = 2, .feature_dim = 4})
        .save(good);
    CHECK_NOTHROW(eval::Classifier::load(good));
    rewrite_metadata(good, bad, [](Metadata& m) { m["width"] = "4096"; });
    const std::string msg = load_error([&] { eval::Classifier::load(bad); });
    CHECK_THAT(msg, Catch::StartsWith("Classifier::load: " + bad + ": the configuration in its metadata describes"));
  }
  {
    vq::ImageTokenizer(vq::ImageTokenizerConfig{.image_size = 8, .channels = 3, .downsample = 4, .width = 4,
                                                .max_width = 8, .res_blocks = 1, .codes = 16, .code_dim = 4})
        .save(good);
    CHECK_NOTHROW(vq::ImageTokenizer::load(good));
    rewrite_metadata(good, bad, [](Metadata& m) {
      for (auto& [k, v] : m)
        if (k.size() >= 5 && k.compare(k.size() - 5, 5, "width") == 0) v = "4096";
    });
    const std::string msg = load_error([&] { vq::ImageTokenizer::load(bad); });
    CHECK_THAT(msg, Catch::StartsWith("ImageTokenizer::load: " + bad + ": the configuration in its metadata describes"));
  }
}
