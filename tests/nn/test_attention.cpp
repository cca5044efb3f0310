// SPDX-License-Identifier: Apache-2.0
// MultiHeadAttention against a naive per-head computation from the same
// weights; causal and key-padding masks exactly; gradcheck.
#include <cmath>
#include <limits>

#include "nn/layer_check.hpp"

using namespace fresco;
using fresco::test::module_gradcheck;
using fresco::test::values;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// y = x Wᵀ + b for rows [r0, r0 + out) of W: x [n, C] -> [n, out].
std::vector<double> project(const std::vector<double>& x, int n, int C, const std::vector<double>& W,
                            const std::vector<double>& b, int r0, int out) {
  std::vector<double> y(static_cast<size_t>(n * out));
  for (int i = 0; i < n; ++i)
    for (int o = 0; o < out; ++o) {
      double acc = b[r0 + o];
      for (int c = 0; c < C; ++c) acc += W[(r0 + o) * C + c] * x[i * C + c];
      y[i * out + o] = acc;
    }
  return y;
}

// Naive multi-head attention for one batch element. mask(i, j) is added to the scores.
template <class Mask>
std::vector<double> naive_mha(const nn::MultiHeadAttention& m, const std::vector<double>& q,
                              const std::vector<double>& kv_k, const std::vector<double>& kv_v, int Tq, int Tk,
                              Mask mask) {
  const int C = int(m.embed_dim()), H = int(m.heads()), D = C / H;
  const auto W = values(m.in_proj_weight), b = values(m.in_proj_bias);
  const auto Wo = values(m.out_proj.weight), bo = values(m.out_proj.bias);
  const auto qp = project(q, Tq, C, W, b, 0, C), kp = project(kv_k, Tk, C, W, b, C, C),
             vp = project(kv_v, Tk, C, W, b, 2 * C, C);
  std::vector<double> concat(static_cast<size_t>(Tq * C), 0.0);
  for (int h = 0; h < H; ++h)
    for (int i = 0; i < Tq; ++i) {
      std::vector<double> s(static_cast<size_t>(Tk));
      double mx = -kInf;
      for (int j = 0; j < Tk; ++j) {
        double dot = 0;
        for (int d = 0; d < D; ++d) dot += qp[i * C + h * D + d] * kp[j * C + h * D + d];
        s[j] = dot / std::sqrt(double(D)) + mask(i, j);
        mx = std::max(mx, s[j]);
      }
      double z = 0;
      for (auto& e : s) z += (e = std::exp(e - mx));
      for (int j = 0; j < Tk; ++j)
        for (int d = 0; d < D; ++d) concat[i * C + h * D + d] += s[j] / z * vp[j * C + h * D + d];
    }
  return project(concat, Tq, C, Wo, bo, 0, C);
}

std::vector<double> batch_slice(const std::vector<double>& v, int b, int per) {
  return {v.begin() + b * per, v.begin() + (b + 1) * per};
}

// Nonzero biases, so the naive check covers them.
void randomise_biases(nn::MultiHeadAttention& m) {
  NoGradGuard g;
  Tensor r = randn({m.in_proj_bias.numel()}) * 0.5f;
  std::copy_n(r.data(), r.numel(), m.in_proj_bias.data());
  Tensor s = randn({m.out_proj.bias.numel()}) * 0.5f;
  std::copy_n(s.data(), s.numel(), m.out_proj.bias.data());
}

}  // namespace

TEST_CASE("MultiHeadAttention: names, shapes and initialisation as PyTorch", "[nn][attention]") {
  nn::MultiHeadAttention attn(8, 2);
  std::vector<std::string> names;
  for (auto& [n, t] : attn.named_parameters()) names.push_back(n + shape_str(t.shape()));
  CHECK(names == std::vector<std::string>{"in_proj_weight[24, 8]", "in_proj_bias[24]", "out_proj.weight[8, 8]",
                                          "out_proj.bias[8]"});
  CHECK(attn.in_proj_bias.to_vector() == std::vector<float>(24, 0.f));
  CHECK(attn.out_proj.bias.to_vector() == std::vector<float>(8, 0.f));
  const double bound = std::sqrt(6.0 / (8 + 24));
  for (float w : attn.in_proj_weight.to_vector()) CHECK(std::fabs(w) <= bound);
  CHECK_THROWS_WITH(nn::MultiHeadAttention(10, 3), Catch::Contains("embed_dim (10) must be a positive multiple of heads (3)"));
  CHECK_THROWS_WITH(attn(randn({2, 3, 6}), randn({2, 3, 6}), randn({2, 3, 6})),
                    Catch::Contains("expected q [B, Tq, 8], got [2, 3, 6]"));
}

TEST_CASE("MultiHeadAttention self- and cross-attention match a naive per-head computation", "[nn][attention]") {
  manual_seed(20);
  const int B = 2, T = 4, S = 3, C = 6;
  nn::MultiHeadAttention attn(C, 3);
  randomise_biases(attn);
  Tensor x = randn({B, T, C});
  const auto xv = values(x);
  auto no_mask = [](int, int) { return 0.0; };
  SECTION("self-attention (one fused in-projection)") {
    Tensor y = attn(x, x, x);
    REQUIRE(y.shape() == Shape{B, T, C});
    std::vector<double> expected;
    for (int b = 0; b < B; ++b) {
      auto xb = batch_slice(xv, b, T * C);
      auto e = naive_mha(attn, xb, xb, xb, T, T, no_mask);
      expected.insert(expected.end(), e.begin(), e.end());
    }
    CHECK(testing::max_abs_diff(y.to_vector(), std::vector<float>(expected.begin(), expected.end())) < 1e-5);
  }
  SECTION("causal self-attention") {
    Tensor y = attn(x, x, x, {.attn_mask = {}, .key_padding_mask = {}, .causal = true});
    std::vector<double> expected;
    for (int b = 0; b < B; ++b) {
      auto xb = batch_slice(xv, b, T * C);
      auto e = naive_mha(attn, xb, xb, xb, T, T, [](int i, int j) { return j > i ? -kInf : 0.0; });
      expected.insert(expected.end(), e.begin(), e.end());
    }
    CHECK(testing::max_abs_diff(y.to_vector(), std::vector<float>(expected.begin(), expected.end())) < 1e-5);
    // The same through an additive mask [T, T].
    std::vector<float> tri(T * T, 0.f);
    for (int i = 0; i < T; ++i)
      for (int j = i + 1; j < T; ++j) tri[i * T + j] = -INFINITY;
    Tensor y2 = attn(x, x, x, tensor(tri, {T, T}));
    CHECK(testing::max_abs_diff(y.to_vector(), y2.to_vector()) < 1e-6);
  }
  SECTION("cross-attention, k = v (one GEMM for both) and k != v") {
    Tensor ctx = randn({B, S, C}), other = randn({B, S, C});
    const auto cv = values(ctx), ov = values(other);
    Tensor y = attn(x, ctx, ctx);
    Tensor y2 = attn(x, ctx, other);
    REQUIRE(y.shape() == Shape{B, T, C});
    std::vector<double> e1, e2;
    for (int b = 0; b < B; ++b) {
      auto a = naive_mha(attn, batch_slice(xv, b, T * C), batch_slice(cv, b, S * C), batch_slice(cv, b, S * C), T, S,
                         no_mask);
      auto c = naive_mha(attn, batch_slice(xv, b, T * C), batch_slice(cv, b, S * C), batch_slice(ov, b, S * C), T, S,
                         no_mask);
      e1.insert(e1.end(), a.begin(), a.end());
      e2.insert(e2.end(), c.begin(), c.end());
    }
    CHECK(testing::max_abs_diff(y.to_vector(), std::vector<float>(e1.begin(), e1.end())) < 1e-5);
    CHECK(testing::max_abs_diff(y2.to_vector(), std::vector<float>(e2.begin(), e2.end())) < 1e-5);
  }
  SECTION("an additive [B, 1, T, S] mask") {
    Tensor ctx = randn({B, S, C});
    Tensor mask = randn({B, 1, T, S});
    const auto cv = values(ctx), mv = values(mask);
    Tensor y = attn(x, ctx, ctx, mask);
    std::vector<double> expected;
    for (int b = 0; b < B; ++b) {
      auto e = naive_mha(attn, batch_slice(xv, b, T * C), batch_slice(cv, b, S * C), batch_slice(cv, b, S * C), T, S,
                         [&](int i, int j) { return mv[(b * T + i) * S + j]; });
      expected.insert(expected.end(), e.begin(), e.end());
    }
    CHECK(testing::max_abs_diff(y.to_vector(), std::vector<float>(expected.begin(), expected.end())) < 1e-5);
    CHECK_THROWS_WITH(attn(x, ctx, ctx, randn({3, 1, T, S})), Catch::Contains("attn_mask must broadcast to [2, 3, 4, 3]"));
  }
}

TEST_CASE("MultiHeadAttention causal: output t does not depend on input t+1 (gradient exactly zero)",
          "[nn][attention]") {
  manual_seed(21);
  const int T = 5, C = 4;
  nn::MultiHeadAttention attn(C, 2);
  randomise_biases(attn);
  for (int t = 0; t < T - 1; ++t) {
    Tensor x = randn({2, T, C}).requires_grad_();
    Tensor y = attn(x, x, x, {.attn_mask = {}, .key_padding_mask = {}, .causal = true});
    sum(y.slice(1, t, t + 1)).backward();
    const auto g = x.grad().to_vector();
    bool later_zero = true, earlier_nonzero = false;
    for (int b = 0; b < 2; ++b)
      for (int s = 0; s < T; ++s)
        for (int c = 0; c < C; ++c) {
          const float v = g[(b * T + s) * C + c];
          if (s > t && v != 0.f) later_zero = false;
          if (s <= t && v != 0.f) earlier_nonzero = true;
        }
    CHECK(later_zero);
    CHECK(earlier_nonzero);
  }
}

TEST_CASE("MultiHeadAttention key padding: padded keys get exactly zero attention", "[nn][attention]") {
  manual_seed(22);
  const int B = 2, T = 3, S = 5, C = 4;
  nn::MultiHeadAttention attn(C, 2);
  randomise_biases(attn);
  Tensor q = randn({B, T, C});
  // Batch 0 pads its last two keys, batch 1 its last one.
  Tensor pad = tensor({0, 0, 0, 1, 1, 0, 0, 0, 0, 1}, {B, S});
  Tensor ctx = randn({B, S, C});
  Tensor y = attn(q, ctx, ctx, {.attn_mask = {}, .key_padding_mask = pad, .causal = false});
  // Changing the padded keys (and their values) changes nothing, bit for bit.
  Tensor ctx2 = ctx.clone();
  {
    float* p = ctx2.data();
    for (int c = 0; c < C; ++c) {
      p[(0 * S + 3) * C + c] = 100.f + c;
      p[(0 * S + 4) * C + c] = -50.f;
      p[(1 * S + 4) * C + c] = 1e3f;
    }
  }
  Tensor y2 = attn(q, ctx2, ctx2, {.attn_mask = {}, .key_padding_mask = pad, .causal = false});
  CHECK(y.to_vector() == y2.to_vector());
  // And equals attention over the unpadded keys only (naive).
  const auto qv = values(q), cv = values(ctx);
  std::vector<double> expected;
  for (int b = 0; b < B; ++b) {
    const int keep = b == 0 ? 3 : 4;
    auto cb = batch_slice(cv, b, S * C);
    cb.resize(static_cast<size_t>(keep * C));
    auto e = naive_mha(attn, batch_slice(qv, b, T * C), cb, cb, T, keep, [](int, int) { return 0.0; });
    expected.insert(expected.end(), e.begin(), e.end());
  }
  CHECK(testing::max_abs_diff(y.to_vector(), std::vector<float>(expected.begin(), expected.end())) < 1e-5);
  CHECK_THROWS_WITH(attn(q, ctx, ctx, {.attn_mask = {}, .key_padding_mask = ones({B, T}), .causal = false}),
                    Catch::Contains("key_padding_mask must be [B, Tk] = [2, 5], got [2, 3]"));
}

TEST_CASE("MultiHeadAttention gradchecks (self, causal, and cross)", "[nn][attention]") {
  manual_seed(23);
  nn::MultiHeadAttention attn(4, 2);
  randomise_biases(attn);
  std::vector<Tensor*> params{&attn.in_proj_weight, &attn.in_proj_bias, &attn.out_proj.weight, &attn.out_proj.bias};
  CHECK(module_gradcheck(params, {randn({1, 3, 4}).requires_grad_()}, [&](const std::vector<Tensor>& in) {
    return attn(in[0], in[0], in[0], {.attn_mask = {}, .key_padding_mask = {}, .causal = true});
  }));
  CHECK(module_gradcheck(params, {randn({1, 2, 4}).requires_grad_(), randn({1, 3, 4}).requires_grad_()},
                         [&](const std::vector<Tensor>& in) { return attn(in[0], in[1], in[1]); }));
}
