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
#include "token_bench.hpp"

using namespace fresco;


int main(int argc, char** argv) {
  const bench::RunArgs args = bench::parse_run_args(argc, argv, 5);
  set_num_threads(args.threads);
  const vq::ImageGptConfig config{.caption_length = 24, .frames = 8, .d_model = 128, .heads = 4, .layers = 4};
  auto gpt = std::make_unique<vq::ImageGpt>(config);
  auto tok = std::make_unique<vq::ImageTokenizer>(vq::ImageTokenizerConfig{});
  fmt::print("== W6 text-to-video transformer: fresco {}, threads {}, {} + {} parameters, {} tokens a clip\n",
             FRESCO_VERSION_STRING, num_threads(), gpt->num_parameters(), tok->num_parameters(), config.context());
  const auto empty = bench::caption_row(0, 0);
  for (int64_t B : {1, 16}) {
    const std::vector<int64_t> captions = bench::caption_rows(B, 10);
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
  bench::time_training_step(*gpt, "W6 clip transformer training step batch 32", args.steps, 10);
}
