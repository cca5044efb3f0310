// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file
/// `gan::GanTrainer`: stage 2 of the text-to-image pipeline, adversarial
/// training of a `Generator` against a matching-aware `Discriminator`, both
/// conditioned on a (frozen or fine-tuned) `text::Gpt`.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <fresco/gan/captioned_images.hpp>
#include <fresco/gan/conditioning.hpp>
#include <fresco/gan/discriminator.hpp>
#include <fresco/gan/generator.hpp>
#include <fresco/tensor/random.hpp>
#include <fresco/optim/adam.hpp>
#include <fresco/text/gpt.hpp>
#include <fresco/text/tokenizer.hpp>

namespace fresco::gan {

/// Options of `GanTrainer`. Checked in its constructor.
struct GanTrainerOptions {
  /// "hinge" (default) or "bce" (BCE with logits).
  std::string loss = "hinge";
  /// Image-caption pairs per step.
  int64_t batch_size = 64;
  /// Total steps (one D update then one G update each).
  int64_t steps = 10000;
  /// Wall-clock budget in minutes (0: none), alignment included; training stops at `steps` or the budget.
  double minutes = 0;
  /// Stop this run at this step (0: none); a later run resumes from the checkpoint.
  int64_t stop_at_step = 0;
  /// Adam for both nets: learning rates and betas.
  float lr_g = 2e-4f;
  float lr_d = 2e-4f;
  float beta1 = 0.5f;
  float beta2 = 0.999f;
  /// Weight k of DF-GAN's matching-aware gradient penalty k · E[‖∇(x, s) D(x, s)‖^p]
  /// on (real image, matching sentence) pairs (0: off).
  float ma_gp = 2.f;
  /// Exponent p of the penalty.
  float ma_gp_power = 6.f;
  /// Apply the penalty every this many steps, weighted by this factor (lazy regularisation).
  int64_t ma_gp_every = 1;
  /// Steps of text-image alignment before the first GAN step (0: none). A GPT pretrained by next-token
  /// prediction gives words that can stand in each other's place ("top" and "bottom", "circle" and
  /// "square") nearly the same vectors, since they predict the same next tokens: its features tell
  /// captions apart by phrasing far more than by what they describe. Alignment trains the GPT's
  /// embeddings and first block (the part `encode_tokens` reads) jointly with the discriminator's
  /// features and contrastive heads on real (image, caption) pairs, by the symmetric InfoNCE loss of
  /// `contrastive` plus `align_text_loss_weight` · the next-token loss, as AttnGAN's DAMSM encoders are
  /// trained before its GAN (Xu et al. 2018). The text model is then frozen (or fine-tuned) as usual.
  int64_t align_steps = 1000;
  /// Align the sentence vectors themselves: D's text head is set to the identity (zero bias) and held
  /// there during alignment, so the captions are told apart in the space the generator reads.
  /// Through a learned head, alignment separated captions the sentence vectors hardly told apart
  /// (circle against square stayed at cosine 0.997 after centring, closer than two phrasings of
  /// one scene), and the generator could not follow what only D's head amplified. Needs the
  /// discriminator's embed_dim equal to its text_dim; the head trains from the identity in the GAN.
  bool align_sentences = true;
  /// Before the first GAN step, set the generators' `sentence_mean` and `sentence_scale` from the
  /// training captions (see `GanTrainer::standardise_sentences`).
  bool standardise_sentences = true;
  /// Adam learning rate of the alignment stage (default betas), for the GPT and D alike.
  float lr_align = 1e-3f;
  /// Weight of the next-token loss during alignment, which keeps the GPT a language model.
  float align_text_loss_weight = 1.f;
  /// Weight of the image-caption contrastive losses (XMC-GAN, Zhang et al. 2021; 0: off). D learns to
  /// pick each real image's caption among the batch's captions (symmetric InfoNCE on
  /// `Discriminator::similarity`), and G is rewarded when D picks its images' captions likewise. Every
  /// image is compared with every caption of the batch, a far denser signal of what the caption says
  /// than the one mismatched pair of the matching-aware loss.
  float contrastive = 1.f;
  /// Extra captions, drawn at random from the data each step, that join every contrastive loss as
  /// negatives on the caption side (image -> caption direction). A batch of 32 rarely holds two
  /// captions that differ in one attribute only (the shape, say), so without them the losses barely
  /// ask for that attribute; among 256 more captions, several do.
  int64_t contrastive_negatives = 256;
  /// Hard negatives per image and step (0: none): captions of other images whose labels
  /// (`CaptionedImages::labels`) differ from the image's own in exactly one place, such as the same
  /// scene with a square instead of a circle. They join the random negatives, so every loss that
  /// sees negatives must tell apart captions that differ in one attribute, each attribute in turn
  /// (the place to change is drawn for each image; an image's k hard negatives change k different
  /// places when it has that many, then cycle through the places again). Data without labels gets
  /// random captions instead. The default, 8, changes every attribute of a Shapes scene twice: after
  /// 2,000 alignment and 2,500 GAN steps 2 gave 60% shape accuracy and 4 69%; in 20-minute runs 4
  /// gave 87% and 8 92%.
  int64_t contrastive_hard_negatives = 8;
  /// Temperature τ of the contrastive similarities.
  float contrastive_temperature = 0.1f;
  /// Share of the matching-aware loss's mismatched pairs (a real image with a caption not its own)
  /// whose caption is the image's first hard negative, which differs from its own caption in one
  /// attribute, instead of its batch neighbour's, which differs in several: D must then check each
  /// attribute, not only the ones that usually change together. In [0, 1]; 0: neighbours only.
  /// Without hard negatives (`contrastive_hard_negatives` 0) every pair takes the neighbour's.
  /// Shapes, 20 minutes on 2 cores, seeds 0, 1, 2 (shape accuracy, seen / held-out combinations):
  /// 0 gave 94.4 / 82.0, 81.4 / 55.7, 93.0 / 57.7%; the default, 0.5, 94.3 / 97.0, 92.4 / 72.0,
  /// 88.7 / 87.0% (and 98.4 / 96.0% at seed 3).
  float hard_mismatch = 0.5f;
  /// Clip each net's gradient to this total L2 norm (0: no clipping).
  float clip_grad = 10.f;
  /// Decay of the exponential moving average of G's weights (0: the average is G itself);
  /// step t uses min(ema_decay, (1 + t) / (10 + t)), so short runs average recent weights.
  float ema_decay = 0.999f;
  /// Fine-tune the text model: its sentence and word vectors get G's gradient,
  /// plus `text_loss_weight` · its next-token loss. false keeps it frozen.
  bool finetune_text = false;
  float text_loss_weight = 0.1f;
  float lr_text = 5e-5f;
  /// Where checkpoints (`checkpoint.safetensors`), samples (`samples/`) and
  /// the metrics log (`metrics.jsonl`) go; "" writes nothing.
  std::string out_dir = "";
  /// Checkpoint every this many steps (and at the end); 0: only at the end.
  int64_t checkpoint_every = 500;
  /// Sample grid every this many steps (and at the end); 0: only at the end.
  int64_t sample_every = 250;
  /// Metrics log line every this many steps.
  int64_t log_every = 10;
  /// Prompts of the sample grids (rows); empty: the first 8 distinct training captions.
  std::vector<std::string> sample_prompts;
  /// Images per prompt in the sample grids (columns).
  int64_t samples_per_prompt = 8;
  /// Resume from `out_dir/checkpoint.safetensors` when it exists.
  bool resume = true;
  /// Seed of the data order, the noise and everything random in a step.
  uint64_t seed = 0;
  /// Progress line on stderr at most every `progress_seconds`.
  bool progress = true;
  double progress_seconds = 2.0;
};

/// One step's batch: images [B, C, S, S] in [-1, 1] and their captions as tokens.
struct GanBatch {
  Tensor images;
  TokenBatch tokens;
  /// Dataset indices of the rows.
  std::vector<int64_t> indices;
  /// The frozen text model's features of the captions, computed once for both
  /// phases (undefined members when the text model is fine-tuned).
  TextFeatures text;
  /// The extra negative captions of the contrastive losses, when those losses (or hard
  /// mismatches with hard negatives) are on: the
  /// `contrastive_negatives` random ones, then `contrastive_hard_negatives` for each row of the
  /// batch (row by row), as tokens, and their sentence vectors [K, d_model] from the frozen text
  /// model (undefined when it is fine-tuned).
  TokenBatch negatives;
  Tensor negative_sentences;
};

/// The losses of one step (0 where a phase has not run).
struct GanStepLosses {
  float d_loss = 0;       ///< adversarial D loss (without the penalty)
  float d_real = 0;       ///< mean D logit on (real, matching caption)
  float d_fake = 0;       ///< mean D logit on (G(z, caption), caption)
  float d_mismatch = 0;   ///< mean D logit on (real, another image's caption)
  float gp = 0;           ///< the weighted MA-GP term
  float d_contrastive = 0;   ///< D's contrastive loss on real images (unweighted; 0 when off)
  float g_contrastive = 0;   ///< G's contrastive loss on its images (unweighted; 0 when off)
  float g_loss = 0;       ///< adversarial G loss
  float text_loss = 0;    ///< next-token loss when fine-tuning the text model
};

/// What `GanTrainer::align` did.
struct GanAlignSummary {
  int64_t steps = 0;      ///< alignment steps taken (0: the stage was off)
  double seconds = 0;     ///< wall time of the stage
  float first_loss = 0;   ///< contrastive loss of the first alignment step (chance: about ln(batch_size + negatives))
  float last_loss = 0;    ///< mean contrastive loss of the last 10 alignment steps
  float text_loss = 0;    ///< mean next-token loss of the last 10 alignment steps
};

/// What `GanTrainer::train` did.
struct GanTrainSummary {
  int64_t steps = 0;       ///< step reached (counting resumed steps)
  int64_t steps_run = 0;   ///< steps taken by this run
  double seconds = 0;            ///< wall time of the run, alignment included
  double steps_per_second = 0;   ///< GAN steps per second (alignment excluded)
  /// The losses of every step this run took, in order.
  std::vector<GanStepLosses> history;
};

/// Trains `generator` and `discriminator` (references kept: they must outlive
/// the trainer) on `data`. The trainer owns the EMA copy of the generator,
/// both Adam optimizers and the step counter.
///
/// One step: `d_step` then `g_step` on the same batch. D sees (real, caption)
/// as real, and (G(z, caption), caption) and (real, rolled caption) as fake.
/// Every random draw of step t comes from streams seeded by (seed, t), and
/// the batch of step t from the epoch permutations seeded by (seed, epoch),
/// so a run resumed from a checkpoint continues bit for bit.
///
///     fresco::gan::GanTrainer trainer(g, d, gpt, tokenizer, data, {.minutes = 5, .out_dir = "run"});
///     auto summary = trainer.train();
///     fresco::Tensor images = trainer.ema_generator()(z, sentence, words, mask);
class GanTrainer {
public:
  GanTrainer(Generator& generator, Discriminator& discriminator, text::Gpt& gpt,
             const text::BpeTokenizer& tokenizer, CaptionedImages data, GanTrainerOptions options = {});
  ~GanTrainer();

  /// Runs steps until `steps`, the time budget or `stop_at_step`; resumes first
  /// when asked and a checkpoint exists. Throws `fresco::Error` naming the
  /// step and the loss when a loss is NaN or infinite (the last checkpoint is left as it was).
  GanTrainSummary train();

  /// The text-image alignment stage (see `GanTrainerOptions::align_steps`): `align_steps` updates of
  /// the GPT and D on real pairs. `train()` runs it before step 0 of a run that does not resume.
  GanAlignSummary align();
  /// Sets G's and the EMA's `sentence_mean` and `sentence_scale` to the mean of the sentence vectors
  /// of (up to 4,096 of) the training captions and 1 / their RMS deviation per dimension, so the
  /// generator reads what tells captions apart at unit scale. `train` calls it at step 0, after
  /// alignment (when `standardise_sentences`); a resumed run restores them from the checkpoint.
  void standardise_sentences();

  /// The batch of step `step` (deterministic).
  GanBatch batch(int64_t step) const;
  /// One discriminator update on `batch`; fills the d_* and gp fields.
  GanStepLosses d_step(const GanBatch& batch);
  /// One generator update (and EMA update) on `batch`; fills g_loss and text_loss.
  GanStepLosses g_step(const GanBatch& batch);
  /// `batch(step())`, `d_step`, `g_step`, then step() + 1.
  GanStepLosses train_step();

  /// Writes G, D, the EMA generator, the text model, both optimizers and the
  /// step to one safetensors file (temporary file + rename).
  void save_checkpoint(const std::string& path) const;
  /// Restores everything `save_checkpoint` wrote. Throws `fresco::Error`/`IoError` naming the file.
  void load_checkpoint(const std::string& path);
  /// Writes a grid of the EMA generator's images of the sample prompts.
  void write_samples(const std::string& path) const;

  /// Measures the EMA generator's own BatchNorm statistics: the mean of the
  /// batch statistics of `kEmaStatisticsBatches` fixed training batches run
  /// through it in training mode; leaves it in eval mode. `train()` calls it
  /// before each sample grid and at the end.
  void refresh_ema_statistics();
  /// Batches averaged by `refresh_ema_statistics`.
  static constexpr int64_t kEmaStatisticsBatches = 16;

  /// Steps taken so far (including resumed ones).
  int64_t step() const { return step_; }
  Generator& ema_generator() { return *ema_; }
  const GanTrainerOptions& options() const { return options_; }

private:
  void update_ema();
  void check_finite(float value, const char* what) const;
  const std::vector<int64_t>& epoch_order(int64_t epoch) const;
  void log_metrics(const GanStepLosses& l, double elapsed) const;

  Generator& g_;
  Discriminator& d_;
  text::Gpt& gpt_;
  text::BpeTokenizer tokenizer_;
  CaptionedImages data_;
  GanTrainerOptions options_;
  std::unique_ptr<Generator> ema_;
  std::unique_ptr<optim::Adam> opt_g_, opt_d_, opt_text_;
  std::vector<std::vector<int64_t>> tokens_;   // tokenized captions of the data
  // Hard negatives: image i's label place p belongs to the group near_[near_offset_[i] + p] of the
  // images whose labels equal i's everywhere but at p (i included), sorted by their label at p.
  std::vector<int64_t> near_offset_;
  std::vector<int32_t> near_;
  std::vector<std::vector<int64_t>> near_groups_;
  int64_t hard_negative(int64_t i, int64_t attempt, uint64_t start, fresco::Generator& pick) const;
  // The frozen text model's sentence vectors of every training caption [N, d_model], which the
  // GAN steps of `train()` read their negatives from (undefined outside train() and when the text
  // model is fine-tuned).
  Tensor sentence_cache_;
  void cache_sentences();
  // The sentence vectors [n, d_model] of training captions 0..n-1 (text model in eval mode, no gradient).
  Tensor caption_sentences(int64_t n) const;
  std::vector<std::string> prompts_;
  int64_t step_ = 0;
  mutable int64_t cached_epoch_ = -1;
  mutable std::vector<int64_t> order_;
};

}  // namespace fresco::gan
