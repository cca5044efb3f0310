// SPDX-License-Identifier: Apache-2.0
// PositionalEncoding values, TransformerBlock against its formula written
// out with the block's own submodules, names, masks and gradcheck.
#include <cmath>

#include "nn/layer_check.hpp"

using namespace fresco;
using fresco::test::module_gradcheck;
using fresco::test::values;

TEST_CASE("PositionalEncoding sinusoidal 1-D table and forward", "[nn][positional]") {
  nn::PositionalEncoding pe(6, {10});
  CHECK(pe.named_parameters().empty());
  Tensor table = pe.table();
  REQUIRE(table.shape() == Shape{10, 6});
  const auto v = table.to_vector();
  double worst = 0;
  for (int t = 0; t < 10; ++t)
    for (int i = 0; i < 3; ++i) {
      const double w = std::pow(10000.0, -2.0 * i / 6);
      worst = std::max(worst, std::fabs(v[t * 6 + 2 * i] - std::sin(t * w)));
      worst = std::max(worst, std::fabs(v[t * 6 + 2 * i + 1] - std::cos(t * w)));
    }
  CHECK(worst < 1e-6);
  CHECK(v[0] == 0.f);
  CHECK(v[1] == 1.f);
  Tensor x = randn({2, 4, 6});
  Tensor y = pe(x);
  const auto xv = x.to_vector(), yv = y.to_vector();
  for (int b = 0; b < 2; ++b)
    for (int i = 0; i < 24; ++i) CHECK(yv[b * 24 + i] == xv[b * 24 + i] + v[i]);
  CHECK_THROWS_WITH(pe(randn({1, 11, 6})), Catch::Contains("expected input [B, T, 6] with T <= 10, got [1, 11, 6]"));
  CHECK_THROWS_WITH(nn::PositionalEncoding(5, {10}), Catch::Contains("sinusoidal needs an even dim"));
  CHECK_THROWS_WITH(nn::PositionalEncoding(8, {4, 4}), Catch::Contains("kind sinusoidal expects extent {max_len}"));
}

TEST_CASE("PositionalEncoding learned is a parameter and gradchecks", "[nn][positional]") {
  manual_seed(30);
  nn::PositionalEncoding pe(4, {8}, {.kind = nn::PositionalEncodingKind::learned});
  REQUIRE(pe.named_parameters().size() == 1);
  CHECK(pe.named_parameters()[0].first == "weight");
  CHECK(pe.weight.shape() == Shape{8, 4});
  double sq = 0;
  for (double w : values(pe.weight)) sq += w * w;
  CHECK(std::sqrt(sq / 32) < 0.05);   // N(0, 0.02²)
  CHECK(module_gradcheck({&pe.weight}, {randn({2, 3, 4}).requires_grad_()},
                         [&](const std::vector<Tensor>& in) { return pe(in[0]); }));
}

TEST_CASE("PositionalEncoding 2-D: half the channels encode y, half x", "[nn][positional]") {
  const int D = 8, H = 3, W = 5;
  nn::PositionalEncoding pe(D, {H, W}, {.kind = nn::PositionalEncodingKind::sinusoidal_2d});
  Tensor table = pe.table();
  REQUIRE(table.shape() == Shape{D, H, W});
  const auto v = table.to_vector();
  auto sinus = [](int pos, int c, int dim) {
    const double w = std::pow(10000.0, -2.0 * (c / 2) / dim);
    return c % 2 == 0 ? std::sin(pos * w) : std::cos(pos * w);
  };
  double worst = 0;
  for (int c = 0; c < D; ++c)
    for (int y = 0; y < H; ++y)
      for (int x = 0; x < W; ++x) {
        const double expect = c < D / 2 ? sinus(y, c, D / 2) : sinus(x, c - D / 2, D / 2);
        worst = std::max(worst, std::fabs(v[(c * H + y) * W + x] - expect));
      }
  CHECK(worst < 1e-6);
  Tensor img = randn({2, D, H, W});
  Tensor out = pe(img);
  CHECK(testing::max_abs_diff(out.to_vector(), (img + table).to_vector()) == 0.0);
  // Flattened positions [B, H·W, D], as attention sees an image.
  Tensor tokens = img.flatten(2).transpose(1, 2);
  Tensor out_tokens = pe(tokens);
  CHECK(testing::max_abs_diff(out_tokens.to_vector(), out.flatten(2).transpose(1, 2).to_vector()) == 0.0);
  CHECK_THROWS_WITH(nn::PositionalEncoding(6, {H, W}, {.kind = nn::PositionalEncodingKind::sinusoidal_2d}),
                    Catch::Contains("divisible by 4"));
}

TEST_CASE("TransformerBlock: names, counts and the pre-LayerNorm formula", "[nn][transformer]") {
  manual_seed(31);
  const int C = 8;
  nn::TransformerBlock block(C, 2, {.mlp_ratio = 2, .dropout = 0.f, .cross_attention = false, .causal = true});
  std::vector<std::string> names;
  for (auto& [n, t] : block.named_parameters()) names.push_back(n);
  CHECK(names == std::vector<std::string>{"ln1.weight", "ln1.bias", "attn.in_proj_weight", "attn.in_proj_bias",
                                          "attn.out_proj.weight", "attn.out_proj.bias", "ln2.weight", "ln2.bias",
                                          "fc.weight", "fc.bias", "proj.weight", "proj.bias"});
  CHECK(block.num_parameters() == 2 * C + (3 * C * C + 3 * C) + (C * C + C) + 2 * C + (2 * C * C + 2 * C) +
                                      (2 * C * C + C));
  Tensor x = randn({2, 5, C});
  Tensor h = block.ln1(x);
  Tensor y1 = x + block.attn(h, h, h, {.attn_mask = {}, .key_padding_mask = {}, .causal = true});
  Tensor expected = y1 + block.proj(gelu(block.fc(block.ln2(y1))));
  CHECK(testing::max_abs_diff(block(x).to_vector(), expected.to_vector()) == 0.0);
  // Causal: changing the last position leaves the earlier outputs unchanged.
  Tensor x2 = x.clone();
  for (int b = 0; b < 2; ++b)
    for (int c = 0; c < C; ++c) x2.data()[(b * 5 + 4) * C + c] += 3.f;
  const auto a = block(x).to_vector(), b2 = block(x2).to_vector();
  for (int b = 0; b < 2; ++b)
    for (int i = 0; i < 4 * C; ++i) CHECK(a[b * 5 * C + i] == b2[b * 5 * C + i]);
  CHECK_THROWS_WITH(block(x, randn({2, 3, C})), Catch::Contains("no cross-attention"));
}

TEST_CASE("TransformerBlock with cross-attention and padding masks", "[nn][transformer]") {
  manual_seed(32);
  const int C = 4;
  nn::TransformerBlock block(C, 2, {.mlp_ratio = 4, .dropout = 0.f, .cross_attention = true, .causal = false});
  std::vector<std::string> names;
  for (auto& [n, t] : block.named_parameters()) names.push_back(n);
  REQUIRE(names.size() == 18);
  CHECK(names[6] == "ln_cross.weight");
  CHECK(names[8] == "cross_attn.in_proj_weight");
  Tensor x = randn({1, 3, C}), ctx = randn({1, 4, C});
  Tensor pad = tensor({0, 0, 1, 1}, {1, 4});
  nn::TransformerBlockMasks masks{.key_padding_mask = {}, .context_padding_mask = pad};
  Tensor h = block.ln1(x);
  Tensor y = x + block.attn(h, h, h);
  Tensor hc = block.ln_cross->forward(y);
  y = y + block.cross_attn->forward(hc, ctx, ctx, {.attn_mask = {}, .key_padding_mask = pad, .causal = false});
  Tensor expected = y + block.proj(gelu(block.fc(block.ln2(y))));
  CHECK(testing::max_abs_diff(block(x, ctx, masks).to_vector(), expected.to_vector()) == 0.0);
  CHECK_THROWS_WITH(block(x), Catch::Contains("needs a context"));
  // gradcheck w.r.t. the input and context (the parameters' gradients are the
  // sub-layers', checked in their own tests).
  CHECK(gradcheck([&](const std::vector<Tensor>& in) { return block(in[0], in[1], masks); },
                  {randn({1, 2, C}).requires_grad_(), randn({1, 4, C}).requires_grad_()}));
  CHECK(module_gradcheck({&block.fc.weight, &block.proj.bias}, {randn({1, 2, C}).requires_grad_()},
                         [&](const std::vector<Tensor>& in) { return block(in[0], ctx, masks); }));
}

TEST_CASE("TransformerBlock dropout is active in training only", "[nn][transformer]") {
  manual_seed(33);
  nn::TransformerBlock block(4, 1, {.mlp_ratio = 1, .dropout = 0.5f, .cross_attention = false, .causal = false});
  Tensor x = randn({1, 3, 4});
  CHECK(block(x).to_vector() != block(x).to_vector());
  block.eval();
  CHECK(block(x).to_vector() == block(x).to_vector());
  CHECK_THROWS_WITH(nn::TransformerBlock(6, 4), Catch::Contains("d_model (6) must be a positive multiple of heads (4)"));
}
