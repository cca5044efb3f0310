// SPDX-License-Identifier: Apache-2.0
#include "support/check.hpp"

#include <cmath>

using namespace fresco;
using V = std::vector<float>;
using S = Shape;

TEST_CASE("cross_entropy by hand and against a naive loop", "[ops][loss]") {
  // Row 0: logits (0, 0) target 1 -> log 2. Row 1: (log 3, 0) target 0 -> -log(3/4).
  Tensor x = tensor({0, 0, std::log(3.f), 0}, {2, 2});
  CHECK(std::fabs(cross_entropy(x, {1, 0}).item() - (std::log(2.f) - std::log(0.75f)) / 2) < 1e-6f);
  CHECK(std::fabs(cross_entropy(tensor({0, 0}, {2}), {1}).item() - std::log(2.f)) < 1e-6f);
  // ignore_index rows neither add nor count.
  CHECK(std::fabs(cross_entropy(x, {1, -100}).item() - std::log(2.f)) < 1e-6f);
  CHECK(std::fabs(cross_entropy(x, {7, 0}, 7).item() + std::log(0.75f)) < 1e-6f);
  CHECK(std::isnan(cross_entropy(x, {-100, -100}).item()));  // 0/0, as PyTorch
  manual_seed(41);
  const int64_t N = 9, C = 13;
  Tensor l = randn({N, C}) * 3.f;
  std::vector<int64_t> t;
  for (int64_t i = 0; i < N; ++i) t.push_back(i == 4 ? -100 : (i * 5) % C);
  const V v = l.to_vector();
  double ref = 0;
  for (int64_t i = 0; i < N; ++i) {
    if (t[i] < 0) continue;
    double z = 0;
    for (int64_t c = 0; c < C; ++c) z += std::exp(static_cast<double>(v[i * C + c]));
    ref += std::log(z) - v[i * C + t[i]];
  }
  CHECK(std::fabs(cross_entropy(l, t).item() - ref / (N - 1)) < 1e-5);
  // The gradient is (softmax - onehot) / count, zero on ignored rows.
  Tensor w = l.detach().requires_grad_();
  cross_entropy(w, t).backward();
  Tensor expected = softmax(l, 1).contiguous();
  V e = expected.to_vector();
  for (int64_t i = 0; i < N; ++i)
    for (int64_t c = 0; c < C; ++c)
      e[i * C + c] = t[i] < 0 ? 0.f : (e[i * C + c] - (c == t[i] ? 1.f : 0.f)) / (N - 1);
  CHECK_TENSOR(w.grad(), S({N, C}), e, 1e-6);
}

TEST_CASE("binary_cross_entropy_with_logits, mse_loss and l1_loss by hand", "[ops][loss]") {
  Tensor x = tensor({0, 100, -100, 2}, {2, 2}), t = tensor({1, 1, 0, 0.5f}, {2, 2});
  // Terms: log 2; ~0; ~0; 2 - 1 + log(1 + e^-2). No overflow at ±100.
  const double ref = (std::log(2.0) + 0 + 0 + 1 + std::log1p(std::exp(-2.0))) / 4;
  CHECK(std::fabs(binary_cross_entropy_with_logits(x, t).item() - ref) < 1e-6);
  Tensor a = tensor({1, 2, 3}, {3}), b = tensor({2, 0, 3}, {3});
  CHECK(std::fabs(mse_loss(a, b).item() - 5.f / 3) < 1e-6f);
  CHECK(std::fabs(l1_loss(a, b).item() - 1.f) < 1e-6f);
  Tensor aw = a.detach().requires_grad_(), bw = b.detach().requires_grad_();
  l1_loss(aw, bw).backward();
  CHECK_TENSOR(aw.grad(), S({3}), V({-1.f / 3, 1.f / 3, 0}), 1e-7);
  CHECK_TENSOR(bw.grad(), S({3}), V({1.f / 3, -1.f / 3, 0}), 1e-7);
  Tensor xw = x.detach().requires_grad_(), tw = t.detach().requires_grad_();
  binary_cross_entropy_with_logits(xw, tw).backward();
  const float s2 = 1.f / (1.f + std::exp(-2.f));
  CHECK_TENSOR(xw.grad(), S({2, 2}), V({(0.5f - 1) / 4, 0, 0, (s2 - 0.5f) / 4}), 1e-6);
  CHECK_TENSOR(tw.grad(), S({2, 2}), V({0, -25, 25, -0.5f}), 1e-5);
}

TEST_CASE("losses pass gradcheck and gradgradcheck", "[ops][loss]") {
  manual_seed(42);
  Tensor l = randn({4, 5}).requires_grad_();
  auto ce = [](const std::vector<Tensor>& v) { return cross_entropy(v[0], {3, -100, 0, 4}); };
  CHECK(gradcheck(ce, {l}));
  CHECK(gradgradcheck(ce, {l}));
  // [C] logits and a non-contiguous [N, C].
  Tensor l1 = randn({6}).requires_grad_();
  CHECK(gradcheck([](const std::vector<Tensor>& v) { return cross_entropy(v[0], {2}); }, {l1}));
  Tensor lt = randn({5, 3}).requires_grad_();
  auto cet = [](const std::vector<Tensor>& v) { return cross_entropy(v[0].transpose(0, 1), {0, 1, 2}) * 3.f; };
  CHECK(gradcheck(cet, {lt}));
  CHECK(gradgradcheck(cet, {lt}));

  Tensor a = randn({2, 3}).requires_grad_(), b = rand({2, 3}).requires_grad_();
  auto bce = [](const std::vector<Tensor>& v) { return binary_cross_entropy_with_logits(v[0], v[1]); };
  CHECK(gradcheck(bce, {a, b}));
  CHECK(gradgradcheck(bce, {a, b}));
  auto mse = [](const std::vector<Tensor>& v) { return mse_loss(v[0].transpose(0, 1), v[1].transpose(0, 1)); };
  CHECK(gradcheck(mse, {a, b}));
  CHECK(gradgradcheck(mse, {a, b}));
  auto l1l = [](const std::vector<Tensor>& v) { return l1_loss(v[0], v[1]); };
  CHECK(gradcheck(l1l, {a, b}));
  CHECK(gradgradcheck(l1l, {a, b}));
  // A gradient penalty style use: the loss's gradient differentiated through g.
  auto pen = [](const std::vector<Tensor>& v) {
    EnableGradGuard enable;  // gradcheck evaluates f under NoGradGuard
    Tensor g = grad({mse_loss(v[0] * v[0], v[1])}, {v[0]}, {}, {.create_graph = true})[0];
    return sum(g * g);
  };
  CHECK(gradcheck(pen, {a, b}));
}

TEST_CASE("losses are bitwise repeatable", "[ops][loss]") {
  manual_seed(43);
  Tensor a = randn({100000}), b = randn({100000});
  const float m = mse_loss(a, b).item(), l = l1_loss(a, b).item(), c = binary_cross_entropy_with_logits(a, rand({100000})).item();
  CHECK(std::isfinite(c));
  for (int i = 0; i < 3; ++i) CHECK((mse_loss(a, b).item() == m && l1_loss(a, b).item() == l));
  set_num_threads(1);
  CHECK(mse_loss(a, b).item() == m);  // the split does not depend on the thread count
  set_num_threads(2);
}

TEST_CASE("losses reject bad arguments with messages", "[ops][loss]") {
  Tensor x = zeros({2, 3});
  CHECK_THROWS_WITH(cross_entropy(x, {0, 3}), Catch::Contains("cross_entropy") && Catch::Contains("target 3") &&
                                                 Catch::Contains("3 classes"));
  CHECK_THROWS_WITH(cross_entropy(x, {0, -1}), Catch::Contains("target -1"));
  CHECK_THROWS_WITH(cross_entropy(x, {0}), Catch::Contains("cross_entropy") && Catch::Contains("[2, 3]"));
  CHECK_THROWS_AS(cross_entropy(zeros({2, 3, 4}), {0, 1}), ShapeError);
  CHECK_THROWS_AS(mse_loss(x, zeros({3, 2})), ShapeError);
  CHECK_THROWS_WITH(mse_loss(x, zeros({3})), Catch::Contains("mse_loss") && Catch::Contains("[2, 3]") &&
                                                Catch::Contains("[3]"));
  CHECK_THROWS_WITH(l1_loss(x, zeros({1, 3})), Catch::Contains("l1_loss"));
  CHECK_THROWS_WITH(binary_cross_entropy_with_logits(x, zeros({2})), Catch::Contains("binary_cross_entropy_with_logits"));
}
