// SPDX-License-Identifier: Apache-2.0
// The token transformer: embeddings of the caption and image slots, the
// training losses, and cached sampling with classifier-free guidance.
// Legend: B batch, Tc caption_length, G grid, N = frames · G² image tokens, C d_model, K codes.
#include <fresco/vq/image_gpt.hpp>

#include <algorithm>
#include <cmath>
#include <deque>
#include <numeric>
#include <utility>

#include <fresco/autograd/autograd.hpp>
#include <fresco/error.hpp>
#include <fresco/io/metadata.hpp>
#include <fresco/nn/init.hpp>
#include <fresco/nn/transformer.hpp>
#include <fresco/ops/elementwise.hpp>
#include <fresco/ops/loss.hpp>
#include <fresco/ops/matmul.hpp>
#include <fresco/ops/nn.hpp>
#include <fresco/ops/shape.hpp>
#include <fresco/tensor/random.hpp>
#include <fresco/text/sampling.hpp>
#include <fresco/text/tokenizer.hpp>


namespace fresco::vq {

void ImageGptConfig::validate() const {
  FRESCO_CHECK(text_vocab >= text::BpeTokenizer::kFirstMergeId,
               "ImageGptConfig: text_vocab must be at least {} (256 bytes + 3 special tokens), got {}",
               text::BpeTokenizer::kFirstMergeId, text_vocab);
  FRESCO_CHECK(caption_length >= 2 && caption_length <= 4096,
               "ImageGptConfig: caption_length must be in [2, 4096] (<|bos|> <|eos|> at least), got {}", caption_length);
  FRESCO_CHECK(codes >= 2, "ImageGptConfig: codes must be at least 2, got {}", codes);
  FRESCO_CHECK(grid >= 1 && grid <= 64, "ImageGptConfig: grid must be in [1, 64], got {}", grid);
  FRESCO_CHECK(frames >= 1 && frames <= 64, "ImageGptConfig: frames must be in [1, 64], got {}", frames);
  FRESCO_CHECK(image_tokens() <= 4096, "ImageGptConfig: frames · grid² must be at most 4096 image tokens, got {} ({} x {}²)",
               image_tokens(), frames, grid);
  FRESCO_CHECK(d_model >= 1, "ImageGptConfig: d_model must be positive, got {}", d_model);
  FRESCO_CHECK(heads >= 1 && d_model % heads == 0, "ImageGptConfig: d_model ({}) must be a multiple of heads ({})",
               d_model, heads);
  FRESCO_CHECK(layers >= 1, "ImageGptConfig: layers must be positive, got {}", layers);
  FRESCO_CHECK(mlp_ratio >= 1, "ImageGptConfig: mlp_ratio must be positive, got {}", mlp_ratio);
  FRESCO_CHECK(dropout >= 0.f && dropout < 1.f, "ImageGptConfig: dropout must be in [0, 1), got {}", dropout);
  FRESCO_CHECK(code_dim >= 0 && code_dim <= 4096, "ImageGptConfig: code_dim must be in [0, 4096], got {}", code_dim);
  FRESCO_CHECK(!keyframes || frames > 1, "ImageGptConfig: keyframes orders the frames of clips; frames is {}", frames);
  FRESCO_CHECK(!(keyframes && relative_bias),
               "ImageGptConfig: keyframes and relative_bias cannot be combined (the bias table holds forward frame "
               "offsets only)");
}

std::vector<int64_t> ImageGptConfig::frame_order() const {
  std::vector<int64_t> order(static_cast<size_t>(frames));
  std::iota(order.begin(), order.end(), int64_t{0});
  if (!keyframes || frames < 2) return order;
  // First and last, then the middle of each gap between frames already written, breadth first.
  order = {0, frames - 1};
  std::deque<std::pair<int64_t, int64_t>> gaps = {{0, frames - 1}};
  while (!gaps.empty()) {
    const auto [a, b] = gaps.front();
    gaps.pop_front();
    if (b - a < 2) continue;
    const int64_t middle = (a + b) / 2;
    order.push_back(middle);
    gaps.emplace_back(a, middle);
    gaps.emplace_back(middle, b);
  }
  return order;
}

namespace {

template <class Config, class Field>
void fields(Config& c, Field&& field) {
  field("text_vocab", c.text_vocab), field("caption_length", c.caption_length), field("codes", c.codes);
  field("grid", c.grid), field("d_model", c.d_model), field("heads", c.heads), field("layers", c.layers);
  field("mlp_ratio", c.mlp_ratio), field("dropout", c.dropout), field("seed", c.seed);
}

// The keys written only when not at their default, so that files of models without them read as before.
template <class Config, class Field>
void optional_fields(Config& c, Field&& field) {
  field("frames", c.frames, int64_t{1});
  field("caption_recency", c.caption_recency, false);
  field("caption_bidirectional", c.caption_bidirectional, false);
  field("relative_bias", c.relative_bias, false);
  field("keyframes", c.keyframes, false);
  field("code_dim", c.code_dim, int64_t{0});
}

const ImageGptConfig& validated(const ImageGptConfig& c) {
  c.validate();
  return c;
}

}  // namespace

text::GptConfig ImageGptConfig::gpt_config() const {
  return {.vocab_size = text_vocab, .context = context(), .d_model = d_model, .heads = heads, .layers = layers,
          .mlp_ratio = mlp_ratio, .dropout = dropout, .seed = seed};
}

// "frames" and the optional settings are written only when not at their default (unless every_key), so
// older files read as before.
std::map<std::string, std::string> ImageGptConfig::to_metadata(const std::string& prefix, bool every_key) const {
  io::MetadataWriter writer(prefix);
  fields(*this, writer);
  optional_fields(*this, [&](const char* key, const auto& value, const auto& fallback) {
    if (every_key || value != fallback) writer(key, value);
  });
  return writer.metadata;
}

ImageGptConfig ImageGptConfig::from_metadata(const std::map<std::string, std::string>& metadata,
                                             const std::string& prefix) {
  ImageGptConfig c;
  const io::MetadataReader reader(metadata, prefix, "ImageGptConfig::from_metadata");
  fields(c, reader);
  optional_fields(c, [&](const char* key, auto& value, const auto&) {
    if (metadata.contains(prefix + key)) reader(key, value);
  });
  c.validate();
  return c;
}

void ImageSampleOptions::validate() const {
  FRESCO_CHECK(std::isfinite(guidance) && guidance >= 0.f, "ImageSampleOptions: guidance must be >= 0, got {}",
               guidance);
  text::check_sampling({.temperature = temperature, .top_k = top_k, .top_p = top_p}, "ImageSampleOptions");
  FRESCO_CHECK(guidance_ramp >= 0, "ImageSampleOptions: guidance_ramp must be >= 0, got {}", guidance_ramp);
  FRESCO_CHECK(candidates >= 1 && candidates <= kMaxCandidates,
               "ImageSampleOptions: candidates must be in [1, {}], got {}", kMaxCandidates, candidates);
}

uint64_t image_stream(uint64_t seed, int64_t index) { return mix_seed(seed, static_cast<uint64_t>(index)); }

uint64_t candidate_stream(uint64_t stream, int64_t k) { return mix_seed(stream, static_cast<uint64_t>(k)); }

ImageGpt::ImageGpt(ImageGptConfig config)
    : gpt(validated(config).gpt_config()),
      image_wte(config.codes + 1, config.d_model),
      image_row(config.grid, config.d_model),
      image_col(config.grid, config.d_model),
      image_head(config.d_model, config.codes),
      config_(config),
      order_(config.frame_order()) {
  register_module("gpt", gpt);
  register_module("image_wte", image_wte);
  register_module("image_row", image_row);
  register_module("image_col", image_col);
  register_module("image_head", image_head);
  if (config.frames > 1) {
    image_time = std::make_unique<nn::Embedding>(config.frames, config.d_model);
    register_module("image_time", *image_time);
  }
  // As the GPT's own weights: N(0, 0.02), zero bias. Drawn from a stream of their own so that
  // the GPT part starts as a text::Gpt of the same seed.
  NoGradGuard guard;
  Generator gen(mix_seed(config.seed, 1));
  nn::init::normal_(image_wte.weight, 0.02f, gen);
  nn::init::normal_(image_row.weight, 0.02f, gen);
  nn::init::normal_(image_col.weight, 0.02f, gen);
  nn::init::normal_(image_head.weight, 0.02f, gen);
  nn::init::zeros_(image_head.bias);
  if (image_time) nn::init::normal_(image_time->weight, 0.02f, gen);   // after the rest: images start as before
  if (config.relative_bias) {   // zero: no bias until training finds one
    const int64_t span = 2 * config.grid - 1;
    image_relative = std::make_unique<nn::Embedding>(config.frames * span * span, config.heads);
    register_module("image_relative", *image_relative);
    nn::init::zeros_(image_relative->weight);
  }
  if (config.code_dim > 0) {   // unlinked until init_codes_from: zero vectors add nothing
    image_code_vectors = register_buffer("image_code_vectors", zeros({config.codes, config.code_dim}));
    image_code_in = register_parameter("image_code_in", zeros({config.code_dim, config.d_model}));
    image_code_out = register_parameter("image_code_out", zeros({config.code_dim, config.d_model}));
  }
}

Tensor ImageGpt::image_code_table() const {
  if (config_.code_dim == 0) return image_wte.weight;
  const Tensor linked = matmul(image_code_vectors, image_code_in);   // [K, C]
  return image_wte.weight + cat({linked, zeros({1, config_.d_model})}, 0);
}

Tensor ImageGpt::image_head_weight() const {
  if (config_.code_dim == 0) return image_head.weight;
  return image_head.weight + matmul(image_code_vectors, image_code_out);
}

void ImageGpt::init_codes_from(const Tensor& codebook, float share, uint64_t seed) {
  const int64_t K = config_.codes, C = config_.d_model;
  FRESCO_CHECK_SHAPE(codebook.dim() == 2 && codebook.size(0) == K,
                     "ImageGpt::init_codes_from: expected a codebook [{}, D] (one vector per code), got {}", K,
                     shape_str(codebook.shape()));
  FRESCO_CHECK(share >= 0.f && share <= 1.f, "ImageGpt::init_codes_from: share must be in [0, 1], got {}", share);
  const int64_t D = codebook.size(1);
  const Tensor kept = codebook.contiguous();
  const float* e = kept.data();
  Generator gen(mix_seed(seed, 0xc0de));
  std::vector<float> projection(static_cast<size_t>(D * C));
  for (auto& r : projection) r = gen.normal();
  const bool linked = config_.code_dim > 0;
  FRESCO_CHECK_SHAPE(!linked || D == config_.code_dim,
                     "ImageGpt::init_codes_from: the model links codes of {} dimensions (code_dim), the codebook's "
                     "have {}", config_.code_dim, D);
  // The unit vectors ĉ_k, [K, D], and (unlinked) the part both tables share: R·ĉ_k for every code, [K, C].
  std::vector<float> shared(static_cast<size_t>(K * C), 0.f), unit(static_cast<size_t>(K * D));
  for (int64_t k = 0; k < K; ++k) {
    double norm = 0;
    for (int64_t d = 0; d < D; ++d) norm += static_cast<double>(e[k * D + d]) * e[k * D + d];
    const float inv = norm > 0 ? static_cast<float>(1.0 / std::sqrt(norm)) : 0.f;
    for (int64_t d = 0; d < D; ++d) {
      unit[static_cast<size_t>(k * D + d)] = e[k * D + d] * inv;
      if (linked) continue;   // the projections hold the shared part
      for (int64_t c = 0; c < C; ++c)
        shared[static_cast<size_t>(k * C + c)] += projection[static_cast<size_t>(d * C + c)] * e[k * D + d] * inv;
    }
  }
  const float noise = std::sqrt(1.f - share * share);
  NoGradGuard guard;
  for (Tensor* table : {&image_wte.weight, &image_head.weight}) {   // [codes + 1, C] and [codes, C], contiguous
    float* w = table->data();
    for (int64_t i = 0; i < K * C; ++i)
      w[i] = 0.02f * ((linked ? 0.f : share * shared[static_cast<size_t>(i)]) + noise * gen.normal());
  }
  nn::init::zeros_(image_head.bias);
  if (!linked) return;
  // The same rows, computed: ĉ·(0.02 a R) is the shared part above.
  std::copy(unit.begin(), unit.end(), image_code_vectors.data());
  for (Tensor* p : {&image_code_in, &image_code_out}) {
    float* w = p->data();
    for (int64_t i = 0; i < D * C; ++i) w[i] = 0.02f * share * projection[static_cast<size_t>(i)];
  }
}

int64_t ImageGpt::time_position(int64_t j) const {
  const int64_t per_frame = config_.grid * config_.grid;
  return order_[static_cast<size_t>(j / per_frame)] * per_frame + j % per_frame;
}

int64_t ImageGpt::relative_index(int64_t a, int64_t b) const {
  const int64_t G = config_.grid, per_frame = G * G, span = 2 * G - 1;
  const int64_t ka = a % per_frame, kb = b % per_frame;
  const int64_t dt = std::max<int64_t>(0, a / per_frame - b / per_frame);   // b > a is masked: any valid row
  return (dt * span + ka / G - kb / G + G - 1) * span + ka % G - kb % G + G - 1;
}

Tensor ImageGpt::attention_bias(int64_t length) const {
  const int64_t H = config_.heads, T = length > 0 ? length : config_.context();
  FRESCO_CHECK(T <= config_.context(), "ImageGpt::attention_bias: {} positions, the model has {}", T, config_.context());
  const int64_t Tc = std::min(T, config_.caption_length), n = T - Tc;   // caption and image slots
  Tensor bias;
  if (config_.caption_recency) {
    bias = zeros({1, H, T, T});   // counted by the memory limit like any tensor
    float* b = bias.data();
    for (int64_t h = 0; h < H; ++h) {
      const float slope = std::exp2(-8.f * static_cast<float>(h + 1) / static_cast<float>(H));
      for (int64_t t = 0; t < Tc; ++t)   // read both ways: the later words of the caption too, by distance
        for (int64_t s = 0; s < (config_.caption_bidirectional ? Tc : t + 1); ++s)
          b[(h * T + t) * T + s] = -slope * static_cast<float>(std::abs(t - s));
    }
  }
  if (image_relative && n > 0) {
    // Image block [H, n, n] looked up in the table (so the gradient reaches it), zeros around it.
    std::vector<int64_t> index(static_cast<size_t>(n * n));
    for (int64_t a = 0; a < n; ++a)
      for (int64_t b = 0; b < n; ++b) index[static_cast<size_t>(a * n + b)] = relative_index(a, b);
    Tensor image = (*image_relative)(index, {n, n}).permute({2, 0, 1});   // [H, n, n]
    Tensor rows = cat({zeros({H, n, Tc}), image}, 2);                      // [H, n, T]
    Tensor relative = cat({zeros({H, Tc, T}), rows}, 1).reshape({1, H, T, T});
    bias = bias.defined() ? bias + relative : relative;
  }
  return bias;
}

void ImageGpt::check_captions(const std::vector<int64_t>& captions, int64_t batch, const char* fn) const {
  FRESCO_CHECK(batch >= 1, "ImageGpt::{}: batch must be positive, got {}", fn, batch);
  FRESCO_CHECK_SHAPE(static_cast<int64_t>(captions.size()) == batch * config_.caption_length,
                     "ImageGpt::{}: expected {} caption ids ([{}, {}]), got {}", fn, batch * config_.caption_length,
                     batch, config_.caption_length, captions.size());
  for (size_t i = 0; i < captions.size(); ++i)
    FRESCO_CHECK(captions[i] >= 0 && captions[i] < config_.text_vocab,
                 "ImageGpt::{}: caption id {} at position {} is outside the vocabulary [0, {})", fn, captions[i], i,
                 config_.text_vocab);
}

Tensor ImageGpt::embed_caption(const std::vector<int64_t>& captions, int64_t batch) const {
  const int64_t Tc = config_.caption_length;
  std::vector<int64_t> positions(static_cast<size_t>(Tc));
  std::iota(positions.begin(), positions.end(), int64_t{0});
  return gpt.wte(captions, {batch, Tc}) + gpt.wpe(positions, {Tc});
}

Tensor ImageGpt::embed_image(const Tensor& table, const std::vector<int64_t>& inputs, int64_t batch, int64_t j0,
                             int64_t n) const {
  const int64_t G = config_.grid, per_frame = G * G;
  std::vector<int64_t> positions(static_cast<size_t>(n)), rows(static_cast<size_t>(n)), cols(static_cast<size_t>(n)),
      times(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const int64_t j = j0 + i, k = j % per_frame;
    positions[static_cast<size_t>(i)] = config_.caption_length + j;
    rows[static_cast<size_t>(i)] = k / G;
    cols[static_cast<size_t>(i)] = k % G;
    times[static_cast<size_t>(i)] = order_[static_cast<size_t>(j / per_frame)];
  }
  Tensor where = gpt.wpe(positions, {n}) + image_row(rows, {n}) + image_col(cols, {n});   // [n, C]
  if (image_time) where = where + (*image_time)(times, {n});
  return embedding(table, inputs, {batch, n}) + where;
}

ImageGpt::Logits ImageGpt::forward(const std::vector<int64_t>& captions, const std::vector<int64_t>& codes,
                                   int64_t batch) const {
  check_captions(captions, batch, "forward");
  const int64_t N = config_.image_tokens(), Tc = config_.caption_length, C = config_.d_model;
  FRESCO_CHECK_SHAPE(static_cast<int64_t>(codes.size()) == batch * N,
                     "ImageGpt::forward: expected {} image codes ([{}, {}]), got {}", batch * N, batch, N,
                     codes.size());
  // Slot j reads <|image|> (j = 0) or the code written at slot j − 1: the codes in writing order
  // shifted right by one.
  std::vector<int64_t> inputs(codes.size());
  for (int64_t b = 0; b < batch; ++b) {
    inputs[static_cast<size_t>(b * N)] = config_.codes;
    for (int64_t j = 1; j < N; ++j) {
      const int64_t code = codes[static_cast<size_t>(b * N + time_position(j - 1))];
      FRESCO_CHECK(code >= 0 && code < config_.codes, "ImageGpt::forward: code {} of row {} is outside [0, {})",
                   code, b, config_.codes);
      inputs[static_cast<size_t>(b * N + j)] = code;
    }
    const int64_t last = codes[static_cast<size_t>(b * N + time_position(N - 1))];
    FRESCO_CHECK(last >= 0 && last < config_.codes, "ImageGpt::forward: code {} of row {} is outside [0, {})", last,
                 b, config_.codes);
  }
  // [B, Tc + N, C]
  Tensor x = cat({embed_caption(captions, batch), embed_image(image_code_table(), inputs, batch, 0, N)}, 1);
  nn::TransformerBlockMasks masks;
  masks.attn_mask = attention_bias();
  if (config_.caption_bidirectional) masks.causal_prefix = Tc;
  for (const auto& block : gpt.blocks) x = block(x, {}, masks);
  Tensor h = gpt.ln_f(x);
  Tensor image = linear(h.slice(1, Tc, Tc + N).reshape({batch * N, C}), image_head_weight(), image_head.bias)
                     .reshape({batch, N, config_.codes});
  if (config_.keyframes) {   // writing order -> time order
    std::vector<int64_t> slot_of(static_cast<size_t>(N));
    for (int64_t j = 0; j < N; ++j) slot_of[static_cast<size_t>(time_position(j))] = j;
    image = index_select(image, 1, slot_of);
  }
  return {linear(h.slice(1, 0, Tc), gpt.wte.weight), image};
}

ImageGptLosses ImageGpt::loss(const std::vector<int64_t>& captions, const std::vector<int64_t>& codes,
                              int64_t batch, float text_weight, float change_weight) const {
  FRESCO_CHECK(text_weight >= 0.f && std::isfinite(text_weight),
               "ImageGpt::loss: text_weight must be >= 0, got {}", text_weight);
  FRESCO_CHECK(change_weight >= 0.f && std::isfinite(change_weight),
               "ImageGpt::loss: change_weight must be >= 0, got {}", change_weight);
  FRESCO_CHECK(change_weight == 0.f || config_.frames > 1,
               "ImageGpt::loss: change_weight weighs codes that change from frame to frame; this model writes "
               "single images (frames 1), got change_weight {}", change_weight);
  const Logits logits = forward(captions, codes, batch);
  const int64_t Tc = config_.caption_length, N = config_.image_tokens();
  const Tensor image_logits = logits.image.reshape({batch * N, config_.codes});
  Tensor image = cross_entropy(image_logits, codes);
  const float image_mean = image.item();
  if (change_weight > 0.f) {
    // The codes of frames 1.. that differ from the code one frame earlier at the same place.
    const int64_t F = config_.grid * config_.grid;
    std::vector<int64_t> changed(codes.size(), -100);
    int64_t moved = 0;
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t j = F; j < N; ++j) {
        const auto at = static_cast<size_t>(b * N + j);
        if (codes[at] == codes[at - static_cast<size_t>(F)]) continue;
        changed[at] = codes[at];
        ++moved;
      }
    if (moved > 0) image = image + cross_entropy(image_logits, changed, -100) * change_weight;
  }
  // Caption slot t predicts caption[t + 1]; the last slot and <|pad|> targets do not count.
  std::vector<int64_t> targets(captions.size(), -100);
  int64_t counted = 0;
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t t = 0; t + 1 < Tc; ++t) {
      const int64_t next = captions[static_cast<size_t>(b * Tc + t + 1)];
      if (next == text::BpeTokenizer::kPadId) continue;
      targets[static_cast<size_t>(b * Tc + t)] = next;
      ++counted;
    }
  ImageGptLosses out;
  out.image = image_mean;
  if (counted == 0 || text_weight == 0.f || config_.caption_bidirectional) {
    out.total = image;
    return out;
  }
  Tensor text = cross_entropy(logits.text.reshape({batch * Tc, config_.text_vocab}), targets, -100);
  out.text = text.item();
  out.total = image + text * text_weight;
  return out;
}

std::vector<int64_t> ImageGpt::sample(const std::vector<int64_t>& captions, int64_t batch,
                                      const std::vector<int64_t>& empty_caption, const ImageSampleOptions& options,
                                      uint64_t seed, int64_t first_index) const {
  std::vector<uint64_t> streams;
  streams.reserve(static_cast<size_t>(std::max<int64_t>(batch, 0)));
  for (int64_t i = 0; i < batch; ++i) streams.push_back(image_stream(seed, first_index + i));
  return sample(captions, batch, empty_caption, options, streams);
}

std::vector<int64_t> ImageGpt::sample(const std::vector<int64_t>& captions, int64_t batch,
                                      const std::vector<int64_t>& empty_caption, const ImageSampleOptions& options,
                                      const std::vector<uint64_t>& streams) const {
  options.validate();
  check_captions(captions, batch, "sample");
  FRESCO_CHECK(static_cast<int64_t>(streams.size()) == batch, "ImageGpt::sample: {} streams for {} caption rows",
               streams.size(), batch);
  const bool guided = options.guidance != 1.f;
  if (guided) check_captions(empty_caption, 1, "sample (empty caption)");
  const int64_t N = config_.image_tokens(), K = config_.codes, Tc = config_.caption_length;
  NoGradGuard no_grad;
  // Rows 0..B−1 read the captions; with guidance rows B..2B−1 the empty caption.
  const int64_t rows = guided ? 2 * batch : batch;
  std::vector<int64_t> prompt = captions;
  if (guided)
    for (int64_t b = 0; b < batch; ++b) prompt.insert(prompt.end(), empty_caption.begin(), empty_caption.end());
  auto caches = text::make_kv_caches(gpt.config(), rows);
  // The caption's own bias (queries and keys 0..Tc−1); image slots attend without one.
  Tensor prefill_bias = attention_bias(Tc);
  if (prefill_bias.defined()) prefill_bias = prefill_bias.reshape({config_.heads, Tc, Tc});
  text::cached_blocks(gpt, caches, embed_caption(prompt, rows), 0, prefill_bias,
                      config_.caption_bidirectional ? Tc : 0);

  std::vector<Generator> gens;
  gens.reserve(static_cast<size_t>(batch));
  for (int64_t i = 0; i < batch; ++i) gens.emplace_back(streams[static_cast<size_t>(i)]);
  const text::GenerateOptions draw{.temperature = options.temperature, .top_k = options.top_k, .top_p = options.top_p};

  std::vector<int64_t> out(static_cast<size_t>(batch * N));
  std::vector<int64_t> inputs(static_cast<size_t>(rows), K);   // slot 0 reads <|image|>
  std::vector<float> mixed(static_cast<size_t>(K));
  // With relative_bias, image query j's bias over keys 0..Tc+j: 0 on the caption, the table's entries on codes.
  std::vector<float> bias_row;
  const Tensor code_table = image_code_table(), head_weight = image_head_weight();
  const Tensor table_kept = image_relative ? image_relative->weight.contiguous() : Tensor();
  const float* table = table_kept.defined() ? table_kept.data() : nullptr;
  for (int64_t j = 0; j < N; ++j) {
    Tensor step_bias;
    if (table) {
      const int64_t H = config_.heads, keys = Tc + j + 1;
      bias_row.assign(static_cast<size_t>(H * keys), 0.f);
      for (int64_t h = 0; h < H; ++h)
        for (int64_t b = 0; b <= j; ++b)
          bias_row[static_cast<size_t>(h * keys + Tc + b)] = table[relative_index(j, b) * H + h];
      step_bias = tensor(bias_row, {H, 1, keys});
    }
    Tensor h = text::cached_blocks(gpt, caches, embed_image(code_table, inputs, rows, j, 1), Tc + j, step_bias);
    Tensor logits = linear(h, head_weight, image_head.bias).contiguous();   // [rows, K]
    const float* l = logits.data();
    const float scale = options.guidance_ramp > j
                            ? 1.f + (options.guidance - 1.f) * static_cast<float>(j) /
                                        static_cast<float>(options.guidance_ramp)
                            : options.guidance;
    for (int64_t b = 0; b < batch; ++b) {
      const float* c = l + b * K;
      if (guided) {
        const float* u = l + (batch + b) * K;
        for (int64_t k = 0; k < K; ++k) mixed[static_cast<size_t>(k)] = u[k] + scale * (c[k] - u[k]);
        c = mixed.data();
      }
      const int64_t code = text::sample_token(c, K, draw, gens[static_cast<size_t>(b)]);
      out[static_cast<size_t>(b * N + time_position(j))] = code;
      inputs[static_cast<size_t>(b)] = code;
      if (guided) inputs[static_cast<size_t>(batch + b)] = code;
    }
  }
  return out;
}

}  // namespace fresco::vq
