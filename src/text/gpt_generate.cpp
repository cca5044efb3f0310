// SPDX-License-Identifier: Apache-2.0
// Sampling from the GPT with a key/value cache. Each block's keys and values
// for the positions seen so far are kept, so a new token is projected once
// and attends over the cache: O(T·C) per token and layer instead of re-running
// the whole prefix (O(T²·C)). The incremental path reuses the block's own
// parameters (ln1, attn.in_proj_*, attn.out_proj, ln2, fc, proj) and mirrors
// TransformerBlock::forward without dropout (generation is inference).
// Legend: B batch, n new positions, L cached positions, H heads, D head size, C = H·D.
#include <fresco/text/gpt.hpp>
#include <fresco/text/sampling.hpp>
#include "kernels/parallel.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include <fresco/autograd/autograd.hpp>
#include <fresco/error.hpp>
#include <fresco/ops/elementwise.hpp>
#include <fresco/ops/matmul.hpp>
#include <fresco/ops/nn.hpp>
#include <fresco/tensor/random.hpp>

namespace fresco::text {

namespace {

// Σ a[d]·b[d] in 8 independent lanes (which the compiler turns into one SIMD register), then
// the lanes' sum: a plain loop is one serial chain of additions, which it may not reorder.
float dot(const float* a, const float* b, int64_t D) {
  float lane[8] = {};
  int64_t d = 0;
  for (; d + 8 <= D; d += 8)
    for (int u = 0; u < 8; ++u) lane[u] += a[d + u] * b[d + u];
  float s = ((lane[0] + lane[1]) + (lane[2] + lane[3])) + ((lane[4] + lane[5]) + (lane[6] + lane[7]));
  for (; d < D; ++d) s += a[d] * b[d];
  return s;
}

// Causal attention of n new queries (absolute positions p0..p0+n-1) over the
// cache, after the new keys and values were written into it.
// qkv [B, n, 3C] (q | k | v per position, heads of D inside each) -> out [B, n, C].
// bias: null, or [H, n, p0 + n] added to the scores. Queries before `prefix` (<= p0 + n)
// see every key before it.
void cached_attention(float* out, const float* qkv, KvCache& cache, int64_t B, int64_t n, int64_t p0,
                      int64_t H, int64_t D, int64_t context, const float* bias, int64_t prefix) {
  const int64_t C = H * D;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t i = 0; i < n; ++i)
      for (int64_t h = 0; h < H; ++h) {
        const int64_t slot = ((b * H + h) * context + p0 + i) * D;
        const float* src = qkv + (b * n + i) * 3 * C;
        std::copy_n(src + C + h * D, D, cache.k.data() + slot);
        std::copy_n(src + 2 * C + h * D, D, cache.v.data() + slot);
      }
  const float scale = 1.f / std::sqrt(static_cast<float>(D));
  // Rows in parallel once there are enough of them (a batch of sampled images); each thread
  // has its own scores.
  kernels::parallel_for(B, 8, [&](int64_t b0, int64_t b1) {
    std::vector<float> scores(static_cast<size_t>(p0 + n));
    for (int64_t b = b0; b < b1; ++b)
      for (int64_t i = 0; i < n; ++i)
        for (int64_t h = 0; h < H; ++h) {
          const float* q = qkv + (b * n + i) * 3 * C + h * D;
          const float* keys = cache.k.data() + (b * H + h) * context * D;
          const float* values = cache.v.data() + (b * H + h) * context * D;
          const int64_t len = std::max(p0 + i + 1, prefix);  // causal: keys 0..p0+i (the whole prefix inside it)
          float top = -std::numeric_limits<float>::infinity();
          const float* add = bias ? bias + (h * n + i) * (p0 + n) : nullptr;
          for (int64_t j = 0; j < len; ++j) {
            const float s = dot(q, keys + j * D, D) * scale + (add ? add[j] : 0.f);
            scores[static_cast<size_t>(j)] = s;
            top = std::max(top, s);
          }
          float total = 0.f;
          for (int64_t j = 0; j < len; ++j)
            total += scores[static_cast<size_t>(j)] = std::exp(scores[static_cast<size_t>(j)] - top);
          float* o = out + (b * n + i) * C + h * D;
          std::fill_n(o, D, 0.f);
          for (int64_t j = 0; j < len; ++j) {
            const float p = scores[static_cast<size_t>(j)] / total;
            for (int64_t d = 0; d < D; ++d) o[d] += p * values[j * D + d];
          }
        }
  });
}

}  // namespace

std::vector<KvCache> make_kv_caches(const GptConfig& config, int64_t batch) {
  std::vector<KvCache> caches(static_cast<size_t>(config.layers));
  for (auto& c : caches) {
    c.k.assign(static_cast<size_t>(batch * config.context * config.d_model), 0.f);
    c.v.assign(c.k.size(), 0.f);
  }
  return caches;
}

Tensor cached_blocks(const Gpt& gpt, std::vector<KvCache>& caches, const Tensor& input, int64_t p0,
                     const Tensor& bias, int64_t prefix) {
  const GptConfig& cfg = gpt.config();
  FRESCO_CHECK_SHAPE(input.dim() == 3 && input.size(2) == cfg.d_model,
                     "cached_blocks: expected inputs [B, n, {}], got {}", cfg.d_model, shape_str(input.shape()));
  const int64_t B = input.size(0), n = input.size(1), C = cfg.d_model, H = cfg.heads, D = C / H;
  FRESCO_CHECK(p0 >= 0 && p0 + n <= cfg.context, "cached_blocks: positions {} to {} are outside the context {}", p0,
               p0 + n - 1, cfg.context);
  FRESCO_CHECK(static_cast<int64_t>(caches.size()) == cfg.layers &&
                   static_cast<int64_t>(caches[0].k.size()) >= B * cfg.context * C,
               "cached_blocks: the caches hold {} blocks for at most {} rows; the model has {} blocks and the input {} rows",
               caches.size(), caches.empty() ? 0 : static_cast<int64_t>(caches[0].k.size()) / (cfg.context * C),
               cfg.layers, B);
  FRESCO_CHECK(prefix >= 0 && prefix <= p0 + n,
               "cached_blocks: a prefix of {} positions read both ways must end within the positions run ({} to {})",
               prefix, p0, p0 + n - 1);
  Tensor add;
  if (bias.defined()) {
    FRESCO_CHECK_SHAPE(bias.shape() == Shape({H, n, p0 + n}), "cached_blocks: expected a bias [{}, {}, {}], got {}", H,
                       n, p0 + n, shape_str(bias.shape()));
    add = bias.contiguous();
  }
  NoGradGuard no_grad;
  Tensor x = input;
  for (int64_t l = 0; l < cfg.layers; ++l) {
    const nn::TransformerBlock& blk = gpt.blocks[l];
    Tensor h = layer_norm(x, {C}, blk.ln1.weight, blk.ln1.bias, blk.ln1.eps());
    Tensor qkv = linear(h, blk.attn.in_proj_weight, blk.attn.in_proj_bias).contiguous();
    Tensor att = empty({B, n, C});
    cached_attention(att.data(), qkv.data(), caches[static_cast<size_t>(l)], B, n, p0, H, D, cfg.context,
                     add.defined() ? add.data() : nullptr, prefix);
    x = x + linear(att, blk.attn.out_proj.weight, blk.attn.out_proj.bias);
    Tensor m = layer_norm(x, {C}, blk.ln2.weight, blk.ln2.bias, blk.ln2.eps());
    x = x + linear(gelu(linear(m, blk.fc.weight, blk.fc.bias)), blk.proj.weight, blk.proj.bias);
  }
  Tensor last = x.slice(1, n - 1, n).reshape({B, C});
  return layer_norm(last, {C}, gpt.ln_f.weight, gpt.ln_f.bias, gpt.ln_f.eps());
}

void check_sampling(const GenerateOptions& options, const char* fn) {
  FRESCO_CHECK(options.temperature >= 0.f && std::isfinite(options.temperature),
               "{}: temperature must be >= 0 (0 = greedy), got {}", fn, options.temperature);
  FRESCO_CHECK(options.top_k >= 0, "{}: top_k must be >= 0 (0 = all tokens), got {}", fn, options.top_k);
  FRESCO_CHECK(options.top_p > 0.f && options.top_p <= 1.f, "{}: top_p must be in (0, 1], got {}", fn,
               options.top_p);
}

// One token from a row of logits: greedy at temperature 0, else softmax(logits / temperature)
// restricted to the top_k most likely tokens and to the top_p nucleus.
int64_t sample_token(const float* logits, int64_t V, const GenerateOptions& o, Generator& gen) {
  if (o.temperature == 0.f) return std::max_element(logits, logits + V) - logits;
  std::vector<int64_t> order(static_cast<size_t>(V));
  std::iota(order.begin(), order.end(), int64_t{0});
  const int64_t keep = o.top_k > 0 ? std::min(o.top_k, V) : V;
  // Most likely first (equal logits by id, so that the result does not depend on the sort), as far
  // as top_k and top_p need it; with neither, the ids stay in their order and nothing is sorted.
  if (keep < V || o.top_p < 1.f)
    std::partial_sort(order.begin(), order.begin() + keep, order.end(), [&](int64_t a, int64_t b) {
      return logits[a] != logits[b] ? logits[a] > logits[b] : a < b;
    });
  std::vector<double> p(static_cast<size_t>(keep));
  const double top = keep < V || o.top_p < 1.f ? logits[order[0]] : *std::max_element(logits, logits + V);
  double total = 0;
  for (int64_t i = 0; i < keep; ++i) total += p[static_cast<size_t>(i)] = std::exp((logits[order[static_cast<size_t>(i)]] - top) / o.temperature);
  // Nucleus: the shortest prefix whose probability reaches top_p.
  int64_t count = keep;
  if (o.top_p < 1.f) {
    double cum = 0;
    for (int64_t i = 0; i < keep; ++i) {
      cum += p[static_cast<size_t>(i)] / total;
      if (cum >= o.top_p) {
        count = i + 1;
        break;
      }
    }
    total = std::accumulate(p.begin(), p.begin() + count, 0.0);
  }
  const double u = gen.uniform() * total;
  double cum = 0;
  for (int64_t i = 0; i < count; ++i) {
    cum += p[static_cast<size_t>(i)];
    if (u < cum) return order[static_cast<size_t>(i)];
  }
  return order[static_cast<size_t>(count - 1)];
}

namespace {

// Runs n new tokens per row (absolute positions p0..) through the model,
// updating the caches; returns the logits of each row's last new position [B, V].
Tensor cached_step(const Gpt& gpt, std::vector<KvCache>& caches, const std::vector<int64_t>& tokens,
                   int64_t B, int64_t n, int64_t p0) {
  std::vector<int64_t> positions(static_cast<size_t>(n));
  std::iota(positions.begin(), positions.end(), p0);
  Tensor x = gpt.wte(tokens, {B, n}) + gpt.wpe(positions, {n});
  return linear(cached_blocks(gpt, caches, x, p0), gpt.wte.weight).contiguous();
}

}  // namespace

std::vector<std::vector<int64_t>> Gpt::generate_batch(const std::vector<std::vector<int64_t>>& prompts,
                                                      int64_t max_new_tokens, GenerateOptions options) const {
  FRESCO_CHECK(!prompts.empty(), "Gpt::generate: no prompt given");
  FRESCO_CHECK(max_new_tokens >= 0, "Gpt::generate: max_new_tokens must be >= 0, got {}", max_new_tokens);
  check_sampling(options, "Gpt::generate");
  const int64_t B = static_cast<int64_t>(prompts.size());
  const int64_t L = static_cast<int64_t>(prompts[0].size());
  FRESCO_CHECK(L >= 1, "Gpt::generate: the prompt is empty (start it with <|bos|>)");
  std::vector<int64_t> flat;
  flat.reserve(static_cast<size_t>(B * L));
  for (size_t i = 0; i < prompts.size(); ++i) {
    FRESCO_CHECK(static_cast<int64_t>(prompts[i].size()) == L,
                 "Gpt::generate_batch: prompts must share one length; prompt 0 has {} tokens, prompt {} has {}", L, i,
                 prompts[i].size());
    flat.insert(flat.end(), prompts[i].begin(), prompts[i].end());
  }
  check_ids(flat, B, L, "generate");

  NoGradGuard no_grad;
  std::vector<KvCache> caches = make_kv_caches(config_, B);
  std::vector<Generator> gens;
  for (int64_t i = 0; i < B; ++i) gens.emplace_back(mix_seed(options.seed, static_cast<uint64_t>(i)));

  std::vector<std::vector<int64_t>> out = prompts;
  std::vector<bool> done(static_cast<size_t>(B), false);
  const int64_t steps = std::min(max_new_tokens, config_.context - L);
  if (steps <= 0) return out;
  Tensor logits = cached_step(*this, caches, flat, B, L, 0);
  std::vector<int64_t> next(static_cast<size_t>(B), BpeTokenizer::kPadId);
  for (int64_t s = 0; s < steps; ++s) {
    bool all_done = true;
    for (int64_t i = 0; i < B; ++i) {
      auto ui = static_cast<size_t>(i);
      if (done[ui]) continue;
      next[ui] = sample_token(logits.data() + i * config_.vocab_size, config_.vocab_size, options, gens[ui]);
      out[ui].push_back(next[ui]);
      if (options.stop_at_eos && next[ui] == BpeTokenizer::kEosId) done[ui] = true;
      all_done = all_done && done[ui];
    }
    if (all_done || s + 1 == steps) break;
    // Finished rows keep feeding <|pad|>; their results are ignored.
    for (int64_t i = 0; i < B; ++i)
      if (done[static_cast<size_t>(i)]) next[static_cast<size_t>(i)] = BpeTokenizer::kPadId;
    logits = cached_step(*this, caches, next, B, 1, L + s);
  }
  return out;
}

std::vector<int64_t> Gpt::generate(const std::vector<int64_t>& prompt, int64_t max_new_tokens,
                                   GenerateOptions options) const {
  return generate_batch({prompt}, max_new_tokens, options)[0];
}

}  // namespace fresco::text
