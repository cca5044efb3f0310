// SPDX-License-Identifier: Apache-2.0
#include "support/check.hpp"

#include <cmath>
#include <limits>

using namespace fresco;
using V = std::vector<float>;
using S = Shape;

namespace {

// Naive softmax (or log_softmax) of x along dim d, in double.
V naive_softmax(const Tensor& x, int64_t d, bool log) {
  const V v = x.contiguous().to_vector();
  const Shape& s = x.shape();
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < d; ++i) outer *= s[i];
  for (int64_t i = d + 1; i < x.dim(); ++i) inner *= s[i];
  const int64_t n = s[d];
  V out(v.size());
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t in = 0; in < inner; ++in) {
      double m = -INFINITY, z = 0;
      for (int64_t j = 0; j < n; ++j) m = std::max(m, static_cast<double>(v[(o * n + j) * inner + in]));
      for (int64_t j = 0; j < n; ++j) z += std::exp(v[(o * n + j) * inner + in] - m);
      for (int64_t j = 0; j < n; ++j) {
        const double a = v[(o * n + j) * inner + in] - m;
        out[(o * n + j) * inner + in] = static_cast<float>(log ? a - std::log(z) : std::exp(a) / z);
      }
    }
  return out;
}

}  // namespace

TEST_CASE("softmax and log_softmax by hand", "[ops][nn]") {
  Tensor x = tensor({0, std::log(3.f), 1, 1}, {2, 2});
  CHECK_TENSOR(softmax(x, 1), S({2, 2}), V({0.25f, 0.75f, 0.5f, 0.5f}), 1e-6);
  CHECK_TENSOR(log_softmax(x, 1), S({2, 2}), V({std::log(0.25f), std::log(0.75f), std::log(0.5f), std::log(0.5f)}), 1e-6);
  // Large values do not overflow; -inf entries get exactly 0.
  const float inf = std::numeric_limits<float>::infinity();
  CHECK_TENSOR(softmax(tensor({1000, 1000, -inf}, {3}), 0), S({3}), V({0.5f, 0.5f, 0.f}), 1e-6);
  CHECK_TENSOR(softmax(scalar_tensor(3.f), 0), S({}), V({1.f}), 0);
}

TEST_CASE("softmax along every dim matches a naive loop", "[ops][nn]") {
  manual_seed(31);
  Tensor x = randn({3, 4, 5}) * 4.f;
  for (int64_t d = 0; d < 3; ++d)
    for (bool log : {false, true}) {
      INFO("dim " << d << " log " << log);
      Tensor y = log ? log_softmax(x, d) : softmax(x, d);
      CHECK(y.is_contiguous());
      CHECK_TENSOR(y, S({3, 4, 5}), naive_softmax(x, d, log), 2e-6);
    }
  // Non-contiguous input.
  Tensor xt = x.transpose(0, 2);
  CHECK_TENSOR(softmax(xt, -1), S({5, 4, 3}), naive_softmax(xt.contiguous(), 2, false), 2e-6);
  // Long rows (several vector widths, exp over a wide range).
  Tensor big = randn({7, 1000}) * 10.f;
  CHECK_TENSOR(log_softmax(big, 1), S({7, 1000}), naive_softmax(big, 1, true), 2e-5);
  CHECK_TENSOR(softmax(big, 1), S({7, 1000}), naive_softmax(big, 1, false), 1e-6);
}

TEST_CASE("softmax and log_softmax pass gradcheck and gradgradcheck", "[ops][nn]") {
  manual_seed(32);
  Tensor x = randn({2, 3, 4}).requires_grad_();
  for (int64_t d : {0, 1, 2, -1})
    for (bool log : {false, true}) {
      INFO("dim " << d << " log " << log);
      auto f = [d, log](const std::vector<Tensor>& v) { return log ? log_softmax(v[0], d) : softmax(v[0], d); };
      CHECK(gradcheck(f, {x}));
      CHECK(gradgradcheck(f, {x}));
    }
  // Non-contiguous input.
  Tensor y = randn({4, 3}).requires_grad_();
  CHECK(gradcheck([](const std::vector<Tensor>& v) { return softmax(v[0].transpose(0, 1), 1); }, {y}));
  CHECK(gradcheck([](const std::vector<Tensor>& v) { return log_softmax(v[0].transpose(0, 1), 0); }, {y}));
}

TEST_CASE("layer_norm matches a naive double-precision implementation", "[ops][nn]") {
  manual_seed(33);
  const int64_t R = 6, C = 37;
  Tensor x = randn({2, 3, C}) * 3.f + 5.f, w = randn({C}), b = randn({C});
  Tensor y = layer_norm(x, {C}, w, b);
  const V xv = x.to_vector(), wv = w.to_vector(), bv = b.to_vector();
  V ref(xv.size());
  for (int64_t r = 0; r < R; ++r) {
    double m = 0, var = 0;
    for (int64_t c = 0; c < C; ++c) m += xv[r * C + c];
    m /= C;
    for (int64_t c = 0; c < C; ++c) var += (xv[r * C + c] - m) * (xv[r * C + c] - m);
    var /= C;
    for (int64_t c = 0; c < C; ++c) ref[r * C + c] = static_cast<float>((xv[r * C + c] - m) / std::sqrt(var + 1e-5) * wv[c] + bv[c]);
  }
  CHECK_TENSOR(y, S({2, 3, C}), ref, 2e-5);
  // Over two trailing dims, without weight and bias; by hand.
  CHECK_TENSOR(layer_norm(tensor({1, 3, 1, 3}, {1, 2, 2}), {2, 2}, {}, {}, 0.f), S({1, 2, 2}), V({-1, 1, -1, 1}), 1e-6);
}

TEST_CASE("layer_norm passes gradcheck and gradgradcheck", "[ops][nn]") {
  manual_seed(34);
  Tensor x = randn({3, 5}).requires_grad_(), w = randn({5}).requires_grad_(), b = randn({5}).requires_grad_();
  auto f = [](const std::vector<Tensor>& v) { return layer_norm(v[0], {5}, v[1], v[2]); };
  CHECK(gradcheck(f, {x, w, b}));
  CHECK(gradgradcheck(f, {x, w, b}));
  Tensor x3 = randn({2, 3, 2}).requires_grad_();
  auto g = [](const std::vector<Tensor>& v) { return layer_norm(v[0].transpose(0, 2), {3, 2}, {}, {}); };
  CHECK(gradcheck(g, {x3}));
  CHECK(gradgradcheck(g, {x3}));
  // Fused and composed gradients agree on a larger case (many row blocks).
  Tensor xl = randn({150, 16}).requires_grad_(), wl = randn({16}).requires_grad_(), bl = randn({16}).requires_grad_();
  Tensor gout = randn({150, 16});
  std::vector<Tensor> fused = grad({layer_norm(xl, {16}, wl, bl)}, {xl, wl, bl}, {gout});
  std::vector<Tensor> composed = grad({layer_norm(xl, {16}, wl, bl)}, {xl, wl, bl}, {gout}, {.create_graph = true});
  for (int i = 0; i < 3; ++i) CHECK(testing::max_abs_diff(fused[i].to_vector(), composed[i].to_vector()) < 1e-4);
}

TEST_CASE("batch_norm_train and batch_norm_eval match a naive double-precision implementation", "[ops][nn]") {
  manual_seed(35);
  const int64_t N = 3, C = 4, HW = 6;
  Tensor x = randn({N, C, 2, 3}) * 2.f + 1.f, w = randn({C}), b = randn({C});
  Tensor rm = randn({C}), rv = rand({C}) + 0.5f;
  const V xv = x.to_vector(), wv = w.to_vector(), bv = b.to_vector(), rmv = rm.to_vector(), rvv = rv.to_vector();
  V ref_train(xv.size()), ref_eval(xv.size()), ref_mean(C), ref_var(C);
  for (int64_t c = 0; c < C; ++c) {
    double m = 0, var = 0;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t i = 0; i < HW; ++i) m += xv[(n * C + c) * HW + i];
    m /= N * HW;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t i = 0; i < HW; ++i) var += (xv[(n * C + c) * HW + i] - m) * (xv[(n * C + c) * HW + i] - m);
    var /= N * HW;
    ref_mean[c] = static_cast<float>(m);
    ref_var[c] = static_cast<float>(var);
    for (int64_t n = 0; n < N; ++n)
      for (int64_t i = 0; i < HW; ++i) {
        const size_t j = (n * C + c) * HW + i;
        ref_train[j] = static_cast<float>((xv[j] - m) / std::sqrt(var + 1e-5) * wv[c] + bv[c]);
        ref_eval[j] = static_cast<float>((xv[j] - rmv[c]) / std::sqrt(rvv[c] + 1e-5) * wv[c] + bv[c]);
      }
  }
  Tensor mean, var;
  CHECK_TENSOR(batch_norm_train(x, w, b, 1e-5f, mean, var), S({N, C, 2, 3}), ref_train, 2e-5);
  CHECK_TENSOR(mean, S({C}), ref_mean, 1e-5);
  CHECK_TENSOR(var, S({C}), ref_var, 1e-5);
  CHECK_TENSOR(batch_norm_eval(x, rm, rv, w, b, 1e-5f), S({N, C, 2, 3}), ref_eval, 2e-5);
  CHECK_THROWS_WITH(batch_norm_eval(x, rm, zeros({3}), w, b), Catch::Contains("running statistics of shape [4]"));
  CHECK_THROWS_WITH(batch_norm_train(zeros({2, 4}), w, b, 1e-5f, mean, var), Catch::Contains("4-d input"));
}

TEST_CASE("batch_norm_train and batch_norm_eval pass gradcheck and gradgradcheck", "[ops][nn]") {
  manual_seed(36);
  Tensor x = randn({2, 3, 2, 2}).requires_grad_(), w = randn({3}).requires_grad_(), b = randn({3}).requires_grad_();
  const Tensor rm = randn({3}), rv = rand({3}) + 0.5f;
  auto train = [](const std::vector<Tensor>& v) {
    Tensor mean, var;
    return batch_norm_train(v[0], v[1], v[2], 1e-5f, mean, var);
  };
  auto eval = [rm, rv](const std::vector<Tensor>& v) { return batch_norm_eval(v[0], rm, rv, v[1], v[2]); };
  CHECK(gradcheck(train, {x, w, b}));
  CHECK(gradgradcheck(train, {x, w, b}));
  CHECK(gradcheck(eval, {x, w, b}));
  CHECK(gradgradcheck(eval, {x, w, b}));
}

TEST_CASE("embedding looks up rows and accumulates their gradients", "[ops][nn]") {
  Tensor w = arange(8).reshape({4, 2}).requires_grad_();
  Tensor e = embedding(w, {3, 0, 3, 1}, {2, 2});
  CHECK_TENSOR(e, S({2, 2, 2}), V({6, 7, 0, 1, 6, 7, 2, 3}), 0);
  sum(e * arange(8).reshape({2, 2, 2})).backward();
  CHECK_TENSOR(w.grad(), S({4, 2}), V({2, 3, 6, 7, 0, 0, 4 + 0, 1 + 5}), 0);
  manual_seed(35);
  Tensor wr = randn({5, 3}).requires_grad_();
  auto f = [](const std::vector<Tensor>& v) { return pow(embedding(v[0], {4, 0, 4, 2}, {4}), 2.f); };
  CHECK(gradcheck(f, {wr}));
  CHECK(gradgradcheck(f, {wr}));
  CHECK_THROWS_WITH(embedding(w, {0, 4}, {2}), Catch::Contains("embedding") && Catch::Contains("id 4") &&
                                                  Catch::Contains("num = 4"));
  CHECK_THROWS_WITH(embedding(w, {-1}, {1}), Catch::Contains("id -1"));
  CHECK_THROWS_AS(embedding(w, {0, 1}, {3}), ShapeError);
  CHECK_THROWS_AS(embedding(zeros({4}), {0}, {1}), ShapeError);
}

TEST_CASE("dropout zeroes with probability p and rescales the rest", "[ops][nn]") {
  Tensor x = ones({100000});
  manual_seed(36);
  Tensor y = dropout(x, 0.3f, true);
  const V v = y.to_vector();
  int64_t zeros_n = 0;
  for (float a : v) {
    CHECK((a == 0.f || std::fabs(a - 1.f / 0.7f) < 1e-6f));
    zeros_n += a == 0.f;
  }
  CHECK(std::fabs(zeros_n / 100000.0 - 0.3) < 0.01);
  CHECK(std::fabs(mean(y).item() - 1.f) < 0.02f);
  manual_seed(36);
  CHECK(dropout(x, 0.3f, true).to_vector() == v);  // the seed fixes the mask
  CHECK(dropout(x, 0.3f, false).to_vector() == x.to_vector());
  CHECK(dropout(x, 0.f, true).to_vector() == x.to_vector());
  // The gradient is the same mask.
  Tensor w = ones({50}).requires_grad_();
  manual_seed(37);
  Tensor d = dropout(w, 0.5f, true);
  sum(d).backward();
  CHECK(w.grad().to_vector() == d.to_vector());
  CHECK_THROWS_WITH(dropout(x, 1.f, true), Catch::Contains("dropout") && Catch::Contains("[0, 1)"));
  CHECK_THROWS_AS(dropout(x, -0.1f, true), Error);
}

TEST_CASE("nn ops are bitwise repeatable", "[ops][nn]") {
  manual_seed(38);
  Tensor x = randn({64, 300}).requires_grad_(), w = randn({300}).requires_grad_(), b = randn({300}).requires_grad_();
  auto run = [&] {
    Tensor y = sum(softmax(x, 0) * log_softmax(x, 1)) + sum(layer_norm(x, {300}, w, b) * x);
    std::vector<Tensor> g = grad({y}, {x, w, b});
    V out = y.to_vector();
    for (const Tensor& t : g) {
      const V tv = t.to_vector();
      out.insert(out.end(), tv.begin(), tv.end());
    }
    return out;
  };
  const V first = run();
  for (int i = 0; i < 3; ++i) CHECK(run() == first);
}

TEST_CASE("nn ops reject bad arguments with messages", "[ops][nn]") {
  Tensor x = zeros({2, 3});
  CHECK_THROWS_AS(softmax(x, 2), ShapeError);
  CHECK_THROWS_WITH(log_softmax(x, -3), Catch::Contains("log_softmax"));
  CHECK_THROWS_WITH(layer_norm(x, {2}, {}, {}), Catch::Contains("layer_norm") && Catch::Contains("[2, 3]") &&
                                                    Catch::Contains("[2]"));
  CHECK_THROWS_WITH(layer_norm(x, {3}, zeros({2}), {}), Catch::Contains("weight") && Catch::Contains("[2]"));
  CHECK_THROWS_WITH(layer_norm(x, {3}, {}, zeros({3, 1})), Catch::Contains("bias") && Catch::Contains("[3, 1]"));
  CHECK_THROWS_AS(layer_norm(x, {}, {}, {}), ShapeError);
}
