// SPDX-License-Identifier: Apache-2.0
// Linear, Embedding, LayerNorm, BatchNorm2d, Dropout, activations: forward
// against naive double-precision loops, gradcheck, initialisation, errors.
#include <cmath>

#include "nn/layer_check.hpp"

using namespace fresco;
using fresco::test::module_gradcheck;
using fresco::test::values;

TEST_CASE("Linear matches a naive matvec and gradchecks", "[nn][linear]") {
  manual_seed(1);
  nn::Linear fc(5, 3);
  CHECK(fc.weight.shape() == Shape{3, 5});
  CHECK(fc.bias.shape() == Shape{3});
  Tensor x = randn({2, 4, 5});
  Tensor y = fc(x);
  REQUIRE(y.shape() == Shape{2, 4, 3});
  const auto w = values(fc.weight), b = values(fc.bias), xv = values(x), yv = values(y);
  double worst = 0;
  for (int r = 0; r < 8; ++r)
    for (int o = 0; o < 3; ++o) {
      double acc = b[o];
      for (int i = 0; i < 5; ++i) acc += w[o * 5 + i] * xv[r * 5 + i];
      worst = std::max(worst, std::fabs(acc - yv[r * 3 + o]));
    }
  CHECK(worst < 1e-5);
  nn::Linear nobias(5, 3, false);
  CHECK_FALSE(nobias.bias.defined());
  CHECK(nobias.named_parameters().size() == 1);
  CHECK(module_gradcheck({&fc.weight, &fc.bias}, {randn({2, 5}).requires_grad_()},
                         [&](const std::vector<Tensor>& in) { return fc(in[0]); }));
  CHECK_THROWS_WITH(fc(randn({2, 4})), Catch::Contains("Linear: expected input [..., 5], got [2, 4]"));
  CHECK_THROWS_WITH(nn::Linear(0, 3), Catch::Contains("Linear: sizes must be positive"));
}

TEST_CASE("Linear and Conv2d initialise as PyTorch (U(-1/sqrt(fan_in), 1/sqrt(fan_in))), repeatably", "[nn][init]") {
  manual_seed(7);
  nn::Linear a(100, 200);
  manual_seed(7);
  nn::Linear b(100, 200);
  CHECK(a.weight.to_vector() == b.weight.to_vector());
  CHECK(a.bias.to_vector() == b.bias.to_vector());
  // The variance check needs many samples (its relative error is about sqrt(0.8 / n)).
  auto check_uniform = [](const Tensor& t, double bound) {
    const auto v = values(t);
    double lo = 1e9, hi = -1e9, mean = 0, sq = 0;
    for (double x : v) {
      lo = std::min(lo, x);
      hi = std::max(hi, x);
      mean += x;
      sq += x * x;
    }
    mean /= static_cast<double>(v.size());
    const double var = sq / static_cast<double>(v.size()) - mean * mean;
    CHECK(lo >= -bound);
    CHECK(hi <= bound);
    CHECK(hi > 0.95 * bound);            // fills the range
    if (v.size() >= 10000) CHECK(std::fabs(var - bound * bound / 3) < 0.05 * bound * bound / 3);   // U(-b, b)
  };
  check_uniform(a.weight, 0.1);
  check_uniform(a.bias, 0.1);
  nn::Conv2d conv(8, 16, 3, {.groups = 2});
  CHECK(conv.weight.shape() == Shape{16, 4, 3, 3});
  check_uniform(conv.weight, 1 / std::sqrt(36.0));
  nn::ConvTranspose2d convt(16, 8, 4);
  check_uniform(convt.weight, 1 / std::sqrt(8.0 * 16));
  // Embedding N(0, 1); norms ones/zeros.
  nn::Embedding e(200, 50);
  const auto ev = values(e.weight);
  double m = 0, s = 0;
  for (double x : ev) m += x, s += x * x;
  m /= 10000;
  CHECK(std::fabs(m) < 0.05);
  CHECK(std::fabs(s / 10000 - 1) < 0.05);
  nn::LayerNorm ln({4});
  CHECK(ln.weight.to_vector() == std::vector<float>(4, 1.f));
  CHECK(ln.bias.to_vector() == std::vector<float>(4, 0.f));
}

TEST_CASE("Embedding picks rows and gradchecks", "[nn][embedding]") {
  manual_seed(2);
  nn::Embedding e(6, 3);
  Tensor y = e({5, 0, 5, 2}, {2, 2});
  REQUIRE(y.shape() == Shape{2, 2, 3});
  const auto w = e.weight.to_vector(), v = y.to_vector();
  const int ids[] = {5, 0, 5, 2};
  for (int i = 0; i < 4; ++i)
    for (int d = 0; d < 3; ++d) CHECK(v[i * 3 + d] == w[ids[i] * 3 + d]);
  CHECK(module_gradcheck({&e.weight}, {}, [&](const std::vector<Tensor>&) { return e({5, 0, 5, 2}, {4}); }));
  CHECK_THROWS_WITH(e({6}, {1}), Catch::Contains("outside [0, 6)"));
}

TEST_CASE("LayerNorm matches a double-precision naive and gradchecks", "[nn][layernorm]") {
  manual_seed(3);
  nn::LayerNorm ln({2, 3}, 1e-5f);
  {
    NoGradGuard g;
    std::vector<float> w{0.5f, 1.5f, -1.f, 2.f, 1.f, 0.25f}, b{0.1f, 0.f, -0.2f, 0.3f, 0.f, 1.f};
    std::copy(w.begin(), w.end(), ln.weight.data());
    std::copy(b.begin(), b.end(), ln.bias.data());
  }
  Tensor x = randn({4, 2, 3}) * 3.f + 1.f;
  Tensor y = ln(x);
  const auto xv = values(x), yv = values(y), w = values(ln.weight), b = values(ln.bias);
  double worst = 0;
  for (int r = 0; r < 4; ++r) {
    double mean = 0, var = 0;
    for (int i = 0; i < 6; ++i) mean += xv[r * 6 + i];
    mean /= 6;
    for (int i = 0; i < 6; ++i) var += (xv[r * 6 + i] - mean) * (xv[r * 6 + i] - mean);
    var /= 6;
    for (int i = 0; i < 6; ++i) {
      const double expect = (xv[r * 6 + i] - mean) / std::sqrt(var + 1e-5) * w[i] + b[i];
      worst = std::max(worst, std::fabs(expect - yv[r * 6 + i]));
    }
  }
  CHECK(worst < 1e-5);
  CHECK(module_gradcheck({&ln.weight, &ln.bias}, {randn({2, 2, 3}).requires_grad_()},
                         [&](const std::vector<Tensor>& in) { return ln(in[0]); }));
  CHECK_THROWS_WITH(ln(randn({2, 3, 2})), Catch::Contains("LayerNorm: expected input [..., 2, 3], got [2, 3, 2]"));
}

namespace {

// Naive batch norm in double: per channel over N, H, W.
struct NaiveBn {
  std::vector<double> mean, var, running_mean, running_var;
};

}  // namespace

TEST_CASE("BatchNorm2d: training output, running statistics over steps, eval output", "[nn][batchnorm]") {
  manual_seed(4);
  const int N = 3, C = 2, H = 2, W = 3, M = N * H * W;
  nn::BatchNorm2d bn(C, {.eps = 1e-5f, .momentum = 0.1f});
  {
    NoGradGuard g;
    bn.weight.data()[0] = 2.f, bn.weight.data()[1] = 0.5f;
    bn.bias.data()[0] = -1.f, bn.bias.data()[1] = 0.25f;
  }
  std::vector<double> rm(C, 0.0), rv(C, 1.0);
  for (int stepi = 0; stepi < 4; ++stepi) {
    Tensor x = randn({N, C, H, W}) * static_cast<float>(1 + stepi) + static_cast<float>(stepi);
    Tensor y = bn(x);
    const auto xv = values(x), yv = values(y);
    double worst = 0;
    for (int c = 0; c < C; ++c) {
      double mean = 0, var = 0;
      for (int n = 0; n < N; ++n)
        for (int i = 0; i < H * W; ++i) mean += xv[(n * C + c) * H * W + i];
      mean /= M;
      for (int n = 0; n < N; ++n)
        for (int i = 0; i < H * W; ++i) var += std::pow(xv[(n * C + c) * H * W + i] - mean, 2);
      var /= M;  // biased, for normalising
      const double w = c == 0 ? 2.0 : 0.5, b = c == 0 ? -1.0 : 0.25;
      for (int n = 0; n < N; ++n)
        for (int i = 0; i < H * W; ++i) {
          const int k = (n * C + c) * H * W + i;
          worst = std::max(worst, std::fabs((xv[k] - mean) / std::sqrt(var + 1e-5) * w + b - yv[k]));
        }
      rm[c] = 0.9 * rm[c] + 0.1 * mean;
      rv[c] = 0.9 * rv[c] + 0.1 * var * M / (M - 1);  // unbiased for the running estimate
    }
    CHECK(worst < 1e-4);
    CHECK(testing::max_abs_diff(bn.running_mean.to_vector(), {static_cast<float>(rm[0]), static_cast<float>(rm[1])}) <
          1e-5);
    CHECK(testing::max_abs_diff(bn.running_var.to_vector(), {static_cast<float>(rv[0]), static_cast<float>(rv[1])}) <
          1e-4);
  }
  bn.eval();
  Tensor x = randn({2, C, 2, 2});
  const auto xv = values(x), yv = values(bn(x));
  double worst = 0;
  for (int k = 0; k < 16; ++k) {
    const int c = (k / 4) % 2;
    const double w = c == 0 ? 2.0 : 0.5, b = c == 0 ? -1.0 : 0.25;
    worst = std::max(worst, std::fabs((xv[k] - rm[c]) / std::sqrt(rv[c] + 1e-5) * w + b - yv[k]));
  }
  CHECK(worst < 1e-5);
  const auto before = bn.running_mean.to_vector();
  bn(x);
  CHECK(bn.running_mean.to_vector() == before);  // eval leaves the statistics alone
}

// The fused op against the same formulas composed of differentiable ops (which is how
// BatchNorm2d was written before it had its own kernels), values and gradients.
TEST_CASE("BatchNorm2d's fused op matches its composition in ops, forward and backward", "[nn][batchnorm]") {
  manual_seed(11);
  const int64_t N = 4, C = 5, H = 7, W = 9;  // H·W not a multiple of the vector width
  for (bool training : {true, false}) {
    nn::BatchNorm2d bn(C);
    {
      NoGradGuard g;
      for (int64_t c = 0; c < C; ++c) {
        bn.weight.data()[c] = 0.5f + 0.25f * static_cast<float>(c);
        bn.bias.data()[c] = 0.1f * static_cast<float>(c) - 0.2f;
        bn.running_mean.data()[c] = 0.3f * static_cast<float>(c);
        bn.running_var.data()[c] = 1.f + 0.5f * static_cast<float>(c);
      }
    }
    bn.train(training);
    const Shape pc{1, C, 1, 1};
    Tensor x = (randn({N, C, H, W}) * 3.f + 2.f).requires_grad_();
    Tensor xr = x.detach().clone().requires_grad_();
    Tensor wr = bn.weight.detach().clone().requires_grad_(), br = bn.bias.detach().clone().requires_grad_();
    Tensor ref;
    if (training) {
      Tensor centred = xr - mean(xr, {0, 2, 3}, true);
      ref = centred / sqrt(mean(centred * centred, {0, 2, 3}, true) + 1e-5f);
    } else {
      ref = (xr - bn.running_mean.detach().clone().view(pc)) / sqrt(bn.running_var.detach().clone().view(pc) + 1e-5f);
    }
    ref = ref * wr.view(pc) + br.view(pc);
    Tensor y = bn(x);
    CHECK(testing::max_abs_diff(y.to_vector(), ref.to_vector()) < 1e-5);
    Tensor g = randn({N, C, H, W});
    sum(y * g).backward();
    sum(ref * g).backward();
    CHECK(testing::max_abs_diff(x.grad().to_vector(), xr.grad().to_vector()) < 1e-5);
    CHECK(testing::max_abs_diff(bn.weight.grad().to_vector(), wr.grad().to_vector()) < 1e-3);
    CHECK(testing::max_abs_diff(bn.bias.grad().to_vector(), br.grad().to_vector()) < 1e-3);
  }
}

TEST_CASE("BatchNorm2d has second derivatives (create_graph goes through the batch statistics)", "[nn][batchnorm]") {
  manual_seed(6);
  nn::BatchNorm2d bn(2);
  Tensor x = randn({2, 2, 2, 3}).requires_grad_();
  Tensor w = (rand({2}) + 0.5f).requires_grad_(), b = randn({2}).requires_grad_();
  auto f = [&](const std::vector<Tensor>& in) {
    bn.weight = in[1];
    bn.bias = in[2];
    return bn(in[0]);
  };
  const Tensor saved_w = bn.weight, saved_b = bn.bias;
  CHECK(gradgradcheck(f, {x, w, b}));
  bn.eval();
  CHECK(gradgradcheck(f, {x, w, b}));
  bn.weight = saved_w;
  bn.bias = saved_b;
  nn::BatchNorm2d plain(2, {.affine = false});
  CHECK(gradcheck([&](const std::vector<Tensor>& in) { return plain(in[0]); }, {x}));
}

TEST_CASE("BatchNorm2d gradchecks in training and eval mode", "[nn][batchnorm]") {
  manual_seed(5);
  nn::BatchNorm2d bn(2);
  Tensor x = randn({2, 2, 2, 2}).requires_grad_();
  CHECK(module_gradcheck({&bn.weight, &bn.bias}, {x}, [&](const std::vector<Tensor>& in) { return bn(in[0]); }));
  bn.eval();
  CHECK(module_gradcheck({&bn.weight, &bn.bias}, {x}, [&](const std::vector<Tensor>& in) { return bn(in[0]); }));
  bn.train();
  CHECK_THROWS_WITH(bn(randn({1, 2, 1, 1})), Catch::Contains("more than one value per channel"));
  CHECK_THROWS_WITH(bn(randn({2, 3, 2, 2})), Catch::Contains("BatchNorm2d: expected input [N, 2, H, W], got [2, 3, 2, 2]"));
  CHECK_THROWS_WITH(nn::BatchNorm2d(2, {.momentum = 1.5f}), Catch::Contains("momentum must be in [0, 1]"));
  nn::BatchNorm2d plain(3, {.affine = false});
  CHECK(plain.named_parameters().empty());
  CHECK(plain.named_buffers().size() == 2);
}

TEST_CASE("Dropout is the identity in eval and zeroes/scales in training", "[nn][dropout]") {
  manual_seed(6);
  nn::Dropout d(0.25f);
  Tensor x = ones({4000});
  const auto v = d(x).to_vector();
  int zeros_seen = 0;
  for (float e : v) {
    if (e == 0.f) ++zeros_seen;
    else CHECK(e == Approx(1 / 0.75f));
  }
  CHECK(std::abs(zeros_seen - 1000) < 120);
  d.eval();
  CHECK(d(x).to_vector() == x.to_vector());
  CHECK_THROWS_WITH(nn::Dropout(1.5f), Catch::Contains("p must be in [0, 1]"));
}

TEST_CASE("Activation modules apply their functions", "[nn][activation]") {
  Tensor x = tensor({-2.f, -0.5f, 0.f, 1.5f}, {4});
  CHECK_TENSOR(nn::ReLU()(x), Shape{4}, (std::vector<float>{0, 0, 0, 1.5f}), 0);
  CHECK_TENSOR(nn::LeakyReLU(0.2f)(x), Shape{4}, (std::vector<float>{-0.4f, -0.1f, 0, 1.5f}), 1e-7);
  CHECK_TENSOR(nn::Tanh()(x), Shape{4},
               (std::vector<float>{std::tanh(-2.f), std::tanh(-0.5f), 0.f, std::tanh(1.5f)}), 1e-6);
  CHECK_TENSOR(nn::Sigmoid()(x), Shape{4},
               (std::vector<float>{1 / (1 + std::exp(2.f)), 1 / (1 + std::exp(0.5f)), 0.5f, 1 / (1 + std::exp(-1.5f))}),
               1e-6);
  auto gelu_ref = [](double v) { return 0.5 * v * (1 + std::erf(v / std::sqrt(2.0))); };
  CHECK_TENSOR(nn::GELU()(x), Shape{4},
               (std::vector<float>{float(gelu_ref(-2)), float(gelu_ref(-0.5)), 0.f, float(gelu_ref(1.5))}), 1e-6);
}
