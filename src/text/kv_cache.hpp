// SPDX-License-Identifier: Apache-2.0
#pragma once
// Private to the library: the GPT's incremental inference (a key/value cache
// per block) and its token sampler, shared by `text::Gpt::generate` and the
// models that run a `text::Gpt`'s blocks over their own embeddings (the token
// transformer of `vq::TokenTextToImage`).
// Legend: B batch, n new positions, C d_model, V vocabulary.
#include <cstdint>
#include <vector>

#include <fresco/tensor/random.hpp>
#include <fresco/tensor/tensor.hpp>
#include <fresco/text/gpt.hpp>

namespace fresco::text::detail {

/// Keys and values of one block, [B, H, context, D] each; positions before the
/// current one are filled.
struct LayerCache {
  std::vector<float> k, v;
};

/// One empty cache per block of `config` for `batch` rows.
std::vector<LayerCache> make_caches(const GptConfig& config, int64_t batch);

/// Runs embedded inputs x [B, n, C] at absolute positions p0..p0+n-1 through
/// `gpt`'s blocks (causal; the positional embedding is the caller's), writing
/// their keys and values into `caches`; returns the final hidden state (after
/// ln_f) of each row's last new position, [B, C]. No graph is recorded.
Tensor cached_blocks(const Gpt& gpt, std::vector<LayerCache>& caches, const Tensor& x, int64_t p0);

/// Throws `fresco::Error` naming `fn` for a temperature < 0, top_k < 0 or top_p outside (0, 1].
void check_sampling(const GenerateOptions& options, const char* fn);

/// One token from a row of V logits: greedy at temperature 0, else softmax(logits / temperature)
/// restricted to the top_k most likely tokens and to the top_p nucleus, drawn from `gen`.
int64_t sample_token(const float* logits, int64_t V, const GenerateOptions& options, Generator& gen);

}  // namespace fresco::text::detail
