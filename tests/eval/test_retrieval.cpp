// SPDX-License-Identifier: Apache-2.0
// eval::ImageTextEncoder and caption_retrieval_precision: a short training on
// Shapes captions that must retrieve far above chance, the precision against
// a direct computation from the embeddings, bit-exact save/load, and errors.
#include "support/check.hpp"

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <unistd.h>

#include <fresco/eval/retrieval.hpp>
#include <fresco/ops/matmul.hpp>

using fresco::Tensor;
using fresco::eval::ImageTextEncoder;

namespace {

bool quick() {
  const char* q = std::getenv("FRESCO_TEST_QUICK");
  return q != nullptr && std::string(q) == "1";
}

std::string temp_file(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("fresco-retrieval-" + std::to_string(::getpid()) + "-" + name))
      .string();
}

// Single-object Shapes scenes at 16x16 with their captions.
class Scenes : public fresco::data::Dataset {
public:
  Scenes(int64_t n, const std::string& split)
      : shapes_({.image_size = 16, .size = n, .seed = 5, .split = split, .two_object_fraction = 0.f}) {}
  int64_t size() const override { return shapes_.size(); }
  fresco::data::Example get(int64_t i) const override {
    fresco::data::ShapesSample s = shapes_.sample(i);
    return {fresco::tensor(std::move(s.pixels), {3, 16, 16}), s.caption, {}};
  }

private:
  fresco::data::Shapes shapes_;
};

fresco::eval::ImageTextEncoderConfig tiny() {
  return {.image = {.channels = 3, .image_size = 16, .heads = {}, .width = 8, .feature_dim = 32},
          .gpt = {.vocab_size = 300, .context = 24, .d_model = 32, .heads = 2, .layers = 1},
          .embed_dim = 16,
          .temperature = 0.1f};
}

std::vector<std::string> captions_of(const fresco::data::Dataset& d) {
  std::vector<std::string> out;
  for (int64_t i = 0; i < d.size(); ++i) out.push_back(d.get(i).caption);
  return out;
}

// Images of `d` in [-1, 1], [N, 3, 16, 16].
Tensor images_of(const fresco::data::Dataset& d) {
  std::vector<float> v;
  for (int64_t i = 0; i < d.size(); ++i) {
    const auto x = d.get(i).image.to_vector();
    for (float p : x) v.push_back(2 * p - 1);
  }
  return fresco::tensor(v, {d.size(), 3, 16, 16});
}

}  // namespace

TEST_CASE("ImageTextEncoder learns Shapes captions and retrieves far above chance", "[retrieval]") {
  auto train = std::make_shared<Scenes>(quick() ? 512 : 1024, "train");
  const Scenes test(128, "test");
  auto enc = ImageTextEncoder::create(captions_of(*train), tiny(), 300);
  CHECK(enc->config().gpt.vocab_size == enc->tokenizer().vocab_size());
  CHECK(enc->config().image.heads == std::vector<int64_t>{16});
  const auto report = fresco::eval::train_image_text_encoder(
      *enc, train, {.steps = quick() ? 150 : 300, .batch_size = 32, .lr = 3e-3f, .warmup_steps = 20});
  // Chance is ln(32) = 3.47.
  CHECK(report.first_loss > 3.0f);
  CHECK(report.last_loss < 0.6f * report.first_loss);

  const Tensor images = images_of(test);
  const auto captions = captions_of(test);
  const double p = fresco::eval::caption_retrieval_precision(*enc, images, captions, captions_of(*train),
                                                             {.candidates = 10, .seed = 3});
  INFO("R-precision among 10: " << p);
  CHECK(p > 0.4);   // chance: 0.1

  // An untrained encoder stays near chance.
  auto fresh = ImageTextEncoder::create(captions_of(*train), tiny(), 300);
  fresh->eval();
  CHECK(fresco::eval::caption_retrieval_precision(*fresh, images, captions, captions_of(*train),
                                                  {.candidates = 10, .seed = 3}) < 0.35);
}

TEST_CASE("caption_retrieval_precision against the embeddings, and save/load", "[retrieval]") {
  const Scenes scenes(40, "test");
  auto enc = ImageTextEncoder::create(captions_of(scenes), tiny(), 300);
  enc->eval();
  const Tensor images = images_of(scenes);
  const auto captions = captions_of(scenes);
  // Two candidates, a pool of exactly one other caption: image i is right when
  // its own caption is strictly more similar than that one.
  const std::string other = "a large purple diamond at the bottom right";
  int64_t expected = 0;
  const auto sim_own = fresco::matmul(enc->embed_images(images), enc->embed_captions(captions).transpose(0, 1)).to_vector();
  const auto sim_other = fresco::matmul(enc->embed_images(images), enc->embed_captions({other}).transpose(0, 1)).to_vector();
  for (int64_t i = 0; i < scenes.size(); ++i)
    expected += sim_own[static_cast<size_t>(i * scenes.size() + i)] > sim_other[static_cast<size_t>(i)];
  const double p = fresco::eval::caption_retrieval_precision(*enc, images, captions, {other, other}, {.candidates = 2});
  CHECK(p == static_cast<double>(expected) / static_cast<double>(scenes.size()));
  // similarity(): each image against its own caption, the diagonal of the same products.
  const auto own = enc->similarity(images, captions).to_vector();
  REQUIRE(own.size() == static_cast<size_t>(scenes.size()));
  for (int64_t i = 0; i < scenes.size(); ++i)
    CHECK(own[static_cast<size_t>(i)] == Approx(sim_own[static_cast<size_t>(i * scenes.size() + i)]).margin(1e-6));
  CHECK_THROWS_WITH(enc->similarity(images.slice(0, 0, 3), captions), Catch::Contains("and 40 captions"));

  // Round trip: the same embeddings, bit for bit.
  const std::string path = temp_file("enc.safetensors");
  enc->save(path);
  auto back = ImageTextEncoder::load(path);
  CHECK(back->embed_images(images).to_vector() == enc->embed_images(images).to_vector());
  CHECK(back->embed_captions(captions).to_vector() == enc->embed_captions(captions).to_vector());
  CHECK(back->tokenizer().to_json() == enc->tokenizer().to_json());

  // Errors name what was expected.
  CHECK_THROWS_WITH(fresco::eval::caption_retrieval_precision(*enc, images, captions, {other}, {.candidates = 10}),
                    Catch::Contains("9 are needed"));
  CHECK_THROWS_WITH(fresco::eval::caption_retrieval_precision(*enc, images.slice(0, 0, 3), captions, {other}),
                    Catch::Contains("for N = 40 captions"));
  CHECK_THROWS_WITH(enc->loss(images.slice(0, 0, 1), {captions[0]}), Catch::Contains("N >= 2 images"));
  fresco::eval::Classifier clf({.channels = 3, .image_size = 16, .heads = {4}});
  clf.save(path);
  CHECK_THROWS_AS(ImageTextEncoder::load(path), fresco::IoError);
  std::filesystem::remove(path);
}
