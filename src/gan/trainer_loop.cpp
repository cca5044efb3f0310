// SPDX-License-Identifier: Apache-2.0
// The GAN trainer's loop and its files: checkpoints, sample grids, the
// metrics log, and the progress reports.
#include <fresco/gan/trainer.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>

#include <fresco/error.hpp>
#include <fresco/gan/text_to_image.hpp>
#include <fresco/io/checkpoint.hpp>
#include <fresco/io/image.hpp>
#include <fresco/io/metadata.hpp>
#include <fresco/io/safetensors.hpp>
#include <fresco/nn/mode_guard.hpp>

#include "gan/trainer_state.hpp"

namespace fresco::gan {

namespace {

constexpr const char* kCheckpointFormat = "fresco-gan-checkpoint";

// The GAN stage's reports: losses smoothed over about ten steps, the pace since the stage started,
// and the share done of the steps or of the time budget, whichever is further.
class GanProgress {
public:
  GanProgress(int64_t first_step, int64_t last_step, double budget_seconds, double start_seconds)
      : first_(first_step), last_(last_step), budget_(budget_seconds), start_(start_seconds) {}

  // Takes a step's losses into the smoothed ones.
  void add(const GanStepLosses& l) {
    const float a = smoothed_ ? 0.1f : 1.f;
    d_ += a * (l.d_loss - d_), gp_ += a * (l.gp - gp_), g_ += a * (l.g_loss - g_);
    smoothed_ = true;
  }

  Progress report(int64_t step, double elapsed, bool done) const {
    const double rate = (step - first_) / std::max(elapsed - start_, 1e-9);
    double remaining = rate > 0 ? (last_ - step) / rate : -1;
    double fraction = static_cast<double>(step) / static_cast<double>(last_);
    if (budget_ > 0) {
      remaining = std::min(remaining < 0 ? budget_ : remaining, budget_ - elapsed);
      fraction = std::max(fraction, elapsed / budget_);
    }
    Progress p;
    p.stage = "gan";
    p.step = step;
    p.total = last_;
    p.elapsed = elapsed;
    p.fraction = std::clamp(fraction, 0.0, 1.0);
    p.eta = std::max(remaining, 0.0);
    p.values = {{"d", d_}, {"gp", gp_}, {"g", g_}, {"step/s", rate}};
    p.done = done;
    return p;
  }

private:
  int64_t first_, last_;
  double budget_, start_;
  bool smoothed_ = false;
  float d_ = 0, gp_ = 0, g_ = 0;
};

void report(const ProgressCallback& on_progress, const std::string& stage, const std::string& message) {
  if (!on_progress) return;
  Progress p;
  p.stage = stage;
  p.message = message;
  on_progress(p);
}

}  // namespace

void GanTrainer::save_checkpoint(const std::string& path) const {
  const State& s = *s_;
  std::map<std::string, Tensor> t;
  t.merge(io::with_prefix(io::module_state(s.g), "g."));
  t.merge(io::with_prefix(io::module_state(s.d), "d."));
  t.merge(io::with_prefix(io::module_state(s.ema.generator()), "ema."));
  t.merge(io::with_prefix(io::module_state(s.gpt), "gpt."));
  t.merge(io::with_prefix(s.opt_g.state_dict(), "opt_g."));
  t.merge(io::with_prefix(s.opt_d.state_dict(), "opt_d."));
  if (s.opt_text) t.merge(io::with_prefix(s.opt_text->state_dict(), "opt_text."));
  std::map<std::string, std::string> meta = s.g.config().to_metadata("generator.");
  meta.merge(s.d.config().to_metadata("discriminator."));
  meta.merge(s.gpt.config().to_metadata());
  meta["format"] = kCheckpointFormat;
  meta["step"] = std::to_string(s.step);
  meta["seed"] = std::to_string(s.options.seed);
  meta["tokenizer"] = s.tokenizer.to_json();
  io::save_safetensors(t, path, meta);   // temporary file + rename: the old checkpoint survives a failure
}

void GanTrainer::load_checkpoint(const std::string& path) {
  State& s = *s_;
  const auto meta = io::load_safetensors_metadata(path);
  auto f = meta.find("format");
  if (f == meta.end() || f->second != kCheckpointFormat)
    throw IoError(fmt::format("GanTrainer::load_checkpoint: {} is not a GAN checkpoint (metadata \"format\" is not "
                              "\"{}\")",
                              path, kCheckpointFormat));
  const auto t = io::load_safetensors(path);
  try {
    io::load_module_state(s.g, io::strip_prefix(t, "g."), path);
    io::load_module_state(s.d, io::strip_prefix(t, "d."), path);
    io::load_module_state(s.ema.generator(), io::strip_prefix(t, "ema."), path);
    io::load_module_state(s.gpt, io::strip_prefix(t, "gpt."), path);
    s.opt_g.load_state_dict(io::strip_prefix(t, "opt_g."));
    s.opt_d.load_state_dict(io::strip_prefix(t, "opt_d."));
    if (s.opt_text) s.opt_text->load_state_dict(io::strip_prefix(t, "opt_text."));
    s.step = io::metadata_int(meta, "step");
  } catch (const IoError&) {
    throw;
  } catch (const Error& e) {
    throw Error(fmt::format("GanTrainer::load_checkpoint: {}: {}", path, e.what()));
  }
}

void GanTrainer::write_samples(const std::string& path) const {
  const State& s = *s_;
  std::vector<std::string> captions;
  for (const auto& p : s.prompts)
    for (int64_t i = 0; i < s.options.output.samples_per_prompt; ++i) captions.push_back(p);
  // Fixed noise (the run's seed), so that grids of successive steps compare.
  nn::ModeGuard no_dropout(s.gpt, false);
  Tensor images = generate_images(s_->ema.generator(), s.gpt, s.tokenizer, captions, s.options.seed);
  io::write_image_grid(images, path, s.options.output.samples_per_prompt);
}

namespace {

// One line of the metrics log.
void log_metrics(const std::string& dir, int64_t step, const GanStepLosses& l, double elapsed) {
  std::ofstream out(dir + "/metrics.jsonl", std::ios::app);
  if (!out) throw IoError(fmt::format("GanTrainer: cannot append to {}/metrics.jsonl", dir));
  out << fmt::format(
      "{{\"step\": {}, \"d_loss\": {}, \"g_loss\": {}, \"gp\": {}, \"d_real\": {}, \"d_fake\": {}, "
      "\"d_mismatch\": {}, \"d_contrastive\": {}, \"g_contrastive\": {}, \"text_loss\": {}, "
      "\"elapsed\": {:.3f}}}\n",
      step, l.d_loss, l.g_loss, l.gp, l.d_real, l.d_fake, l.d_mismatch, l.d_contrastive, l.g_contrastive,
      l.text_loss, elapsed);
  if (!out.flush()) throw IoError(fmt::format("GanTrainer: writing {}/metrics.jsonl failed (disk full?)", dir));
}

}  // namespace

GanTrainSummary GanTrainer::train() {
  using Clock = std::chrono::steady_clock;
  State& s = *s_;
  // Every process reads the checkpoint; rank 0 alone writes files and reports.
  const bool writer = s.group->rank() == 0;
  const auto o = [&] {
    GanTrainerOptions mine = s.options;
    if (!writer) mine.on_progress = {};
    return mine;
  }();
  GanOutputOptions out = o.output;
  const std::string ckpt = s.checkpoint_path();
  if (!out.dir.empty() && !writer) {
    if (out.resume && std::filesystem::exists(ckpt)) load_checkpoint(ckpt);
    out.dir.clear();
  }
  if (!out.dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(out.dir) / "samples", ec);
    if (ec) throw IoError(fmt::format("GanTrainer: cannot create {}/samples: {}", out.dir, ec.message()));
    if (out.resume && std::filesystem::exists(ckpt)) {
      load_checkpoint(ckpt);
      report(o.on_progress, "gan", fmt::format("resumed from {} at step {}", ckpt, s.step));
    }
  }
  s.group->check_same(double(s.step), "the step resumed from");
  const int64_t last = o.stop_at_step > 0 ? std::min(o.steps, o.stop_at_step) : o.steps;
  const double budget = s.group->all_reduce(o.minutes, dist::ReduceOp::Min) * 60.0;  // one budget for all
  const auto start = Clock::now();   // the budget covers the alignment stage too
  // The slowest process's clock: every process stops at the same step.
  // (a collective: called by every process at the same points; reports use local_elapsed).
  auto local_elapsed = [&] { return std::chrono::duration<double>(Clock::now() - start).count(); };
  auto elapsed = [&] { return s.group->all_reduce(local_elapsed(), dist::ReduceOp::Max); };
  if (s.step == 0 && o.alignment.steps > 0) {
    const auto a = align();
    report(o.on_progress, "align", fmt::format("{} steps in {:.1f} s, contrastive loss {:.3f} -> {:.3f}", a.steps,
                                               a.seconds, a.first_loss, a.last_loss));
  }
  if (s.step == 0 && o.text.standardise_sentences) standardise_sentences();
  // The text model stays as it is from here (unless fine-tuned): the negatives' sentence vectors are
  // encoded once instead of every step, and dropped when train() returns or throws.
  s.cache_sentences();
  struct DropCache {
    Tensor& cache;
    ~DropCache() { cache = Tensor(); }
  } drop_cache{s.sentence_cache};
  const int64_t first = s.step;
  const double gan_start = elapsed();   // GAN steps per second count from here
  GanProgress progress(first, last, budget, gan_start);
  GanTrainSummary summary;
  while (s.step < last && (budget <= 0 || elapsed() < budget)) {
    const GanStepLosses l = train_step();
    summary.history.push_back(l);
    // Every process refreshes its moving average's statistics where rank 0 samples, so that
    // every process's ema_generator() stays the same.
    if (!o.output.dir.empty() && o.output.sample_every > 0 && s.step % o.output.sample_every == 0)
      refresh_ema_statistics();
    if (!out.dir.empty()) {
      if (s.step % out.log_every == 0) log_metrics(out.dir, s.step, l, local_elapsed());
      if (out.sample_every > 0 && s.step % out.sample_every == 0)
        write_samples(fmt::format("{}/samples/step_{:06}.png", out.dir, s.step));
      if (out.checkpoint_every > 0 && s.step % out.checkpoint_every == 0) save_checkpoint(ckpt);
    }
    progress.add(l);
    if (o.on_progress) o.on_progress(progress.report(s.step, local_elapsed(), false));
  }
  if (s.step > first) refresh_ema_statistics();
  if (!out.dir.empty() && s.step > first) {
    save_checkpoint(ckpt);
    write_samples(out.dir + "/samples/final.png");
  }
  summary.steps = s.step;
  summary.steps_run = s.step - first;
  summary.seconds = elapsed();
  summary.steps_per_second = summary.steps_run / std::max(summary.seconds - gan_start, 1e-9);
  if (o.on_progress) o.on_progress(progress.report(s.step, summary.seconds, true));
  return summary;
}

}  // namespace fresco::gan
