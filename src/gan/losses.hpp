// SPDX-License-Identifier: Apache-2.0
#pragma once
// The losses of the GAN trainer's steps and of the alignment stage.
// Legend: B batch, K extra negative captions, D text_dim, F D's feature size.
#include <fresco/gan/conditioning.hpp>
#include <fresco/gan/discriminator.hpp>
#include <fresco/gan/batch.hpp>
#include <fresco/gan/trainer_options.hpp>
#include <fresco/tensor/tensor.hpp>
#include <fresco/text/gpt.hpp>

namespace fresco::gan::detail {

/// D's adversarial loss on its logits for (real, caption), (fake, caption) and (real, another
/// caption): the fake and mismatched terms share the weight of the real one.
Tensor discriminator_loss(GanLoss loss, const Tensor& d_real, const Tensor& d_fake, const Tensor& d_mismatch);
/// G's adversarial loss on D's logits for its images.
Tensor generator_loss(GanLoss loss, const Tensor& d_fake);

/// DF-GAN's matching-aware gradient penalty (Tao et al. 2022), weighted for lazy application:
/// k · every · E[‖(∇_x D, ∇_s D)‖^p] of `d_real` [B] with respect to the real images [B, C, S, S]
/// and their sentence vectors [B, D], both of which must require gradients.
Tensor matching_aware_penalty(const Tensor& d_real, const Tensor& real, const Tensor& sentence,
                              const GanPenaltyOptions& penalty);

/// The contrastive loss of image features `h` [B, F] against their own captions' sentence
/// vectors [B, D] and the negatives [K, D] (may be undefined). Real images are centred on their
/// batch's mean; G's images (`real_images` given) on the mean embedding of those real images,
/// never on their own batch (see `Discriminator::similarity`).
Tensor caption_contrastive(const Discriminator& d, const Tensor& h, const Tensor& sentence, const Tensor& negatives,
                           float temperature, const Tensor& real_images = {});

/// The caption features of a batch: encoded with a graph when the text model is fine-tuned,
/// otherwise those `GanTrainer::batch` already computed (or, for a batch made elsewhere, encoded now).
TextFeatures text_features(const text::Gpt& gpt, const GanBatch& b, bool finetune);

/// The sentence vectors of a batch's negative captions (undefined without any), never differentiated.
Tensor negative_sentences(const text::Gpt& gpt, const GanBatch& b);

}  // namespace fresco::gan::detail
