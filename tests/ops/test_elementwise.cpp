// SPDX-License-Identifier: Apache-2.0
#include <cmath>
#include <functional>

#include "support/check.hpp"

using namespace fresco;
using V = std::vector<float>;
using S = Shape;

namespace {
Tensor leaf(Shape shape, float lo = -2.f, float hi = 2.f) { return uniform(std::move(shape), lo, hi).requires_grad_(); }
}  // namespace

TEST_CASE("binary ops broadcast as PyTorch", "[ops][elementwise]") {
  Tensor a = tensor({1, 2, 3}, {3, 1});
  Tensor b = tensor({10, 20}, {2});
  CHECK_TENSOR(a + b, S({3, 2}), V({11, 21, 12, 22, 13, 23}), 0);
  CHECK_TENSOR(a - b, S({3, 2}), V({-9, -19, -8, -18, -7, -17}), 0);
  CHECK_TENSOR(a * b, S({3, 2}), V({10, 20, 20, 40, 30, 60}), 0);
  CHECK_TENSOR(b / a, S({3, 2}), V({10, 20, 5, 10, 10.f / 3, 20.f / 3}), 1e-6);
  CHECK_TENSOR(a * 2.f, S({3, 1}), V({2, 4, 6}), 0);
  CHECK_TENSOR(1.f - a, S({3, 1}), V({0, -1, -2}), 0);
  CHECK_TENSOR(6.f / a, S({3, 1}), V({6, 3, 2}), 1e-6);
  CHECK_TENSOR(-a, S({3, 1}), V({-1, -2, -3}), 0);
  CHECK_TENSOR(maximum(a, tensor({2}, {1})), S({3, 1}), V({2, 2, 3}), 0);
  CHECK_TENSOR(minimum(a, tensor({2}, {1})), S({3, 1}), V({1, 2, 2}), 0);
  CHECK(broadcast_shapes({4, 1, 3}, {2, 3}, "t") == S({4, 2, 3}));
  CHECK_THROWS_AS(tensor({1, 2}, {2}) + tensor({1, 2, 3}, {3}), ShapeError);
  CHECK_THROWS_WITH(tensor({1, 2}, {2}) * tensor({1, 2, 3}, {3}), Catch::Contains("mul") && Catch::Contains("[2]") && Catch::Contains("[3]"));
  CHECK_THROWS_AS(Tensor() + ones({1}), Error);
}

TEST_CASE("broadcasting agrees with explicit loops on random shapes", "[ops][elementwise]") {
  manual_seed(3);
  Generator g(11);
  for (int trial = 0; trial < 300; ++trial) {
    const int nd = 1 + static_cast<int>(g.below(4));
    Shape full(nd), sa(nd), sb(nd);
    for (int d = 0; d < nd; ++d) {
      full[d] = 1 + static_cast<int64_t>(g.below(5));
      sa[d] = g.below(3) == 0 ? 1 : full[d];
      sb[d] = g.below(3) == 0 ? 1 : full[d];
    }
    Tensor a = randn(sa), b = randn(sb);
    // a non-contiguous operand half of the time
    if (trial % 2 && nd == 2) a = randn({sa[1], sa[0]}).transpose(0, 1).reshape(sa);
    Tensor y = a * b + a;
    full = broadcast_shapes(sa, sb, "test");
    V av = a.expand(full).contiguous().to_vector(), bv = b.expand(full).contiguous().to_vector();
    V expect(av.size());
    for (size_t i = 0; i < av.size(); ++i) expect[i] = av[i] * bv[i] + av[i];
    REQUIRE(y.shape() == full);
    REQUIRE(testing::max_abs_diff(y.to_vector(), expect) <= 1e-6);
  }
}

TEST_CASE("unary ops match the C library", "[ops][elementwise]") {
  const V xs = {-3.f, -0.5f, 0.f, 0.25f, 2.f};
  Tensor x = tensor(xs, {5});
  auto expect = [&](float (*f)(float)) {
    V v;
    for (float a : xs) v.push_back(f(a));
    return v;
  };
  CHECK_TENSOR(exp(x), S({5}), expect([](float a) { return std::exp(a); }), 1e-5);
  CHECK_TENSOR(tanh(x), S({5}), expect([](float a) { return std::tanh(a); }), 1e-6);
  CHECK_TENSOR(sigmoid(x), S({5}), expect([](float a) { return 1.f / (1.f + std::exp(-a)); }), 1e-6);
  CHECK_TENSOR(relu(x), S({5}), V({0, 0, 0, 0.25f, 2}), 0);
  CHECK_TENSOR(leaky_relu(x, 0.1f), S({5}), V({-0.3f, -0.05f, 0, 0.25f, 2}), 1e-7);
  CHECK_TENSOR(abs(x), S({5}), V({3, 0.5f, 0, 0.25f, 2}), 0);
  CHECK_TENSOR(pow(x, 2.f), S({5}), V({9, 0.25f, 0, 0.0625f, 4}), 1e-6);
  // gelu(x) = x Φ(x); PyTorch: gelu(1) = 0.8413447, gelu(-0.5) = -0.1542687
  CHECK_TENSOR(gelu(tensor({1.f, -0.5f}, {2})), S({2}), V({0.8413447f, -0.1542687f}), 1e-6);
  CHECK_TENSOR(softplus(tensor({0.f, 30.f, -30.f}, {3})), S({3}), V({std::log(2.f), 30.f, 9.357623e-14f}), 1e-6);
  CHECK_TENSOR(clamp(x, -1.f, 1.f), S({5}), V({-1, -0.5f, 0, 0.25f, 1}), 0);
  CHECK_TENSOR(sqrt(tensor({4, 2}, {2})), S({2}), V({2, std::sqrt(2.f)}), 1e-6);
  CHECK_TENSOR(log(tensor({1, std::exp(2.f)}, {2})), S({2}), V({0, 2}), 1e-6);
  CHECK(std::isinf(log(tensor({0.f}, {1})).item()));
}

TEST_CASE("gelu under recording writes gelu' for its backward: the same values as unrecorded and gelu_grad",
          "[ops][elementwise]") {
  manual_seed(12);
  const Tensor x = randn({1000}) * 3.f, g = randn({1000});
  const Tensor xr = x.detach().requires_grad_();
  const Tensor y = gelu(xr);
  CHECK(testing::max_abs_diff(y.to_vector(), gelu(x).to_vector()) < 1e-6);
  y.backward(g);
  const V dx = xr.grad().to_vector(), d1 = gelu_grad(x).to_vector(), gv = g.to_vector();
  V expected(dx.size());
  for (size_t i = 0; i < dx.size(); ++i) expected[i] = gv[i] * d1[i];
  CHECK(testing::max_abs_diff(dx, expected) < 1e-6);
  // gelu'(0) = 1/2, gelu'(1) = Φ(1) + φ(1) = 0.8413447 + 0.2419707
  const Tensor xs = tensor({0.f, 1.f}, {2}).requires_grad_();
  sum(gelu(xs)).backward();
  CHECK_TENSOR(xs.grad(), S({2}), V({0.5f, 1.0833154f}), 1e-6);
}

TEST_CASE("elementwise gradients pass gradcheck, with broadcasting and non-contiguous inputs", "[ops][elementwise]") {
  manual_seed(5);
  using Fn = std::function<Tensor(const std::vector<Tensor>&)>;
  const std::vector<std::pair<const char*, Fn>> binary = {
      {"add", [](auto& v) { return v[0] + v[1]; }},
      {"sub", [](auto& v) { return v[0] - v[1]; }},
      {"mul", [](auto& v) { return v[0] * v[1]; }},
      {"div", [](auto& v) { return v[0] / (v[1] * v[1] + 1.f); }},
      {"maximum", [](auto& v) { return maximum(v[0], v[1]); }},
  };
  for (const auto& entry : binary) {   // not a structured binding: clang 14 cannot capture one in a lambda
    const auto& [name, f] = entry;
    INFO(name);
    CHECK(gradcheck(f, {leaf({3, 4}), leaf({4})}));
    CHECK(gradcheck(f, {leaf({2, 1, 3}), leaf({4, 1})}));
    Tensor t = leaf({4, 3});
    CHECK(gradcheck([&](auto& v) { return entry.second({v[0].transpose(0, 1), v[1]}); }, {t, leaf({3, 4})}));
  }
  const std::vector<std::pair<const char*, Fn>> unary = {
      {"exp", [](auto& v) { return exp(v[0]); }},
      {"log", [](auto& v) { return log(v[0] * v[0] + 0.5f); }},
      {"sqrt", [](auto& v) { return sqrt(v[0] * v[0] + 0.5f); }},
      {"pow", [](auto& v) { return pow(v[0], 3.f); }},
      {"abs", [](auto& v) { return abs(v[0]); }},
      {"relu", [](auto& v) { return relu(v[0]); }},
      {"leaky_relu", [](auto& v) { return leaky_relu(v[0], 0.2f); }},
      {"gelu", [](auto& v) { return gelu(v[0]); }},
      {"tanh", [](auto& v) { return tanh(v[0]); }},
      {"sigmoid", [](auto& v) { return sigmoid(v[0]); }},
      {"softplus", [](auto& v) { return softplus(v[0]); }},
      {"scalars", [](auto& v) { return (2.f - v[0]) * 3.f / 2.f + 1.f / (v[0] * v[0] + 1.f); }},
  };
  for (const auto& entry : unary) {
    const auto& [name, f] = entry;
    INFO(name);
    // values kept away from the kinks of relu/abs so central differences are valid
    Tensor x = tensor({-1.7f, -0.6f, 0.3f, 0.9f, 1.4f, -0.2f}, {2, 3}).requires_grad_();
    CHECK(gradcheck(f, {x}));
    CHECK(gradcheck([&](auto& v) { return entry.second({v[0].transpose(0, 1)}); }, {x}));
  }
}

TEST_CASE("elementwise second derivatives pass gradgradcheck", "[ops][elementwise]") {
  manual_seed(6);
  using Fn = std::function<Tensor(const std::vector<Tensor>&)>;
  const std::vector<Fn> fs = {
      [](auto& v) { return v[0] * v[1] * v[0]; },
      [](auto& v) { return v[0] / (v[1] * v[1] + 1.f); },
      [](auto& v) { return exp(v[0]) * tanh(v[1]); },
      [](auto& v) { return sigmoid(v[0]) * gelu(v[1]); },
      [](auto& v) { return leaky_relu(v[0], 0.2f) * v[1] * v[1]; },
      [](auto& v) { return pow(v[0], 3.f) + sqrt(v[1] * v[1] + 1.f) + log(v[0] * v[0] + 1.f); },
  };
  for (size_t i = 0; i < fs.size(); ++i) {
    INFO("function " << i);
    CHECK(gradgradcheck(fs[i], {leaf({2, 3}, 0.3f, 1.5f), leaf({3}, -1.5f, -0.3f)}));
  }
}
