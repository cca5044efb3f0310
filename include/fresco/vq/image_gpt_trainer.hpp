// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file
/// Training a `vq::ImageGpt` on captioned images already turned into codes by
/// a `vq::ImageTokenizer`: AdamW with a warm-up and cosine schedule over the
/// step or time budget, the image loss plus the weighted text loss, the caption
/// dropped for a share of the samples (classifier-free guidance), checkpoints
/// that resume bit for bit, sample grids and a metrics log.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <fresco/dist/process_group.hpp>
#include <fresco/progress.hpp>
#include <fresco/text/tokenizer.hpp>
#include <fresco/vq/image_gpt.hpp>
#include <fresco/vq/image_tokenizer.hpp>

namespace fresco::vq {

/// Options of `ImageGptTrainer`, checked in its constructor.
struct ImageGptTrainerOptions {
  /// Captions (with their images' codes) per step.
  int64_t batch_size = 64;
  /// At most this many steps.
  int64_t steps = 100000;
  /// Wall-clock budget in minutes (0: none). The learning-rate decay follows
  /// whichever of steps and clock is further along.
  double minutes = 0;
  /// Seed of the batches and the caption dropout.
  uint64_t seed = 0;
  /// AdamW: peak learning rate (after `warmup_steps` of linear warm-up, cosine decay to `min_lr`),
  /// betas and decoupled weight decay.
  float lr = 1e-3f;
  float min_lr = 5e-5f;
  int64_t warmup_steps = 100;
  float beta1 = 0.9f;
  float beta2 = 0.95f;
  float weight_decay = 0.01f;
  /// Clip the gradient to this total L2 norm (0: no clipping).
  float clip_grad = 1.f;
  /// Weight of the captions' next-token loss beside the image tokens' loss.
  float text_weight = 0.1f;
  /// Share of the samples whose caption is replaced by the empty one (what
  /// classifier-free guidance needs), in [0, 1).
  float caption_dropout = 0.1f;
  /// Clips only: extra weight of the image loss on the codes that differ from
  /// the frame before at the same place (`ImageGpt::loss`'s change_weight), so
  /// that what moves counts beside the background that is copied. 0: none.
  float change_weight = 0.f;
  /// Where `checkpoint.safetensors`, `samples/` and `metrics.jsonl` go; "" writes nothing.
  std::string out_dir;
  int64_t checkpoint_every = 500;   ///< 0: at the end only
  int64_t sample_every = 250;       ///< 0: at the end only
  int64_t log_every = 10;           ///< metrics log line every this many steps
  /// Captions of the sample grids (one row each; empty: the first 8 distinct training captions)
  /// and images per caption.
  std::vector<std::string> sample_prompts;
  int64_t samples_per_prompt = 8;
  /// How the sample grids are drawn.
  ImageSampleOptions sampling;
  /// Resume from out_dir/checkpoint.safetensors when it exists.
  bool resume = true;
  /// Receives a report a step (stage "transformer"); empty: silent.
  ProgressCallback on_progress;
  /// Data-parallel training (docs/distributed.md): each process of the
  /// group takes its share of every step's batch (`batch_size` is per
  /// process), gradients are averaged, and the slowest process's clock ends
  /// the budget. Rank 0 alone writes checkpoints, samples and metrics and
  /// reports; every process resumes from the checkpoint. Null: this process alone.
  std::shared_ptr<dist::ProcessGroup> group = nullptr;
};

/// What `ImageGptTrainer::train` did.
struct ImageGptTrainSummary {
  int64_t steps = 0;        ///< step reached (counting resumed steps)
  int64_t steps_run = 0;    ///< steps this run took
  double seconds = 0;       ///< wall time of the run
  float image_loss = 0;     ///< mean image loss over the last (up to) 50 steps
  float text_loss = 0;      ///< mean text loss over the last (up to) 50 steps
};

/// Trains `model` on `captions` and their images' `codes` (N · grid² ids, row-major; from
/// `image_tokenizer.encode`). Keeps `model`, `tokenizer` and `image_tokenizer` by reference.
/// Step t's batch and dropped captions come from the stream (seed, t), so a resumed run
/// continues bit for bit.
///
///     fresco::vq::ImageGptTrainer trainer(gpt, bpe, vq, captions, vq.encode(images), {.minutes = 10, .out_dir = "run"});
///     trainer.train();
class ImageGptTrainer {
public:
  /// Throws `fresco::Error` for options out of range, codes that do not match the captions,
  /// the model or the image tokenizer, or a caption longer than the model's caption_length.
  ImageGptTrainer(ImageGpt& model, const text::BpeTokenizer& tokenizer, const ImageTokenizer& image_tokenizer,
                  const std::vector<std::string>& captions, std::vector<int64_t> codes,
                  ImageGptTrainerOptions options = {});
  ~ImageGptTrainer();
  ImageGptTrainer(const ImageGptTrainer&) = delete;
  ImageGptTrainer& operator=(const ImageGptTrainer&) = delete;

  /// Runs steps until `steps` or the budget, resuming first when asked. Throws `fresco::Error`
  /// naming the step when a loss is not finite (the last checkpoint is left as it was).
  ImageGptTrainSummary train();
  /// One optimiser step at learning rate `lr`; returns its losses.
  ImageGptLosses train_step(float lr);
  /// The model, the optimiser and the step, in one file.
  void save_checkpoint(const std::string& path) const;
  /// Restores what `save_checkpoint` wrote; throws `fresco::Error` / `IoError` naming the file.
  void load_checkpoint(const std::string& path);
  /// A grid with one row of `samples_per_prompt` images per sample prompt; for a clip
  /// model (frames > 1) one clip a row, its frames side by side, and the clips
  /// playing as a GIF beside it (the same path with ".gif").
  void write_samples(const std::string& path) const;
  /// Steps taken so far (resumed ones included).
  int64_t step() const;

private:
  struct State;
  std::unique_ptr<State> s_;
};

}  // namespace fresco::vq
