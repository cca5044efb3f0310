// SPDX-License-Identifier: Apache-2.0
// train_text2video: trains a text-to-video model on moving Shapes within a time
// budget, the token transformer's way (VideoGPT): a BPE tokenizer on the
// captions, an image tokenizer on single frames, every clip encoded frame by
// frame, then one transformer over [caption tokens, frame 0's codes, frame 1's
// codes, ...]. Writes sample sheets and GIFs during training, checkpoints that
// resume, and OUT/model.safetensors (vq::TextToVideo).
//
//   train_text2video --dataset moving-shapes --minutes 30 --out runs/video
//   generate --model runs/video/model.safetensors --video --prompt "a big red circle moves from left to right"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <chrono>
#include <filesystem>
#include <fresco/data/moving_shapes.hpp>
#include <fresco/fresco.hpp>
#include <fresco/text/tokenizer.hpp>
#include <fresco/vq/image_gpt.hpp>
#include <fresco/vq/image_gpt_trainer.hpp>
#include <fresco/vq/text_to_video.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/cli.hpp"
#include "common/memory.hpp"
#include "common/run_dir.hpp"
#include "common/token_stages.hpp"

namespace {

namespace cli = fresco::cli;

struct Args {
  std::string dataset, out = "run-video";
  double minutes = 30;  // 0: no clock, every phase runs its step count (reproducible)
  uint64_t seed = 0;
  int64_t clips = 10000, frames = 8, image_size = 32;
  // Frames the image tokenizer learns from (taken from the first clips, every frame).
  int64_t tokenizer_frames = 20000;
  float two_objects = 0.f;
  std::optional<int64_t> steps;
  // A quarter of the budget for the image tokenizer: single frames are Shapes scenes, which it learns quickly.
  // Clips of 8 to the transformer's step: motion is learned from the number of steps, and 8 clips a step
  // take about twice the steps of 16 in the same time (docs/text-to-video.md, "Motion: what was tried").
  cli::TransformerArgs transformer = [] {
    cli::TransformerArgs t{.vq_share = 0.25};
    t.train.batch_size = 8;   // the other training options as the image family's
    t.code_init = 0.f;        // the codebook start makes held-out motions worse (docs/text-to-video.md)
    return t;
  }();
  int64_t sample_every = 250, checkpoint_every = 500, samples_per_prompt = 3;
  std::vector<std::string> sample_prompts = {
      "a large red circle moves from left to right",
      "a large blue square bounces up and down",
      "a large yellow triangle moves slowly up",
      "a large green diamond moves towards the bottom left",
      "a large orange circle moves down",
      "a large red square moves towards the top right",
  };
};

fresco::ProgressCallback progress(const Args& a) {
  return cli::with_memory(fresco::progress_bar(), a.out + "/memory.jsonl");
}

double phase_minutes(const Args& a, double minutes) { return cli::phase_minutes(a.minutes, minutes); }

fresco::data::MovingShapes clips_of(const Args& a) {
  return fresco::data::MovingShapes({.image_size = a.image_size,
                                     .frames = a.frames,
                                     .size = a.clips,
                                     .seed = a.seed,
                                     .split = "train",
                                     .two_object_fraction = a.two_objects});
}

// The frames of clips [first, first + n) as images [n · T, 3, S, S] in [-1, 1].
fresco::Tensor frames_of(const fresco::data::MovingShapes& clips, int64_t first, int64_t n) {
  const int64_t t = clips.frames(), s = clips.image_size(), per_clip = t * 3 * s * s;
  std::vector<float> pixels(static_cast<size_t>(n * per_clip));
  for (int64_t i = 0; i < n; ++i) {
    const auto sample = clips.sample(first + i);
    for (int64_t k = 0; k < per_clip; ++k)
      pixels[static_cast<size_t>(i * per_clip + k)] = sample.pixels[static_cast<size_t>(k)] * 2.f - 1.f;
  }
  return fresco::tensor(std::move(pixels), {n * t, 3, s, s});
}

void check_steps(const Args& a) {
  if (a.minutes > 0) return;
  std::vector<std::string> missing;
  if (!a.steps) missing.push_back("--steps");
  if (a.transformer.image_tokenizer.empty() && !a.transformer.vq_steps) missing.push_back("--vq-steps");
  if (!missing.empty())
    throw CLI::ValidationError("--minutes 0", fmt::format("a run without a time budget needs the step count of each "
                                                          "phase; give {}",
                                                          fmt::join(missing, " and ")));
}

int train(const Args& a) {
  const cli::Stopwatch clock;
  check_steps(a);
  if (const int removed = cli::prepare_run_directory(a.out); removed > 0)
    fmt::print(stderr, "      removed {} temporary file(s) an interrupted run left in {}\n", removed, a.out);
  const auto clips = clips_of(a);
  fmt::print(stderr, "[1/4] {} moving-Shapes clips of {} frames at {}x{}, e.g. \"{}\"; BPE tokenizer on the captions\n",
             a.clips, a.frames, a.image_size, a.image_size, clips.caption(0));
  std::vector<std::string> captions;
  captions.reserve(static_cast<size_t>(a.clips));
  for (int64_t i = 0; i < a.clips; ++i) captions.push_back(clips.caption(i));
  const auto bpe = fresco::text::BpeTokenizer::train(captions, 512);

  // The frames the image tokenizer trains on, drawn only when one will be trained.
  const bool trained_before =
      !a.transformer.image_tokenizer.empty() || std::filesystem::exists(a.out + "/image_tokenizer.safetensors");
  const int64_t tokenizer_clips = std::min(a.clips, std::max<int64_t>(1, a.tokenizer_frames / a.frames));
  auto vq = cli::image_tokenizer_stage(a.transformer,
                                       trained_before ? fresco::Tensor() : frames_of(clips, 0, tokenizer_clips),
                                       {.out = a.out,
                                        .seed = a.seed,
                                        .minutes = phase_minutes(a, a.minutes * a.transformer.vq_share),
                                        .checkpoint_every = a.checkpoint_every,
                                        .sample_every = a.sample_every,
                                        .progress = progress(a)});
  vq->eval();
  fmt::print(stderr, "[3/4] encoding {} clips ({} frames) ...\n", a.clips, a.clips * a.frames);
  std::vector<int64_t> codes;
  for (int64_t first = 0; first < a.clips; first += 128) {
    const auto c = cli::encode_all(*vq, frames_of(clips, first, std::min<int64_t>(128, a.clips - first)));
    codes.insert(codes.end(), c.begin(), c.end());
  }

  const auto gpt = cli::transformer_stage(a.transformer, bpe, *vq, captions, std::move(codes),
                                         {.out = a.out, .seed = a.seed,
                                          .minutes = phase_minutes(a, a.minutes - clock.minutes()),
                                          .steps = a.steps.value_or(cli::kUnboundedSteps), .frames = a.frames,
                                          .sample_every = a.sample_every, .checkpoint_every = a.checkpoint_every,
                                          .sample_prompts = a.sample_prompts,
                                          .samples_per_prompt = a.samples_per_prompt, .progress = progress(a)});
  fmt::print(stderr, "[4/4] writing {}/model.safetensors\n", a.out);
  fresco::vq::save_text_to_video(a.out + "/model.safetensors", bpe, *gpt, *vq, a.transformer.train.sampling);
  fmt::print("model: {}/model.safetensors\nsamples: {}/samples/final.png and final.gif\ntotal: {:.1f} min\n", a.out,
             a.out, clock.minutes());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "Trains a text-to-video model on moving Shapes within a time budget: a BPE tokenizer on the captions,\n"
      "an image tokenizer on single frames, then a transformer that writes each clip's frames as image\n"
      "tokens, one frame after another; writes sample sheets and GIFs and OUT/model.safetensors.",
      "train_text2video"};
  app.footer(
      "The budget is split: --vq-share for the image tokenizer (unless --image-tokenizer gives one or\n"
      "OUT/image_tokenizer.safetensors exists), the rest for the clip transformer after every clip is\n"
      "encoded. Re-running the command resumes from OUT/. --minutes 0 runs each phase for its step\n"
      "count (--vq-steps and --steps), reproducibly. Sample sheets (a clip a row, its frames across) and\n"
      "GIFs go to OUT/samples/; the resident memory to the progress lines and OUT/memory.jsonl.\n"
      "\n"
      "Examples:\n"
      "  train_text2video --dataset moving-shapes --minutes 30 --out runs/video\n"
      "  train_text2video --dataset moving-shapes --minutes 0 --vq-steps 200 --steps 300 --clips 2000 --out /tmp/v");
  Args a;
  app.add_option("--dataset", a.dataset, "the captioned clips to learn")
      ->required()
      ->check(CLI::IsMember({"moving-shapes"}));
  cli::add_number(app, "--minutes", a.minutes,
                  "time budget of the whole run (0: none; every phase runs its step count, reproducibly)")
      ->check(cli::non_negative());
  app.add_option("--out", a.out, "the run's directory (samples, checkpoints, the model)");
  cli::add_number(app, "--seed", a.seed, "seed of the clips, the initialisation and the training");
  cli::add_number(app, "--clips", a.clips, "training clips")->check(cli::at_least(2));
  cli::add_number(app, "--frames", a.frames, "frames per clip")->check(cli::closed(3, 16));
  cli::add_number(app, "--image-size", a.image_size, "frame side in pixels")->check(CLI::IsMember({16, 32, 64}));
  cli::add_number(app, "--two-objects", a.two_objects, "share of clips with two moving objects")
      ->check(cli::closed(0, 1));
  cli::add_number(app, "--tokenizer-frames", a.tokenizer_frames,
                  "frames (every frame of the first clips) the image tokenizer trains on")
      ->check(cli::positive());
  cli::add_number(app, "--steps", a.steps, "clip transformer steps, at most (the time budget may end training first)")
      ->check(cli::positive());
  cli::add_transformer_options(app, a.transformer);
  app.add_option("--keyframes", a.transformer.gpt.keyframes,
                 "true: the transformer writes each clip's frames coarse to fine (first and last, then the middle of "
                 "each gap: 0 7 3 1 5 2 4 6 for 8 frames), so the motion is decided between frames far apart; not "
                 "with --relative-bias")
      ->capture_default_str();
  cli::add_number(app, "--change-weight", a.transformer.train.change_weight,
                  "extra weight of the loss on the codes that differ from the frame before at the same place (what "
                  "moves), beside the plain mean over every code (0: none)")
      ->check(cli::non_negative());
  app.option_defaults()->group("Output");
  cli::add_number(app, "--sample-every", a.sample_every, "sample sheet and GIF every this many steps (0: at the end)")
      ->check(cli::non_negative());
  cli::add_number(app, "--checkpoint-every", a.checkpoint_every,
                  "checkpoint every this many steps of each phase (0: at the end only)")
      ->check(cli::non_negative());
  cli::add_number(app, "--samples-per-prompt", a.samples_per_prompt, "clips per sample prompt")->check(cli::positive());
  app.add_option("--sample-prompt", a.sample_prompts,
                 "a caption of the sample sheets (repeat it; replaces the defaults)");
  return cli::run(app, argc, argv, [&] { return train(a); });
}
