// SPDX-License-Identifier: Apache-2.0
// Training the token transformer on captions and image codes.
// Legend: B batch, Tc caption_length, N = grid² image tokens.
#include <fresco/vq/image_gpt_trainer.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <deque>
#include <filesystem>
#include <fstream>
#include <numeric>

#include <fmt/ranges.h>

#include <fresco/autograd/autograd.hpp>
#include <fresco/error.hpp>
#include <fresco/io/checkpoint.hpp>
#include <fresco/io/gif.hpp>
#include <fresco/io/image.hpp>
#include <fresco/io/metadata.hpp>
#include <fresco/io/safetensors.hpp>
#include <fresco/nn/mode_guard.hpp>
#include <fresco/dist/data_parallel.hpp>
#include <fresco/optim/adam.hpp>
#include <fresco/optim/schedule.hpp>
#include <fresco/tensor/random.hpp>
#include <fresco/vq/text_to_image.hpp>
#include <fresco/vq/text_to_video.hpp>

namespace fresco::vq {

namespace {

constexpr const char* kCheckpointFormat = "fresco-image-gpt-checkpoint";

void check(const ImageGptTrainerOptions& o) {
  FRESCO_CHECK(o.batch_size >= 1, "ImageGptTrainer: batch_size must be positive, got {}", o.batch_size);
  FRESCO_CHECK(o.steps >= 1, "ImageGptTrainer: steps must be positive, got {}", o.steps);
  FRESCO_CHECK(o.minutes >= 0 && std::isfinite(o.minutes), "ImageGptTrainer: minutes must be >= 0, got {}", o.minutes);
  FRESCO_CHECK(o.lr > 0 && o.min_lr >= 0 && o.min_lr <= o.lr,
               "ImageGptTrainer: need 0 <= min_lr <= lr and lr > 0, got lr {} and min_lr {}", o.lr, o.min_lr);
  FRESCO_CHECK(o.warmup_steps >= 0, "ImageGptTrainer: warmup_steps must be >= 0, got {}", o.warmup_steps);
  FRESCO_CHECK(o.beta1 >= 0 && o.beta1 < 1 && o.beta2 >= 0 && o.beta2 < 1,
               "ImageGptTrainer: betas must be in [0, 1), got {} and {}", o.beta1, o.beta2);
  FRESCO_CHECK(o.weight_decay >= 0, "ImageGptTrainer: weight_decay must be >= 0, got {}", o.weight_decay);
  FRESCO_CHECK(o.clip_grad >= 0, "ImageGptTrainer: clip_grad must be >= 0, got {}", o.clip_grad);
  FRESCO_CHECK(o.text_weight >= 0, "ImageGptTrainer: text_weight must be >= 0, got {}", o.text_weight);
  FRESCO_CHECK(o.caption_dropout >= 0 && o.caption_dropout < 1,
               "ImageGptTrainer: caption_dropout must be in [0, 1), got {}", o.caption_dropout);
  FRESCO_CHECK(o.change_weight >= 0 && std::isfinite(o.change_weight),
               "ImageGptTrainer: change_weight must be >= 0, got {}", o.change_weight);
  FRESCO_CHECK(o.checkpoint_every >= 0 && o.sample_every >= 0 && o.log_every >= 1,
               "ImageGptTrainer: checkpoint_every and sample_every must be >= 0 and log_every >= 1");
  FRESCO_CHECK(o.samples_per_prompt >= 1, "ImageGptTrainer: samples_per_prompt must be positive, got {}",
               o.samples_per_prompt);
  o.sampling.validate();
}

}  // namespace

struct ImageGptTrainer::State {
  ImageGpt& model;
  const text::BpeTokenizer& tokenizer;
  const ImageTokenizer& image_tokenizer;
  std::vector<int64_t> captions;   // [count, Tc] rows
  std::vector<int64_t> empty;      // [Tc], the empty caption
  std::vector<int64_t> codes;      // [count, N]
  int64_t count = 0;
  ImageGptTrainerOptions options;
  std::shared_ptr<dist::ProcessGroup> group;  // this process alone unless options.group
  dist::DistributedDataParallel ddp;          // rank 0's weights everywhere, gradients averaged
  optim::AdamW opt;
  int64_t step = 0;

  State(ImageGpt& m, const text::BpeTokenizer& t, const ImageTokenizer& v, ImageGptTrainerOptions o)
      : model(m),
        tokenizer(t),
        image_tokenizer(v),
        options(std::move(o)),
        group(options.group ? options.group : dist::single_process_group()),
        ddp(m, group),
        opt(m.parameters(), {.lr = options.lr, .beta1 = options.beta1, .beta2 = options.beta2,
                             .weight_decay = options.weight_decay}) {}
};

ImageGptTrainer::ImageGptTrainer(ImageGpt& model, const text::BpeTokenizer& tokenizer,
                                 const ImageTokenizer& image_tokenizer, const std::vector<std::string>& captions,
                                 std::vector<int64_t> codes, ImageGptTrainerOptions options) {
  check(options);
  const ImageGptConfig& c = model.config();
  FRESCO_CHECK(!captions.empty(), "ImageGptTrainer: no training captions");
  FRESCO_CHECK(c.codes == image_tokenizer.config().codes && c.grid == image_tokenizer.config().grid(),
               "ImageGptTrainer: the transformer writes {} codes on a {}x{} grid, the image tokenizer has {} on {}x{}",
               c.codes, c.grid, c.grid, image_tokenizer.config().codes, image_tokenizer.config().grid(),
               image_tokenizer.config().grid());
  FRESCO_CHECK(tokenizer.vocab_size() <= c.text_vocab,
               "ImageGptTrainer: the tokenizer has {} tokens but the transformer reads only {}", tokenizer.vocab_size(),
               c.text_vocab);
  FRESCO_CHECK(options.change_weight == 0 || c.frames > 1,
               "ImageGptTrainer: change_weight weighs the codes that change from frame to frame; this transformer "
               "writes single images (frames 1)");
  const auto n = static_cast<int64_t>(captions.size());
  FRESCO_CHECK_SHAPE(static_cast<int64_t>(codes.size()) == n * c.image_tokens(),
                     "ImageGptTrainer: {} captions need {} codes ({} per image), got {}", n, n * c.image_tokens(),
                     c.image_tokens(), codes.size());
  for (size_t i = 0; i < codes.size(); ++i)
    FRESCO_CHECK(codes[i] >= 0 && codes[i] < c.codes, "ImageGptTrainer: code {} of image {} is outside [0, {})",
                 codes[i], static_cast<int64_t>(i) / c.image_tokens(), c.codes);
  s_ = std::make_unique<State>(model, tokenizer, image_tokenizer, std::move(options));
  s_->captions = caption_rows(tokenizer, captions, c.caption_length);
  s_->empty = caption_rows(tokenizer, {""}, c.caption_length);
  s_->codes = std::move(codes);
  s_->count = n;
  auto& prompts = s_->options.sample_prompts;
  if (prompts.empty())   // none given: the first 8 distinct training captions
    for (const auto& caption : captions) {
      if (prompts.size() >= 8) break;
      if (std::find(prompts.begin(), prompts.end(), caption) == prompts.end()) prompts.push_back(caption);
    }
  caption_rows(tokenizer, prompts, c.caption_length);   // throws now for a sample prompt that is too long
}

ImageGptTrainer::~ImageGptTrainer() = default;

int64_t ImageGptTrainer::step() const { return s_->step; }

ImageGptLosses ImageGptTrainer::train_step(float lr) {
  State& s = *s_;
  const auto& o = s.options;
  const int64_t B = o.batch_size, Tc = s.model.config().caption_length, N = s.model.config().image_tokens();
  // The batch of step t: B samples drawn with replacement from the stream (seed, t), each
  // caption dropped with probability caption_dropout; with R processes, R·B samples, of which
  // process r takes samples r, r + R, ...
  Generator gen(mix_seed(o.seed, static_cast<uint64_t>(s.step)));
  const int64_t ranks = s.group->world_size(), rank = s.group->rank();
  std::vector<int64_t> captions(static_cast<size_t>(B * Tc)), codes(static_cast<size_t>(B * N));
  for (int64_t k = 0, b = 0; k < B * ranks; ++k) {
    const auto i = std::min(s.count - 1, static_cast<int64_t>(gen.uniform() * static_cast<double>(s.count)));
    const bool drop = gen.uniform() < o.caption_dropout;
    if (k % ranks != rank) continue;
    const int64_t* src = drop ? s.empty.data() : s.captions.data() + i * Tc;
    std::copy_n(src, Tc, captions.begin() + b * Tc);
    std::copy_n(s.codes.begin() + i * N, N, codes.begin() + b * N);
    ++b;
  }
  s.model.train();
  ImageGptLosses l = s.model.loss(captions, codes, B, o.text_weight, o.change_weight);
  FRESCO_CHECK(std::isfinite(l.image) && std::isfinite(l.text),
               "ImageGptTrainer: the loss is not finite at step {} (image {}, text {}); lower the learning rate",
               s.step, l.image, l.text);
  s.opt.zero_grad();
  l.total.backward();
  if (o.clip_grad > 0) optim::clip_grad_norm(s.model.parameters(), o.clip_grad);
  s.opt.set_lr(lr);
  s.opt.step();
  l.total = Tensor();   // the graph is not needed any more
  ++s.step;
  return l;
}

void ImageGptTrainer::save_checkpoint(const std::string& path) const {
  const State& s = *s_;
  std::map<std::string, Tensor> t = io::with_prefix(io::module_state(s.model), "model.");
  t.merge(io::with_prefix(s.opt.state_dict(), "opt."));
  auto meta = s.model.config().to_metadata();
  meta["format"] = kCheckpointFormat;
  meta["step"] = std::to_string(s.step);
  io::save_safetensors(t, path, meta);
}

void ImageGptTrainer::load_checkpoint(const std::string& path) {
  State& s = *s_;
  const auto meta = io::load_safetensors_metadata(path);
  io::require_format(meta, kCheckpointFormat, path, "ImageGptTrainer::load_checkpoint",
                     "a token transformer checkpoint");
  try {
    ImageGptConfig saved = ImageGptConfig::from_metadata(meta);
    const ImageGptConfig& c = s.model.config();
    saved.seed = c.seed;   // the initial weights do not matter: the checkpoint replaces them
    if (saved.to_metadata() != c.to_metadata()) {
      // Name every setting that differs, the checkpoint's value first (every key, defaults included).
      const auto full = [](const ImageGptConfig& config) { return config.to_metadata("image_gpt.", true); };
      const auto a = full(saved), b = full(c);
      std::vector<std::string> differ;
      for (const auto& [key, value] : a)
        if (b.at(key) != value) differ.push_back(fmt::format("{} {} (this run {})", key, value, b.at(key)));
      throw Error(fmt::format("it holds a transformer of another configuration: {}; use another output directory",
                              fmt::join(differ, ", ")));
    }
    const auto t = io::load_safetensors(path);
    io::load_module_state(s.model, io::strip_prefix(t, "model."), path);
    s.opt.load_state_dict(io::strip_prefix(t, "opt."));
    s.step = io::metadata_int(meta, "step");
  } catch (const IoError&) {
    throw;
  } catch (const Error& e) {
    throw Error(fmt::format("ImageGptTrainer::load_checkpoint: {}: {}", path, e.what()));
  }
}

void ImageGptTrainer::write_samples(const std::string& path) const {
  const State& s = *s_;
  const auto& o = s.options;
  if (o.sample_prompts.empty()) return;
  std::vector<std::string> captions;
  for (const auto& p : o.sample_prompts)
    for (int64_t k = 0; k < o.samples_per_prompt; ++k) captions.push_back(p);
  nn::ModeGuard eval(s.model, false);
  const auto codes = sample_codes(s.model, s.tokenizer, captions, o.sampling, /*seed=*/1234);
  const auto n = static_cast<int64_t>(captions.size());
  const int64_t frames = s.model.config().frames;
  if (frames == 1) {
    io::write_image_grid(s.image_tokenizer.decode(codes, n), path, o.samples_per_prompt);
    return;
  }
  // Clips: a sheet with one clip a row, and beside it (same name, .gif) the clips playing, a prompt a row.
  const Tensor clips = decode_clips(s.image_tokenizer, codes, n, frames);
  io::write_image_grid(clips.reshape({n * frames, clips.size(2), clips.size(3), clips.size(4)}), path, frames);
  io::write_clips_gif(clips, std::filesystem::path(path).replace_extension(".gif").string(), o.samples_per_prompt,
                      {.delay_ms = 150, .scale = 3});
}

ImageGptTrainSummary ImageGptTrainer::train() {
  using Clock = std::chrono::steady_clock;
  State& s = *s_;
  // Every process reads the checkpoint; rank 0 alone writes files and reports.
  const bool writer = s.group->rank() == 0;
  const ImageGptTrainerOptions o = [&] {
    ImageGptTrainerOptions mine = s.options;
    if (!writer) mine.on_progress = {};
    return mine;
  }();
  const std::string ckpt = o.out_dir.empty() ? "" : o.out_dir + "/checkpoint.safetensors";
  if (!o.out_dir.empty() && !writer && o.resume && std::filesystem::exists(ckpt)) load_checkpoint(ckpt);
  if (!o.out_dir.empty() && writer) {
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(o.out_dir) / "samples", ec);
    if (ec) throw IoError(fmt::format("ImageGptTrainer: cannot create {}/samples: {}", o.out_dir, ec.message()));
    if (o.resume && std::filesystem::exists(ckpt)) load_checkpoint(ckpt);
  }
  s.group->check_same(double(s.step), "the step resumed from");
  // Each process its own dropout masks (rank 0 keeps those of a run on one process).
  if (s.group->rank() > 0) manual_seed(mix_seed(mix_seed(o.seed, 0xD0D0ull), static_cast<uint64_t>(s.group->rank())));
  const auto start = Clock::now();
  // The slowest process's clock (a collective: every process calls it at the same points) for
  // the budget and the schedule; this process's own for reports.
  auto local_elapsed = [&] { return std::chrono::duration<double>(Clock::now() - start).count(); };
  auto elapsed = [&] { return s.group->all_reduce(local_elapsed(), dist::ReduceOp::Max); };
  const double budget = s.group->all_reduce(o.minutes, dist::ReduceOp::Min) * 60;  // one budget for all
  const optim::WarmupCosineLr schedule(o.lr, o.steps,
                                       {.warmup_steps = o.warmup_steps, .min_lr = o.min_lr, .budget_seconds = budget});
  ImageGptTrainSummary summary;
  std::deque<ImageGptLosses> recent;
  const int64_t first = s.step;
  // The steps or the clock end the run; not the schedule's progress, which is 1 from the start when the
  // warm-up is longer than the run (and such a run must still take its steps).
  for (;;) {
    const double now = elapsed();
    if (s.step >= o.steps || (budget > 0 && now >= budget)) break;
    const auto l = train_step(schedule.lr_at(s.step, now));
    recent.push_back(l);
    if (recent.size() > 50) recent.pop_front();
    if (!o.out_dir.empty() && writer) {
      if (s.step % o.log_every == 0) {
        std::ofstream log(o.out_dir + "/metrics.jsonl", std::ios::app);
        if (!log) throw IoError(fmt::format("ImageGptTrainer: cannot append to {}/metrics.jsonl", o.out_dir));
        log << fmt::format("{{\"step\": {}, \"image_loss\": {}, \"text_loss\": {}, \"lr\": {}}}\n", s.step, l.image,
                           l.text, s.opt.lr());
        if (!log.flush())
          throw IoError(fmt::format("ImageGptTrainer: writing {}/metrics.jsonl failed (disk full?)", o.out_dir));
      }
      if (o.sample_every > 0 && s.step % o.sample_every == 0)
        write_samples(fmt::format("{}/samples/step_{:06}.png", o.out_dir, s.step));
      if (o.checkpoint_every > 0 && s.step % o.checkpoint_every == 0) save_checkpoint(ckpt);
    }
    if (o.on_progress) {
      Progress p;
      p.stage = "transformer";
      p.step = s.step;
      p.total = o.steps;
      p.elapsed = local_elapsed();
      const double rate = (s.step - first) / std::max(p.elapsed, 1e-9);
      p.fraction = std::clamp(std::max(double(s.step) / double(o.steps), budget > 0 ? p.elapsed / budget : 0.0), 0.0, 1.0);
      p.eta = budget > 0 ? std::max(0.0, budget - p.elapsed) : (o.steps - s.step) / std::max(rate, 1e-9);
      p.values = {{"image", l.image}, {"text", l.text}, {"lr", s.opt.lr()}, {"step/s", rate}};
      p.done = s.step >= o.steps;
      o.on_progress(p);
    }
  }
  if (!o.out_dir.empty() && writer && s.step > first) {
    save_checkpoint(ckpt);
    write_samples(o.out_dir + "/samples/final.png");
  }
  summary.steps = s.step;
  summary.steps_run = s.step - first;
  summary.seconds = elapsed();
  for (const auto& l : recent) {
    summary.image_loss += l.image / static_cast<float>(recent.size());
    summary.text_loss += l.text / static_cast<float>(recent.size());
  }
  return summary;
}

}  // namespace fresco::vq
