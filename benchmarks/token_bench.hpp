// SPDX-License-Identifier: Apache-2.0
#pragma once
// What the token-transformer benchmarks (W5 images, W6 clips) share: caption rows of
// byte tokens, and the timed training step of an ImageGpt.
#include <cstdint>
#include <string>
#include <vector>

#include <fresco/optim/adam.hpp>
#include <fresco/text/tokenizer.hpp>
#include <fresco/vq/image_gpt.hpp>

#include "bench_common.hpp"

namespace fresco::bench {

/// <|bos|>, `len` byte tokens, <|eos|>, padding up to 24 slots.
inline std::vector<int64_t> caption_row(int64_t len, int64_t salt) {
  std::vector<int64_t> ids = {text::BpeTokenizer::kBosId};
  for (int64_t t = 0; t < len; ++t) ids.push_back(97 + (t * 7 + salt) % 26);
  ids.push_back(text::BpeTokenizer::kEosId);
  ids.resize(24, text::BpeTokenizer::kPadId);
  return ids;
}

/// `batch` rows of `base_len` to `base_len + 5` byte tokens.
inline std::vector<int64_t> caption_rows(int64_t batch, int64_t base_len) {
  std::vector<int64_t> rows;
  for (int64_t b = 0; b < batch; ++b) {
    const auto c = caption_row(base_len + b % 6, b);
    rows.insert(rows.end(), c.begin(), c.end());
  }
  return rows;
}

/// Times `steps` training steps of `gpt` (batch 32: forward, both losses, backward, AdamW) and reports
/// them under `label` in tokens/s.
inline void time_training_step(vq::ImageGpt& gpt, const std::string& label, int steps, int64_t base_len) {
  const int64_t B = 32;
  gpt.train();
  optim::AdamW opt(gpt.parameters(), {.lr = 1e-3f, .beta1 = 0.9f, .beta2 = 0.95f, .weight_decay = 0.01f});
  const std::vector<int64_t> captions = caption_rows(B, base_len);
  std::vector<int64_t> codes(static_cast<size_t>(B * gpt.config().image_tokens()));
  for (size_t i = 0; i < codes.size(); ++i) codes[i] = static_cast<int64_t>((i * 37) % gpt.config().codes);
  auto step = [&] {
    opt.zero_grad();
    gpt.loss(captions, codes, B, 0.1f).total.backward();
    opt.step();
  };
  report(label, time_steps(step, steps), static_cast<double>(B * gpt.config().context()), "tokens");
}

}  // namespace fresco::bench
