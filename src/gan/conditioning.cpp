// SPDX-License-Identifier: Apache-2.0
#include <fresco/gan/conditioning.hpp>

#include <algorithm>

#include <fresco/error.hpp>
#include <fresco/ops/elementwise.hpp>
#include <fresco/ops/nn.hpp>
#include <fresco/ops/reduce.hpp>
#include <fresco/ops/shape.hpp>
#include <fresco/tensor/random.hpp>
#include <fresco/text/gpt.hpp>
#include <fresco/text/tokenizer.hpp>

namespace fresco::gan {

TokenBatch pad_token_rows(const std::vector<std::vector<int64_t>>& rows, int64_t pad_id) {
  FRESCO_CHECK(!rows.empty(), "pad_token_rows: no captions given");
  TokenBatch t;
  t.batch = static_cast<int64_t>(rows.size());
  for (const auto& r : rows) t.seq = std::max<int64_t>(t.seq, static_cast<int64_t>(r.size()));
  FRESCO_CHECK(t.seq >= 1, "pad_token_rows: every caption is empty");
  t.ids.assign(static_cast<size_t>(t.batch * t.seq), pad_id);
  t.end.resize(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    std::copy(rows[i].begin(), rows[i].end(), t.ids.begin() + static_cast<int64_t>(i) * t.seq);
    t.end[i] = std::max<int64_t>(0, static_cast<int64_t>(rows[i].size()) - 1);
  }
  return t;
}

TokenBatch tokenize_captions(const text::BpeTokenizer& tokenizer, const std::vector<std::string>& captions,
                             int64_t context) {
  FRESCO_CHECK(!captions.empty(), "tokenize_captions: no captions given");
  std::vector<std::vector<int64_t>> rows;
  rows.reserve(captions.size());
  for (const auto& c : captions) {
    rows.push_back(tokenizer.encode(c, /*add_bos=*/true, /*add_eos=*/true));
    FRESCO_CHECK(static_cast<int64_t>(rows.back().size()) <= context,
                 "tokenize_captions: the caption \"{}\" needs {} tokens with <|bos|>/<|eos|>, more than the text "
                 "model's context of {}",
                 c, rows.back().size(), context);
  }
  return pad_token_rows(rows, tokenizer.pad_id());
}

TextFeatures encode_tokens(const text::Gpt& gpt, const TokenBatch& tokens) {
  // Why not the GPT's final hidden states (Gpt::token_features): trained to predict the next token of
  // captions whose attributes are drawn independently, its last layers keep what predicts the next
  // token, the grammar's next slot, and lose which words came. On Shapes, a linear probe reads shape,
  // colour, size and position from the end-token state at 60-75%, and the caption-dependent part is a
  // fraction of its norm; from the mean of the first block's states, at 95-100%. So the word vectors
  // are the states after the first block (each token in its left context), layer-normalised to unit
  // scale, and the sentence vector is their mean over the caption, layer-normalised again.
  TextFeatures f;
  const int64_t b = tokens.batch, t = tokens.seq, d = gpt.config().d_model;
  FRESCO_CHECK(static_cast<int64_t>(tokens.ids.size()) == b * t && static_cast<int64_t>(tokens.end.size()) == b,
               "encode_tokens: a batch of {} x {} needs {} ids and {} ends, got {} and {}", b, t, b * t, b,
               tokens.ids.size(), tokens.end.size());
  FRESCO_CHECK(t <= gpt.config().context, "encode_tokens: {} tokens exceed the text model's context of {}", t,
               gpt.config().context);
  std::vector<int64_t> positions(static_cast<size_t>(t));
  for (int64_t i = 0; i < t; ++i) positions[static_cast<size_t>(i)] = i;
  Tensor h = gpt.wte(tokens.ids, {b, t}) + gpt.wpe(positions, {t});   // [B, T, d]
  if (gpt.blocks.size() > 0) h = gpt.blocks[0](h);
  f.words = layer_norm(h, {d}, Tensor(), Tensor());
  // Padding comes after <|eos|> (so causal attention never mixed it in); the mean counts bos..eos.
  std::vector<float> mask(tokens.ids.size()), keep(tokens.ids.size()), count(static_cast<size_t>(b));
  for (int64_t r = 0; r < b; ++r)
    for (int64_t i = 0; i < t; ++i) {
      const size_t k = static_cast<size_t>(r * t + i);
      const bool pad = tokens.ids[k] == text::BpeTokenizer::kPadId || i > tokens.end[static_cast<size_t>(r)];
      mask[k] = pad ? 1.f : 0.f;
      keep[k] = pad ? 0.f : 1.f;
      count[static_cast<size_t>(r)] += keep[k];
    }
  for (auto& c : count) c = 1.f / std::max(c, 1.f);
  Tensor pooled = sum(f.words * tensor(std::move(keep), {b, t, 1}), {1}) * tensor(std::move(count), {b, 1});
  f.sentence = layer_norm(pooled, {d}, Tensor(), Tensor());   // [B, d]
  f.pad_mask = tensor(std::move(mask), {b, t});
  return f;
}

Tensor seeded_noise(int64_t rows, int64_t dim, uint64_t seed, int64_t first_row) {
  FRESCO_CHECK(rows >= 1 && dim >= 1, "seeded_noise: rows and dim must be positive, got {} and {}", rows, dim);
  std::vector<float> v(static_cast<size_t>(rows * dim));
  for (int64_t r = 0; r < rows; ++r) {
    fresco::Generator gen(mix_seed(seed, static_cast<uint64_t>(first_row + r)));
    for (int64_t j = 0; j < dim; ++j) v[static_cast<size_t>(r * dim + j)] = gen.normal();
  }
  return tensor(std::move(v), {rows, dim});
}

}  // namespace fresco::gan
