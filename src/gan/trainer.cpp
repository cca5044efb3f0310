// SPDX-License-Identifier: Apache-2.0
// The GAN trainer's phases: batches, the discriminator step (matching-aware,
// with DF-GAN's MA-GP), the generator step and the EMA of G's weights.
// Legend: B batch, C channels, S image side, D text_dim.
#include <fresco/gan/trainer.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <optional>
#include <string>
#include <unordered_map>

#include <fresco/autograd/autograd.hpp>
#include <fresco/error.hpp>
#include <fresco/ops/elementwise.hpp>
#include <fresco/ops/loss.hpp>
#include <fresco/ops/reduce.hpp>
#include <fresco/ops/shape.hpp>
#include <fresco/tensor/random.hpp>

#include "init.hpp"

namespace fresco::gan {

namespace {

/// The caption features of a batch: encoded with a graph when the text model is fine-tuned,
/// otherwise those batch() already computed (or, for a batch made elsewhere, encoded now).
TextFeatures text_features(const text::Gpt& gpt, const GanBatch& b, bool finetune) {
  if (finetune) return encode_tokens(gpt, b.tokens);
  if (b.text.sentence.defined()) return b.text;
  NoGradGuard guard;
  return encode_tokens(gpt, b.tokens);
}

// While alive, the discriminator's parameters need no gradient: G's update
// backpropagates through D to the image only, skipping D's weight gradients.
struct FreezeParameters {
  explicit FreezeParameters(const nn::Module& m) : params(m.parameters()) {
    for (auto& p : params) p.requires_grad_(false);
  }
  ~FreezeParameters() {
    for (auto& p : params) p.requires_grad_(true);
  }
  std::vector<Tensor> params;
};

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

// Whether d_step gives some mismatched pairs a hard negative's caption (see GanTrainerOptions::hard_mismatch).
bool hard_mismatches(const GanTrainerOptions& o) { return o.hard_mismatch > 0 && o.contrastive_hard_negatives > 0; }

// Whether d_step reads the sentence vectors of the batch's negative captions.
bool d_reads_negatives(const GanTrainerOptions& o) { return o.contrastive > 0 || hard_mismatches(o); }

// The sentence vectors of a GAN batch's negative captions (undefined without any), never differentiated.
Tensor negative_sentences(const text::Gpt& gpt, const GanBatch& b) {
  if (b.negative_sentences.defined() || b.negatives.batch == 0) return b.negative_sentences;
  NoGradGuard guard;
  return encode_tokens(gpt, b.negatives).sentence;
}

// The contrastive loss of image features h [B, F] against their own captions' sentence vectors
// [B, D] and the negatives [K, D] (may be undefined). Real images are centred on their batch's mean;
// G's images (real_images given) on the mean embedding of those real images, never on their own
// batch (see Discriminator::similarity).
Tensor caption_contrastive(const Discriminator& d, const Tensor& h, const Tensor& sentence, const Tensor& negatives,
                           float temperature, const Tensor& real_images = {}) {
  Tensor captions = negatives.defined() ? cat({sentence, negatives}, 0) : sentence;
  if (!real_images.defined()) return contrastive_loss(d.similarity(h, captions, temperature, /*centred=*/true));
  Tensor centre;
  {
    NoGradGuard guard;
    centre = mean(d.image_embed(d.features(real_images)), {0});
  }
  return contrastive_loss(d.similarity(h, captions, temperature, centre));
}

void copy_into(Tensor& dst, const Tensor& src) {
  const Tensor s = src.contiguous();
  std::copy(s.data(), s.data() + s.numel(), dst.data());
}

}  // namespace

GanTrainer::GanTrainer(Generator& generator, Discriminator& discriminator, text::Gpt& gpt,
                       const text::BpeTokenizer& tokenizer, CaptionedImages data, GanTrainerOptions options)
    : g_(generator), d_(discriminator), gpt_(gpt), tokenizer_(tokenizer), data_(std::move(data)), options_(options) {
  const auto& o = options_;
  FRESCO_CHECK(o.loss == "hinge" || o.loss == "bce", "GanTrainer: loss must be \"hinge\" or \"bce\", got \"{}\"",
               o.loss);
  data_.validate();
  FRESCO_CHECK(o.batch_size >= 2 && o.batch_size <= data_.size(),
               "GanTrainer: batch_size must be in [2, {}] (the data size), got {}", data_.size(), o.batch_size);
  FRESCO_CHECK(o.steps >= 1, "GanTrainer: steps must be positive, got {}", o.steps);
  FRESCO_CHECK(o.minutes >= 0 && o.stop_at_step >= 0, "GanTrainer: minutes and stop_at_step must be >= 0");
  FRESCO_CHECK(o.lr_g > 0 && o.lr_d > 0 && o.lr_text > 0, "GanTrainer: learning rates must be positive");
  FRESCO_CHECK(o.ma_gp >= 0 && o.ma_gp_power > 0 && o.ma_gp_every >= 1,
               "GanTrainer: need ma_gp >= 0, ma_gp_power > 0, ma_gp_every >= 1");
  FRESCO_CHECK(o.contrastive >= 0 && o.contrastive_temperature > 0,
               "GanTrainer: need contrastive >= 0 and contrastive_temperature > 0, got {} and {}", o.contrastive,
               o.contrastive_temperature);
  FRESCO_CHECK(o.align_steps >= 0 && o.lr_align > 0 && o.align_text_loss_weight >= 0,
               "GanTrainer: need align_steps >= 0, lr_align > 0 and align_text_loss_weight >= 0");
  FRESCO_CHECK(!o.align_sentences || o.align_steps == 0 || d_.config().embed_dim == d_.config().text_dim,
               "GanTrainer: align_sentences holds D's text head at the identity, which needs the discriminator's "
               "embed_dim ({}) equal to its text_dim ({}); set align_sentences = false or embed_dim = {}",
               d_.config().embed_dim, d_.config().text_dim, d_.config().text_dim);
  FRESCO_CHECK(o.contrastive_negatives >= 0 && o.contrastive_hard_negatives >= 0,
               "GanTrainer: contrastive_negatives and contrastive_hard_negatives must be >= 0, got {} and {}",
               o.contrastive_negatives, o.contrastive_hard_negatives);
  FRESCO_CHECK(o.hard_mismatch >= 0 && o.hard_mismatch <= 1, "GanTrainer: hard_mismatch must be in [0, 1], got {}",
               o.hard_mismatch);
  FRESCO_CHECK(o.clip_grad >= 0, "GanTrainer: clip_grad must be >= 0, got {}", o.clip_grad);
  FRESCO_CHECK(o.ema_decay >= 0 && o.ema_decay < 1, "GanTrainer: ema_decay must be in [0, 1), got {}", o.ema_decay);
  FRESCO_CHECK(o.log_every >= 1 && o.checkpoint_every >= 0 && o.sample_every >= 0 && o.samples_per_prompt >= 1,
               "GanTrainer: log_every and samples_per_prompt must be >= 1, checkpoint/sample_every >= 0");
  const auto& gc = g_.config();
  const auto& dc = d_.config();
  const int64_t c = data_.images.size(1), s = data_.images.size(2);
  FRESCO_CHECK(gc.channels == c && gc.image_size == s && dc.channels == c && dc.image_size == s,
               "GanTrainer: the data is {}x{}x{} but the generator makes {}x{}x{} and the discriminator reads {}x{}x{}",
               c, s, s, gc.channels, gc.image_size, gc.image_size, dc.channels, dc.image_size, dc.image_size);
  const int64_t d_model = gpt_.config().d_model;
  FRESCO_CHECK(gc.text_dim == d_model && dc.text_dim == d_model,
               "GanTrainer: the text model's d_model is {} but the generator's text_dim is {} and the "
               "discriminator's {}",
               d_model, gc.text_dim, dc.text_dim);
  FRESCO_CHECK(tokenizer_.vocab_size() <= gpt_.config().vocab_size,
               "GanTrainer: the tokenizer has {} tokens, more than the text model's vocabulary of {}",
               tokenizer_.vocab_size(), gpt_.config().vocab_size);

  tokens_.reserve(data_.captions.size());
  for (const auto& caption : data_.captions) {
    tokens_.push_back(tokenizer_.encode(caption, true, true));
    FRESCO_CHECK(static_cast<int64_t>(tokens_.back().size()) <= gpt_.config().context,
                 "GanTrainer: the caption \"{}\" needs {} tokens, more than the text model's context of {}", caption,
                 tokens_.back().size(), gpt_.config().context);
  }
  if (o.contrastive_hard_negatives > 0 && !data_.labels.empty()) {
    // Group the images by their labels with one place masked: the key is the labels with place p
    // replaced by -1 (the -1's position tells the masked place, so keys of different places differ).
    std::unordered_map<std::string, int32_t> group_of;
    std::vector<size_t> group_place;
    near_offset_.assign(1, 0);
    for (const auto& labels : data_.labels) {
      std::vector<int64_t> key = labels;
      for (size_t p = 0; p < labels.size(); ++p) {
        key[p] = -1;
        std::string bytes(reinterpret_cast<const char*>(key.data()), key.size() * sizeof(int64_t));
        auto [it, fresh] = group_of.try_emplace(std::move(bytes), static_cast<int32_t>(near_groups_.size()));
        if (fresh) {
          near_groups_.emplace_back();
          group_place.push_back(p);
        }
        near_groups_[static_cast<size_t>(it->second)].push_back(static_cast<int64_t>(near_offset_.size()) - 1);
        near_.push_back(it->second);
        key[p] = labels[p];
      }
      near_offset_.push_back(static_cast<int64_t>(near_.size()));
    }
    for (size_t g = 0; g < near_groups_.size(); ++g) {
      const size_t p = group_place[g];
      std::stable_sort(near_groups_[g].begin(), near_groups_[g].end(), [&](int64_t a, int64_t b) {
        return data_.labels[static_cast<size_t>(a)][p] < data_.labels[static_cast<size_t>(b)][p];
      });
    }
  }
  prompts_ = o.sample_prompts;
  if (prompts_.empty()) {
    for (const auto& caption : data_.captions) {
      if (prompts_.size() >= 8) break;
      if (std::find(prompts_.begin(), prompts_.end(), caption) == prompts_.end()) prompts_.push_back(caption);
    }
  }

  ema_ = std::make_unique<Generator>(gc);
  {
    NoGradGuard guard;
    auto src = g_.named_parameters(), dst = ema_->named_parameters();
    for (size_t i = 0; i < src.size(); ++i) copy_into(dst[i].second, src[i].second);
    auto sb = g_.named_buffers(), db = ema_->named_buffers();
    for (size_t i = 0; i < sb.size(); ++i) copy_into(db[i].second, sb[i].second);
  }
  ema_->eval();
  opt_g_ = std::make_unique<optim::Adam>(g_.parameters(),
                                         optim::AdamOptions{.lr = o.lr_g, .beta1 = o.beta1, .beta2 = o.beta2});
  opt_d_ = std::make_unique<optim::Adam>(d_.parameters(),
                                         optim::AdamOptions{.lr = o.lr_d, .beta1 = o.beta1, .beta2 = o.beta2});
  if (o.finetune_text)
    opt_text_ = std::make_unique<optim::Adam>(gpt_.parameters(), optim::AdamOptions{.lr = o.lr_text});
  g_.train();
  d_.train();
  gpt_.train(o.finetune_text);
}

GanTrainer::~GanTrainer() = default;

const std::vector<int64_t>& GanTrainer::epoch_order(int64_t epoch) const {
  if (epoch != cached_epoch_) {
    const int64_t n = data_.size();
    order_.resize(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) order_[static_cast<size_t>(i)] = i;
    fresco::Generator gen(mix_seed(options_.seed, 0x0DA7A000ull + static_cast<uint64_t>(epoch)));
    for (int64_t i = n - 1; i > 0; --i)   // Fisher-Yates
      std::swap(order_[static_cast<size_t>(i)], order_[gen.below(static_cast<uint64_t>(i + 1))]);
    cached_epoch_ = epoch;
  }
  return order_;
}

int64_t GanTrainer::hard_negative(int64_t i, int64_t attempt, uint64_t start, fresco::Generator& pick) const {
  const int64_t n = data_.size();
  const int64_t places = near_offset_.empty() ? 0 : near_offset_[i + 1] - near_offset_[i];
  if (places == 0) return static_cast<int64_t>(pick.below(static_cast<uint64_t>(n)));
  const auto p = static_cast<size_t>((start + static_cast<uint64_t>(attempt)) % static_cast<uint64_t>(places));
  const auto& group = near_groups_[static_cast<size_t>(near_[static_cast<size_t>(near_offset_[i]) + p])];
  // The group is sorted by the label at p: skip the run that shares i's, draw among the rest.
  const int64_t own = data_.labels[static_cast<size_t>(i)][p];
  auto label = [&](int64_t j) { return data_.labels[static_cast<size_t>(j)][p]; };
  const auto lo = std::partition_point(group.begin(), group.end(), [&](int64_t j) { return label(j) < own; });
  const auto hi = std::partition_point(lo, group.end(), [&](int64_t j) { return label(j) == own; });
  const auto others = static_cast<uint64_t>(group.size()) - static_cast<uint64_t>(hi - lo);
  if (others == 0) return static_cast<int64_t>(pick.below(static_cast<uint64_t>(n)));   // no image differs there
  const auto r = static_cast<int64_t>(pick.below(others));
  return r < lo - group.begin() ? group[static_cast<size_t>(r)] : *(hi + (r - (lo - group.begin())));
}

GanBatch GanTrainer::batch(int64_t step) const {
  const int64_t n = data_.size(), b = options_.batch_size;
  GanBatch out;
  std::vector<std::vector<int64_t>> rows;
  for (int64_t j = 0; j < b; ++j) {
    const int64_t pos = step * b + j;
    const int64_t idx = epoch_order(pos / n)[static_cast<size_t>(pos % n)];
    out.indices.push_back(idx);
    rows.push_back(tokens_[static_cast<size_t>(idx)]);
  }
  NoGradGuard guard;
  out.images = index_select(data_.images, 0, out.indices);
  out.tokens = pad_token_rows(rows, tokenizer_.pad_id());
  if (!options_.finetune_text) out.text = encode_tokens(gpt_, out.tokens);
  if ((d_reads_negatives(options_) || options_.align_steps > 0) &&
      options_.contrastive_negatives + options_.contrastive_hard_negatives > 0) {
    fresco::Generator pick(mix_seed(options_.seed, 0x4E6A7000ull + static_cast<uint64_t>(step)));
    std::vector<int64_t> extra;
    for (int64_t j = 0; j < options_.contrastive_negatives; ++j)
      extra.push_back(static_cast<int64_t>(pick.below(static_cast<uint64_t>(n))));
    for (const int64_t i : out.indices) {
      const uint64_t start = pick.next_u64();
      for (int64_t k = 0; k < options_.contrastive_hard_negatives; ++k) extra.push_back(hard_negative(i, k, start, pick));
    }
    std::vector<std::vector<int64_t>> extra_rows;
    for (const int64_t i : extra) extra_rows.push_back(tokens_[static_cast<size_t>(i)]);
    out.negatives = pad_token_rows(extra_rows, tokenizer_.pad_id());
    if (sentence_cache_.defined()) out.negative_sentences = index_select(sentence_cache_, 0, extra);
    else if (!options_.finetune_text) out.negative_sentences = encode_tokens(gpt_, out.negatives).sentence;
  }
  return out;
}

GanAlignSummary GanTrainer::align() {
  using Clock = std::chrono::steady_clock;
  GanAlignSummary summary;
  const int64_t steps = options_.align_steps;
  if (steps <= 0) return summary;
  sentence_cache_ = Tensor();   // the text model is about to change
  const auto start = Clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(Clock::now() - start).count(); };
  std::optional<FreezeParameters> held;   // D's text head, at the identity, when the sentences align
  if (options_.align_sentences) {
    NoGradGuard guard;
    const int64_t e = d_.config().embed_dim;
    float* w = d_.text_embed.weight.data();
    std::fill(w, w + e * e, 0.f);
    for (int64_t i = 0; i < e; ++i) w[i * e + i] = 1.f;
    detail::fill_zero(d_.text_embed.bias);
    held.emplace(d_.text_embed);
  }
  std::vector<Tensor> params;
  for (const auto& p : d_.parameters())
    if (p.requires_grad()) params.push_back(p);
  for (const auto& p : gpt_.parameters()) params.push_back(p);
  optim::Adam opt(params, optim::AdamOptions{.lr = options_.lr_align});
  const bool text_training = gpt_.is_training();
  gpt_.eval();   // no dropout: the stage is a deterministic function of the seed
  double last_print = -1e9, tail_c = 0, tail_t = 0;
  int64_t tail_n = 0;
  for (int64_t k = 0; k < steps; ++k) {
    // The data order of GAN steps 0, 1, ...: alignment sees the epochs the GAN will see.
    GanBatch b = batch(k);
    const TextFeatures tf = encode_tokens(gpt_, b.tokens);
    // The negatives' vectors carry no gradient (as a MoCo queue): a third of the cost of
    // differentiating them, and the text model still learns from each batch's own captions.
    Tensor c = caption_contrastive(d_, d_.features(b.images.detach()), tf.sentence, negative_sentences(gpt_, b),
                                   options_.contrastive_temperature);
    Tensor t = gpt_.loss(b.tokens.ids, b.tokens.batch, b.tokens.seq);
    Tensor total = c + t * options_.align_text_loss_weight;
    const float cv = c.item(), tv = t.item();
    if (!std::isfinite(cv) || !std::isfinite(tv))
      throw Error(fmt::format("GanTrainer: alignment step {}: the contrastive loss is {} and the next-token loss {}; "
                              "try a lower lr_align",
                              k, cv, tv));
    if (k == 0) summary.first_loss = cv;
    if (k >= steps - 10) {
      tail_c += cv;
      tail_t += tv;
      ++tail_n;
    }
    opt.zero_grad();
    total.backward();
    if (options_.clip_grad > 0) optim::clip_grad_norm(params, options_.clip_grad);
    opt.step();
    if (options_.progress && (elapsed() - last_print >= options_.progress_seconds || k + 1 == steps)) {
      const double rate = (k + 1) / std::max(elapsed(), 1e-9);
      fmt::print(stderr, "align: step {}/{} | contrastive {:.3f} (chance {:.3f}) text {:.3f} | {:.1f} step/s\n", k + 1,
                 steps, cv, std::log(static_cast<double>(b.images.size(0) + b.negatives.batch)), tv, rate);
      last_print = elapsed();
    }
  }
  opt.zero_grad();
  gpt_.train(text_training);
  summary.steps = steps;
  summary.seconds = elapsed();
  summary.last_loss = static_cast<float>(tail_c / std::max<int64_t>(tail_n, 1));
  summary.text_loss = static_cast<float>(tail_t / std::max<int64_t>(tail_n, 1));
  return summary;
}

Tensor GanTrainer::caption_sentences(int64_t n) const {
  NoGradGuard guard;
  const bool text_training = gpt_.is_training();
  gpt_.eval();
  std::vector<Tensor> parts;
  for (int64_t first = 0; first < n; first += 256) {
    std::vector<std::vector<int64_t>> rows;
    for (int64_t i = first; i < std::min(n, first + 256); ++i) rows.push_back(tokens_[static_cast<size_t>(i)]);
    parts.push_back(encode_tokens(gpt_, pad_token_rows(rows, tokenizer_.pad_id())).sentence);
  }
  gpt_.train(text_training);
  return cat(parts, 0);
}

void GanTrainer::cache_sentences() {
  sentence_cache_ = Tensor();
  if (!options_.finetune_text && d_reads_negatives(options_) &&
      options_.contrastive_negatives + options_.contrastive_hard_negatives > 0)
    sentence_cache_ = caption_sentences(data_.size());
}

void GanTrainer::standardise_sentences() {
  const int64_t n = std::min<int64_t>(data_.size(), 4096), d = gpt_.config().d_model;
  const std::vector<float> v = caption_sentences(n).to_vector();
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
  for (Generator* g : {&g_, ema_.get()}) {
    std::copy(mean.begin(), mean.end(), g->sentence_mean.data());
    g->sentence_scale.data()[0] = scale;
  }
}

void GanTrainer::check_finite(float value, const char* what) const {
  if (std::isfinite(value)) return;
  const std::string ckpt = options_.out_dir.empty() ? std::string("(none: no out_dir)")
                                                     : options_.out_dir + "/checkpoint.safetensors";
  throw Error(fmt::format("GanTrainer: step {}: the {} is {}; training stopped (try a lower learning rate or "
                          "gradient clipping); the last good checkpoint {} is unchanged",
                          step_, what, value, ckpt));
}

GanStepLosses GanTrainer::d_step(const GanBatch& b) {
  GanStepLosses l;
  const int64_t n = b.images.size(0);
  TextFeatures tf;
  Tensor fake;
  {
    NoGradGuard guard;
    tf = text_features(gpt_, b, false);
    fake = g_(seeded_noise(n, g_.config().noise_dim, mix_seed(options_.seed, 2 * static_cast<uint64_t>(step_))),
              tf.sentence, tf.words, tf.pad_mask);
  }
  const bool gp = options_.ma_gp > 0 && step_ % options_.ma_gp_every == 0;
  Tensor real = b.images.detach();
  Tensor s = tf.sentence.detach();
  if (gp) {
    real.requires_grad_();
    s.requires_grad_();
  }
  Tensor h_real = d_.features(real);
  Tensor d_real = d_.logits(h_real, s);
  // Mismatched captions: the first hard_mismatch · n images get their first hard negative's
  // sentence vector (row negatives + i · hard), the others their batch neighbour's.
  // Encoded here only when D uses them (with a fine-tuned text model, a batch built for the
  // alignment phase carries negatives whose vectors d_step never reads).
  const Tensor negatives = d_reads_negatives(options_) ? negative_sentences(gpt_, b) : Tensor();
  const int64_t n_hard = negatives.defined() && hard_mismatches(options_)
                             ? static_cast<int64_t>(std::lround(options_.hard_mismatch * static_cast<double>(n)))
                             : 0;
  std::vector<int64_t> hard_rows, neighbours;
  for (int64_t i = 0; i < n_hard; ++i)
    hard_rows.push_back(options_.contrastive_negatives + i * options_.contrastive_hard_negatives);
  for (int64_t i = n_hard; i < n; ++i) neighbours.push_back((i + 1) % n);
  Tensor mismatched = n_hard < n ? index_select(tf.sentence, 0, neighbours) : Tensor();
  if (n_hard > 0) {
    Tensor hard = index_select(negatives, 0, hard_rows);
    mismatched = mismatched.defined() ? cat({hard, mismatched}, 0) : hard;
  }
  Tensor others = d_(cat({fake, b.images}, 0), cat({tf.sentence, mismatched}, 0));
  Tensor d_fake = others.slice(0, 0, n), d_mis = others.slice(0, n, 2 * n);
  Tensor loss;
  if (options_.loss == "hinge") {
    loss = mean(relu(1.f - d_real)) + (mean(relu(1.f + d_fake)) + mean(relu(1.f + d_mis))) * 0.5f;
  } else {
    loss = binary_cross_entropy_with_logits(d_real, ones_like(d_real)) +
           (binary_cross_entropy_with_logits(d_fake, zeros_like(d_fake)) +
            binary_cross_entropy_with_logits(d_mis, zeros_like(d_mis))) * 0.5f;
  }
  Tensor total = loss;
  if (options_.contrastive > 0) {
    Tensor c = caption_contrastive(d_, h_real, s, negatives, options_.contrastive_temperature);
    l.d_contrastive = c.item();
    total = total + c * options_.contrastive;
  }
  if (gp) {
    // MA-GP (Tao et al., DF-GAN 2022): k · E[‖(∇_x D, ∇_s D)‖^p] at (real image, matching sentence),
    // smoothing D around the real data manifold and its captions. ‖·‖^p = (‖·‖²)^(p/2).
    auto grads = fresco::grad({sum(d_real)}, {real, s}, {}, {.retain_graph = true, .create_graph = true});
    Tensor sq = sum(grads[0] * grads[0], {1, 2, 3}) + sum(grads[1] * grads[1], {1});
    Tensor penalty = mean(pow(sq, options_.ma_gp_power / 2.f)) * (options_.ma_gp * options_.ma_gp_every);
    l.gp = penalty.item();
    total = total + penalty;
  }
  l.d_loss = loss.item();
  l.d_real = mean(d_real.detach()).item();
  l.d_fake = mean(d_fake.detach()).item();
  l.d_mismatch = mean(d_mis.detach()).item();
  check_finite(total.item(), "discriminator loss");
  d_.zero_grad();
  total.backward();
  if (options_.clip_grad > 0) optim::clip_grad_norm(d_.parameters(), options_.clip_grad);
  opt_d_->step();
  d_.zero_grad();
  return l;
}

GanStepLosses GanTrainer::g_step(const GanBatch& b) {
  GanStepLosses l;
  const int64_t n = b.images.size(0);
  FreezeParameters frozen(d_);
  const TextFeatures tf = text_features(gpt_, b, options_.finetune_text);
  Tensor z = seeded_noise(n, g_.config().noise_dim, mix_seed(options_.seed, 2 * static_cast<uint64_t>(step_) + 1));
  Tensor h_fake = d_.features(g_(z, tf.sentence, tf.words, tf.pad_mask));
  Tensor d_fake = d_.logits(h_fake, tf.sentence);
  Tensor loss = options_.loss == "hinge" ? -mean(d_fake)
                                         : binary_cross_entropy_with_logits(d_fake, ones_like(d_fake));
  Tensor total = loss;
  if (options_.contrastive > 0) {
    Tensor c = caption_contrastive(d_, h_fake, tf.sentence, negative_sentences(gpt_, b),
                                   options_.contrastive_temperature, b.images);
    l.g_contrastive = c.item();
    total = total + c * options_.contrastive;
  }
  if (options_.finetune_text) {
    Tensor text_loss = gpt_.loss(b.tokens.ids, b.tokens.batch, b.tokens.seq);
    l.text_loss = text_loss.item();
    total = total + text_loss * options_.text_loss_weight;
  }
  l.g_loss = loss.item();
  check_finite(total.item(), "generator loss");
  g_.zero_grad();
  if (opt_text_) gpt_.zero_grad();
  total.backward();
  if (options_.clip_grad > 0) optim::clip_grad_norm(g_.parameters(), options_.clip_grad);
  opt_g_->step();
  g_.zero_grad();
  if (opt_text_) {
    if (options_.clip_grad > 0) optim::clip_grad_norm(gpt_.parameters(), options_.clip_grad);
    opt_text_->step();
    gpt_.zero_grad();
  }
  update_ema();
  return l;
}

void GanTrainer::update_ema() {
  NoGradGuard guard;
  // Warm-up (as TensorFlow's ExponentialMovingAverage with num_updates): early
  // on the average follows G closely, instead of staying near the initial
  // weights for ~1/(1-decay) steps, which a short run never gets past.
  const float warm = static_cast<float>(step_ + 1) / static_cast<float>(step_ + 10);
  const float decay = std::min(options_.ema_decay, warm);
  auto src = g_.parameters(), dst = ema_->parameters();
  for (size_t i = 0; i < src.size(); ++i) {
    const float* p = src[i].data();
    float* e = dst[i].data();
    for (int64_t j = 0; j < src[i].numel(); ++j) e[j] = decay * e[j] + (1.f - decay) * p[j];   // θ̄ ← βθ̄ + (1−β)θ
  }
  // BatchNorm statistics are not copied from G: G's running statistics describe G's activations, not
  // those of the averaged weights, and in eval mode they washed the EMA's images out to a haze of the
  // mean colour. refresh_ema_statistics() measures the EMA's own before it is used.
}

void GanTrainer::refresh_ema_statistics() {
  NoGradGuard guard;
  std::vector<nn::BatchNorm2d*> norms{&ema_->fc_norm.bn};
  for (auto& block : ema_->blocks) norms.push_back(&block.norm.bn);
  std::vector<std::vector<double>> mean(norms.size()), var(norms.size());
  const bool text_training = gpt_.is_training();
  gpt_.eval();
  ema_->train();
  const int64_t n = data_.size(), b = options_.batch_size;
  // Fixed batches (the run's seed), so the statistics are a function of the EMA weights alone and a
  // resumed run measures the same ones.
  for (int64_t k = 0; k < kEmaStatisticsBatches; ++k) {
    fresco::Generator pick(mix_seed(options_.seed, 0x57A75000ull + static_cast<uint64_t>(k)));
    std::vector<std::vector<int64_t>> rows;
    for (int64_t j = 0; j < b; ++j) rows.push_back(tokens_[pick.below(static_cast<uint64_t>(n))]);
    const TextFeatures tf = encode_tokens(gpt_, pad_token_rows(rows, tokenizer_.pad_id()));
    for (auto* bn : norms) {
      detail::fill_zero(bn->running_mean);
      detail::fill_zero(bn->running_var);
    }
    (*ema_)(seeded_noise(b, ema_->config().noise_dim, mix_seed(options_.seed, 0x57A75100ull + static_cast<uint64_t>(k))),
            tf.sentence, tf.words, tf.pad_mask);
    // From zero, one update leaves momentum · (this batch's statistic) in the buffer.
    for (size_t i = 0; i < norms.size(); ++i) {
      const float m = norms[i]->options().momentum;
      const float* rm = norms[i]->running_mean.data();
      const float* rv = norms[i]->running_var.data();
      const int64_t c = norms[i]->channels();
      mean[i].resize(static_cast<size_t>(c));
      var[i].resize(static_cast<size_t>(c));
      for (int64_t j = 0; j < c; ++j) {
        mean[i][static_cast<size_t>(j)] += rm[j] / m / kEmaStatisticsBatches;
        var[i][static_cast<size_t>(j)] += rv[j] / m / kEmaStatisticsBatches;
      }
    }
  }
  for (size_t i = 0; i < norms.size(); ++i) {
    float* rm = norms[i]->running_mean.data();
    float* rv = norms[i]->running_var.data();
    for (size_t j = 0; j < mean[i].size(); ++j) {
      rm[j] = static_cast<float>(mean[i][j]);
      rv[j] = static_cast<float>(var[i][j]);
    }
  }
  ema_->eval();
  gpt_.train(text_training);
}

GanStepLosses GanTrainer::train_step() {
  GanBatch b = batch(step_);
  // Anything drawing from the global generator (dropout) is fixed by (seed, step) too.
  manual_seed(mix_seed(options_.seed ^ 0x61B0BA11ull, static_cast<uint64_t>(step_)));
  GanStepLosses d = d_step(b);
  GanStepLosses g = g_step(b);
  d.g_loss = g.g_loss;
  d.g_contrastive = g.g_contrastive;
  d.text_loss = g.text_loss;
  ++step_;
  return d;
}

}  // namespace fresco::gan
