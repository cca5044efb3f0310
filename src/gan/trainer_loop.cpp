// SPDX-License-Identifier: Apache-2.0
// The GAN trainer's loop and its files: checkpoints, sample grids, the
// metrics log and the progress line.
#include <fresco/gan/trainer.hpp>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <fresco/error.hpp>
#include <fresco/gan/text_to_image.hpp>
#include <fresco/io/checkpoint.hpp>
#include <fresco/io/image.hpp>
#include <fresco/io/safetensors.hpp>

#include "config_util.hpp"

namespace fresco::gan {

namespace {

constexpr const char* kCheckpointFormat = "fresco-gan-checkpoint";

std::map<std::string, Tensor> with_prefix(const std::map<std::string, Tensor>& m, const std::string& prefix) {
  std::map<std::string, Tensor> out;
  for (const auto& [k, v] : m) out[prefix + k] = v;
  return out;
}

std::map<std::string, Tensor> strip_prefix(const std::map<std::string, Tensor>& m, const std::string& prefix) {
  std::map<std::string, Tensor> out;
  for (const auto& [k, v] : m)
    if (k.rfind(prefix, 0) == 0) out[k.substr(prefix.size())] = v;
  return out;
}

std::string clock(double seconds) {
  const auto s = static_cast<int64_t>(std::max(0.0, seconds));
  if (s >= 3600) return fmt::format("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
  return fmt::format("{}:{:02}", s / 60, s % 60);
}

}  // namespace

void GanTrainer::save_checkpoint(const std::string& path) const {
  std::map<std::string, Tensor> t;
  t.merge(with_prefix(io::module_state(g_), "g."));
  t.merge(with_prefix(io::module_state(d_), "d."));
  t.merge(with_prefix(io::module_state(*ema_), "ema."));
  t.merge(with_prefix(io::module_state(gpt_), "gpt."));
  t.merge(with_prefix(opt_g_->state_dict(), "opt_g."));
  t.merge(with_prefix(opt_d_->state_dict(), "opt_d."));
  if (opt_text_) t.merge(with_prefix(opt_text_->state_dict(), "opt_text."));
  std::map<std::string, std::string> meta = g_.config().to_metadata("generator.");
  meta.merge(d_.config().to_metadata("discriminator."));
  meta.merge(gpt_.config().to_metadata());
  meta["format"] = kCheckpointFormat;
  meta["step"] = std::to_string(step_);
  meta["seed"] = std::to_string(options_.seed);
  meta["tokenizer"] = tokenizer_.to_json();
  io::save_safetensors(t, path, meta);   // temporary file + rename: the old checkpoint survives a failure
}

void GanTrainer::load_checkpoint(const std::string& path) {
  const auto meta = io::load_safetensors_metadata(path);
  auto f = meta.find("format");
  if (f == meta.end() || f->second != kCheckpointFormat)
    throw IoError(fmt::format("GanTrainer::load_checkpoint: {} is not a GAN checkpoint (metadata \"format\" is not "
                              "\"{}\")",
                              path, kCheckpointFormat));
  const auto t = io::load_safetensors(path);
  try {
    io::load_module_state(g_, strip_prefix(t, "g."), path);
    io::load_module_state(d_, strip_prefix(t, "d."), path);
    io::load_module_state(*ema_, strip_prefix(t, "ema."), path);
    io::load_module_state(gpt_, strip_prefix(t, "gpt."), path);
    opt_g_->load_state_dict(strip_prefix(t, "opt_g."));
    opt_d_->load_state_dict(strip_prefix(t, "opt_d."));
    if (opt_text_) opt_text_->load_state_dict(strip_prefix(t, "opt_text."));
    step_ = detail::meta_int(meta, "step");
  } catch (const IoError&) {
    throw;
  } catch (const Error& e) {
    throw Error(fmt::format("GanTrainer::load_checkpoint: {}: {}", path, e.what()));
  }
}

void GanTrainer::write_samples(const std::string& path) const {
  std::vector<std::string> captions;
  for (const auto& p : prompts_)
    for (int64_t i = 0; i < options_.samples_per_prompt; ++i) captions.push_back(p);
  // Fixed noise (the run's seed), so that grids of successive steps compare.
  gpt_.eval();
  Tensor images = generate_images(*ema_, gpt_, tokenizer_, captions, options_.seed);
  gpt_.train(options_.finetune_text);
  io::write_image_grid(images, path, options_.samples_per_prompt);
}

void GanTrainer::log_metrics(const GanStepLosses& l, double elapsed) const {
  std::ofstream out(options_.out_dir + "/metrics.jsonl", std::ios::app);
  if (!out) throw IoError(fmt::format("GanTrainer: cannot append to {}/metrics.jsonl", options_.out_dir));
  out << fmt::format(
      "{{\"step\": {}, \"d_loss\": {}, \"g_loss\": {}, \"gp\": {}, \"d_real\": {}, \"d_fake\": {}, "
      "\"d_mismatch\": {}, \"d_contrastive\": {}, \"g_contrastive\": {}, \"text_loss\": {}, "
      "\"elapsed\": {:.3f}}}\n",
      step_, l.d_loss, l.g_loss, l.gp, l.d_real, l.d_fake, l.d_mismatch, l.d_contrastive, l.g_contrastive,
      l.text_loss, elapsed);
}

GanTrainSummary GanTrainer::train() {
  namespace fs = std::filesystem;
  using Clock = std::chrono::steady_clock;
  const auto& o = options_;
  const std::string ckpt = o.out_dir.empty() ? "" : o.out_dir + "/checkpoint.safetensors";
  if (!o.out_dir.empty()) {
    std::error_code ec;
    fs::create_directories(fs::path(o.out_dir) / "samples", ec);
    if (ec) throw IoError(fmt::format("GanTrainer: cannot create {}/samples: {}", o.out_dir, ec.message()));
    if (o.resume && fs::exists(ckpt)) {
      load_checkpoint(ckpt);
      if (o.progress) fmt::print(stderr, "gan: resumed from {} at step {}\n", ckpt, step_);
    }
  }
  const int64_t last = o.stop_at_step > 0 ? std::min(o.steps, o.stop_at_step) : o.steps;
  const double budget = o.minutes * 60.0;
  const auto start = Clock::now();   // the budget covers the alignment stage too
  auto elapsed = [&] { return std::chrono::duration<double>(Clock::now() - start).count(); };
  if (step_ == 0 && o.align_steps > 0) {
    const auto a = align();
    if (o.progress)
      fmt::print(stderr, "align: {} steps in {:.1f} s, contrastive loss {:.3f} -> {:.3f}\n", a.steps, a.seconds,
                 a.first_loss, a.last_loss);
  }
  if (step_ == 0 && o.standardise_sentences) standardise_sentences();
  // The text model stays as it is from here (unless fine-tuned): the negatives' sentence vectors are
  // encoded once instead of every step, and dropped when train() returns or throws.
  cache_sentences();
  struct DropCache {
    Tensor& cache;
    ~DropCache() { cache = Tensor(); }
  } drop_cache{sentence_cache_};
  const double gan_start = elapsed();   // GAN steps per second count from here
  const bool tty = isatty(fileno(stderr)) != 0;
  double last_print = -1e9;
  GanTrainSummary summary;
  const int64_t first = step_;
  GanStepLosses avg;   // running mean over the steps since the last progress line
  int64_t avg_n = 0;

  auto print_progress = [&](bool final_line) {
    const double t = elapsed();
    const double rate = (step_ - first) / std::max(t - gan_start, 1e-9);
    double remaining = rate > 0 ? (last - step_) / rate : 0;
    double frac = static_cast<double>(step_) / static_cast<double>(last);
    if (budget > 0) {
      remaining = std::min(remaining, budget - t);
      frac = std::max(frac, t / budget);
    }
    frac = std::clamp(frac, 0.0, 1.0);
    const int filled = static_cast<int>(frac * 20);
    const double n = std::max<int64_t>(avg_n, 1);
    fmt::print(stderr, "{}gan [{}{}] {:3.0f}% step {} | d {:.3f} gp {:.3f} g {:.3f} | {:.2f} step/s | {} elapsed, ETA {}{}",
               tty ? "\r" : "", std::string(filled, '#'), std::string(20 - filled, '.'), frac * 100, step_,
               avg.d_loss / n, avg.gp / n, avg.g_loss / n, rate, clock(t), clock(remaining),
               tty && !final_line ? "" : "\n");
    std::fflush(stderr);
    avg = {};
    avg_n = 0;
  };

  while (step_ < last && (budget <= 0 || elapsed() < budget)) {
    GanStepLosses l = train_step();
    summary.history.push_back(l);
    avg.d_loss += l.d_loss;
    avg.gp += l.gp;
    avg.g_loss += l.g_loss;
    ++avg_n;
    if (!o.out_dir.empty()) {
      if (step_ % o.log_every == 0) log_metrics(l, elapsed());
      if (o.sample_every > 0 && step_ % o.sample_every == 0) {
        refresh_ema_statistics();
        write_samples(fmt::format("{}/samples/step_{:06}.png", o.out_dir, step_));
      }
      if (o.checkpoint_every > 0 && step_ % o.checkpoint_every == 0) save_checkpoint(ckpt);
    }
    if (o.progress && elapsed() - last_print >= o.progress_seconds) {
      print_progress(false);
      last_print = elapsed();
    }
  }
  if (step_ > first) refresh_ema_statistics();
  if (!o.out_dir.empty() && step_ > first) {
    save_checkpoint(ckpt);
    write_samples(o.out_dir + "/samples/final.png");
  }
  summary.steps = step_;
  summary.steps_run = step_ - first;
  summary.seconds = elapsed();
  summary.steps_per_second = summary.steps_run / std::max(summary.seconds - gan_start, 1e-9);
  if (o.progress) print_progress(true);
  return summary;
}

}  // namespace fresco::gan
