// SPDX-License-Identifier: Apache-2.0
// W5: the transformer family at the shapes `train_text2image --family transformer`
// builds for Shapes 32×32 (the image tokenizer's default config: 512 codes on an
// 8×8 grid; token transformer d_model 128, 4 heads, 4 blocks, 24 caption + 64
// image tokens). Randomly initialised weights: timing only.
//   - generation with the default sampling (classifier-free guidance 2, so two
//     rows per image, top-p 0.8, the key/value cache, then the decoder): 64 images,
//     and one image;
//   - the reranker's part of a draw (train_text2image's default reranker, an image-text
//     encoder at 32×32 with 33 caption tokens): decoding 64 drawn images and scoring them
//     against their captions, beside the draw itself above;
//   - the training step (batch 32: forward, both losses, backward, AdamW) in tokens/s,
//     beside the W2 GPT step (batch 64 × 32 tokens) timed in the same run.
//   usage: bench_w5_token_t2i [--steps N] [--threads T]
#include <numeric>
#include <string>

#include <fresco/eval/retrieval.hpp>
#include <fresco/fresco.hpp>
#include <fresco/optim/adam.hpp>
#include <fresco/text/gpt.hpp>
#include <fresco/vq/image_gpt.hpp>
#include <fresco/vq/text_to_image.hpp>

#include "bench_common.hpp"
#include "token_bench.hpp"

using namespace fresco;


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

  const auto empty = bench::caption_row(0, 0);
  for (int64_t B : {64, 1}) {
    const std::vector<int64_t> captions = bench::caption_rows(B, 8);
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
    const int64_t B = 64;
    const auto codes = model.sample(bench::caption_rows(B, 8), B, empty, vq::ImageSampleOptions{}, 7);
    std::vector<std::string> captions;
    for (int64_t i = 0; i < B; ++i) captions.push_back(fmt::format("a big red circle at the top left number {}", i));
    eval::ImageTextEncoderConfig rc;
    rc.image.image_size = 32;
    rc.gpt.context = 33;
    eval::ImageTextEncoder reranker(rc, text::BpeTokenizer::train(captions, 300));
    reranker.eval();
    Tensor sims;
    auto step = [&] {
      NoGradGuard no_grad;
      sims = reranker.similarity(decoder.decode(codes, B) * 2.f - 1.f, captions);
    };
    const auto ms = bench::time_steps(step, args.steps, 2);
    FRESCO_CHECK(sims.shape() == Shape({B}), "W5: unexpected similarity shape {}", shape_str(sims.shape()));
    bench::report("W5 reranker: decode and score 64 images", ms, static_cast<double>(B), "images");
  }

  bench::time_training_step(*gpt, "W5 transformer training step batch 32", args.steps, 8);
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
