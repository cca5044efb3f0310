// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file
/// What the image models see of a caption: token ids padded into a batch,
/// the GPT's word vectors and sentence vector, and seeded noise.

#include <cstdint>
#include <string>
#include <vector>

#include <fresco/tensor/random.hpp>
#include <fresco/tensor/tensor.hpp>

namespace fresco::text {
class BpeTokenizer;
class Gpt;
}  // namespace fresco::text

namespace fresco::gan {

/// Captions as a padded id batch [B, T] (row-major): `<|bos|>` caption `<|eos|>`
/// then `<|pad|>` up to the longest row.
struct TokenBatch {
  std::vector<int64_t> ids;
  int64_t batch = 0;
  int64_t seq = 0;
  /// Per row, the position of its `<|eos|>` (the sentence vector is read there).
  std::vector<int64_t> end;
};

/// Tokenizes `captions` (non-empty list) with bos/eos and pads them. Throws
/// `fresco::Error` when a caption needs more than `context` tokens.
TokenBatch tokenize_captions(const text::BpeTokenizer& tokenizer, const std::vector<std::string>& captions,
                             int64_t context);
/// Pads already tokenized rows (each with bos/eos) into a batch.
TokenBatch pad_token_rows(const std::vector<std::vector<int64_t>>& rows, int64_t pad_id);

/// The GPT's view of a caption batch.
struct TextFeatures {
  /// The mean of the row's word vectors over its tokens (bos..eos), layer-normalised: [B, d_model].
  Tensor sentence;
  /// Per token, the GPT's state after its first block, layer-normalised (no affine): [B, T, d_model].
  Tensor words;
  /// [B, T], 1 where the token is padding (attention ignores it), else 0.
  Tensor pad_mask;
};

/// Runs the embeddings and first block of `gpt` over `tokens` and returns the
/// word vectors, the sentence vectors (their mean over each caption) and the
/// padding mask. The first block's states, not the final ones: a GPT trained
/// on captions keeps in its last layers what predicts the next token, which is
/// not which words the caption holds (docs/text-to-image.md, "Conditioning").
/// Differentiable w.r.t. the GPT's parameters when grad mode is on.
TextFeatures encode_tokens(const text::Gpt& gpt, const TokenBatch& tokens);

/// `rows` × `dim` standard normal noise; row i is drawn from its own stream
/// seeded by (seed, first_row + i), so a row does not depend on the batch size.
Tensor seeded_noise(int64_t rows, int64_t dim, uint64_t seed, int64_t first_row = 0);

/// `fresco::mix_seed`, which the GAN's streams have always used.
using fresco::mix_seed;

}  // namespace fresco::gan
