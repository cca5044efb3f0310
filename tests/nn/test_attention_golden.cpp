// SPDX-License-Identifier: Apache-2.0
// nn::MultiHeadAttention against torch.nn.MultiheadAttention(batch_first=True)
// run in float64: weights, inputs, outputs and the gradients of
// sum(out * dout) are in tests/nn/data/mha_golden.safetensors, written by
// tests/golden/make_golden.py (needs PyTorch; CI only reads the committed file).
// One case per code path of forward: packed self-attention (causal, padded
// keys), cross-attention with k = v, and distinct q, k, v with an additive mask.
#include "support/golden.hpp"

using namespace fresco;
using fresco::testing::Golden;

namespace {

// float32 against float64 on values of order 1, relative to the largest |expected|.
constexpr double kTol = 2e-5;

struct Attention {
  Golden golden{"nn/data/mha_golden.safetensors"};
  nn::MultiHeadAttention attn{golden.size("embed_dim"), golden.size("heads")};
  Attention() { golden.load_parameters(attn); }

  // Backpropagates sum(y * dout) and checks y and the gradients named in the file.
  void check(const std::string& name, const Tensor& y, const std::map<std::string, Tensor>& inputs) {
    CHECK_GOLDEN(golden, name, y, kTol);
    sum(y * golden.at("input.dout")).backward();
    for (const auto& [input, t] : inputs) CHECK_GOLDEN(golden, "grad." + name + "." + input, t.grad(), kTol);
    int checked = 0;
    for (const auto& [param, p] : attn.named_parameters()) {
      if (!golden.has("expect.grad." + name + "." + param)) continue;
      CHECK_GOLDEN(golden, "grad." + name + "." + param, p.grad(), kTol);
      ++checked;
    }
    CHECK(checked >= 1);
  }
};

}  // namespace

TEST_CASE("MultiHeadAttention matches PyTorch: causal self-attention, all gradients", "[nn][attention][golden]") {
  Attention a;
  Tensor x = a.golden.input("x");
  a.check("self_causal", a.attn(x, x, x, {.causal = true}), {{"q", x}});
}

TEST_CASE("MultiHeadAttention matches PyTorch: self-attention with padded keys", "[nn][attention][golden]") {
  Attention a;
  Tensor x = a.golden.input("x");
  a.check("self_padded", a.attn(x, x, x, {.key_padding_mask = a.golden.at("input.key_padding_mask")}), {{"q", x}});
}

TEST_CASE("MultiHeadAttention matches PyTorch: cross-attention on one context (k = v)", "[nn][attention][golden]") {
  Attention a;
  Tensor q = a.golden.input("q"), context = a.golden.input("context");
  a.check("cross", a.attn(q, context, context), {{"q", q}, {"k", context}});
}

TEST_CASE("MultiHeadAttention matches PyTorch: distinct q, k, v and an additive mask", "[nn][attention][golden]") {
  Attention a;
  Tensor q = a.golden.input("q"), k = a.golden.input("k"), v = a.golden.input("v");
  a.check("qkv_masked", a.attn(q, k, v, a.golden.at("input.attn_mask")), {{"q", q}, {"k", k}, {"v", v}});
}
