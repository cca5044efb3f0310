// SPDX-License-Identifier: Apache-2.0
// ImageTokenizer: shapes, encode/decode, gradients through the straight-through codes,
// save/load round trips and the errors a user can meet.
#include <catch2/catch.hpp>

#include <thread>

#include <fresco/io/checkpoint.hpp>
#include <fresco/io/safetensors.hpp>
#include <fresco/optim/adam.hpp>
#include <fresco/vq/image_tokenizer.hpp>

#include "io/temp_dir.hpp"
#include "support/check.hpp"

using namespace fresco;

namespace {

vq::ImageTokenizerConfig tiny_config() {
  return {.image_size = 8, .channels = 3, .downsample = 4, .width = 4, .max_width = 8, .res_blocks = 1,
          .grid_blocks = 1, .codes = 16, .code_dim = 4, .seed = 3};
}

// Four 8×8 images in [0, 1]: each a flat colour.
Tensor flat_colours() {
  std::vector<float> v;
  const float colours[4][3] = {{1, 0, 0}, {0, 0, 1}, {0, 1, 0}, {1, 1, 1}};
  for (const auto& c : colours)
    for (int ch = 0; ch < 3; ++ch)
      for (int p = 0; p < 64; ++p) v.push_back(c[ch]);
  return tensor(std::move(v), {4, 3, 8, 8});
}

}  // namespace

TEST_CASE("ImageTokenizer: shapes of the encoder, the codes and the decoder", "[vq]") {
  for (int64_t f : {2, 4, 8}) {
    auto c = tiny_config();
    c.image_size = 16;
    c.downsample = f;
    INFO("downsample " << f);
    vq::ImageTokenizer tok(c);
    CHECK(c.grid() == 16 / f);
    CHECK(tok.encoder(zeros({2, 3, 16, 16})).shape() == Shape{2, 4, 16 / f, 16 / f});
    const auto out = tok(zeros({2, 3, 16, 16}));
    CHECK(out.reconstruction.shape() == Shape{2, 3, 16, 16});
    CHECK(static_cast<int64_t>(out.quantized.ids.size()) == 2 * c.tokens());
    tok.eval();
    const auto ids = tok.encode(rand({2, 3, 16, 16}));
    REQUIRE(static_cast<int64_t>(ids.size()) == 2 * c.tokens());
    const Tensor back = tok.decode(ids, 2);
    CHECK(back.shape() == Shape{2, 3, 16, 16});
    for (float v : back.to_vector()) CHECK((v >= 0.f && v <= 1.f));
  }
  // 64×64 images to an 8×8 grid at a downsampling factor of 8.
  vq::ImageTokenizerConfig big{.image_size = 64, .downsample = 8, .width = 4, .max_width = 8, .codes = 8, .code_dim = 2};
  CHECK(big.tokens() == 64);
  CHECK(big.levels() == 3);
}

TEST_CASE("ImageTokenizer: the seed alone fixes the weights and the codebook", "[vq]") {
  manual_seed(1);
  vq::ImageTokenizer a(tiny_config());
  manual_seed(2);
  vq::ImageTokenizer b(tiny_config());
  CHECK(a.encoder.conv_in.weight.to_vector() == b.encoder.conv_in.weight.to_vector());
  CHECK(a.decoder.conv_out.weight.to_vector() == b.decoder.conv_out.weight.to_vector());
  CHECK(a.quantizer.codebook.to_vector() == b.quantizer.codebook.to_vector());
  auto other = tiny_config();
  other.seed = 4;
  CHECK(vq::ImageTokenizer(other).encoder.conv_in.weight.to_vector() != a.encoder.conv_in.weight.to_vector());
}

TEST_CASE("ImageTokenizer: gradients reach the encoder through the codes", "[vq]") {
  vq::ImageTokenizer tok(tiny_config());
  const Tensor x = flat_colours() * 2.f - 1.f;
  const auto out = tok(x);
  (mse_loss(out.reconstruction, x) + out.quantized.commitment_loss).backward();
  for (const auto& [name, p] : tok.named_parameters()) {
    INFO(name);
    REQUIRE(p.grad().defined());
    double norm = 0;
    for (float g : p.grad().to_vector()) norm += double(g) * g;
    if (name.find("weight") != std::string::npos) CHECK(norm > 0);
  }
}

TEST_CASE("ImageTokenizer: a few Adam steps learn four flat colours", "[vq]") {
  // A fast-moving codebook: 150 steps are what a test can afford.
  vq::ImageTokenizer tok(tiny_config(), {.decay = 0.8f});
  const Tensor x = flat_colours() * 2.f - 1.f;
  optim::Adam opt(tok.parameters(), {.lr = 3e-3f});
  float first = 0, last = 0;
  for (int step = 0; step < 300; ++step) {
    const auto out = tok(x);
    Tensor rec = mse_loss(out.reconstruction, x);
    if (step == 0) first = rec.item();
    last = rec.item();
    opt.zero_grad();
    (rec + out.quantized.commitment_loss).backward();
    opt.step();
  }
  INFO("reconstruction error " << first << " -> " << last);
  CHECK(last < 0.2f * first);   // about 0.1 of it after 300 steps
  // Encoded and decoded, the colours come back.
  tok.eval();
  const Tensor back = tok.decode(tok.encode(flat_colours()), 4);
  const auto want = flat_colours().to_vector(), got = back.to_vector();
  double error = 0;
  for (size_t i = 0; i < want.size(); ++i) error += std::fabs(double(got[i]) - want[i]) / double(want.size());
  CHECK(error < 0.1);
}

TEST_CASE("ImageTokenizer: save and load give the same tokens and images", "[vq]") {
  fresco::test::TempDir dir;
  vq::ImageTokenizer tok(tiny_config(), {.commitment = 0.5f, .decay = 0.9f});
  tok(flat_colours() * 2.f - 1.f);   // one training-mode pass moves the codebook
  tok.eval();
  tok.save(dir.file("tok.safetensors"));
  const auto loaded = vq::ImageTokenizer::load(dir.file("tok.safetensors"));
  CHECK(loaded->config().codes == 16);
  CHECK(loaded->quantizer.options().commitment == 0.5f);   // the training options come back too
  CHECK(loaded->quantizer.options().decay == 0.9f);
  CHECK_FALSE(loaded->is_training());
  const Tensor images = rand({2, 3, 8, 8});
  const auto ids = tok.encode(images);
  CHECK(loaded->encode(images) == ids);
  CHECK(loaded->decode(ids, 2).to_vector() == tok.decode(ids, 2).to_vector());
  CHECK(loaded->quantizer.cluster_size.to_vector() == tok.quantizer.cluster_size.to_vector());
  // A file written before grid_blocks and the cosine search existed reads as it was built.
  auto old_meta = tok.config().to_metadata();
  old_meta.erase("vq.grid_blocks");
  for (const auto& key : {"commitment", "decay", "epsilon", "dead_threshold"})
    old_meta[std::string("vq.quantizer.") + key] = io::load_safetensors_metadata(dir.file("tok.safetensors")).at(
        std::string("vq.quantizer.") + key);
  old_meta["format"] = "fresco-image-tokenizer";
  io::save_safetensors(io::module_state(tok), dir.file("old.safetensors"), old_meta);
  const auto old = vq::ImageTokenizer::load(dir.file("old.safetensors"));
  CHECK(old->config().grid_blocks == 1);   // res_blocks of tiny_config()
  CHECK_FALSE(old->quantizer.options().normalize);
  CHECK(old->encode(images) == ids);
  // A file of another kind is refused with its name.
  io::save_safetensors({{"x", zeros({1})}}, dir.file("other.safetensors"), {{"format", "something-else"}});
  CHECK_THROWS_AS(vq::ImageTokenizer::load(dir.file("other.safetensors")), IoError);
  CHECK_THROWS_WITH(vq::ImageTokenizer::load(dir.file("other.safetensors")), Catch::Contains("other.safetensors"));
}

TEST_CASE("ImageTokenizer: errors name what was expected", "[vq]") {
  vq::ImageTokenizer tok(tiny_config());
  CHECK_THROWS_WITH(tok.encode(zeros({1, 1, 8, 8})), Catch::Contains("expected images [B, 3, 8, 8], got [1, 1, 8, 8]"));
  CHECK_THROWS_WITH(tok.decode({0, 1, 2}, 1), Catch::Contains("expected 4 ids (1 images of 4 tokens), got 3"));
  CHECK_THROWS_WITH(tok.decode({0, 1, 2, 99}, 1), Catch::Contains("id 99 at position 3 is not in [0, 16)"));
  auto bad = tiny_config();
  bad.downsample = 3;
  CHECK_THROWS_WITH(vq::ImageTokenizer(bad), Catch::Contains("downsample must be 2, 4, 8 or 16"));
  bad = tiny_config();
  bad.downsample = 8;   // 8×8 images would leave a 1×1 grid
  CHECK_THROWS_WITH(vq::ImageTokenizer(bad), Catch::Contains("grid of at least 2x2"));
  bad = tiny_config();
  bad.channels = 2;
  CHECK_THROWS_WITH(vq::ImageTokenizer(bad), Catch::Contains("channels must be 1 or 3, got 2"));
}

TEST_CASE("ImageTokenizer: grid_blocks sets the residual blocks at the token grid", "[vq]") {
  auto c = tiny_config();
  c.image_size = 16, c.res_blocks = 0, c.grid_blocks = 2;   // 16x16 -> 4x4: levels 0, 1, 2
  vq::ImageTokenizer tok(c);
  CHECK(tok.encoder.blocks.size() == 2);
  CHECK(tok.decoder.blocks.size() == 2);
  CHECK(tok.encoder.blocks[0].conv1.weight.size(0) == c.level_width(2));
  CHECK(tok(zeros({1, 3, 16, 16})).reconstruction.shape() == Shape{1, 3, 16, 16});
  c.res_blocks = 1;   // one more block at each of the two finer levels, in each half
  CHECK(vq::ImageTokenizer(c).encoder.blocks.size() == 4);
  CHECK(vq::ImageTokenizerConfig::from_metadata(c.to_metadata()).grid_blocks == 2);
  c.grid_blocks = -1;
  CHECK_THROWS_WITH(vq::ImageTokenizer(c), Catch::Contains("grid_blocks >= 0"));
}

TEST_CASE("ImageTokenizer: encode and decode from four threads at once match the sequential results", "[vq]") {
  vq::ImageTokenizer tok(tiny_config(), {.normalize = true});
  tok(flat_colours() * 2.f - 1.f);   // a training pass moves the codebook off its start
  tok.eval();
  manual_seed(11);
  std::vector<Tensor> images;
  for (int i = 0; i < 3; ++i) images.push_back(rand({2, 3, 8, 8}));
  std::vector<std::vector<int64_t>> want_ids;
  std::vector<std::vector<float>> want_images;
  for (const auto& x : images) {
    want_ids.push_back(tok.encode(x));
    want_images.push_back(tok.decode(want_ids.back(), 2).to_vector());
  }
  const auto codebook = tok.quantizer.codebook.to_vector();
  std::vector<int> mismatches(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int round = 0; round < 3; ++round)
        for (size_t i = 0; i < images.size(); ++i) {
          const auto ids = tok.encode(images[i]);
          mismatches[t] += ids != want_ids[i];
          mismatches[t] += tok.decode(ids, 2).to_vector() != want_images[i];
        }
    });
  for (auto& th : threads) th.join();
  CHECK(mismatches == std::vector<int>(4, 0));
  CHECK(tok.quantizer.codebook.to_vector() == codebook);   // nothing moved
}
