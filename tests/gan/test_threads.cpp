// SPDX-License-Identifier: Apache-2.0
// One loaded model serving several user threads at once gives the bits that
// sequential calls give: TextToImage::generate, Gpt::sentence_embedding and
// BpeTokenizer::encode (see the thread rule in docs/architecture.md).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <thread>
#include <vector>

#include <fresco/autograd/autograd.hpp>
#include <fresco/gan/text_to_image.hpp>
#include <fresco/ops/conv.hpp>
#include <fresco/ops/nn.hpp>

#include "support/check.hpp"
#include "tiny.hpp"

using namespace fresco;

namespace {

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

struct Outputs {
  std::vector<int64_t> ids;
  std::vector<float> embedding, image;
};

// One call of each kind for request i: the caption, its tokens, its sentence vector and two images.
Outputs serve(const gan::TextToImage& model, int64_t i) {
  const auto& captions = testing::tiny_captions();
  const std::string& caption = captions[static_cast<size_t>(i) % captions.size()];
  Outputs o;
  o.ids = model.tokenizer().encode(caption, /*add_bos=*/true, /*add_eos=*/true);
  o.embedding = model.gpt().sentence_embedding(o.ids, 1, static_cast<int64_t>(o.ids.size())).to_vector();
  o.image = model.generate({caption, captions[static_cast<size_t>(i + 3) % captions.size()]}, 100 + i).to_vector();
  return o;
}

/// How many of `calls` calls of `f(i)`, made by each of 4 threads at once (each starting at a
/// different i), differ in any bit from the sequential `f(i)`.
int64_t concurrent_mismatches(int64_t calls, const std::function<Tensor(int64_t)>& f) {
  NoGradGuard no_grad;
  std::vector<std::vector<float>> expected;
  for (int64_t i = 0; i < calls; ++i) expected.push_back(f(i).to_vector());
  std::vector<int64_t> mismatches(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      NoGradGuard thread_no_grad;   // grad mode is per thread
      for (int64_t k = 0; k < calls; ++k) {
        const int64_t i = (k + t * calls / 4) % calls;
        mismatches[static_cast<size_t>(t)] += !same_bits(f(i).to_vector(), expected[static_cast<size_t>(i)]);
      }
    });
  for (auto& th : threads) th.join();
  return mismatches[0] + mismatches[1] + mismatches[2] + mismatches[3];
}

}  // namespace

TEST_CASE("ops with cached oneDNN primitives give the bits of sequential calls on four threads at once",
          "[gan][threads]") {
  // oneDNN 2.6's brgemm convolution shared by threads gave wrong upsampling convolutions in
  // most runs of this test: the convolution primitives are now cached per thread.
  const int64_t calls = std::getenv("FRESCO_TEST_QUICK") ? 12 : 50;
  manual_seed(7);
  std::vector<Tensor> small, wide, rows;
  for (int64_t i = 0; i < calls; ++i) {
    small.push_back(randn({2, 8, 4, 4}));
    wide.push_back(randn({2, 16, 8, 8}));
    rows.push_back(randn({64, 256}));
  }
  const Tensor w8 = randn({4, 8, 3, 3}), w16 = randn({16, 16, 3, 3}), b16 = randn({16});
  const Tensor lw = randn({256, 256}), lb = randn({256});
  CHECK(concurrent_mismatches(calls, [&](int64_t i) { return upsample2_conv3x3(small[i], w8, Tensor()); }) == 0);
  CHECK(concurrent_mismatches(calls, [&](int64_t i) { return upsample2_conv3x3(wide[i], w16, b16); }) == 0);
  CHECK(concurrent_mismatches(calls, [&](int64_t i) { return conv2d(wide[i], w16, b16, {1, 1}, {1, 1}); }) == 0);
  CHECK(concurrent_mismatches(calls, [&](int64_t i) { return linear(rows[i], lw, lb); }) == 0);
}

TEST_CASE("TextToImage: four threads sharing one model get the bits of sequential calls", "[gan][threads]") {
  text::Gpt gpt(testing::tiny_gpt_config());
  gan::Generator g(testing::tiny_generator_config());
  g(randn({4, 4}), randn({4, 8}), randn({4, 3, 8}), zeros({4, 3}));   // BatchNorm statistics that are not defaults
  const gan::TextToImage model = gan::TextToImage::from_parts(testing::tiny_tokenizer(), gpt, g);

  const int64_t calls = std::getenv("FRESCO_TEST_QUICK") ? 12 : 50;
  constexpr int kThreads = 4;
  std::vector<Outputs> expected;
  for (int64_t i = 0; i < calls; ++i) expected.push_back(serve(model, i));
  // Different requests give different images, so a mix-up between threads would show.
  REQUIRE(!same_bits(expected[0].image, expected[1].image));

  // Each thread makes every call, starting at a different one, so that the threads run
  // different requests at the same moment.
  std::vector<std::vector<Outputs>> got(kThreads, std::vector<Outputs>(static_cast<size_t>(calls)));
  std::vector<std::string> errors(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      try {
        for (int64_t k = 0; k < calls; ++k) {
          const int64_t i = (k + t * calls / kThreads) % calls;
          got[static_cast<size_t>(t)][static_cast<size_t>(i)] = serve(model, i);
        }
      } catch (const std::exception& e) {
        errors[static_cast<size_t>(t)] = e.what();
      }
    });
  for (auto& th : threads) th.join();

  int64_t ids = 0, embeddings = 0, images = 0;
  double largest = 0;
  for (int t = 0; t < kThreads; ++t) {
    INFO("thread " << t);
    CHECK(errors[static_cast<size_t>(t)].empty());
    for (int64_t i = 0; i < calls; ++i) {
      const Outputs& a = got[static_cast<size_t>(t)][static_cast<size_t>(i)];
      const Outputs& e = expected[static_cast<size_t>(i)];
      ids += a.ids != e.ids;
      embeddings += !same_bits(a.embedding, e.embedding);
      images += !same_bits(a.image, e.image);
      largest = std::max({largest, testing::max_abs_diff(a.embedding, e.embedding),
                          testing::max_abs_diff(a.image, e.image)});
    }
  }
  INFO("calls whose outputs differ from sequential ones: " << ids << " token lists, " << embeddings
                                                            << " sentence vectors, " << images
                                                            << " images; largest difference " << largest);
  CHECK(ids + embeddings + images == 0);
  // generate left the model as it found it.
  CHECK_FALSE(model.generator().is_training());
}

TEST_CASE("generate_images on a generator in training mode switches it to eval and back", "[gan][threads]") {
  text::Gpt gpt(testing::tiny_gpt_config());
  gan::Generator g(testing::tiny_generator_config());
  g(randn({4, 4}), randn({4, 8}), randn({4, 3, 8}), zeros({4, 3}));
  const auto tok = testing::tiny_tokenizer();
  gpt.eval();
  REQUIRE(g.is_training());
  const std::vector<float> in_training = gan::generate_images(g, gpt, tok, {"a red dot"}, 5).to_vector();
  CHECK(g.is_training());   // restored
  g.eval();
  const std::vector<float> in_eval = gan::generate_images(g, gpt, tok, {"a red dot"}, 5).to_vector();
  // Both ran in eval mode (BatchNorm on running statistics): the same bits.
  CHECK(same_bits(in_training, in_eval));
}
