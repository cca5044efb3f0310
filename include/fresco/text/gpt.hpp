// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file
/// `text::Gpt`: the decoder-only transformer that models captions. It is
/// pretrained by next-token prediction (`text::pretrain`), then gives each
/// caption a sentence vector and per-token vectors for the image models.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <fresco/nn/embedding.hpp>
#include <fresco/nn/module.hpp>
#include <fresco/nn/module_list.hpp>
#include <fresco/nn/norm.hpp>
#include <fresco/nn/transformer.hpp>
#include <fresco/tensor/tensor.hpp>
#include <fresco/text/tokenizer.hpp>

namespace fresco::io {
class LoadLimit;
}  // namespace fresco::io

namespace fresco::text {

/// Sizes of a `Gpt`; the defaults are the W2 reference workload. Checked by
/// `validate()` (the `Gpt` constructor calls it).
struct GptConfig {
  /// Number of token ids the model reads and predicts (>= 259: bytes + specials).
  int64_t vocab_size = 512;
  /// Longest sequence (the learned positional embedding has this many rows).
  int64_t context = 32;
  /// Width of every hidden state.
  int64_t d_model = 128;
  /// Attention heads per block (d_model must be a multiple).
  int64_t heads = 4;
  /// Number of transformer blocks.
  int64_t layers = 4;
  /// MLP hidden width = mlp_ratio · d_model.
  int64_t mlp_ratio = 4;
  /// Dropout inside the blocks, in [0, 1) (training mode only).
  float dropout = 0.f;
  /// Seed of the initial weights.
  uint64_t seed = 0;

  /// Throws `fresco::Error` naming the first field out of range.
  void validate() const;
  /// The config as string metadata ("gpt.vocab_size" -> "512", ...), as stored in model files.
  std::map<std::string, std::string> to_metadata() const;
  /// Reads `to_metadata()`'s keys back; throws `fresco::Error` for a missing or malformed one.
  static GptConfig from_metadata(const std::map<std::string, std::string>& metadata);
};

/// Options of `Gpt::generate`.
struct GenerateOptions {
  /// Logits are divided by it before sampling; 0 picks the most likely token (greedy).
  float temperature = 1.f;
  /// Sample among the k most likely tokens only (0: all).
  int64_t top_k = 0;
  /// Sample among the smallest set of most likely tokens whose probability reaches top_p (1: all).
  float top_p = 1.f;
  /// Seed of the sampling.
  uint64_t seed = 0;
  /// Stop a sequence after it produced `<|eos|>`.
  bool stop_at_eos = true;
};

/// GPT (Radford et al. 2018/2019) with a pre-LayerNorm block stack:
///
///     h = wte(ids) + wpe(0..T-1);  h = blocks.N(h) (causal);  h = ln_f(h);  logits = h · wteᵀ
///
/// The LM head is tied to the token embedding (no parameter of its own).
/// Weights start as GPT-2's: N(0, 0.02) for every Linear/Embedding weight and
/// the attention in-projection, zero biases, LayerNorms at (1, 0). Ids are
/// row-major [B, T] vectors; padding (`<|pad|>`) must come after a sequence's
/// tokens, which causal attention then never lets earlier positions see.
/// Threads: in eval mode, `forward`, `token_features` and `sentence_embedding`
/// only read the model and may run on several threads at once, each giving the
/// bits it gives alone; nothing that writes to it (`train`/`eval`, loading,
/// backward, an optimizer step) may overlap them (docs/architecture.md, Threads).
///
///     fresco::text::Gpt gpt({.vocab_size = 512, .context = 32});
///     fresco::Tensor logits = gpt(ids, 8, 16);   // ids of 8 rows of 16 tokens -> [8, 16, 512]
class Gpt : public nn::Module {
public:
  explicit Gpt(GptConfig config = {});

  /// ids [B, T] (row-major, B·T values, T <= context) -> logits [B, T, vocab_size].
  /// Throws `fresco::Error` for an id outside [0, vocab_size), T > context or a size mismatch.
  Tensor forward(const std::vector<int64_t>& ids, int64_t batch, int64_t seq) const;
  Tensor operator()(const std::vector<int64_t>& ids, int64_t batch, int64_t seq) const {
    return forward(ids, batch, seq);
  }

  /// Final hidden states (after ln_f): ids [B, T] -> [B, T, d_model].
  Tensor token_features(const std::vector<int64_t>& ids, int64_t batch, int64_t seq) const;

  /// The hidden state at each row's end token -> [B, d_model]: the position of
  /// the row's first `<|eos|>`, or else of its last token that is not `<|pad|>`.
  Tensor sentence_embedding(const std::vector<int64_t>& ids, int64_t batch, int64_t seq) const;

  /// Mean next-token cross-entropy of ids [B, T]: position t predicts ids[t+1];
  /// targets that are `<|pad|>` do not count. Needs T >= 2 and one counted target.
  Tensor loss(const std::vector<int64_t>& ids, int64_t batch, int64_t seq) const;
  /// Mean cross-entropy with explicit targets [B, T] (row-major); `ignore_index`
  /// targets do not count. As the W2 workload: logits at t against targets[t].
  Tensor loss(const std::vector<int64_t>& ids, const std::vector<int64_t>& targets, int64_t batch, int64_t seq,
              int64_t ignore_index = -100) const;

  /// Continues `prompt` (non-empty) by up to `max_new_tokens` sampled tokens;
  /// returns prompt + new tokens. Stops early at `<|eos|>` (with stop_at_eos)
  /// or when the sequence fills the context. Keys and values of the prefix
  /// are cached per layer, so each new token costs O(T·d_model) attention.
  std::vector<int64_t> generate(const std::vector<int64_t>& prompt, int64_t max_new_tokens,
                                GenerateOptions options = {}) const;
  /// Continues several prompts of one length together (one batch per step).
  /// Row i draws from its own stream seeded by (options.seed, i).
  std::vector<std::vector<int64_t>> generate_batch(const std::vector<std::vector<int64_t>>& prompts,
                                                   int64_t max_new_tokens, GenerateOptions options = {}) const;

  const GptConfig& config() const { return config_; }

  nn::Embedding wte;                           ///< token embedding [vocab_size, d_model], also the LM head
  nn::Embedding wpe;                           ///< positional embedding [context, d_model]
  nn::ModuleList<nn::TransformerBlock> blocks;  ///< `layers` causal pre-LN blocks
  nn::LayerNorm ln_f;                          ///< final LayerNorm

private:
  void check_ids(const std::vector<int64_t>& ids, int64_t batch, int64_t seq, const char* fn) const;
  GptConfig config_;
};

/// Writes `gpt` with its config and `tokenizer` (as JSON) in the metadata of a
/// safetensors file (atomically). Metadata keys: "format" = "fresco-gpt",
/// "gpt.*" (the config), "tokenizer".
void save_gpt(const Gpt& gpt, const BpeTokenizer& tokenizer, const std::string& path);

/// A model and its tokenizer read back by `load_gpt`.
struct LoadedGpt {
  std::unique_ptr<Gpt> gpt;
  BpeTokenizer tokenizer;
};
/// Reads a file written by `save_gpt`. Throws `fresco::IoError`/`fresco::Error`
/// naming the file when it is missing, not a GPT file, or inconsistent.
/// A configuration whose tensors outnumber the file's (a damaged or hostile
/// file) fails before the model is built: see `io::LoadLimit`.
LoadedGpt load_gpt(const std::string& path);

/// Checks `config` against the file of `limit` before a loader builds the model: sizes
/// within sane bounds (at most 2^20 layers, 2^24 for the other sizes) and the tensors
/// "<prefix>wte.weight", "<prefix>wpe.weight" and the last block's attention and MLP
/// weights present with the shapes the config gives them. Throws `fresco::IoError`
/// naming the loader, the file and the first mismatch.
void expect_gpt_tensors(const io::LoadLimit& limit, const GptConfig& config, const std::string& prefix);

}  // namespace fresco::text
