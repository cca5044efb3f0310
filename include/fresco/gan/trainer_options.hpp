// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file
/// `gan::GanTrainerOptions`: what `GanTrainer` does, grouped by part (optimiser,
/// penalty, contrastive losses, alignment, text model, output). Every field has
/// a default; `GanTrainer`'s constructor checks them all (`check_options`).
/// docs/text-to-image.md has the experiments behind the defaults.
///
///     fresco::gan::GanTrainerOptions o{.batch_size = 32, .minutes = 5};
///     o.optimizer.lr_d = 4e-4f;
///     o.contrastive.hard_negatives = 4;
///     o.output.dir = "run";

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <fresco/dist/process_group.hpp>
#include <fresco/progress.hpp>

namespace fresco::gan {

/// The adversarial loss of both nets.
enum class GanLoss {
  hinge,   ///< D: E[relu(1 - D(real))] + E[relu(1 + D(fake))]; G: -E[D(fake)]
  bce,     ///< binary cross-entropy with logits (the original GAN loss, non-saturating for G)
};

/// The name of a loss as the command line spells it: "hinge" or "bce".
const char* to_string(GanLoss loss);
/// The loss named "hinge" or "bce"; throws `fresco::Error` listing both for any other name.
GanLoss parse_gan_loss(const std::string& name);

/// Adam for both nets, gradient clipping and the average of G's weights.
struct GanOptimizerOptions {
  float lr_g = 2e-4f;   ///< G's learning rate
  float lr_d = 2e-4f;   ///< D's learning rate
  float beta1 = 0.5f;   ///< Adam's β1 for both nets
  float beta2 = 0.999f; ///< Adam's β2 for both nets
  /// Clip each net's gradient to this total L2 norm (0: no clipping); the alignment stage too.
  float clip_grad = 10.f;
  /// Decay of the exponential moving average of G's weights (0: the average is G itself);
  /// step t uses min(ema_decay, (1 + t) / (10 + t)), so short runs average recent weights.
  float ema_decay = 0.999f;
};

/// DF-GAN's matching-aware gradient penalty k · E[‖∇(x, s) D(x, s)‖^p] on (real image,
/// matching sentence) pairs (Tao et al. 2022).
struct GanPenaltyOptions {
  float weight = 2.f;    ///< k (0: off)
  float power = 6.f;     ///< p
  int64_t every = 1;     ///< apply it every this many steps, weighted by this factor (lazy regularisation)
};

/// The image-caption contrastive losses (XMC-GAN, Zhang et al. 2021) and the negative captions.
/// D learns to pick each real image's caption among the batch's captions and the negatives
/// (symmetric InfoNCE on `Discriminator::similarity`); G is rewarded when D picks its images'
/// captions likewise. Every image meets every caption of the batch: a far denser signal of what
/// a caption says than the one mismatched pair of the matching-aware loss.
struct GanContrastiveOptions {
  /// Weight of both contrastive losses (0: off).
  float weight = 1.f;
  /// Random captions of the data that join every contrastive loss as negatives each step (on the
  /// caption side). A batch rarely holds two captions that differ in one attribute only; among a
  /// few hundred more, several do.
  int64_t negatives = 256;
  /// Hard negatives per image and step (0: none): captions of other images whose labels
  /// (`CaptionedImages::labels`) differ from the image's own in exactly one place, each place in
  /// turn (see `NegativeSampler`). Data without labels gets random captions instead.
  int64_t hard_negatives = 8;
  /// Temperature τ of the similarities (the alignment stage uses it too).
  float temperature = 0.1f;
  /// Share in [0, 1] of the matching-aware loss's mismatched pairs (a real image with a caption
  /// not its own) whose caption is the image's first hard negative instead of its batch
  /// neighbour's: D must then check each attribute, not only those that usually change together.
  /// Without hard negatives every pair takes the neighbour's.
  float hard_mismatch = 0.5f;
};

/// The text-image alignment stage that runs before the first GAN step (`align_text_and_images`).
/// A GPT pretrained by next-token prediction gives words that can stand in each other's place
/// ("top" and "bottom") nearly the same vectors; alignment trains its embeddings and first block
/// jointly with D's features on real (image, caption) pairs, by the contrastive loss plus the
/// next-token loss, as AttnGAN's DAMSM encoders are trained before its GAN (Xu et al. 2018).
struct AlignOptions {
  /// Steps of the stage (0: none).
  int64_t steps = 1000;
  /// Align the sentence vectors themselves: D's text head is set to the identity (zero bias) and
  /// held there during the stage, so captions are told apart in the space the generator reads.
  /// Needs the discriminator's embed_dim equal to its text_dim.
  bool align_sentences = true;
  /// Adam's learning rate for the GPT and D (default betas).
  float lr = 1e-3f;
  /// Weight of the next-token loss, which keeps the GPT a language model.
  float text_loss_weight = 1.f;
};

/// The text model during the GAN steps.
struct GanTextOptions {
  /// Fine-tune the text model: its sentence and word vectors get G's gradient, plus
  /// `loss_weight` · its next-token loss. false keeps it frozen.
  bool finetune = false;
  float loss_weight = 0.1f;   ///< weight of the next-token loss when fine-tuning
  float lr = 5e-5f;           ///< Adam's learning rate when fine-tuning
  /// Before the first GAN step, set the generators' `sentence_mean` and `sentence_scale` from the
  /// training captions (see `GanTrainer::standardise_sentences`).
  bool standardise_sentences = true;
};

/// What the trainer writes, and where.
struct GanOutputOptions {
  /// Where the checkpoint (`checkpoint.safetensors`), samples (`samples/`) and the metrics log
  /// (`metrics.jsonl`) go; "" writes nothing.
  std::string dir;
  int64_t checkpoint_every = 500;   ///< checkpoint every this many steps (and at the end); 0: at the end only
  int64_t sample_every = 250;       ///< sample grid every this many steps (and at the end); 0: at the end only
  int64_t log_every = 10;           ///< metrics log line every this many steps
  /// Prompts of the sample grids (rows); empty: the first 8 distinct training captions.
  std::vector<std::string> sample_prompts;
  int64_t samples_per_prompt = 8;   ///< images per prompt in the sample grids (columns)
  /// Resume from `dir/checkpoint.safetensors` when it exists.
  bool resume = true;
};

/// Options of `GanTrainer`. Checked in its constructor.
struct GanTrainerOptions {
  /// The adversarial loss of both nets.
  GanLoss loss = GanLoss::hinge;
  /// Image-caption pairs per step.
  int64_t batch_size = 64;
  /// Total steps (one D update then one G update each).
  int64_t steps = 10000;
  /// Wall-clock budget in minutes (0: none), alignment included; training stops at `steps` or the budget.
  double minutes = 0;
  /// Stop this run at this step (0: none); a later run resumes from the checkpoint.
  int64_t stop_at_step = 0;
  /// Seed of the data order, the noise and everything random in a step.
  uint64_t seed = 0;
  GanOptimizerOptions optimizer;       ///< Adam, clipping, the EMA
  GanPenaltyOptions penalty;           ///< MA-GP
  GanContrastiveOptions contrastive;   ///< contrastive losses, negatives, hard mismatches
  AlignOptions alignment;              ///< the stage before the GAN
  GanTextOptions text;                 ///< frozen or fine-tuned text model
  GanOutputOptions output;             ///< checkpoints, samples, metrics
  /// Receives the progress of the alignment stage ("align") and of the GAN steps ("gan"), once
  /// a step; empty: silent. `fresco::progress_bar()` draws a bar.
  ProgressCallback on_progress;
  /// Data-parallel training (docs/distributed.md): each process of the
  /// group takes its share of every step's batch (`batch_size` is per
  /// process: the global batch is world_size · batch_size), with its own
  /// noise; the generator's, the discriminator's and the text model's
  /// gradients are averaged in their backward passes, and the generator's
  /// backward pass through the frozen discriminator starts no all-reduce of
  /// the discriminator's (frozen parameters fire no gradient hooks). The
  /// normalisation statistics (buffers) are rank 0's, copied to every
  /// process after each step. Rank 0 alone writes checkpoints, samples and
  /// metrics and reports progress; every process resumes from the
  /// checkpoint. Null: this process alone.
  std::shared_ptr<dist::ProcessGroup> group = nullptr;
};

/// Throws `fresco::Error` naming the first option out of its range.
void check_options(const GanTrainerOptions& options);

}  // namespace fresco::gan
