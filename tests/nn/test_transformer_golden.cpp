// SPDX-License-Identifier: Apache-2.0
// nn::TransformerBlock against PyTorch's TransformerEncoderLayer (the causal
// block) and TransformerDecoderLayer (the cross-attention block), both
// norm_first with the erf GELU and no dropout, run in float64. Weights under
// fresco's names, inputs, outputs and the gradients of sum(out * dout) w.r.t.
// the inputs and every parameter are in
// tests/nn/data/transformer_block_golden.safetensors, written by
// tests/golden/make_golden.py (needs PyTorch; CI only reads the committed file).
#include "support/golden.hpp"

using namespace fresco;
using fresco::testing::Golden;

namespace {

// float32 against float64, relative to the largest |expected| (gradients pass
// through two LayerNorms and two attentions).
constexpr double kTol = 3e-5;

// Backpropagates sum(y * dout) and checks y, the inputs' and every parameter's gradient.
void check_block(const Golden& golden, const std::string& name, const nn::TransformerBlock& block, const Tensor& y,
                 const std::map<std::string, Tensor>& inputs) {
  CHECK_GOLDEN(golden, name, y, kTol);
  sum(y * golden.at("input.dout")).backward();
  for (const auto& [input, t] : inputs) CHECK_GOLDEN(golden, "grad." + name + "." + input, t.grad(), kTol);
  for (const auto& [param, p] : block.named_parameters()) CHECK_GOLDEN(golden, "grad." + name + "." + param, p.grad(), kTol);
}

}  // namespace

TEST_CASE("TransformerBlock matches PyTorch: causal block with padded keys", "[nn][transformer][golden]") {
  const Golden golden("nn/data/transformer_block_golden.safetensors");
  nn::TransformerBlock block(golden.size("d_model"), golden.size("heads"),
                             {.mlp_ratio = golden.size("mlp_ratio"), .causal = true});
  golden.load_parameters(block, "causal.");
  Tensor x = golden.input("x");
  const Tensor y = block(x, {}, {.key_padding_mask = golden.at("input.key_padding_mask")});
  check_block(golden, "causal", block, y, {{"x", x}});
}

TEST_CASE("TransformerBlock matches PyTorch: cross-attention block with padded keys and context",
          "[nn][transformer][golden]") {
  const Golden golden("nn/data/transformer_block_golden.safetensors");
  nn::TransformerBlock block(golden.size("d_model"), golden.size("heads"),
                             {.mlp_ratio = golden.size("mlp_ratio"), .cross_attention = true});
  golden.load_parameters(block, "cross.");
  Tensor x = golden.input("x"), context = golden.input("context");
  const Tensor y = block(x, context,
                         {.key_padding_mask = golden.at("input.key_padding_mask"),
                          .context_padding_mask = golden.at("input.context_padding_mask")});
  check_block(golden, "cross", block, y, {{"x", x}, {"context", context}});
}
