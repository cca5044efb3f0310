// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file
/// The GPT's incremental inference and its token sampler, for models that run
/// a `text::Gpt`'s blocks over embeddings of their own (the token transformer,
/// `vq::ImageGpt`) and for `text::Gpt::generate` itself: a key/value cache per
/// block, so that a new position costs one position's work, and one sampling
/// step (temperature, top-k, top-p).
///
///     auto caches = fresco::text::make_kv_caches(gpt.config(), batch);
///     fresco::Tensor h = fresco::text::cached_blocks(gpt, caches, embedded_prompt, 0);   // [B, C]
///     int64_t next = fresco::text::sample_token(logits_row, V, options, generator);
///
/// Legend: B batch, n new positions, C d_model, V vocabulary.
#include <cstdint>
#include <vector>

#include <fresco/tensor/random.hpp>
#include <fresco/tensor/tensor.hpp>
#include <fresco/text/gpt.hpp>

namespace fresco::text {

/// Keys and values of one block, [B, H, context, D] each; positions before the
/// current one are filled.
struct KvCache {
  std::vector<float> k, v;
};

/// One empty cache per block of `config` for `batch` rows.
std::vector<KvCache> make_kv_caches(const GptConfig& config, int64_t batch);

/// Runs embedded inputs x [B, n, C] at absolute positions p0..p0+n-1 through
/// `gpt`'s blocks (causal; the positional embedding is the caller's), writing
/// their keys and values into `caches`; returns the final hidden state (after
/// ln_f) of each row's last new position, [B, C]. No graph is recorded.
/// `bias`, when defined, is added to the attention scores of the new positions
/// in every block, as a self-attention `attn_mask` is in the full forward pass:
/// [H, n, p0 + n], entry [h, i, j] for query p0 + i and key j (keys after the
/// query are masked whatever it holds). Queries before `prefix` see every key
/// before it (a prefix read both ways, as `TransformerBlockMasks::causal_prefix`),
/// so a prefix is run in one call that reaches its end.
/// Throws `fresco::Error` when p0 + n exceeds the context, the caches are not
/// `gpt`'s, the bias has another shape or the prefix ends after p0 + n.
Tensor cached_blocks(const Gpt& gpt, std::vector<KvCache>& caches, const Tensor& x, int64_t p0,
                     const Tensor& bias = {}, int64_t prefix = 0);

/// Throws `fresco::Error` naming `fn` for a temperature < 0, top_k < 0 or top_p outside (0, 1].
void check_sampling(const GenerateOptions& options, const char* fn);

/// One token from a row of V logits: greedy at temperature 0, else softmax(logits / temperature)
/// restricted to the top_k most likely tokens and to the top_p nucleus (ties by id), drawn
/// with one uniform number from `gen`. The options are not checked here (`check_sampling`).
int64_t sample_token(const float* logits, int64_t V, const GenerateOptions& options, Generator& gen);

}  // namespace fresco::text
