// SPDX-License-Identifier: Apache-2.0
// The GAN trainer's steps: batches, the discriminator step (matching-aware,
// with DF-GAN's MA-GP), the generator step, and what they share.
// Legend: B batch, C channels, S image side, D text_dim.
#include <fresco/gan/trainer.hpp>

#include <algorithm>
#include <cmath>

#include <fresco/autograd/autograd.hpp>
#include <fresco/error.hpp>
#include <fresco/nn/mode_guard.hpp>
#include <fresco/ops/elementwise.hpp>
#include <fresco/ops/reduce.hpp>
#include <fresco/ops/shape.hpp>
#include <fresco/tensor/random.hpp>

#include "gan/losses.hpp"
#include "gan/trainer_state.hpp"

namespace fresco::gan {

namespace {

// Throws fresco::Error unless the data, the models and the tokenizer fit each other.
void check_fit(const Generator& g, const Discriminator& d, const text::Gpt& gpt, const text::BpeTokenizer& tokenizer,
               const CaptionedImages& data, const GanTrainerOptions& o) {
  data.validate();
  FRESCO_CHECK(o.batch_size >= 2 && o.batch_size <= data.size(),
               "GanTrainer: batch_size must be in [2, {}] (the data size), got {}", data.size(), o.batch_size);
  FRESCO_CHECK(!o.alignment.align_sentences || o.alignment.steps == 0 || d.config().embed_dim == d.config().text_dim,
               "GanTrainer: alignment.align_sentences holds D's text head at the identity, which needs the "
               "discriminator's embed_dim ({}) equal to its text_dim ({}); set align_sentences = false or embed_dim = {}",
               d.config().embed_dim, d.config().text_dim, d.config().text_dim);
  const auto& gc = g.config();
  const auto& dc = d.config();
  const int64_t c = data.images.size(1), s = data.images.size(2);
  FRESCO_CHECK(gc.channels == c && gc.image_size == s && dc.channels == c && dc.image_size == s,
               "GanTrainer: the data is {}x{}x{} but the generator makes {}x{}x{} and the discriminator reads {}x{}x{}",
               c, s, s, gc.channels, gc.image_size, gc.image_size, dc.channels, dc.image_size, dc.image_size);
  const int64_t d_model = gpt.config().d_model;
  FRESCO_CHECK(gc.text_dim == d_model && dc.text_dim == d_model,
               "GanTrainer: the text model's d_model is {} but the generator's text_dim is {} and the "
               "discriminator's {}",
               d_model, gc.text_dim, dc.text_dim);
  FRESCO_CHECK(tokenizer.vocab_size() <= gpt.config().vocab_size,
               "GanTrainer: the tokenizer has {} tokens, more than the text model's vocabulary of {}",
               tokenizer.vocab_size(), gpt.config().vocab_size);
}

optim::AdamOptions adam(float lr, const GanOptimizerOptions& o) {
  return {.lr = lr, .beta1 = o.beta1, .beta2 = o.beta2};
}

}  // namespace

GanTrainer::State::State(Generator& generator, Discriminator& discriminator, text::Gpt& text_model,
                         const text::BpeTokenizer& tok, CaptionedImages training_data,
                         GanTrainerOptions trainer_options)
    : g(generator),
      d(discriminator),
      gpt(text_model),
      tokenizer(tok),
      data(std::move(training_data)),
      options(std::move(trainer_options)),
      group(options.group ? options.group : dist::single_process_group()),
      ddp_g(g, group),
      ddp_d(d, group),
      ddp_text(gpt, group),
      negatives(data.labels, data.size(), {options.contrastive.negatives, options.contrastive.hard_negatives}),
      ema(generator, options.optimizer.ema_decay),
      opt_g(g.parameters(), adam(options.optimizer.lr_g, options.optimizer)),
      opt_d(d.parameters(), adam(options.optimizer.lr_d, options.optimizer)) {
  tokens.reserve(data.captions.size());
  for (const auto& caption : data.captions) {
    tokens.push_back(tokenizer.encode(caption, true, true));
    FRESCO_CHECK(static_cast<int64_t>(tokens.back().size()) <= gpt.config().context,
                 "GanTrainer: the caption \"{}\" needs {} tokens, more than the text model's context of {}", caption,
                 tokens.back().size(), gpt.config().context);
  }
  prompts = options.output.sample_prompts;
  if (prompts.empty()) {   // the first 8 distinct captions
    for (const auto& caption : data.captions) {
      if (prompts.size() >= 8) break;
      if (std::find(prompts.begin(), prompts.end(), caption) == prompts.end()) prompts.push_back(caption);
    }
  }
  if (options.text.finetune)
    opt_text = std::make_unique<optim::Adam>(gpt.parameters(), optim::AdamOptions{.lr = options.text.lr});
  g.train();
  d.train();
  gpt.train(options.text.finetune);
}

bool GanTrainer::State::hard_mismatches() const {
  return options.contrastive.hard_mismatch > 0 && options.contrastive.hard_negatives > 0;
}

bool GanTrainer::State::d_reads_negatives() const { return options.contrastive.weight > 0 || hard_mismatches(); }

bool GanTrainer::State::batches_carry_negatives() const {
  return (d_reads_negatives() || options.alignment.steps > 0) && negatives.rows(1) > 0;
}

const std::vector<int64_t>& GanTrainer::State::epoch_order(int64_t epoch) const {
  if (epoch != cached_epoch) {
    fresco::Generator gen(mix_seed(options.seed, 0x0DA7A000ull + static_cast<uint64_t>(epoch)));
    order = randperm(data.size(), gen);
    cached_epoch = epoch;
  }
  return order;
}

Tensor GanTrainer::State::caption_sentences(int64_t n) const {
  NoGradGuard guard;
  nn::ModeGuard no_dropout(gpt, false);
  std::vector<Tensor> parts;
  for (int64_t first = 0; first < n; first += 256) {
    std::vector<std::vector<int64_t>> rows(tokens.begin() + first, tokens.begin() + std::min(n, first + 256));
    parts.push_back(encode_tokens(gpt, pad_token_rows(rows, tokenizer.pad_id())).sentence);
  }
  return cat(parts, 0);
}

void GanTrainer::State::cache_sentences() {
  sentence_cache = Tensor();
  if (!options.text.finetune && d_reads_negatives() && negatives.rows(1) > 0)
    sentence_cache = caption_sentences(data.size());
}

Tensor GanTrainer::State::mismatched_sentences(const Tensor& sentence, const Tensor& negative) const {
  const int64_t n = sentence.size(0);
  const int64_t n_hard = negative.defined() && hard_mismatches()
                             ? static_cast<int64_t>(std::lround(options.contrastive.hard_mismatch * static_cast<double>(n)))
                             : 0;
  std::vector<int64_t> hard_rows, neighbours;
  for (int64_t i = 0; i < n_hard; ++i) hard_rows.push_back(negatives.hard_row(i));
  for (int64_t i = n_hard; i < n; ++i) neighbours.push_back((i + 1) % n);
  Tensor mismatched = n_hard < n ? index_select(sentence, 0, neighbours) : Tensor();
  if (n_hard == 0) return mismatched;
  Tensor hard = index_select(negative, 0, hard_rows);
  return mismatched.defined() ? cat({hard, mismatched}, 0) : hard;
}

uint64_t GanTrainer::State::process_seed(uint64_t stream) const {
  const uint64_t seed = mix_seed(options.seed, stream);
  return group->rank() == 0 ? seed : mix_seed(seed, static_cast<uint64_t>(group->rank()));
}

Tensor GanTrainer::State::noise(int64_t n, uint64_t stream) const { return seeded_noise(n, g.config().noise_dim, process_seed(stream)); }

void GanTrainer::State::apply_gradients(nn::Module& module, optim::Adam& opt) const {
  if (options.optimizer.clip_grad > 0) optim::clip_grad_norm(module.parameters(), options.optimizer.clip_grad);
  opt.step();
  module.zero_grad();
}

void GanTrainer::State::check_finite(float value, const char* what) const {
  if (std::isfinite(value)) return;
  const std::string ckpt = options.output.dir.empty() ? std::string("(none: no output dir)") : checkpoint_path();
  throw Error(fmt::format("GanTrainer: step {}: the {} is {}; training stopped (try a lower learning rate or "
                          "gradient clipping); the last good checkpoint {} is unchanged",
                          step, what, value, ckpt));
}

std::string GanTrainer::State::checkpoint_path() const {
  return options.output.dir.empty() ? "" : options.output.dir + "/checkpoint.safetensors";
}

GanTrainer::GanTrainer(Generator& generator, Discriminator& discriminator, text::Gpt& gpt,
                       const text::BpeTokenizer& tokenizer, CaptionedImages data, GanTrainerOptions options) {
  check_options(options);
  check_fit(generator, discriminator, gpt, tokenizer, data, options);
  s_ = std::make_unique<State>(generator, discriminator, gpt, tokenizer, std::move(data), std::move(options));
}

GanTrainer::~GanTrainer() = default;

int64_t GanTrainer::step() const { return s_->step; }
Generator& GanTrainer::ema_generator() { return s_->ema.generator(); }
const GanTrainerOptions& GanTrainer::options() const { return s_->options; }

GanBatch GanTrainer::batch(int64_t step) const {
  const State& s = *s_;
  GanBatch out;
  std::vector<std::vector<int64_t>> rows;
  // Process r of R takes rows r, r + R, ... of the global batch of R · batch_size.
  const int64_t ranks = s.group->world_size(), rank = s.group->rank();
  for (int64_t j = 0; j < s.options.batch_size; ++j) {
    const int64_t pos = (step * s.options.batch_size + j) * ranks + rank;
    const int64_t idx = s.epoch_order(pos / s.data.size())[static_cast<size_t>(pos % s.data.size())];
    out.indices.push_back(idx);
    rows.push_back(s.tokens[static_cast<size_t>(idx)]);
  }
  NoGradGuard guard;
  out.images = index_select(s.data.images, 0, out.indices);
  out.tokens = pad_token_rows(rows, s.tokenizer.pad_id());
  if (!s.options.text.finetune) out.text = encode_tokens(s.gpt, out.tokens);
  if (!s.batches_carry_negatives()) return out;
  fresco::Generator pick(s.process_seed(0x4E6A7000ull + static_cast<uint64_t>(step)));
  const std::vector<int64_t> extra = s.negatives.sample(out.indices, pick);
  std::vector<std::vector<int64_t>> extra_rows;
  for (const int64_t i : extra) extra_rows.push_back(s.tokens[static_cast<size_t>(i)]);
  out.negatives = pad_token_rows(extra_rows, s.tokenizer.pad_id());
  if (s.sentence_cache.defined()) out.negative_sentences = index_select(s.sentence_cache, 0, extra);
  else if (!s.options.text.finetune) out.negative_sentences = encode_tokens(s.gpt, out.negatives).sentence;
  return out;
}

GanStepLosses GanTrainer::d_step(const GanBatch& b) {
  State& s = *s_;
  const auto& o = s.options;
  const int64_t n = b.images.size(0);
  TextFeatures tf;
  Tensor fake;
  {
    NoGradGuard guard;
    tf = detail::text_features(s.gpt, b, false);
    fake = s.g(s.noise(n, 2 * static_cast<uint64_t>(s.step)), tf.sentence, tf.words, tf.pad_mask);
  }
  const bool gp = o.penalty.weight > 0 && s.step % o.penalty.every == 0;
  Tensor real = b.images.detach(), sentence = tf.sentence.detach();
  if (gp) real.requires_grad_(), sentence.requires_grad_();
  Tensor h_real = s.d.features(real);
  Tensor d_real = s.d.logits(h_real, sentence);
  const Tensor negatives = s.d_reads_negatives() ? detail::negative_sentences(s.gpt, b) : Tensor();
  Tensor others = s.d(cat({fake, b.images}, 0), cat({tf.sentence, s.mismatched_sentences(tf.sentence, negatives)}, 0));
  Tensor d_fake = others.slice(0, 0, n), d_mismatch = others.slice(0, n, 2 * n);
  Tensor loss = detail::discriminator_loss(o.loss, d_real, d_fake, d_mismatch);
  Tensor total = loss;
  GanStepLosses l;
  if (o.contrastive.weight > 0) {
    Tensor c = detail::caption_contrastive(s.d, h_real, sentence, negatives, o.contrastive.temperature);
    l.d_contrastive = c.item();
    total = total + c * o.contrastive.weight;
  }
  if (gp) {
    Tensor penalty = detail::matching_aware_penalty(d_real, real, sentence, o.penalty);
    l.gp = penalty.item();
    total = total + penalty;
  }
  l.d_loss = loss.item();
  l.d_real = mean(d_real.detach()).item();
  l.d_fake = mean(d_fake.detach()).item();
  l.d_mismatch = mean(d_mismatch.detach()).item();
  s.check_finite(total.item(), "discriminator loss");
  s.d.zero_grad();
  total.backward();
  s.apply_gradients(s.d, s.opt_d);
  return l;
}

GanStepLosses GanTrainer::g_step(const GanBatch& b) {
  State& s = *s_;
  const auto& o = s.options;
  nn::FreezeGuard frozen(s.d);
  const TextFeatures tf = detail::text_features(s.gpt, b, o.text.finetune);
  Tensor z = s.noise(b.images.size(0), 2 * static_cast<uint64_t>(s.step) + 1);
  Tensor h_fake = s.d.features(s.g(z, tf.sentence, tf.words, tf.pad_mask));
  Tensor d_fake = s.d.logits(h_fake, tf.sentence);
  Tensor loss = detail::generator_loss(o.loss, d_fake);
  Tensor total = loss;
  GanStepLosses l;
  if (o.contrastive.weight > 0) {
    Tensor c = detail::caption_contrastive(s.d, h_fake, tf.sentence, detail::negative_sentences(s.gpt, b),
                                           o.contrastive.temperature, b.images);
    l.g_contrastive = c.item();
    total = total + c * o.contrastive.weight;
  }
  if (o.text.finetune) {
    Tensor text_loss = s.gpt.loss(b.tokens.ids, b.tokens.batch, b.tokens.seq);
    l.text_loss = text_loss.item();
    total = total + text_loss * o.text.loss_weight;
  }
  l.g_loss = loss.item();
  s.check_finite(total.item(), "generator loss");
  s.g.zero_grad();
  if (s.opt_text) s.gpt.zero_grad();
  total.backward();
  s.apply_gradients(s.g, s.opt_g);
  if (s.opt_text) s.apply_gradients(s.gpt, *s.opt_text);
  s.ema.update(s.g, s.step);
  return l;
}

GanStepLosses GanTrainer::train_step() {
  GanBatch b = batch(s_->step);
  // Anything drawing from the global generator (dropout) is fixed by (seed, step) too.
  const uint64_t dropout_seed = mix_seed(s_->options.seed ^ 0x61B0BA11ull, static_cast<uint64_t>(s_->step));
  manual_seed(s_->group->rank() == 0 ? dropout_seed : mix_seed(dropout_seed, static_cast<uint64_t>(s_->group->rank())));
  GanStepLosses d = d_step(b);
  GanStepLosses g = g_step(b);
  d.g_loss = g.g_loss;
  d.g_contrastive = g.g_contrastive;
  d.text_loss = g.text_loss;
  ++s_->step;
  return d;
}

GanAlignSummary GanTrainer::align() {
  State& s = *s_;
  s.sentence_cache = Tensor();   // the text model is about to change
  return align_text_and_images(
      s.d, s.gpt, [this](int64_t k) { return batch(k); }, s.options.alignment,
      {.temperature = s.options.contrastive.temperature, .clip_grad = s.options.optimizer.clip_grad},
      s.group->rank() == 0 ? s.options.on_progress : ProgressCallback{});
}

void GanTrainer::standardise_sentences() {
  State& s = *s_;
  const int64_t n = std::min<int64_t>(s.data.size(), 4096), d = s.gpt.config().d_model;
  const std::vector<float> v = s.caption_sentences(n).to_vector();
  std::vector<double> sum_v(static_cast<size_t>(d), 0.0), sum_sq(static_cast<size_t>(d), 0.0);
  for (size_t r = 0; r < static_cast<size_t>(n); ++r)
    for (int64_t k = 0; k < d; ++k) {
      const double x = v[r * static_cast<size_t>(d) + static_cast<size_t>(k)];
      sum_v[static_cast<size_t>(k)] += x;
      sum_sq[static_cast<size_t>(k)] += x * x;
    }
  double var = 0;   // mean over dimensions of the per-dimension variance
  std::vector<float> mean(static_cast<size_t>(d));
  for (int64_t k = 0; k < d; ++k) {
    const double m = sum_v[static_cast<size_t>(k)] / static_cast<double>(n);
    mean[static_cast<size_t>(k)] = static_cast<float>(m);
    var += std::max(0.0, sum_sq[static_cast<size_t>(k)] / static_cast<double>(n) - m * m) / static_cast<double>(d);
  }
  // Captions that all encode alike (a single caption, say) keep the scale at 1.
  const float scale = var > 1e-12 ? static_cast<float>(1.0 / std::sqrt(var)) : 1.f;
  for (Generator* g : {&s.g, &s.ema.generator()}) {
    std::copy(mean.begin(), mean.end(), g->sentence_mean.data());
    g->sentence_scale.data()[0] = scale;
  }
}

void GanTrainer::refresh_ema_statistics() {
  const State& s = *s_;
  nn::ModeGuard no_dropout(s.gpt, false);
  const int64_t n = s.data.size(), b = s.options.batch_size;
  // Fixed captions (the run's seed), so that the statistics are a function of the EMA weights
  // alone and a resumed run measures the same ones.
  s_->ema.refresh_statistics(
      [&](int64_t k) {
        fresco::Generator pick(mix_seed(s.options.seed, 0x57A75000ull + static_cast<uint64_t>(k)));
        std::vector<std::vector<int64_t>> rows;
        for (int64_t j = 0; j < b; ++j) rows.push_back(s.tokens[pick.below(static_cast<uint64_t>(n))]);
        return encode_tokens(s.gpt, pad_token_rows(rows, s.tokenizer.pad_id()));
      },
      s.options.seed);
}

}  // namespace fresco::gan
