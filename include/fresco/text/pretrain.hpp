// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file
/// `text::pretrain`: generative pretraining of a `Gpt` on a caption corpus by
/// next-token prediction (stage 1 of the text-to-image pipeline).

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <fresco/dist/process_group.hpp>
#include <fresco/progress.hpp>
#include <fresco/text/gpt.hpp>
#include <fresco/text/tokenizer.hpp>

namespace fresco::text {

/// Options of `pretrain`. Checked when it starts.
struct PretrainOptions {
  /// Captions per batch (of each process, when several train together).
  int64_t batch_size = 64;
  /// Total optimizer steps (the learning-rate schedule spans them).
  int64_t steps = 1000;
  /// Wall-clock budget in minutes (0: none). Training stops at `steps` or
  /// at the budget, whichever comes first; with a budget, the schedule
  /// follows max(step / steps, elapsed / budget), so it always completes its decay.
  double minutes = 0;
  /// Peak learning rate of AdamW.
  float lr = 3e-4f;
  /// Learning rate at the end of the cosine decay.
  float min_lr = 3e-5f;
  /// Steps of linear warm-up from 0 to lr.
  int64_t warmup_steps = 100;
  /// AdamW's β1, β2 and decoupled weight decay (applied to every parameter, as the W2 workload).
  float beta1 = 0.9f;
  float beta2 = 0.95f;
  float weight_decay = 0.1f;
  /// Gradients are clipped to this total L2 norm (0: no clipping).
  float grad_clip = 1.f;
  /// false: one caption per row, padded with `<|pad|>` (ignored by the loss) to
  /// the longest caption. true: captions concatenated into one stream cut
  /// into rows of `context` tokens.
  bool pack = false;
  /// Share of the captions held out for validation (at least one when > 0 and
  /// the corpus has two or more captions).
  double val_fraction = 0.05;
  /// Validation loss and perplexity every this many steps (and at the end); 0: only at the start and end.
  int64_t eval_every = 200;
  /// At most this many validation captions (or packed rows) are scored.
  int64_t max_val_rows = 1024;
  /// Directory for checkpoints (`model.safetensors` with the step in its
  /// metadata, `optimizer.safetensors`), written every `checkpoint_every`
  /// steps and at the end; "" writes none.
  std::string checkpoint_dir = "";
  int64_t checkpoint_every = 500;
  /// A checkpoint directory to resume from: its model and optimizer state and
  /// step are restored, then training continues to `steps` as if never stopped.
  std::string resume = "";
  /// Stop this run once this step is reached (0: run to `steps`); the schedule
  /// still spans `steps`, so a later run with `resume` continues it seamlessly.
  int64_t stop_at_step = 0;
  /// Seed of the split, the batches and dropout (with dropout, the global
  /// generator is re-seeded from (seed, step) before each step).
  uint64_t seed = 0;
  /// Receives a report after every step ("pretrain": loss, val, tok/s, lr) and a
  /// final one (`done`: mean loss of the last steps, initial loss, val, ppl, tok/s).
  /// Empty: silent. `fresco::progress_bar()` draws them on stderr.
  ProgressCallback on_progress = {};
  /// Data-parallel training: the processes of this group (`dist::world()`)
  /// each take their share of every step's batch (the global batch is
  /// world_size · batch_size captions) and average their gradients
  /// (`dist::DistributedDataParallel`); the time budget and the learning
  /// rate follow the slowest process's clock. Rank 0 alone writes
  /// checkpoints and reports progress; every process reads `resume` (a
  /// checkpoint written by any number of processes) and returns the same
  /// summary. Null: this process alone.
  std::shared_ptr<dist::ProcessGroup> group = nullptr;
};

/// What a `pretrain` run did.
struct PretrainSummary {
  /// Validation loss before the first step of this run (training loss when there is no validation split).
  float initial_loss = 0.f;
  /// Mean training loss over the last (up to 20) steps.
  float final_train_loss = 0.f;
  /// Validation loss and perplexity exp(loss) at the end (NaN without a validation split).
  float final_val_loss = 0.f;
  float final_val_perplexity = 0.f;
  /// The training loss of every step this run took, in order.
  std::vector<float> train_losses;
  /// (step, validation loss) at each evaluation.
  std::vector<std::pair<int64_t, float>> val_losses;
  /// The step reached (counting resumed steps) and the steps this run took.
  int64_t steps = 0;
  int64_t steps_run = 0;
  /// Target tokens (not padding) per second of training, and wall time of the run.
  double tokens_per_second = 0;
  double seconds = 0;
  /// Number of training and validation captions.
  int64_t train_captions = 0;
  int64_t val_captions = 0;
};

/// Pretrains `gpt` on `corpus` (one caption per entry, tokenized once with
/// `<|bos|>`/`<|eos|>` by `tokenizer`): AdamW, linear warm-up then cosine
/// decay, gradient clipping, validation, checkpoints and resume, progress
/// reports to `options.on_progress`. Throws `fresco::Error` for an empty corpus, a caption longer than
/// the context after tokenization, a vocabulary smaller than 256 + 3, a
/// tokenizer larger than the model's vocabulary, or bad options.
///
///     auto tok = fresco::text::BpeTokenizer::train(captions, 512);
///     fresco::text::Gpt gpt({.vocab_size = 512});
///     auto summary = fresco::text::pretrain(gpt, tok, captions,
///                                          {.minutes = 3, .checkpoint_dir = "run", .on_progress = fresco::progress_bar()});
PretrainSummary pretrain(Gpt& gpt, const BpeTokenizer& tokenizer, const std::vector<std::string>& corpus,
                         PretrainOptions options = {});

}  // namespace fresco::text
