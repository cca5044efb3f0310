// SPDX-License-Identifier: Apache-2.0
#include <fresco/gan/conditioning.hpp>

#include <algorithm>

#include <fresco/error.hpp>
#include <fresco/ops/shape.hpp>
#include <fresco/tensor/random.hpp>

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
  TextFeatures f;
  const int64_t b = tokens.batch, t = tokens.seq, d = gpt.config().d_model;
  f.words = gpt.token_features(tokens.ids, b, t);   // [B, T, d]
  std::vector<int64_t> flat(tokens.end.size());
  for (size_t i = 0; i < flat.size(); ++i) flat[i] = static_cast<int64_t>(i) * t + tokens.end[i];
  f.sentence = index_select(f.words.reshape({b * t, d}), 0, flat);   // [B, d]
  std::vector<float> mask(tokens.ids.size());
  const int64_t pad = text::BpeTokenizer::kPadId;
  for (size_t i = 0; i < mask.size(); ++i) mask[i] = tokens.ids[i] == pad ? 1.f : 0.f;
  f.pad_mask = tensor(std::move(mask), {b, t});
  return f;
}

uint64_t mix_seed(uint64_t a, uint64_t b) {
  uint64_t z = a * 0x9E3779B97F4A7C15ull + b + 0x632BE59BD9B4E019ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
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
