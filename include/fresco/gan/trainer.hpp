// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file
/// `gan::GanTrainer`: stage 2 of the text-to-image pipeline, adversarial
/// training of a `Generator` against a matching-aware `Discriminator`, both
/// conditioned on a (frozen or fine-tuned) `text::Gpt`. Its parts have their
/// own headers: the options (`trainer_options.hpp`), the negative captions
/// (`negatives.hpp`), the alignment stage (`align.hpp`) and the average of G's
/// weights (`ema.hpp`).

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <fresco/gan/align.hpp>
#include <fresco/gan/batch.hpp>
#include <fresco/gan/captioned_images.hpp>
#include <fresco/gan/discriminator.hpp>
#include <fresco/gan/generator.hpp>
#include <fresco/gan/trainer_options.hpp>
#include <fresco/text/gpt.hpp>
#include <fresco/text/tokenizer.hpp>

namespace fresco::gan {

/// The losses of one step (0 where a phase has not run).
struct GanStepLosses {
  float d_loss = 0;          ///< adversarial D loss (without the penalty)
  float d_real = 0;          ///< mean D logit on (real, matching caption)
  float d_fake = 0;          ///< mean D logit on (G(z, caption), caption)
  float d_mismatch = 0;      ///< mean D logit on (real, another image's caption)
  float gp = 0;              ///< the weighted MA-GP term
  float d_contrastive = 0;   ///< D's contrastive loss on real images (unweighted; 0 when off)
  float g_contrastive = 0;   ///< G's contrastive loss on its images (unweighted; 0 when off)
  float g_loss = 0;          ///< adversarial G loss
  float text_loss = 0;       ///< next-token loss when fine-tuning the text model
};

/// What `GanTrainer::train` did.
struct GanTrainSummary {
  int64_t steps = 0;             ///< step reached (counting resumed steps)
  int64_t steps_run = 0;         ///< steps taken by this run
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
/// as real, and (G(z, caption), caption) and (real, another caption) as fake.
/// Every random draw of step t comes from streams seeded by (seed, t), and
/// the batch of step t from the epoch permutations seeded by (seed, epoch),
/// so a run resumed from a checkpoint continues bit for bit.
///
///     fresco::gan::GanTrainer trainer(g, d, gpt, tokenizer, data, {.minutes = 5, .output = {.dir = "run"}});
///     auto summary = trainer.train();
///     fresco::Tensor images = trainer.ema_generator()(z, sentence, words, mask);
class GanTrainer {
public:
  /// Throws `fresco::Error` for options out of range (`check_options`), data that does not
  /// validate, or models that do not fit the data and each other.
  GanTrainer(Generator& generator, Discriminator& discriminator, text::Gpt& gpt,
             const text::BpeTokenizer& tokenizer, CaptionedImages data, GanTrainerOptions options = {});
  ~GanTrainer();
  GanTrainer(const GanTrainer&) = delete;
  GanTrainer& operator=(const GanTrainer&) = delete;

  /// Runs steps until `steps`, the time budget or `stop_at_step`; resumes first
  /// when asked and a checkpoint exists. Throws `fresco::Error` naming the
  /// step and the loss when a loss is NaN or infinite (the last checkpoint is left as it was).
  GanTrainSummary train();

  /// The alignment stage (`align_text_and_images` with the options' alignment part) on this
  /// trainer's batches. `train()` runs it before step 0 of a run that does not resume.
  GanAlignSummary align();
  /// Sets G's and the EMA's `sentence_mean` and `sentence_scale` to the mean of the sentence vectors
  /// of (up to 4,096 of) the training captions and 1 / their RMS deviation per dimension, so the
  /// generator reads what tells captions apart at unit scale. `train` calls it at step 0, after
  /// alignment (when `text.standardise_sentences`); a resumed run restores them from the checkpoint.
  void standardise_sentences();

  /// The batch of step `step` (deterministic).
  GanBatch batch(int64_t step) const;
  /// One discriminator update on `batch`; fills the d_* and gp fields.
  GanStepLosses d_step(const GanBatch& batch);
  /// One generator update (and EMA update) on `batch`; fills g_loss, g_contrastive and text_loss.
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

  /// Measures the EMA generator's own BatchNorm statistics (`EmaGenerator::refresh_statistics`)
  /// on fixed training captions; leaves it in eval mode. `train()` calls it before each
  /// sample grid and at the end.
  void refresh_ema_statistics();

  /// Steps taken so far (including resumed ones).
  int64_t step() const;
  /// The average of G's weights (in eval mode).
  Generator& ema_generator();
  /// The options the trainer was built with.
  const GanTrainerOptions& options() const;

private:
  struct State;
  std::unique_ptr<State> s_;
};

}  // namespace fresco::gan
