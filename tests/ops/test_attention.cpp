// SPDX-License-Identifier: Apache-2.0
#include "support/check.hpp"


#include <cmath>
#include <limits>

using namespace fresco;
using V = std::vector<float>;
using S = Shape;

namespace {

const float kInf = std::numeric_limits<float>::infinity();

// Naive attention in double: q [B,H,Tq,D], k [B,H,Tk,D], v [B,H,Tk,Dv], mask [B,H,Tq,Tk] (already broadcast) or undefined.
// With causal, queries i < prefix also see keys j < prefix.
V naive_attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask, bool causal,
                  int64_t prefix = 0) {
  const int64_t B = q.size(0), H = q.size(1), Tq = q.size(2), D = q.size(3), Tk = k.size(2), Dv = v.size(3);
  const V qv = q.to_vector(), kv = k.to_vector(), vv = v.to_vector();
  const V mv = mask.defined() ? mask.expand({B, H, Tq, Tk}).to_vector() : V(B * H * Tq * Tk, 0.f);
  V out(B * H * Tq * Dv, 0.f);
  for (int64_t bh = 0; bh < B * H; ++bh)
    for (int64_t i = 0; i < Tq; ++i) {
      std::vector<double> s(Tk);
      double m = -INFINITY;
      for (int64_t j = 0; j < Tk; ++j) {
        double dot = 0;
        for (int64_t d = 0; d < D; ++d) dot += static_cast<double>(qv[(bh * Tq + i) * D + d]) * kv[(bh * Tk + j) * D + d];
        s[j] = dot / std::sqrt(static_cast<double>(D)) + mv[(bh * Tq + i) * Tk + j];
        if (causal && j > i && !(i < prefix && j < prefix)) s[j] = -INFINITY;
        m = std::max(m, s[j]);
      }
      if (std::isinf(m)) continue;  // every key dropped: zeros
      double z = 0;
      for (int64_t j = 0; j < Tk; ++j) z += std::exp(s[j] - m);
      for (int64_t j = 0; j < Tk; ++j) {
        const double p = std::exp(s[j] - m) / z;
        for (int64_t e = 0; e < Dv; ++e) out[(bh * Tq + i) * Dv + e] += static_cast<float>(p * vv[(bh * Tk + j) * Dv + e]);
      }
    }
  return out;
}

}  // namespace

TEST_CASE("attention matches a naive implementation", "[ops][attention]") {
  manual_seed(51);
  const int64_t B = 2, H = 3, Tq = 5, Tk = 7, D = 4, Dv = 6;
  Tensor q = randn({B, H, Tq, D}), k = randn({B, H, Tk, D}), v = randn({B, H, Tk, Dv});
  CHECK_TENSOR(scaled_dot_product_attention(q, k, v), S({B, H, Tq, Dv}), naive_attention(q, k, v, {}, false), 1e-5);
  CHECK_TENSOR(scaled_dot_product_attention(q, k, v, {}, true), S({B, H, Tq, Dv}), naive_attention(q, k, v, {}, true),
               1e-5);
  // Key padding: -inf on the last keys of batch 1, broadcast from [B, 1, 1, Tk].
  V pad(B * Tk, 0.f);
  for (int64_t j = 4; j < Tk; ++j) pad[Tk + j] = -kInf;
  Tensor mask = tensor(pad, {B, 1, 1, Tk});
  CHECK_TENSOR(scaled_dot_product_attention(q, k, v, mask), S({B, H, Tq, Dv}), naive_attention(q, k, v, mask, false),
               1e-5);
  // An additive float mask of shape [Tq, Tk] with causal on top.
  Tensor bias = randn({Tq, Tk});
  CHECK_TENSOR(scaled_dot_product_attention(q, k, v, bias, true), S({B, H, Tq, Dv}),
               naive_attention(q, k, v, bias, true), 1e-5);
  // Non-contiguous q, k, v ([B,T,H,D] storage viewed as [B,H,T,D], as heads are split in a model).
  Tensor qt = randn({B, Tq, H, D}), kt = randn({B, Tk, H, D}), vt = randn({B, Tk, H, Dv});
  CHECK_TENSOR(scaled_dot_product_attention(qt.transpose(1, 2), kt.transpose(1, 2), vt.transpose(1, 2)),
               S({B, H, Tq, Dv}),
               naive_attention(qt.transpose(1, 2).contiguous(), kt.transpose(1, 2).contiguous(),
                               vt.transpose(1, 2).contiguous(), {}, false),
               1e-5);
}

TEST_CASE("attention: fully masked rows give zeros, not NaN", "[ops][attention]") {
  manual_seed(52);
  Tensor q = randn({1, 2, 3, 4}), k = randn({1, 2, 3, 4}).requires_grad_(), v = randn({1, 2, 3, 4}).requires_grad_();
  Tensor mask = tensor({0, 0, 0, -kInf, -kInf, -kInf, 0, -kInf, 0}, {3, 3});  // query 1 sees nothing
  Tensor out = scaled_dot_product_attention(q, k, v, mask);
  CHECK_TENSOR(out, S({1, 2, 3, 4}), naive_attention(q, k, v, mask, false), 1e-5);
  const V o = out.to_vector();
  for (int64_t h = 0; h < 2; ++h)
    for (int64_t e = 0; e < 4; ++e) CHECK(o[(h * 3 + 1) * 4 + e] == 0.f);
  sum(out).backward();
  for (float g : k.grad().to_vector()) CHECK(std::isfinite(g));
  for (float g : v.grad().to_vector()) CHECK(std::isfinite(g));
}

TEST_CASE("attention is causal: outputs do not depend on later keys", "[ops][attention]") {
  manual_seed(53);
  const int64_t T = 6;
  Tensor q = randn({1, 2, T, 3}).requires_grad_(), k = randn({1, 2, T, 3}).requires_grad_(),
         v = randn({1, 2, T, 3}).requires_grad_();
  Tensor out = scaled_dot_product_attention(q, k, v, {}, true);
  for (int64_t t = 0; t + 1 < T; ++t) {
    std::vector<Tensor> g = grad({sum(out.slice(2, t, t + 1))}, {k, v}, {}, {.retain_graph = true});
    for (int i = 0; i < 2; ++i) {
      const V gv = g[i].slice(2, t + 1, T).contiguous().to_vector();
      for (float x : gv) CHECK(x == 0.f);
    }
  }
}

TEST_CASE("attention passes gradcheck and gradgradcheck", "[ops][attention]") {
  manual_seed(54);
  Tensor q = randn({1, 2, 3, 2}).requires_grad_(), k = randn({1, 2, 4, 2}).requires_grad_(),
         v = randn({1, 2, 4, 3}).requires_grad_();
  Tensor mask = tensor({0, 0, -kInf, 0}, {1, 1, 1, 4});
  for (bool causal : {false, true}) {
    INFO("causal " << causal);
    auto f = [causal, mask](const std::vector<Tensor>& x) {
      return scaled_dot_product_attention(x[0], x[1], x[2], mask, causal);
    };
    CHECK(gradcheck(f, {q, k, v}));
    CHECK(gradgradcheck(f, {q, k, v}));
  }
  // A differentiable additive mask, and non-contiguous inputs.
  Tensor m = randn({3, 4}).requires_grad_();
  auto g = [](const std::vector<Tensor>& x) {
    return scaled_dot_product_attention(x[0], x[1].transpose(2, 3).transpose(2, 3), x[2], x[3]);
  };
  CHECK(gradcheck(g, {q, k, v, m}));
  Tensor qt = randn({1, 3, 2, 2}).requires_grad_();
  auto h = [](const std::vector<Tensor>& x) { return scaled_dot_product_attention(x[0].transpose(1, 2), x[1], x[2]); };
  CHECK(gradcheck(h, {qt, k, v}));
  CHECK(gradgradcheck(h, {qt, k, v}));
}

TEST_CASE("attention is bitwise repeatable", "[ops][attention]") {
  manual_seed(55);
  Tensor q = randn({2, 4, 16, 8}).requires_grad_(), k = randn({2, 4, 16, 8}).requires_grad_(),
         v = randn({2, 4, 16, 8}).requires_grad_();
  auto run = [&] {
    Tensor out = scaled_dot_product_attention(q, k, v, {}, true);
    std::vector<Tensor> g = grad({sum(out * out)}, {q, k, v});
    V all = out.to_vector();
    for (const Tensor& t : g) {
      const V tv = t.to_vector();
      all.insert(all.end(), tv.begin(), tv.end());
    }
    return all;
  };
  const V first = run();
  for (int i = 0; i < 3; ++i) CHECK(run() == first);
}

TEST_CASE("attention rejects bad shapes with messages", "[ops][attention]") {
  Tensor q = zeros({1, 2, 3, 4}), k = zeros({1, 2, 5, 4}), v = zeros({1, 2, 5, 6});
  CHECK_THROWS_WITH(scaled_dot_product_attention(zeros({2, 3, 4}), k, v),
                    Catch::Contains("scaled_dot_product_attention") && Catch::Contains("[2, 3, 4]"));
  CHECK_THROWS_WITH(scaled_dot_product_attention(q, zeros({1, 2, 5, 3}), v),
                    Catch::Contains("scaled_dot_product_attention") && Catch::Contains("[1, 2, 5, 3]"));
  CHECK_THROWS_AS(scaled_dot_product_attention(q, k, zeros({1, 2, 4, 6})), ShapeError);
  CHECK_THROWS_WITH(scaled_dot_product_attention(q, k, v, zeros({3, 4})),
                    Catch::Contains("mask") && Catch::Contains("[3, 4]") && Catch::Contains("[1, 2, 3, 5]"));
}

TEST_CASE("attention on heads wider than one register block matches a naive implementation", "[ops][attention]") {
  // Sizes past 32 and not multiples of 8: the 32-lane, 8-lane and padded tails of the kernel.
  manual_seed(56);
  const int64_t B = 1, H = 2, Tq = 37, Tk = 45, D = 36, Dv = 41;
  Tensor q = randn({B, H, Tq, D}), k = randn({B, H, Tk, D}), v = randn({B, H, Tk, Dv});
  Tensor bias = randn({Tq, Tk});
  for (bool causal : {false, true}) {
    INFO("causal " << causal);
    CHECK_TENSOR(scaled_dot_product_attention(q, k, v, bias, causal), S({B, H, Tq, Dv}),
                 naive_attention(q, k, v, bias, causal), 1e-5);
  }
  // Gradients against the same formulas in composed ops (P·v with P = softmax(q·kᵀ/√D + mask)).
  Tensor qg = q.clone().requires_grad_(), kg = k.clone().requires_grad_(), vg = v.clone().requires_grad_();
  Tensor mg = bias.clone().requires_grad_();
  Tensor w = randn({B, H, Tq, Dv});
  const std::vector<Tensor> fused =
      grad({sum(scaled_dot_product_attention(qg, kg, vg, mg, true) * w)}, {qg, kg, vg, mg});
  Tensor causal_mask = zeros({Tq, Tk});
  {
    NoGradGuard guard;
    float* c = causal_mask.data();
    for (int64_t i = 0; i < Tq; ++i)
      for (int64_t j = i + 1; j < Tk; ++j) c[i * Tk + j] = -kInf;
  }
  const Tensor scores = matmul(qg, kg.transpose(-2, -1)) * (1.f / std::sqrt(static_cast<float>(D))) + mg + causal_mask;
  const std::vector<Tensor> composed = grad({sum(matmul(softmax(scores, -1), vg) * w)}, {qg, kg, vg, mg});
  for (size_t i = 0; i < fused.size(); ++i) {
    INFO("input " << i);
    CHECK_TENSOR(fused[i], composed[i].shape(), composed[i].to_vector(), 1e-4);
  }
}

TEST_CASE("a causal prefix is read both ways: forward and gradients against references", "[ops][attention]") {
  // Odd sizes past one register block (the kernel pairs rows and pads lanes); prefixes
  // inside, at the end of and past the queries, and 0 (plain causal).
  manual_seed(60);
  const int64_t B = 2, H = 2, Tq = 37, Tk = 45, D = 12, Dv = 9;
  Tensor q = randn({B, H, Tq, D}), k = randn({B, H, Tk, D}), v = randn({B, H, Tk, Dv});
  Tensor bias = randn({Tq, Tk});
  Tensor w = randn({B, H, Tq, Dv});
  for (int64_t prefix : {int64_t{0}, int64_t{1}, int64_t{6}, int64_t{13}, Tq, Tk + 3}) {
    INFO("prefix " << prefix);
    CHECK_TENSOR(scaled_dot_product_attention(q, k, v, bias, true, prefix), S({B, H, Tq, Dv}),
                 naive_attention(q, k, v, bias, true, prefix), 1e-5);
    // The same attention as plain attention under an explicit -inf mask, gradients included.
    Tensor allowed = zeros({Tq, Tk});
    {
      NoGradGuard guard;
      float* c = allowed.data();
      for (int64_t i = 0; i < Tq; ++i)
        for (int64_t j = 0; j < Tk; ++j)
          if (j > i && !(i < prefix && j < prefix)) c[i * Tk + j] = -kInf;
    }
    Tensor qg = q.clone().requires_grad_(), kg = k.clone().requires_grad_(), vg = v.clone().requires_grad_();
    Tensor mg = bias.clone().requires_grad_();
    const std::vector<Tensor> fused =
        grad({sum(scaled_dot_product_attention(qg, kg, vg, mg, true, prefix) * w)}, {qg, kg, vg, mg});
    const std::vector<Tensor> masked =
        grad({sum(scaled_dot_product_attention(qg, kg, vg, mg + allowed) * w)}, {qg, kg, vg, mg});
    for (size_t i = 0; i < fused.size(); ++i) {
      INFO("input " << i);
      CHECK_TENSOR(fused[i], masked[i].shape(), masked[i].to_vector(), 1e-5);
    }
  }
  // Second order through the composed backward, and the packed self-attention.
  Tensor q2 = randn({1, 2, 4, 2}).requires_grad_(), k2 = randn({1, 2, 4, 2}).requires_grad_(),
         v2 = randn({1, 2, 4, 3}).requires_grad_();
  auto f = [](const std::vector<Tensor>& x) { return scaled_dot_product_attention(x[0], x[1], x[2], {}, true, 2); };
  CHECK(gradcheck(f, {q2, k2, v2}));
  CHECK(gradgradcheck(f, {q2, k2, v2}));
  Tensor qkv = randn({2, 5, 12});
  const int64_t T = 5, C = 4;
  const Tensor r5 = qkv.reshape({2, T, 3, 2, 2}).permute({2, 0, 3, 1, 4});
  const Tensor ref = scaled_dot_product_attention(r5.slice(0, 0, 1).squeeze(0), r5.slice(0, 1, 2).squeeze(0),
                                                  r5.slice(0, 2, 3).squeeze(0), {}, true, 3)
                         .transpose(1, 2)
                         .reshape({2, T, C});
  CHECK_TENSOR(self_attention_packed(qkv, 2, {}, true, 3), S({2, T, C}), ref.to_vector(), 1e-6);
  // A prefix without causal attention, or a negative one, is a mistake.
  CHECK_THROWS_WITH(scaled_dot_product_attention(q, k, v, {}, false, 3), Catch::Contains("causal_prefix"));
  CHECK_THROWS_WITH(scaled_dot_product_attention(q, k, v, {}, true, -1), Catch::Contains("causal_prefix"));
}

namespace {

// [B, T, 3C] -> q, k, v as [B, H, T, D] views.
std::vector<Tensor> split_packed(const Tensor& qkv, int64_t H) {
  const int64_t B = qkv.size(0), T = qkv.size(1), C = qkv.size(2) / 3;
  const Tensor v5 = qkv.reshape({B, T, 3, H, C / H}).permute({2, 0, 3, 1, 4});
  return {v5.slice(0, 0, 1).squeeze(0), v5.slice(0, 1, 2).squeeze(0), v5.slice(0, 2, 3).squeeze(0)};
}

}  // namespace

TEST_CASE("packed self-attention equals split heads, attention, merged heads", "[ops][attention]") {
  manual_seed(57);
  const int64_t B = 2, T = 5, H = 3, D = 4, C = H * D;
  Tensor qkv = randn({B, T, 3 * C});
  Tensor mask = randn({B, 1, T, T});
  for (bool causal : {false, true}) {
    INFO("causal " << causal);
    const std::vector<Tensor> h = split_packed(qkv, H);
    const Tensor ref = scaled_dot_product_attention(h[0], h[1], h[2], mask, causal).transpose(1, 2).reshape({B, T, C});
    CHECK_TENSOR(self_attention_packed(qkv, H, mask, causal), S({B, T, C}), ref.to_vector(), 1e-6);
  }
  CHECK_THROWS_AS(self_attention_packed(randn({B, T, 10}), H), ShapeError);
}

TEST_CASE("packed self-attention passes gradcheck and gradgradcheck", "[ops][attention]") {
  manual_seed(58);
  Tensor qkv = randn({2, 3, 12}).requires_grad_();
  Tensor mask = randn({1, 2, 3, 3}).requires_grad_();
  for (bool causal : {false, true}) {
    INFO("causal " << causal);
    auto f = [causal](const std::vector<Tensor>& x) { return self_attention_packed(x[0], 2, x[1], causal); };
    CHECK(gradcheck(f, {qkv, mask}));
    CHECK(gradgradcheck(f, {qkv, mask}));
  }
  // Non-contiguous input.
  Tensor qkv_t = randn({3, 2, 12}).requires_grad_();
  auto g = [](const std::vector<Tensor>& x) { return self_attention_packed(x[0].transpose(0, 1), 2, {}, true); };
  CHECK(gradcheck(g, {qkv_t}));
}
