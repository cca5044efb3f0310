// SPDX-License-Identifier: Apache-2.0
#include <algorithm>
#include <functional>
#include <memory>

#include "support/check.hpp"

using namespace fresco;
using V = std::vector<float>;
using S = Shape;

TEST_CASE("backward of a small expression matches the hand derivative", "[autograd]") {
  Tensor x = tensor({1, 2, 3}, {3}).requires_grad_();
  Tensor y = sum(x * x * x + 2.f * x);  // dy/dx = 3x² + 2
  y.backward();
  CHECK_TENSOR(x.grad(), S({3}), V({5, 14, 29}), 1e-5);
  CHECK(y.item() == Approx(1 + 8 + 27 + 12));
}

TEST_CASE("gradients accumulate across uses and calls until zero_grad", "[autograd]") {
  Tensor x = tensor({2}, {1}).requires_grad_();
  sum(x * 3.f + x).backward();  // x used twice: 3 + 1
  CHECK(x.grad().item() == 4.f);
  sum(x * x).backward();  // + 2x = 4
  CHECK(x.grad().item() == 8.f);
  x.zero_grad();
  CHECK_FALSE(x.grad().defined());
  sum(x).backward();
  CHECK(x.grad().item() == 1.f);
}

TEST_CASE("a leaf's grad is private even when the backward shares tensors", "[autograd]") {
  Tensor a = ones({3}).requires_grad_(), b = ones({3}).requires_grad_();
  sum(a + b).backward();  // add returns the same gradient to both inputs
  a.grad().data()[0] = 100.f;
  CHECK(b.grad().to_vector() == V({1, 1, 1}));
}

TEST_CASE("NoGradGuard and detach stop recording", "[autograd]") {
  Tensor x = ones({2}).requires_grad_();
  {
    NoGradGuard g;
    CHECK_FALSE(is_grad_enabled());
    Tensor y = x * 2.f;
    CHECK_FALSE(y.requires_grad());
    {
      NoGradGuard nested;
    }
    CHECK_FALSE(is_grad_enabled());
  }
  CHECK(is_grad_enabled());
  Tensor d = (x * 2.f).detach();
  CHECK_FALSE(d.requires_grad());
  CHECK_THROWS_AS((x * 2.f).requires_grad_(), Error);
  CHECK_THROWS_WITH(sum(d).backward(), Catch::Contains("does not require a gradient"));
}

TEST_CASE("a 10,000-op chain runs backward without deep recursion", "[autograd]") {
  Tensor x = tensor({1.f}, {1}).requires_grad_();
  Tensor y = x;
  for (int i = 0; i < 10000; ++i) y = y * 1.0001f + 0.f;
  sum(y).backward();
  CHECK(x.grad().item() == Approx(std::pow(1.0001, 10000)).epsilon(1e-3));
}

TEST_CASE("the graph is freed after backward unless retained", "[autograd]") {
  Tensor x = ones({2}).requires_grad_();
  Tensor y = sum(exp(x));
  y.backward(ones({}), {.retain_graph = true});
  y.backward();
  CHECK_TENSOR(x.grad(), S({2}), V(2, 2 * std::exp(1.f)), 1e-5);
  CHECK_THROWS_WITH(y.backward(), Catch::Contains("retain_graph"));
}

TEST_CASE("backward checks the seed's shape", "[autograd]") {
  Tensor x = ones({2, 3}).requires_grad_();
  Tensor y = x * 2.f;
  CHECK_THROWS_WITH(y.backward(), Catch::Contains("[2, 3]"));
  CHECK_THROWS_AS(y.backward(ones({3})), ShapeError);
  y.backward(ones({2, 3}));
  CHECK_TENSOR(x.grad(), S({2, 3}), V(6, 2.f), 0);
}

TEST_CASE("grad() returns gradients without touching .grad()", "[autograd]") {
  Tensor x = tensor({1, 2}, {2}).requires_grad_();
  Tensor w = tensor({3, 4}, {2}).requires_grad_();
  Tensor h = x * w;  // non-leaf input
  Tensor y = sum(h * h);
  auto gs = grad({y}, {x, h});
  CHECK_TENSOR(gs[0], S({2}), V({2 * 1 * 9, 2 * 2 * 16}), 1e-5);  // 2 x w²
  CHECK_TENSOR(gs[1], S({2}), V({6, 16}), 1e-5);                  // 2 h
  CHECK_FALSE(x.grad().defined());
  CHECK_FALSE(w.grad().defined());
  Tensor unused = ones({2}).requires_grad_();
  Tensor z = sum(x * 2.f);
  CHECK_TENSOR(grad({z}, {unused})[0], S({2}), V({0, 0}), 0);
}

TEST_CASE("create_graph makes gradients differentiable", "[autograd]") {
  Tensor x = tensor({1.5f, -2.f}, {2}).requires_grad_();
  Tensor y = sum(x * x * x);
  Tensor g = grad({y}, {x}, {}, {.create_graph = true})[0];  // 3x²
  CHECK_TENSOR(g, S({2}), V({6.75f, 12.f}), 1e-5);
  sum(g).backward();  // d/dx Σ 3x² = 6x
  CHECK_TENSOR(x.grad(), S({2}), V({9.f, -12.f}), 1e-5);
}

TEST_CASE("gradient penalty through leaky_relu and a product (R1 style)", "[autograd]") {
  // D(x) = Σ leaky(w·x); penalty = |dD/dx|²; d penalty / dw by hand.
  Tensor w = tensor({0.5f, -1.5f, 2.f}, {3}).requires_grad_();
  Tensor x = tensor({1.f, 2.f, -1.f}, {3}).requires_grad_();
  Tensor d = sum(leaky_relu(w * x, 0.2f));
  Tensor gx = grad({d}, {x}, {}, {.create_graph = true})[0];  // w * slope(w x)
  Tensor penalty = sum(gx * gx);
  penalty.backward();
  // w x = [0.5, -3, -2] -> slopes [1, .2, .2]; gx = [0.5, -0.3, 0.4]; d pen/dw = 2 w s²
  CHECK_TENSOR(gx, S({3}), V({0.5f, -0.3f, 0.4f}), 1e-6);
  CHECK_TENSOR(w.grad(), S({3}), V({1.f, -1.5f * 2 * 0.04f, 2.f * 2 * 0.04f}), 1e-5);
}

TEST_CASE("gradcheck catches a wrong gradient", "[autograd]") {
  // sqrt's gradient is right; a function whose recorded backward is wrong must fail.
  auto good = [](const std::vector<Tensor>& in) { return sqrt(in[0]); };
  CHECK(gradcheck(good, {tensor({1, 2, 3}, {3}).requires_grad_()}));
  auto wrong = [](const std::vector<Tensor>& in) {
    // value x², but the gradient path is only through detach of one factor: gradient x instead of 2x
    return in[0] * in[0].detach();
  };
  CHECK_THROWS_AS(gradcheck(wrong, {tensor({1, 2, 3}, {3}).requires_grad_()}), Error);
}

TEST_CASE("a graph that is never run backward is freed with its tensors", "[autograd]") {
  // A closure holding its own output would keep output -> node -> closure -> output alive.
  using Fn = std::function<Tensor(const Tensor&)>;
  const std::vector<std::pair<const char*, Fn>> ops = {
      {"exp", [](const Tensor& x) { return exp(x); }},
      {"sqrt", [](const Tensor& x) { return sqrt(x * x + 1.f); }},
      {"tanh", [](const Tensor& x) { return tanh(x); }},
      {"sigmoid", [](const Tensor& x) { return sigmoid(x); }},
      {"rdiv", [](const Tensor& x) { return 1.f / (x * x + 1.f); }},
      {"softmax", [](const Tensor& x) { return softmax(x, 1); }},
      {"log_softmax", [](const Tensor& x) { return log_softmax(x, 0); }},
      {"layer_norm", [](const Tensor& x) { return layer_norm(x, {3}, ones({3}), zeros({3})); }},
      {"matmul", [](const Tensor& x) { return matmul(x, x.transpose(0, 1)); }},
      {"cross_entropy", [](const Tensor& x) { return cross_entropy(x, {0, 2}); }},
      {"attention",
       [](const Tensor& x) {
         Tensor q = x.reshape({1, 1, 2, 3});
         return scaled_dot_product_attention(q, q, q, {}, true);
       }},
  };
  for (const auto& [name, f] : ops) {
    INFO(name);
    std::weak_ptr<detail::TensorImpl> out, leaf;
    {
      Tensor x = uniform({2, 3}, 0.1f, 1.f).requires_grad_();
      Tensor y = f(x);
      REQUIRE(y.requires_grad());
      out = y.impl();
      leaf = x.impl();
    }
    CHECK(out.expired());
    CHECK(leaf.expired());
  }
}

TEST_CASE("post-accumulate-grad hooks see each leaf's final gradient once per backward", "[autograd][hooks]") {
  Tensor w = tensor({2}, {1}).requires_grad_();
  Tensor b = tensor({5}, {1}).requires_grad_();
  std::vector<std::pair<std::string, float>> seen;
  auto hw = register_post_accumulate_grad_hook(w, [&](const Tensor& t) { seen.emplace_back("w", t.grad().item()); });
  auto hb = register_post_accumulate_grad_hook(b, [&](const Tensor& t) { seen.emplace_back("b", t.grad().item()); });
  // w is used three times, b once, late in the graph: w's hook must wait for
  // all three contributions (3 + 2w + 1 = 8), b's fires with its own (1).
  Tensor y = sum(w * 3.f + w * w + w) + sum(b);
  y.backward();
  REQUIRE(seen.size() == 2);
  std::sort(seen.begin(), seen.end());
  CHECK(seen[0] == std::pair<std::string, float>("b", 1.f));
  CHECK(seen[1] == std::pair<std::string, float>("w", 8.f));

  // A second pass accumulates (8 + 8): the hook sees the accumulated total.
  seen.clear();
  (sum(w * 3.f + w * w + w)).backward();
  REQUIRE(seen.size() == 1);  // b is not in this graph
  CHECK(seen[0] == std::pair<std::string, float>("w", 16.f));

  // fresco::grad leaves .grad() alone and calls no hook.
  seen.clear();
  auto g = grad({sum(w * w)}, {w});
  CHECK(seen.empty());
  CHECK(g[0].item() == 4.f);

  // Removed hooks are not called.
  hw.remove();
  seen.clear();
  sum(w * b).backward();
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].first == "b");
}

TEST_CASE("a hook fires after the leaf's last contribution even when the graph is deep", "[autograd][hooks]") {
  // 200 uses of w spread along a chain: the hook runs once, with all 200.
  Tensor w = tensor({1.f}, {1}).requires_grad_();
  int calls = 0;
  float at_call = 0;
  auto h = register_post_accumulate_grad_hook(w, [&](const Tensor& t) {
    ++calls;
    at_call = t.grad().item();
  });
  Tensor x = tensor({0.f}, {1});
  for (int i = 0; i < 200; ++i) x = x + w;
  sum(x).backward();
  CHECK(calls == 1);
  CHECK(at_call == 200.f);
}

TEST_CASE("hooks of frozen leaves stay silent; callbacks run once the pass has ended", "[autograd][hooks]") {
  Tensor w = tensor({3.f}, {1}).requires_grad_();
  Tensor x = tensor({2.f}, {1}).requires_grad_();
  std::vector<std::string> events;
  auto h = register_post_accumulate_grad_hook(w, [&](const Tensor&) {
    events.push_back("w");
    queue_backward_callback([&] { events.push_back("end"); });
  });
  auto hx = register_post_accumulate_grad_hook(x, [&](const Tensor&) { events.push_back("x"); });
  sum(w * x).backward();
  REQUIRE(events.size() == 3);
  CHECK(events.back() == "end");  // after every hook of the pass
  // A frozen parameter (the discriminator during the generator's step) fires nothing.
  events.clear();
  w.requires_grad_(false);
  sum(w * x).backward();
  CHECK(events == std::vector<std::string>{"x"});
  CHECK_THROWS_WITH(queue_backward_callback([] {}), Catch::Contains("no backward pass is running"));
  CHECK_THROWS_WITH(register_post_accumulate_grad_hook(w * 2.f, [](const Tensor&) {}),
                    Catch::Contains("expected a leaf that requires a gradient"));
}
