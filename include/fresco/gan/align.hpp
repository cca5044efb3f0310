// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file
/// `gan::align_text_and_images`: the text-image alignment stage that runs
/// before the GAN (see `AlignOptions`).

#include <cstdint>
#include <functional>

#include <fresco/gan/discriminator.hpp>
#include <fresco/gan/batch.hpp>
#include <fresco/gan/trainer_options.hpp>
#include <fresco/progress.hpp>
#include <fresco/text/gpt.hpp>

namespace fresco::gan {

/// What the alignment stage did.
struct GanAlignSummary {
  int64_t steps = 0;      ///< alignment steps taken (0: the stage was off)
  double seconds = 0;     ///< wall time of the stage
  float first_loss = 0;   ///< contrastive loss of the first step (chance: about ln(batch_size + negatives))
  float last_loss = 0;    ///< mean contrastive loss of the last 10 steps
  float text_loss = 0;    ///< mean next-token loss of the last 10 steps
};

/// The parts of the GAN's options that alignment shares with the GAN steps.
struct AlignLossOptions {
  float temperature = 0.1f;   ///< of the contrastive similarities (`GanContrastiveOptions::temperature`)
  float clip_grad = 10.f;     ///< total gradient norm (0: no clipping)
};

/// `options.steps` Adam updates of the GPT's parameters and D's (the symmetric contrastive loss of
/// D's image features against the captions' sentence vectors and the batch's negatives, plus
/// `options.text_loss_weight` · the GPT's next-token loss) on `batch(0)`, `batch(1)`, ...: the
/// batches the GAN will see. With `align_sentences`, D's text head is set to the identity and held
/// there. The GPT runs in eval mode (no dropout), so the stage is a function of the batches; its
/// mode is restored after. The negatives' sentence vectors carry no gradient (as a MoCo queue).
/// Throws `fresco::Error` naming the step when a loss is not finite. Reports as stage "align".
GanAlignSummary align_text_and_images(Discriminator& d, text::Gpt& gpt,
                                      const std::function<GanBatch(int64_t)>& batch, const AlignOptions& options,
                                      const AlignLossOptions& loss = {}, const ProgressCallback& on_progress = {});

}  // namespace fresco::gan
