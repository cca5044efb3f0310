// SPDX-License-Identifier: Apache-2.0
#include <fresco/gan/trainer_options.hpp>

#include <fresco/error.hpp>

namespace fresco::gan {

const char* to_string(GanLoss loss) { return loss == GanLoss::hinge ? "hinge" : "bce"; }

GanLoss parse_gan_loss(const std::string& name) {
  if (name == "hinge") return GanLoss::hinge;
  if (name == "bce") return GanLoss::bce;
  throw Error(fmt::format("GanTrainer: loss must be \"hinge\" or \"bce\", got \"{}\"", name));
}

namespace {

void check(const GanOptimizerOptions& o) {
  FRESCO_CHECK(o.lr_g > 0 && o.lr_d > 0, "GanTrainer: optimizer.lr_g and lr_d must be positive, got {} and {}", o.lr_g,
               o.lr_d);
  FRESCO_CHECK(o.beta1 >= 0 && o.beta1 < 1 && o.beta2 >= 0 && o.beta2 < 1,
               "GanTrainer: optimizer.beta1 and beta2 must be in [0, 1), got {} and {}", o.beta1, o.beta2);
  FRESCO_CHECK(o.clip_grad >= 0, "GanTrainer: optimizer.clip_grad must be >= 0, got {}", o.clip_grad);
  FRESCO_CHECK(o.ema_decay >= 0 && o.ema_decay < 1, "GanTrainer: optimizer.ema_decay must be in [0, 1), got {}",
               o.ema_decay);
}

void check(const GanPenaltyOptions& o) {
  FRESCO_CHECK(o.weight >= 0 && o.power > 0 && o.every >= 1,
               "GanTrainer: need penalty.weight >= 0, penalty.power > 0 and penalty.every >= 1, got {}, {} and {}",
               o.weight, o.power, o.every);
}

void check(const GanContrastiveOptions& o) {
  FRESCO_CHECK(o.weight >= 0 && o.temperature > 0,
               "GanTrainer: need contrastive.weight >= 0 and contrastive.temperature > 0, got {} and {}", o.weight,
               o.temperature);
  FRESCO_CHECK(o.negatives >= 0 && o.hard_negatives >= 0,
               "GanTrainer: contrastive.negatives and contrastive.hard_negatives must be >= 0, got {} and {}",
               o.negatives, o.hard_negatives);
  FRESCO_CHECK(o.hard_mismatch >= 0 && o.hard_mismatch <= 1,
               "GanTrainer: contrastive.hard_mismatch must be in [0, 1], got {}", o.hard_mismatch);
}

void check(const AlignOptions& o) {
  FRESCO_CHECK(o.steps >= 0 && o.lr > 0 && o.text_loss_weight >= 0,
               "GanTrainer: need alignment.steps >= 0, alignment.lr > 0 and alignment.text_loss_weight >= 0, got {}, "
               "{} and {}",
               o.steps, o.lr, o.text_loss_weight);
}

void check(const GanTextOptions& o) {
  FRESCO_CHECK(o.lr > 0 && o.loss_weight >= 0, "GanTrainer: need text.lr > 0 and text.loss_weight >= 0, got {} and {}",
               o.lr, o.loss_weight);
}

void check(const GanOutputOptions& o) {
  FRESCO_CHECK(o.log_every >= 1 && o.samples_per_prompt >= 1,
               "GanTrainer: output.log_every and output.samples_per_prompt must be >= 1, got {} and {}", o.log_every,
               o.samples_per_prompt);
  FRESCO_CHECK(o.checkpoint_every >= 0 && o.sample_every >= 0,
               "GanTrainer: output.checkpoint_every and output.sample_every must be >= 0, got {} and {}",
               o.checkpoint_every, o.sample_every);
}

}  // namespace

void check_options(const GanTrainerOptions& o) {
  FRESCO_CHECK(o.loss == GanLoss::hinge || o.loss == GanLoss::bce, "GanTrainer: loss must be hinge or bce, got {}",
               static_cast<int>(o.loss));
  FRESCO_CHECK(o.batch_size >= 2, "GanTrainer: batch_size must be at least 2, got {}", o.batch_size);
  FRESCO_CHECK(o.steps >= 1, "GanTrainer: steps must be positive, got {}", o.steps);
  FRESCO_CHECK(o.minutes >= 0 && o.stop_at_step >= 0, "GanTrainer: minutes and stop_at_step must be >= 0, got {} and {}",
               o.minutes, o.stop_at_step);
  check(o.optimizer);
  check(o.penalty);
  check(o.contrastive);
  check(o.alignment);
  check(o.text);
  check(o.output);
}

}  // namespace fresco::gan
