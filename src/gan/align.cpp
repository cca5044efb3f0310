// SPDX-License-Identifier: Apache-2.0
#include <fresco/gan/align.hpp>

#include <chrono>
#include <cmath>
#include <optional>

#include <fresco/autograd/autograd.hpp>
#include <fresco/error.hpp>
#include <fresco/nn/init.hpp>
#include <fresco/nn/mode_guard.hpp>
#include <fresco/ops/elementwise.hpp>
#include <fresco/optim/adam.hpp>

#include "gan/losses.hpp"

namespace fresco::gan {

namespace {

// Sets D's text head to the identity with zero bias.
void set_text_head_to_identity(Discriminator& d) {
  NoGradGuard guard;
  const int64_t e = d.config().embed_dim;
  float* w = d.text_embed.weight.data();
  std::fill(w, w + e * e, 0.f);
  for (int64_t i = 0; i < e; ++i) w[i * e + i] = 1.f;
  nn::init::zeros_(d.text_embed.bias);
}

// The report of step k (0-based) of `steps`.
Progress align_progress(int64_t k, int64_t steps, double elapsed, float contrastive, float text, int64_t captions) {
  const double rate = (k + 1) / std::max(elapsed, 1e-9);
  Progress p;
  p.stage = "align";
  p.step = k + 1;
  p.total = steps;
  p.elapsed = elapsed;
  p.fraction = static_cast<double>(k + 1) / static_cast<double>(steps);
  p.eta = (steps - k - 1) / std::max(rate, 1e-9);
  p.values = {{"contrastive", contrastive}, {"chance", std::log(static_cast<double>(captions))}, {"text", text},
              {"step/s", rate}};
  p.done = k + 1 == steps;
  return p;
}

}  // namespace

GanAlignSummary align_text_and_images(Discriminator& d, text::Gpt& gpt,
                                      const std::function<GanBatch(int64_t)>& batch, const AlignOptions& options,
                                      const AlignLossOptions& loss, const ProgressCallback& on_progress) {
  using Clock = std::chrono::steady_clock;
  GanAlignSummary summary;
  const int64_t steps = options.steps;
  if (steps <= 0) return summary;
  const auto start = Clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(Clock::now() - start).count(); };
  std::optional<nn::FreezeGuard> held;   // D's text head, at the identity, when the sentences align
  if (options.align_sentences) {
    set_text_head_to_identity(d);
    held.emplace(d.text_embed);
  }
  std::vector<Tensor> params;
  for (const auto& p : d.parameters())
    if (p.requires_grad()) params.push_back(p);
  for (const auto& p : gpt.parameters()) params.push_back(p);
  optim::Adam opt(params, optim::AdamOptions{.lr = options.lr});
  nn::ModeGuard no_dropout(gpt, false);
  double tail_c = 0, tail_t = 0;
  int64_t tail_n = 0;
  for (int64_t k = 0; k < steps; ++k) {
    GanBatch b = batch(k);
    const TextFeatures tf = encode_tokens(gpt, b.tokens);
    Tensor c = detail::caption_contrastive(d, d.features(b.images.detach()), tf.sentence,
                                           detail::negative_sentences(gpt, b), loss.temperature);
    Tensor t = gpt.loss(b.tokens.ids, b.tokens.batch, b.tokens.seq);
    Tensor total = c + t * options.text_loss_weight;
    const float cv = c.item(), tv = t.item();
    if (!std::isfinite(cv) || !std::isfinite(tv))
      throw Error(fmt::format("GanTrainer: alignment step {}: the contrastive loss is {} and the next-token loss {}; "
                              "try a lower alignment.lr",
                              k, cv, tv));
    if (k == 0) summary.first_loss = cv;
    if (k >= steps - 10) tail_c += cv, tail_t += tv, ++tail_n;
    opt.zero_grad();
    total.backward();
    if (loss.clip_grad > 0) optim::clip_grad_norm(params, loss.clip_grad);
    opt.step();
    if (on_progress) on_progress(align_progress(k, steps, elapsed(), cv, tv, b.images.size(0) + b.negatives.batch));
  }
  opt.zero_grad();
  summary.steps = steps;
  summary.seconds = elapsed();
  summary.last_loss = static_cast<float>(tail_c / std::max<int64_t>(tail_n, 1));
  summary.text_loss = static_cast<float>(tail_t / std::max<int64_t>(tail_n, 1));
  return summary;
}

}  // namespace fresco::gan
