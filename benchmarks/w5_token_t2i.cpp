// SPDX-License-Identifier: Apache-2.0
// W5: the transformer family at the shapes `train_text2image --family transformer`
// builds for Shapes 32×32 (the image tokenizer's default config: 512 codes on an
// 8×8 grid; token transformer d_model 128, 4 heads, 4 blocks, 24 caption + 64
// image tokens). Randomly initialised weights: timing only.
//   - generation with the default sampling (classifier-free guidance 2, so two
//     rows per image, top-p 0.8, the key/value cache, then the decoder): 64 images,
//     and one image;
//   - the training step (batch 32: forward, both losses, backward, AdamW) in tokens/s,
//     beside the W2 GPT step (batch 64 × 32 tokens) timed in the same run.
//   usage: bench_w5_token_t2i [--steps N] [--threads T]
#include <numeric>
#include <string>

#include <fresco/fresco.hpp>
#include <fresco/optim/adam.hpp>
#include <fresco/text/gpt.hpp>
#include <fresco/vq/image_gpt.hpp>
#include <fresco/vq/text_to_image.hpp>

#include "bench_common.hpp"

using namespace fresco;

namespace {

// A caption of `len` byte tokens in 24 slots.
std::vector<int64_t> caption(int64_t len, int64_t salt) {
  std::vector<int64_t> ids = {text::BpeTokenizer::kBosId};
  for (int64_t t = 0; t < len; ++t) ids.push_back(97 + (t * 7 + salt) % 26);
  ids.push_back(text::BpeTokenizer::kEosId);
  ids.resize(24, text::BpeTokenizer::kPadId);
  return ids;
}

}  // namespace

int main(int argc, char** argv) {
  const bench::RunArgs args = bench::parse_run_args(argc, argv, 10);
  set_num_threads(args.threads);
  const vq::ImageGptConfig config{.caption_length = 24, .d_model = 128, .heads = 4, .layers = 4};
  auto gpt = std::make_unique<vq::ImageGpt>(config);
  auto tok = std::make_unique<vq::ImageTokenizer>(vq::ImageTokenizerConfig{});
  fmt::print("== W5 token transformer: fresco {}, threads {}, {} + {} parameters\n", FRESCO_VERSION_STRING,
             num_threads(), gpt->num_parameters(), tok->num_parameters());
  const vq::ImageGpt& model = *gpt;
  const vq::ImageTokenizer& decoder = *tok;

  const auto empty = caption(0, 0);
  for (int64_t B : {64, 1}) {
    std::vector<int64_t> captions;
    for (int64_t b = 0; b < B; ++b) {
      const auto c = caption(8 + b % 6, b);
      captions.insert(captions.end(), c.begin(), c.end());
    }
    Tensor images;
    auto step = [&] {
      const auto codes = model.sample(captions, B, empty, vq::ImageSampleOptions{}, 7);
      images = decoder.decode(codes, B);
    };
    const auto ms = bench::time_steps(step, args.steps, 2);
    FRESCO_CHECK(images.shape() == Shape({B, 3, 32, 32}), "W5: unexpected image shape {}", shape_str(images.shape()));
    bench::report(fmt::format("W5 generate batch {} (guidance, cache)", B), ms, static_cast<double>(B), "images");
  }

  {
    const int64_t B = 32;
    gpt->train();
    optim::AdamW opt(gpt->parameters(), {.lr = 1e-3f, .beta1 = 0.9f, .beta2 = 0.95f, .weight_decay = 0.01f});
    std::vector<int64_t> captions, codes(static_cast<size_t>(B * config.image_tokens()));
    for (int64_t b = 0; b < B; ++b) {
      const auto c = caption(8 + b % 6, b);
      captions.insert(captions.end(), c.begin(), c.end());
    }
    for (size_t i = 0; i < codes.size(); ++i) codes[i] = static_cast<int64_t>((i * 37) % 512);
    auto step = [&] {
      opt.zero_grad();
      gpt->loss(captions, codes, B, 0.1f).total.backward();
      opt.step();
    };
    bench::report("W5 transformer training step batch 32", bench::time_steps(step, args.steps),
                  static_cast<double>(B * config.context()), "tokens");
  }
  {
    const text::GptConfig w2;   // the W2 shapes: batch 64 of 32 tokens
    text::Gpt g(w2);
    optim::AdamW opt(g.parameters(), {.lr = 3e-4f, .beta1 = 0.9f, .beta2 = 0.95f, .weight_decay = 0.1f});
    const int64_t B = 64;
    std::vector<int64_t> ids(static_cast<size_t>(B * w2.context));
    for (size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<int64_t>((i * 13) % 512);
    auto step = [&] {
      opt.zero_grad();
      g.loss(ids, B, w2.context).backward();
      opt.step();
    };
    bench::report("W2 GPT training step batch 64 (beside W5)", bench::time_steps(step, args.steps),
                  static_cast<double>(B * w2.context), "tokens");
  }
}
