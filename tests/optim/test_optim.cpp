// SPDX-License-Identifier: Apache-2.0
// SGD, Adam and AdamW against their published update formulas evaluated in
// double precision; state_dict round trips; clip_grad_norm.
#include <cmath>
#include <functional>

#include "support/check.hpp"

using namespace fresco;

namespace {

constexpr int kSteps = 5;
const std::vector<double> kInit{0.5, -1.25, 2.0, 0.0};

// The gradient fed at step k (the same for the optimizer and the naive formula).
std::vector<double> grad_at(int k) {
  std::vector<double> g(kInit.size());
  for (size_t i = 0; i < g.size(); ++i) g[i] = std::sin(1.3 * double(k) + 0.7 * double(i)) * (1.0 + double(i));
  return g;
}

Tensor as_tensor(const std::vector<double>& v) {
  return tensor(std::vector<float>(v.begin(), v.end()), {static_cast<int64_t>(v.size())});
}

// Runs `steps` optimizer steps on a fresh parameter; returns its values after each.
template <class Opt, class Options>
std::vector<std::vector<float>> run(Options o, int steps = kSteps) {
  Tensor p = as_tensor(kInit).requires_grad_();
  Opt opt({p}, o);
  std::vector<std::vector<float>> out;
  for (int k = 0; k < steps; ++k) {
    p.set_grad(as_tensor(grad_at(k)));
    opt.step();
    out.push_back(p.to_vector());
  }
  return out;
}

void check_sequence(const std::vector<std::vector<float>>& got, const std::vector<std::vector<double>>& want,
                    double tol) {
  REQUIRE(got.size() == want.size());
  for (size_t k = 0; k < got.size(); ++k) {
    INFO("step " << k + 1);
    CHECK(testing::max_abs_diff(got[k], std::vector<float>(want[k].begin(), want[k].end())) < tol);
  }
}

// torch.optim.SGD's documented algorithm.
std::vector<std::vector<double>> naive_sgd(double lr, double mu, double wd, bool nesterov, double dampening = 0) {
  std::vector<double> p = kInit, b(p.size());
  std::vector<std::vector<double>> out;
  for (int k = 0; k < kSteps; ++k) {
    auto g = grad_at(k);
    for (size_t i = 0; i < p.size(); ++i) {
      double gi = g[i] + wd * p[i];
      if (mu != 0) {
        b[i] = k == 0 ? gi : mu * b[i] + (1 - dampening) * gi;
        gi = nesterov ? gi + mu * b[i] : b[i];
      }
      p[i] -= lr * gi;
    }
    out.push_back(p);
  }
  return out;
}

// Adam (Kingma & Ba, Algorithm 1) with L2 (adam) or decoupled (adamw) decay.
std::vector<std::vector<double>> naive_adam(double lr, double b1, double b2, double eps, double wd, bool decoupled) {
  std::vector<double> p = kInit, m(p.size()), v(p.size());
  std::vector<std::vector<double>> out;
  for (int k = 0; k < kSteps; ++k) {
    const int t = k + 1;
    auto g = grad_at(k);
    for (size_t i = 0; i < p.size(); ++i) {
      if (decoupled) p[i] *= 1 - lr * wd;
      const double gi = decoupled ? g[i] : g[i] + wd * p[i];
      m[i] = b1 * m[i] + (1 - b1) * gi;
      v[i] = b2 * v[i] + (1 - b2) * gi * gi;
      const double m_hat = m[i] / (1 - std::pow(b1, t)), v_hat = v[i] / (1 - std::pow(b2, t));
      p[i] -= lr * m_hat / (std::sqrt(v_hat) + eps);
    }
    out.push_back(p);
  }
  return out;
}

}  // namespace

TEST_CASE("SGD follows torch.optim.SGD's formulas", "[optim][sgd]") {
  check_sequence(run<optim::SGD>(optim::SGDOptions{.lr = 0.1f}), naive_sgd(0.1, 0, 0, false), 1e-6);
  check_sequence(run<optim::SGD>(optim::SGDOptions{.lr = 0.1f, .momentum = 0.9f}), naive_sgd(0.1, 0.9, 0, false), 1e-5);
  check_sequence(run<optim::SGD>(optim::SGDOptions{.lr = 0.05f, .momentum = 0.9f, .weight_decay = 0.1f, .nesterov = true}),
                 naive_sgd(0.05, 0.9, 0.1, true), 1e-5);
  check_sequence(run<optim::SGD>(optim::SGDOptions{.lr = 0.1f, .momentum = 0.5f, .weight_decay = 0.01f,
                                                   .nesterov = false, .dampening = 0.3f}),
                 naive_sgd(0.1, 0.5, 0.01, false, 0.3), 1e-5);
}

TEST_CASE("Adam and AdamW follow the published formulas", "[optim][adam]") {
  check_sequence(run<optim::Adam>(optim::AdamOptions{}), naive_adam(1e-3, 0.9, 0.999, 1e-8, 0, false), 1e-6);
  check_sequence(run<optim::Adam>(optim::AdamOptions{.lr = 0.1f, .beta1 = 0.5f, .beta2 = 0.9f, .eps = 1e-6f,
                                                     .weight_decay = 0.1f}),
                 naive_adam(0.1, 0.5, 0.9, 1e-6, 0.1, false), 1e-5);
  check_sequence(run<optim::AdamW>(optim::AdamWOptions{.lr = 0.1f, .weight_decay = 0.5f}),
                 naive_adam(0.1, 0.9, 0.999, 1e-8, 0.5, true), 1e-5);
  // Decoupled decay differs from L2 decay.
  auto l2 = run<optim::Adam>(optim::AdamOptions{.lr = 0.1f, .weight_decay = 0.5f});
  auto dec = run<optim::AdamW>(optim::AdamWOptions{.lr = 0.1f, .weight_decay = 0.5f});
  CHECK(testing::max_abs_diff(l2.back(), dec.back()) > 1e-3);
  // AdamW's default weight decay is PyTorch's 1e-2.
  CHECK(optim::AdamWOptions{}.weight_decay == 1e-2f);
}

TEST_CASE("Parameters without a gradient are skipped and keep no state", "[optim]") {
  Tensor a = ones({2}).requires_grad_(), b = ones({3}).requires_grad_();
  optim::Adam opt({a, b}, {.lr = 0.1f});
  a.set_grad(ones({2}));
  opt.step();
  CHECK(b.to_vector() == std::vector<float>(3, 1.f));
  CHECK(a.to_vector()[0] == Approx(0.9f));
  auto sd = opt.state_dict();
  CHECK(sd.count("state.0.exp_avg"));
  CHECK_FALSE(sd.count("state.1.exp_avg"));
  CHECK(sd.at("step").item() == 1.f);
  opt.zero_grad();
  CHECK_FALSE(a.grad().defined());
}

TEST_CASE("state_dict round trip continues identically", "[optim][state]") {
  auto check_resume = [](auto make) {
    // Uninterrupted: 6 steps. Interrupted: 3 steps, save, new optimizer, load, 3 steps.
    Tensor p1 = as_tensor(kInit).requires_grad_(), p2 = as_tensor(kInit).requires_grad_();
    auto o1 = make(p1);
    for (int k = 0; k < 6; ++k) {
      p1.set_grad(as_tensor(grad_at(k)));
      o1->step();
    }
    auto o2 = make(p2);
    for (int k = 0; k < 3; ++k) {
      p2.set_grad(as_tensor(grad_at(k)));
      o2->step();
    }
    auto sd = o2->state_dict();
    Tensor p3 = tensor(p2.to_vector(), p2.shape()).requires_grad_();
    auto o3 = make(p3);
    o3->load_state_dict(sd);
    CHECK(o3->steps() == 3);
    for (int k = 3; k < 6; ++k) {
      p3.set_grad(as_tensor(grad_at(k)));
      o3->step();
    }
    CHECK(p3.to_vector() == p1.to_vector());
  };
  check_resume([](Tensor p) { return std::make_unique<optim::AdamW>(std::vector<Tensor>{p}, optim::AdamWOptions{.lr = 0.05f}); });
  check_resume([](Tensor p) { return std::make_unique<optim::Adam>(std::vector<Tensor>{p}, optim::AdamOptions{.lr = 0.05f}); });
  check_resume([](Tensor p) {
    return std::make_unique<optim::SGD>(std::vector<Tensor>{p}, optim::SGDOptions{.lr = 0.05f, .momentum = 0.9f, .nesterov = true});
  });
}

TEST_CASE("load_state_dict is strict and lists every problem", "[optim][state]") {
  Tensor p = ones({2, 2}).requires_grad_();
  optim::Adam opt({p});
  p.set_grad(ones({2, 2}));
  opt.step();
  auto sd = opt.state_dict();
  CHECK(sd.size() == 5);  // step, lr, state.0.{step, exp_avg, exp_avg_sq}
  CHECK(sd.at("state.0.exp_avg").shape() == Shape{2, 2});
  auto bad = sd;
  bad.erase("state.0.exp_avg_sq");
  bad["state.0.momentum"] = ones({2, 2});
  bad["state.0.exp_avg"] = ones({4});
  bad["state.7.exp_avg"] = ones({2, 2});
  bad.erase("lr");
  try {
    opt.load_state_dict(bad);
    FAIL("no error");
  } catch (const Error& e) {
    const std::string msg = e.what();
    INFO(msg);
    CHECK_THAT(msg, Catch::Contains("Adam::load_state_dict"));
    CHECK_THAT(msg, Catch::Contains("missing: lr, state.0.exp_avg_sq [2, 2]"));
    CHECK_THAT(msg, Catch::Contains("unexpected: state.0.momentum [2, 2], state.7.exp_avg [2, 2]"));
    CHECK_THAT(msg, Catch::Contains("mismatched: state.0.exp_avg (expected [2, 2], got [4])"));
  }
  // Nothing was changed by the failed load.
  CHECK(opt.state_dict().at("state.0.exp_avg").to_vector() == sd.at("state.0.exp_avg").to_vector());
  // Steps are counts: a fraction, a negative or a float past int64's range is refused, state untouched.
  for (const float step : {1.5f, -1.f, 7.5e28f, INFINITY, NAN}) {
    for (const char* key : {"step", "state.0.step"}) {
      auto wrong = sd;
      wrong[key] = full({1}, step);
      CHECK_THROWS_WITH(opt.load_state_dict(wrong), Catch::Contains(std::string(key) + " must be a count"));
    }
  }
  CHECK(opt.state_dict().at("step").item() == 1.f);
  CHECK(opt.state_dict().at("state.0.exp_avg").to_vector() == sd.at("state.0.exp_avg").to_vector());
  auto later = sd;
  later["state.0.step"] = full({1}, 1e6f);
  opt.load_state_dict(later);
  CHECK(opt.state_dict().at("state.0.step").item() == 1e6f);
}

TEST_CASE("Optimizer options are validated in the constructor", "[optim]") {
  Tensor p = ones({2}).requires_grad_();
  CHECK_THROWS_WITH(optim::SGD({p}, {.lr = -1.f}), Catch::Contains("SGD: lr must be finite and >= 0, got -1"));
  CHECK_THROWS_WITH(optim::SGD({p}, {.lr = 0.1f, .momentum = 0.f, .weight_decay = 0.f, .nesterov = true}),
                    Catch::Contains("Nesterov momentum needs momentum > 0"));
  CHECK_THROWS_WITH(optim::Adam({p}, {.lr = 1e-3f, .beta1 = 1.f}), Catch::Contains("Adam: beta1 must be in [0, 1), got 1"));
  CHECK_THROWS_WITH(optim::AdamW({p}, {.lr = 1e-3f, .beta1 = 0.9f, .beta2 = -0.1f}), Catch::Contains("AdamW: beta2 must be in [0, 1)"));
  CHECK_THROWS_WITH(optim::Adam({p}, {.lr = 1e-3f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = -1.f}), Catch::Contains("eps must be >= 0"));
  CHECK_THROWS_WITH(optim::Adam({p, p}), Catch::Contains("appears more than once"));
  CHECK_THROWS_WITH(optim::Adam({Tensor()}), Catch::Contains("parameter 0 is undefined"));
  optim::Adam opt({p});
  opt.set_lr(0.5f);
  CHECK(opt.lr() == 0.5f);
  CHECK_THROWS_WITH(opt.set_lr(NAN), Catch::Contains("lr must be finite"));
}

TEST_CASE("clip_grad_norm returns the total norm and scales only above max_norm", "[optim][clip]") {
  Tensor a = zeros({2}).requires_grad_(), b = zeros({2, 1}).requires_grad_(), c = zeros({3}).requires_grad_();
  a.set_grad(tensor({3, 0}, {2}));
  b.set_grad(tensor({0, 4}, {2, 1}));  // total norm sqrt(9 + 16) = 5; c has no gradient
  CHECK(optim::clip_grad_norm({a, b, c}, 10.f) == Approx(5.f));
  CHECK(a.grad().to_vector() == std::vector<float>{3, 0});  // below max_norm: untouched
  CHECK(optim::clip_grad_norm({a, b, c}, 1.f) == Approx(5.f));
  const double scale = 1.0 / (5.0 + 1e-6);
  CHECK(testing::max_abs_diff(a.grad().to_vector(), {float(3 * scale), 0}) < 1e-7);
  CHECK(testing::max_abs_diff(b.grad().to_vector(), {0, float(4 * scale)}) < 1e-7);
  CHECK(optim::clip_grad_norm({a, b, c}, 1.f) == Approx(1.f).epsilon(1e-5));
  CHECK_FALSE(c.grad().defined());
  CHECK_THROWS_WITH(optim::clip_grad_norm({a}, -1.f), Catch::Contains("max_norm must be >= 0"));
  // Large vectors: the norm is accumulated in double.
  Tensor big = zeros({1 << 20}).requires_grad_();
  big.set_grad(full({1 << 20}, 1e-3f));
  CHECK(optim::clip_grad_norm({big}, 100.f) == Approx(1.024f).epsilon(1e-5));
}

TEST_CASE("Optimizers train a tiny model end to end", "[optim]") {
  manual_seed(40);
  nn::Linear fc(3, 1);
  Tensor x = randn({32, 3});
  Tensor y = matmul(x, tensor({1.f, -2.f, 0.5f}, {3, 1})) + 0.3f;
  optim::AdamW opt(fc.parameters(), {.lr = 0.05f, .weight_decay = 0.f});
  float first = 0, last = 0;
  for (int i = 0; i < 200; ++i) {
    Tensor loss = mse_loss(fc(x), y);
    if (i == 0) first = loss.item();
    last = loss.item();
    loss.backward();
    opt.step();
    opt.zero_grad();
  }
  CHECK(last < 1e-3f * first);
}
