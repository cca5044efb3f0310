// SPDX-License-Identifier: Apache-2.0
#include "gan/losses.hpp"

#include <fresco/autograd/autograd.hpp>
#include <fresco/ops/elementwise.hpp>
#include <fresco/ops/loss.hpp>
#include <fresco/ops/reduce.hpp>
#include <fresco/ops/shape.hpp>

namespace fresco::gan::detail {

namespace {

// Symmetric InfoNCE. sim [B, B + K]: image i against the batch's B captions (its own is caption i)
// and K extra negative captions. The image -> caption direction picks among all B + K, the caption ->
// image direction among the B images.
Tensor contrastive_loss(const Tensor& sim) {
  const int64_t n = sim.size(0);
  std::vector<int64_t> diagonal(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) diagonal[static_cast<size_t>(i)] = i;
  Tensor by_caption = sim.slice(1, 0, n).transpose(0, 1).contiguous();
  return (cross_entropy(sim, diagonal) + cross_entropy(by_caption, diagonal)) * 0.5f;
}

}  // namespace

Tensor discriminator_loss(GanLoss loss, const Tensor& d_real, const Tensor& d_fake, const Tensor& d_mismatch) {
  if (loss == GanLoss::hinge)
    return mean(relu(1.f - d_real)) + (mean(relu(1.f + d_fake)) + mean(relu(1.f + d_mismatch))) * 0.5f;
  return binary_cross_entropy_with_logits(d_real, ones_like(d_real)) +
         (binary_cross_entropy_with_logits(d_fake, zeros_like(d_fake)) +
          binary_cross_entropy_with_logits(d_mismatch, zeros_like(d_mismatch))) * 0.5f;
}

Tensor generator_loss(GanLoss loss, const Tensor& d_fake) {
  return loss == GanLoss::hinge ? -mean(d_fake) : binary_cross_entropy_with_logits(d_fake, ones_like(d_fake));
}

Tensor matching_aware_penalty(const Tensor& d_real, const Tensor& real, const Tensor& sentence,
                              const GanPenaltyOptions& penalty) {
  // Smooths D around the real data manifold and its captions. ‖·‖^p = (‖·‖²)^(p/2).
  auto grads = fresco::grad({sum(d_real)}, {real, sentence}, {}, {.retain_graph = true, .create_graph = true});
  Tensor sq = sum(grads[0] * grads[0], {1, 2, 3}) + sum(grads[1] * grads[1], {1});
  return mean(pow(sq, penalty.power / 2.f)) * (penalty.weight * static_cast<float>(penalty.every));
}

Tensor caption_contrastive(const Discriminator& d, const Tensor& h, const Tensor& sentence, const Tensor& negatives,
                           float temperature, const Tensor& real_images) {
  Tensor captions = negatives.defined() ? cat({sentence, negatives}, 0) : sentence;
  if (!real_images.defined()) return contrastive_loss(d.similarity(h, captions, temperature, /*centred=*/true));
  Tensor centre;
  {
    NoGradGuard guard;
    centre = mean(d.image_embed(d.features(real_images)), {0});
  }
  return contrastive_loss(d.similarity(h, captions, temperature, centre));
}

TextFeatures text_features(const text::Gpt& gpt, const GanBatch& b, bool finetune) {
  if (finetune) return encode_tokens(gpt, b.tokens);
  if (b.text.sentence.defined()) return b.text;
  NoGradGuard guard;
  return encode_tokens(gpt, b.tokens);
}

Tensor negative_sentences(const text::Gpt& gpt, const GanBatch& b) {
  if (b.negative_sentences.defined() || b.negatives.batch == 0) return b.negative_sentences;
  NoGradGuard guard;
  return encode_tokens(gpt, b.negatives).sentence;
}

}  // namespace fresco::gan::detail
