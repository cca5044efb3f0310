// SPDX-License-Identifier: Apache-2.0
// text::Gpt against the same model built from PyTorch layers (Embedding,
// causal norm_first TransformerEncoderLayer blocks, LayerNorm, head tied to
// wte, F.cross_entropy), run in float64, on fixed token ids with <|eos|> and
// <|pad|>: weights, ids, logits, the loss and its gradient w.r.t. every
// parameter are in tests/text/data/gpt_golden.safetensors, written by
// tests/golden/make_golden.py (needs PyTorch; CI only reads the committed file).
#include "support/golden.hpp"

using namespace fresco;
using fresco::testing::Golden;

namespace {

// float32 against float64, relative to the largest |expected|.
constexpr double kTol = 3e-5;

text::GptConfig golden_config(const Golden& g) {
  return {.vocab_size = g.size("vocab_size"), .context = g.size("context"), .d_model = g.size("d_model"),
          .heads = g.size("heads"), .layers = g.size("layers"), .mlp_ratio = g.size("mlp_ratio")};
}

}  // namespace

TEST_CASE("Gpt matches PyTorch: logits, next-token loss and every parameter's gradient", "[text][gpt][golden]") {
  const Golden golden("text/data/gpt_golden.safetensors");
  text::Gpt gpt(golden_config(golden));
  golden.load_parameters(gpt);
  const std::vector<int64_t> ids = golden.ids("ids");
  const int64_t B = golden.size("batch"), T = golden.size("seq");

  CHECK_GOLDEN(golden, "logits", gpt(ids, B, T), kTol);
  Tensor loss = gpt.loss(ids, B, T);
  CHECK_GOLDEN(golden, "loss", loss, kTol);
  loss.backward();
  // wte.weight's gradient sums the embedding's and the tied head's.
  for (const auto& [name, p] : gpt.named_parameters()) CHECK_GOLDEN(golden, "grad." + name, p.grad(), kTol);
}
