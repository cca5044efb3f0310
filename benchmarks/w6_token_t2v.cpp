// SPDX-License-Identifier: Apache-2.0
// W6: the text-to-video transformer at the shapes `train_text2video` builds for
// moving Shapes (8 frames of 32×32, the image tokenizer's default 512 codes on an
// 8×8 grid per frame; clip transformer d_model 128, 4 heads, 4 blocks, 24 caption
// + 8 × 64 image tokens). Randomly initialised weights: timing only.
//   - generation with the default sampling (classifier-free guidance 2, top-p 0.8,
//     the key/value cache, then the decoder on every frame): one clip, and 16;
//   - the training step (batch 32: forward, both losses, backward, AdamW) in tokens/s.
//   usage: bench_w6_token_t2v [--steps N] [--threads T]
#include <string>

#include <fresco/fresco.hpp>
#include <fresco/optim/adam.hpp>
#include <fresco/vq/image_gpt.hpp>
#include <fresco/vq/text_to_video.hpp>

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
  const bench::RunArgs args = bench::parse_run_args(argc, argv, 5);
  set_num_threads(args.threads);
  const vq::ImageGptConfig config{.caption_length = 24, .frames = 8, .d_model = 128, .heads = 4, .layers = 4};
  auto gpt = std::make_unique<vq::ImageGpt>(config);
  auto tok = std::make_unique<vq::ImageTokenizer>(vq::ImageTokenizerConfig{});
  fmt::print("== W6 text-to-video transformer: fresco {}, threads {}, {} + {} parameters, {} tokens a clip\n",
             FRESCO_VERSION_STRING, num_threads(), gpt->num_parameters(), tok->num_parameters(), config.context());
  const auto empty = caption(0, 0);
  for (int64_t B : {1, 16}) {
    std::vector<int64_t> captions;
    for (int64_t b = 0; b < B; ++b) {
      const auto c = caption(10 + b % 6, b);
      captions.insert(captions.end(), c.begin(), c.end());
    }
    Tensor clips;
    auto step = [&] {
      const auto codes = gpt->sample(captions, B, empty, vq::ImageSampleOptions{}, 7);
      clips = vq::decode_clips(*tok, codes, B, config.frames);
    };
    const auto ms = bench::time_steps(step, args.steps, 1);
    FRESCO_CHECK(clips.shape() == Shape({B, 8, 3, 32, 32}), "W6: unexpected clip shape {}", shape_str(clips.shape()));
    bench::report(fmt::format("W6 generate {} clip(s) of 8 frames (guidance, cache)", B), ms, static_cast<double>(B),
                  "clips");
  }
  {
    const int64_t B = 32;
    gpt->train();
    optim::AdamW opt(gpt->parameters(), {.lr = 1e-3f, .beta1 = 0.9f, .beta2 = 0.95f, .weight_decay = 0.01f});
    std::vector<int64_t> captions, codes(static_cast<size_t>(B * config.image_tokens()));
    for (int64_t b = 0; b < B; ++b) {
      const auto c = caption(10 + b % 6, b);
      captions.insert(captions.end(), c.begin(), c.end());
    }
    for (size_t i = 0; i < codes.size(); ++i) codes[i] = static_cast<int64_t>((i * 37) % 512);
    auto step = [&] {
      opt.zero_grad();
      gpt->loss(captions, codes, B, 0.1f).total.backward();
      opt.step();
    };
    bench::report("W6 clip transformer training step batch 32", bench::time_steps(step, args.steps),
                  static_cast<double>(B * config.context()), "tokens");
  }
}
