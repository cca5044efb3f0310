// SPDX-License-Identifier: Apache-2.0
// Generative pretraining of the GPT on captions. The corpus is tokenized once;
// the batch of step s is a pure function of (seed, s), so that a run resumed
// from a checkpoint sees exactly the batches of an uninterrupted one.
#include <fresco/text/pretrain.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>

#include <fmt/format.h>

#include <fresco/autograd/autograd.hpp>
#include <fresco/dist/data_parallel.hpp>
#include <fresco/error.hpp>
#include <fresco/io/checkpoint.hpp>
#include <fresco/io/metadata.hpp>
#include <fresco/io/safetensors.hpp>
#include <fresco/nn/mode_guard.hpp>
#include <fresco/ops/elementwise.hpp>
#include <fresco/optim/adam.hpp>
#include <fresco/optim/schedule.hpp>
#include <fresco/tensor/random.hpp>

namespace fresco::text {

namespace {

using Clock = std::chrono::steady_clock;
using Captions = std::vector<std::vector<int64_t>>;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// Rows of token ids [rows, seq] and the number of targets the loss counts.
struct Batch {
  std::vector<int64_t> ids;
  int64_t rows = 0, seq = 0, targets = 0;
};

// Padded rows: each caption followed by <|pad|> up to the longest one of the batch.
Batch padded_batch(const Captions& data, const std::vector<size_t>& pick) {
  Batch b;
  b.rows = static_cast<int64_t>(pick.size());
  for (size_t i : pick) b.seq = std::max<int64_t>(b.seq, static_cast<int64_t>(data[i].size()));
  b.ids.assign(static_cast<size_t>(b.rows * b.seq), BpeTokenizer::kPadId);
  for (size_t r = 0; r < pick.size(); ++r) {
    const auto& c = data[pick[r]];
    std::copy(c.begin(), c.end(), b.ids.begin() + static_cast<std::ptrdiff_t>(r * static_cast<size_t>(b.seq)));
    b.targets += static_cast<int64_t>(c.size()) - 1;
  }
  return b;
}

// Packed rows: windows of `seq` tokens of the concatenated captions, starting at `starts`.
Batch packed_batch(const std::vector<int64_t>& stream, const std::vector<size_t>& starts, int64_t seq) {
  Batch b;
  b.rows = static_cast<int64_t>(starts.size());
  b.seq = seq;
  for (size_t s : starts) b.ids.insert(b.ids.end(), stream.begin() + static_cast<std::ptrdiff_t>(s),
                                       stream.begin() + static_cast<std::ptrdiff_t>(s) + seq);
  b.targets = b.rows * (seq - 1);
  return b;
}

struct Corpus {
  Captions train, val;
  std::vector<int64_t> train_stream, val_stream;  // packed mode
  int64_t packed_seq = 0;
};

Corpus prepare(const Gpt& gpt, const BpeTokenizer& tok, const std::vector<std::string>& corpus,
               const PretrainOptions& o) {
  const GptConfig& cfg = gpt.config();
  FRESCO_CHECK(!corpus.empty(), "pretrain: the corpus is empty (give at least one caption)");
  FRESCO_CHECK(cfg.vocab_size >= BpeTokenizer::kFirstMergeId,
               "pretrain: the model's vocabulary ({}) is smaller than 256 bytes + 3 special tokens", cfg.vocab_size);
  FRESCO_CHECK(tok.vocab_size() <= cfg.vocab_size,
               "pretrain: the tokenizer has {} tokens but the model's vocabulary only {}", tok.vocab_size(),
               cfg.vocab_size);
  Captions all;
  all.reserve(corpus.size());
  for (size_t i = 0; i < corpus.size(); ++i) {
    all.push_back(tok.encode(corpus[i], /*add_bos=*/true, /*add_eos=*/true));
    FRESCO_CHECK(static_cast<int64_t>(all.back().size()) <= cfg.context,
                 "pretrain: caption {} (\"{}\") is {} tokens long with <|bos|> and <|eos|>, more than the context "
                 "of {}",
                 i, corpus[i], all.back().size(), cfg.context);
  }
  // Deterministic split: shuffle with the seed, the tail is the validation set.
  std::vector<size_t> order(all.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  Generator gen(mix_seed(o.seed, ~0ull));
  for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[gen.below(i)]);
  size_t n_val = 0;
  if (o.val_fraction > 0 && all.size() >= 2)
    n_val = std::clamp<size_t>(static_cast<size_t>(std::llround(o.val_fraction * static_cast<double>(all.size()))), 1,
                               all.size() - 1);
  Corpus c;
  for (size_t i = 0; i < order.size(); ++i) (i + n_val < order.size() ? c.train : c.val).push_back(all[order[i]]);
  if (o.pack) {
    for (const auto& t : c.train) c.train_stream.insert(c.train_stream.end(), t.begin(), t.end());
    for (const auto& t : c.val) c.val_stream.insert(c.val_stream.end(), t.begin(), t.end());
    c.packed_seq = std::min<int64_t>(cfg.context, static_cast<int64_t>(c.train_stream.size()));
  }
  return c;
}

// The batch of `step`: batch_size · ranks rows drawn from (seed, step), of
// which process `rank` takes rows rank, rank + ranks, ... (one process: all).
// `global_targets` receives the targets of all the rows.
Batch train_batch(const Corpus& c, const PretrainOptions& o, int64_t step, int rank = 0, int ranks = 1,
                  int64_t* global_targets = nullptr) {
  Generator gen(mix_seed(o.seed, static_cast<uint64_t>(step)));
  std::vector<size_t> pick(static_cast<size_t>(o.batch_size * ranks));
  const size_t starts = o.pack ? c.train_stream.size() - static_cast<size_t>(c.packed_seq) + 1 : c.train.size();
  for (auto& p : pick) p = static_cast<size_t>(gen.below(starts));
  if (global_targets) {
    *global_targets = 0;
    for (size_t p : pick) *global_targets += o.pack ? c.packed_seq - 1 : static_cast<int64_t>(c.train[p].size()) - 1;
  }
  if (ranks > 1) {
    std::vector<size_t> mine;
    for (size_t i = static_cast<size_t>(rank); i < pick.size(); i += static_cast<size_t>(ranks)) mine.push_back(pick[i]);
    pick = std::move(mine);
  }
  return o.pack ? packed_batch(c.train_stream, pick, c.packed_seq) : padded_batch(c.train, pick);
}

// Mean loss over (up to max_val_rows of) the validation rows, weighted by counted targets.
float validation_loss(Gpt& gpt, const Corpus& c, const PretrainOptions& o) {
  std::vector<Batch> batches;
  if (!o.pack) {
    const size_t n = std::min(c.val.size(), static_cast<size_t>(o.max_val_rows));
    for (size_t i = 0; i < n; i += static_cast<size_t>(o.batch_size)) {
      std::vector<size_t> pick;
      for (size_t j = i; j < std::min(n, i + static_cast<size_t>(o.batch_size)); ++j) pick.push_back(j);
      batches.push_back(padded_batch(c.val, pick));
    }
  } else {
    const int64_t seq = std::min<int64_t>(c.packed_seq, static_cast<int64_t>(c.val_stream.size()));
    std::vector<size_t> starts;
    for (size_t s = 0; seq >= 2 && s + static_cast<size_t>(seq) <= c.val_stream.size() &&
                       static_cast<int64_t>(starts.size()) < o.max_val_rows;
         s += static_cast<size_t>(seq))
      starts.push_back(s);
    for (size_t i = 0; i < starts.size(); i += static_cast<size_t>(o.batch_size)) {
      std::vector<size_t> part(starts.begin() + static_cast<std::ptrdiff_t>(i),
                               starts.begin() + static_cast<std::ptrdiff_t>(std::min(starts.size(), i + static_cast<size_t>(o.batch_size))));
      batches.push_back(packed_batch(c.val_stream, part, seq));
    }
  }
  if (batches.empty()) return NAN;
  nn::ModeGuard eval_mode(gpt, /*training=*/false);
  NoGradGuard guard;
  double total = 0;
  int64_t count = 0;
  for (const Batch& b : batches) {
    if (b.targets == 0) continue;
    total += static_cast<double>(gpt.loss(b.ids, b.rows, b.seq).item()) * static_cast<double>(b.targets);
    count += b.targets;
  }
  return count > 0 ? static_cast<float>(total / static_cast<double>(count)) : NAN;
}

void check_options(const PretrainOptions& o) {
  FRESCO_CHECK(o.batch_size >= 1, "pretrain: batch_size must be positive, got {}", o.batch_size);
  FRESCO_CHECK(o.steps >= 1, "pretrain: steps must be positive, got {}", o.steps);
  FRESCO_CHECK(o.minutes >= 0, "pretrain: minutes must be >= 0 (0: no time budget), got {}", o.minutes);
  FRESCO_CHECK(o.lr > 0 && o.min_lr >= 0 && o.min_lr <= o.lr,
               "pretrain: need lr > 0 and 0 <= min_lr <= lr, got lr {} and min_lr {}", o.lr, o.min_lr);
  FRESCO_CHECK(o.warmup_steps >= 0, "pretrain: warmup_steps must be >= 0, got {}", o.warmup_steps);
  FRESCO_CHECK(o.grad_clip >= 0, "pretrain: grad_clip must be >= 0 (0: off), got {}", o.grad_clip);
  FRESCO_CHECK(o.val_fraction >= 0 && o.val_fraction < 1, "pretrain: val_fraction must be in [0, 1), got {}",
               o.val_fraction);
  FRESCO_CHECK(o.eval_every >= 0 && o.checkpoint_every >= 0 && o.max_val_rows >= 1 && o.stop_at_step >= 0,
               "pretrain: eval_every, checkpoint_every and stop_at_step must be >= 0 and max_val_rows >= 1");
}


// A report of the run at `step`: the share of the steps or of the time budget done, whichever is further.
Progress report(const PretrainOptions& o, int64_t step, int64_t steps_run, int64_t last, double elapsed) {
  Progress p;
  p.stage = "pretrain";
  p.step = step;
  p.total = o.steps;
  p.elapsed = elapsed;
  p.fraction = static_cast<double>(step) / static_cast<double>(o.steps);
  if (o.minutes > 0) p.fraction = std::max(p.fraction, elapsed / (o.minutes * 60));
  p.fraction = std::min(p.fraction, 1.0);
  if (steps_run > 0) {
    p.eta = elapsed / static_cast<double>(steps_run) * static_cast<double>(last - step);
    if (o.minutes > 0) p.eta = std::max(0.0, std::min(p.eta, o.minutes * 60 - elapsed));
  }
  return p;
}

void save_checkpoint(const Gpt& gpt, const BpeTokenizer& tok, const optim::Optimizer& opt, const std::string& dir,
                     int64_t step) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw IoError(fmt::format("pretrain: cannot create the checkpoint directory {}: {}", dir, ec.message()));
  // Optimizer first: the model file carries the step, so it is written last.
  io::save(opt, dir + "/optimizer.safetensors");
  std::map<std::string, std::string> meta = gpt.config().to_metadata();
  meta["format"] = "fresco-gpt";
  meta["tokenizer"] = tok.to_json();
  meta["pretrain.step"] = std::to_string(step);
  io::save(gpt, dir + "/model.safetensors", meta);
}

int64_t load_checkpoint(Gpt& gpt, optim::Optimizer& opt, const std::string& dir) {
  const std::string model = dir + "/model.safetensors";
  auto meta = io::load_safetensors_metadata(model);
  auto it = meta.find("pretrain.step");
  if (it == meta.end())
    throw IoError(fmt::format("pretrain: {} is not a pretraining checkpoint (no \"pretrain.step\" metadata)", model));
  const int64_t step = io::metadata_int(meta, "pretrain.step", fmt::format("pretrain: {}", model));
  io::load(gpt, model);
  io::load(opt, dir + "/optimizer.safetensors");
  FRESCO_CHECK(opt.steps() == step, "pretrain: checkpoint {} is inconsistent: the model is at step {}, the optimizer at {}",
               dir, step, opt.steps());
  return step;
}

// The loss before the first step: on the validation captions, or on the first batch without any.
float initial_loss(Gpt& gpt, const Corpus& data, const PretrainOptions& o, int64_t step) {
  if (!data.val.empty()) return validation_loss(gpt, data, o);
  NoGradGuard guard;
  const Batch b = train_batch(data, o, step);
  return gpt.loss(b.ids, b.rows, b.seq).item();
}

// The summary's closing figures, once the steps are done.
void summarise(PretrainSummary& s, Gpt& gpt, const Corpus& data, const PretrainOptions& o, int64_t step,
               int64_t tokens, double seconds) {
  s.seconds = seconds;
  s.steps = step;
  s.steps_run = static_cast<int64_t>(s.train_losses.size());
  s.tokens_per_second = s.seconds > 0 ? static_cast<double>(tokens) / s.seconds : 0;
  const size_t tail = std::min<size_t>(20, s.train_losses.size());
  double sum = 0;
  for (size_t i = s.train_losses.size() - tail; i < s.train_losses.size(); ++i) sum += s.train_losses[i];
  s.final_train_loss = tail > 0 ? static_cast<float>(sum / static_cast<double>(tail)) : NAN;
  const bool has_val = !data.val.empty();
  s.final_val_loss = has_val ? validation_loss(gpt, data, o) : NAN;
  s.final_val_perplexity = std::exp(s.final_val_loss);
  if (has_val && s.steps_run > 0) s.val_losses.emplace_back(step, s.final_val_loss);
}

// The last report: the summary's figures.
Progress final_report(const PretrainOptions& o, const PretrainSummary& s) {
  Progress p = report(o, s.steps, s.steps_run, s.steps, s.seconds);
  p.fraction = 1;
  p.eta = 0;
  p.done = true;
  p.values = {{"loss", s.final_train_loss},
              {"initial loss", s.initial_loss},
              {"val", s.final_val_loss},
              {"ppl", s.final_val_perplexity},
              {"tok/s", s.tokens_per_second}};
  return p;
}

}  // namespace

PretrainSummary pretrain(Gpt& gpt, const BpeTokenizer& tokenizer, const std::vector<std::string>& corpus,
                         PretrainOptions o) {
  check_options(o);
  const Corpus data = prepare(gpt, tokenizer, corpus, o);
  optim::AdamW opt(gpt.parameters(), {.lr = o.lr, .beta1 = o.beta1, .beta2 = o.beta2, .weight_decay = o.weight_decay});
  int64_t step = o.resume.empty() ? 0 : load_checkpoint(gpt, opt, o.resume);
  // Several processes: rank 0's weights everywhere, gradients averaged in
  // backward(), one budget and one resumed step; only rank 0 reports and writes.
  const auto group = o.group ? o.group : dist::single_process_group();
  const int rank = group->rank(), ranks = group->world_size();
  group->check_same(double(step), "the step resumed from");
  o.minutes = group->all_reduce(o.minutes, dist::ReduceOp::Min);
  dist::DistributedDataParallel ddp(gpt, group);
  if (rank != 0) {
    o.on_progress = {};
    o.checkpoint_dir.clear();
  }
  const int64_t last = o.stop_at_step > 0 ? std::min(o.steps, o.stop_at_step) : o.steps;
  if (o.on_progress && !o.resume.empty()) {
    Progress p = report(o, step, 0, o.steps, 0);
    p.message = fmt::format("resumed from {} at step {}", o.resume, step);
    o.on_progress(p);
  }
  PretrainSummary s;
  s.train_captions = static_cast<int64_t>(data.train.size());
  s.val_captions = static_cast<int64_t>(data.val.size());
  const bool has_val = !data.val.empty();
  gpt.train();
  s.initial_loss = initial_loss(gpt, data, o, step);
  float val = has_val ? s.initial_loss : NAN;
  if (has_val) s.val_losses.emplace_back(step, val);

  // Linear warm-up, then cosine from lr to min_lr over the rest of the run's progress (steps or clock).
  const optim::WarmupCosineLr schedule(
      o.lr, o.steps, {.warmup_steps = o.warmup_steps, .min_lr = o.min_lr, .budget_seconds = o.minutes * 60});
  const auto t0 = Clock::now();
  int64_t tokens = 0;
  const bool dropout = gpt.config().dropout > 0;
  while (step < last) {
    // Every process stops at the same step and sets the same rate: the slowest clock decides.
    const double elapsed = group->all_reduce(seconds_since(t0), dist::ReduceOp::Max);
    if (o.minutes > 0 && elapsed >= o.minutes * 60) break;
    int64_t global_targets = 0;
    const Batch b = train_batch(data, o, step, rank, ranks, &global_targets);
    if (dropout) {  // each process its own masks; rank 0's are those of a run on one process
      const uint64_t seed = mix_seed(o.seed ^ 0xD0D0ull, static_cast<uint64_t>(step));
      manual_seed(rank == 0 ? seed : mix_seed(seed, static_cast<uint64_t>(rank)));
    }
    opt.set_lr(schedule.lr_at(step, elapsed));
    Tensor loss = gpt.loss(b.ids, b.rows, b.seq);
    // The mean over this process's targets, weighted so that the processes'
    // average (what the gradient all-reduce takes) is the mean over all the
    // batch's targets, as one process with the whole batch computes.
    if (ranks > 1) loss = loss * (static_cast<float>(b.targets * ranks) / static_cast<float>(global_targets));
    opt.zero_grad();
    loss.backward();
    if (o.grad_clip > 0) optim::clip_grad_norm(opt.params(), o.grad_clip);
    opt.step();
    s.train_losses.push_back(ranks > 1 ? static_cast<float>(group->all_reduce(double(loss.item()), dist::ReduceOp::Mean))
                                       : loss.item());
    tokens += global_targets;
    ++step;
    if (has_val && o.eval_every > 0 && step % o.eval_every == 0 && step < last) {
      val = validation_loss(gpt, data, o);
      s.val_losses.emplace_back(step, val);
    }
    if (!o.checkpoint_dir.empty() && o.checkpoint_every > 0 && step % o.checkpoint_every == 0)
      save_checkpoint(gpt, tokenizer, opt, o.checkpoint_dir, step);
    if (o.on_progress) {
      const double now = seconds_since(t0);
      Progress p = report(o, step, static_cast<int64_t>(s.train_losses.size()), last, now);
      p.values = {{"loss", s.train_losses.back()}, {"val", val}, {"tok/s", tokens / now}, {"lr", opt.lr()}};
      o.on_progress(p);
    }
  }
  summarise(s, gpt, data, o, step, tokens, seconds_since(t0));
  if (!o.checkpoint_dir.empty() && s.steps_run > 0) save_checkpoint(gpt, tokenizer, opt, o.checkpoint_dir, step);
  if (o.on_progress) o.on_progress(final_report(o, s));
  return s;
}

}  // namespace fresco::text
