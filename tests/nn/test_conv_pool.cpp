// SPDX-License-Identifier: Apache-2.0
// Conv2d, ConvTranspose2d, pooling and upsampling modules against naive loops.
#include <algorithm>
#include <cmath>

#include "nn/layer_check.hpp"

using namespace fresco;
using fresco::test::module_gradcheck;
using fresco::test::values;

namespace {

// Naive convolution in double: x [N,Ci,H,W], w [Co,Ci/g,K,K] -> [N,Co,OH,OW].
std::vector<double> naive_conv(const std::vector<double>& x, const std::vector<double>& w, const std::vector<double>& b,
                               int N, int Ci, int H, int W, int Co, int K, int s, int p, int d, int g, int& OH, int& OW) {
  OH = (H + 2 * p - d * (K - 1) - 1) / s + 1;
  OW = (W + 2 * p - d * (K - 1) - 1) / s + 1;
  const int cig = Ci / g, cog = Co / g;
  std::vector<double> y(static_cast<size_t>(N * Co * OH * OW));
  for (int n = 0; n < N; ++n)
    for (int co = 0; co < Co; ++co)
      for (int oy = 0; oy < OH; ++oy)
        for (int ox = 0; ox < OW; ++ox) {
          double acc = b.empty() ? 0 : b[co];
          const int grp = co / cog;
          for (int ci = 0; ci < cig; ++ci)
            for (int ky = 0; ky < K; ++ky)
              for (int kx = 0; kx < K; ++kx) {
                const int iy = oy * s - p + ky * d, ix = ox * s - p + kx * d;
                if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                acc += w[((co * cig + ci) * K + ky) * K + kx] * x[((n * Ci + grp * cig + ci) * H + iy) * W + ix];
              }
          y[((n * Co + co) * OH + oy) * OW + ox] = acc;
        }
  return y;
}

double worst_diff(const std::vector<double>& a, const Tensor& t) {
  const auto v = values(t);
  if (v.size() != a.size()) return INFINITY;
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(a[i] - v[i]));
  return m;
}

}  // namespace

TEST_CASE("Conv2d matches a naive convolution for stride, padding, dilation and groups", "[nn][conv]") {
  manual_seed(10);
  struct Case { int ci, co, k; nn::Conv2dOptions o; };
  const Case cases[] = {
      {3, 4, 3, {}},
      {3, 4, 4, {.stride = 2, .padding = 1, .bias = false}},
      {4, 6, 3, {.padding = 2, .dilation = 2, .groups = 2}},
      {2, 2, 1, {.stride = 3}},
  };
  for (const auto& c : cases) {
    nn::Conv2d conv(c.ci, c.co, c.k, c.o);
    Tensor x = randn({2, c.ci, 7, 6});
    Tensor y = conv(x);
    int OH = 0, OW = 0;
    auto expected = naive_conv(values(x), values(conv.weight), c.o.bias ? values(conv.bias) : std::vector<double>{},
                               2, c.ci, 7, 6, c.co, c.k, int(c.o.stride), int(c.o.padding), int(c.o.dilation),
                               int(c.o.groups), OH, OW);
    REQUIRE(y.shape() == Shape{2, c.co, OH, OW});
    CHECK(worst_diff(expected, y) < 1e-4);
  }
}

TEST_CASE("Conv2d and ConvTranspose2d gradcheck; errors name the layer", "[nn][conv]") {
  manual_seed(11);
  nn::Conv2d conv(2, 2, 3, {.stride = 2, .padding = 1});
  CHECK(module_gradcheck({&conv.weight, &conv.bias}, {randn({1, 2, 4, 4}).requires_grad_()},
                         [&](const std::vector<Tensor>& in) { return conv(in[0]); }));
  nn::ConvTranspose2d up(2, 3, 3, {.stride = 2, .padding = 1, .output_padding = 1});
  CHECK(module_gradcheck({&up.weight, &up.bias}, {randn({1, 2, 2, 2}).requires_grad_()},
                         [&](const std::vector<Tensor>& in) { return up(in[0]); }));
  CHECK_THROWS_WITH(conv(randn({1, 3, 4, 4})), Catch::Contains("Conv2d: expected input [N, 2, H, W], got [1, 3, 4, 4]"));
  CHECK_THROWS_WITH(nn::Conv2d(3, 4, 3, {.groups = 2}), Catch::Contains("groups must be positive and divide"));
  CHECK_THROWS_WITH(nn::Conv2d(3, 4, 3, {.stride = 0}), Catch::Contains("stride must be positive"));
  CHECK_THROWS_WITH(nn::ConvTranspose2d(3, 4, 3, {.stride = 2, .output_padding = 2}),
                    Catch::Contains("output_padding must be in [0, stride = 2)"));
  CHECK_THROWS_WITH(nn::Conv2d(1, 1, 5)(randn({1, 1, 3, 3})), Catch::Contains("smaller than the (dilated) kernel"));
}

TEST_CASE("ConvTranspose2d matches a naive scatter", "[nn][conv]") {
  manual_seed(12);
  const int N = 2, Ci = 3, Co = 2, H = 3, W = 4, K = 4, s = 2, p = 1, op = 1;
  nn::ConvTranspose2d up(Ci, Co, K, {.stride = s, .padding = p, .output_padding = op});
  Tensor x = randn({N, Ci, H, W});
  Tensor y = up(x);
  const int OH = (H - 1) * s - 2 * p + K + op, OW = (W - 1) * s - 2 * p + K + op;
  REQUIRE(y.shape() == Shape{N, Co, OH, OW});
  const auto xv = values(x), w = values(up.weight), b = values(up.bias);
  std::vector<double> expected(static_cast<size_t>(N * Co * OH * OW));
  for (int n = 0; n < N; ++n)
    for (int co = 0; co < Co; ++co)
      for (int i = 0; i < OH * OW; ++i) expected[(n * Co + co) * OH * OW + i] = b[co];
  // Each input pixel scatters weight [ci, co, ky, kx] into output (iy·s − p + ky, ix·s − p + kx).
  for (int n = 0; n < N; ++n)
    for (int ci = 0; ci < Ci; ++ci)
      for (int iy = 0; iy < H; ++iy)
        for (int ix = 0; ix < W; ++ix)
          for (int co = 0; co < Co; ++co)
            for (int ky = 0; ky < K; ++ky)
              for (int kx = 0; kx < K; ++kx) {
                const int oy = iy * s - p + ky, ox = ix * s - p + kx;
                if (oy < 0 || oy >= OH || ox < 0 || ox >= OW) continue;
                expected[((n * Co + co) * OH + oy) * OW + ox] +=
                    w[((ci * Co + co) * K + ky) * K + kx] * xv[((n * Ci + ci) * H + iy) * W + ix];
              }
  CHECK(worst_diff(expected, y) < 1e-4);
}

TEST_CASE("MaxPool2d, AvgPool2d and Upsample modules", "[nn][pool]") {
  Tensor x = arange(32).reshape({1, 2, 4, 4});
  CHECK_TENSOR(nn::MaxPool2d(2)(x), (Shape{1, 2, 2, 2}), (std::vector<float>{5, 7, 13, 15, 21, 23, 29, 31}), 0);
  CHECK_TENSOR(nn::AvgPool2d(2)(x), (Shape{1, 2, 2, 2}),
               (std::vector<float>{2.5f, 4.5f, 10.5f, 12.5f, 18.5f, 20.5f, 26.5f, 28.5f}), 1e-6);
  CHECK_TENSOR(nn::MaxPool2d(3, 1)(x.slice(1, 0, 1)), (Shape{1, 1, 2, 2}), (std::vector<float>{10, 11, 14, 15}), 0);
  Tensor small = tensor({1, 2, 3, 4}, {1, 1, 2, 2});
  CHECK_TENSOR(nn::Upsample(2)(small), (Shape{1, 1, 4, 4}),
               (std::vector<float>{1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4}), 0);
  manual_seed(13);
  nn::AvgPool2d avg(2);
  CHECK(gradcheck([&](const std::vector<Tensor>& in) { return avg(in[0]); }, {randn({1, 1, 4, 4}).requires_grad_()}));
  nn::Upsample up(2);
  CHECK(gradcheck([&](const std::vector<Tensor>& in) { return up(in[0]); }, {randn({1, 1, 2, 2}).requires_grad_()}));
  nn::MaxPool2d mp(2);
  CHECK(gradcheck([&](const std::vector<Tensor>& in) { return mp(in[0]); }, {randn({1, 1, 4, 4}).requires_grad_()}));
  CHECK_THROWS_WITH(nn::MaxPool2d(5)(x), Catch::Contains("smaller than the 5x5 window"));
  CHECK_THROWS_WITH(nn::Upsample(0), Catch::Contains("scale_factor must be positive"));
}

namespace {

/// Largest |a - b| over the largest |b| (at least 1).
double rel_diff(const Tensor& a, const Tensor& b) {
  const auto va = a.to_vector(), vb = b.to_vector();
  if (a.shape() != b.shape()) return INFINITY;
  double err = 0, scale = 1;
  for (size_t i = 0; i < va.size(); ++i) {
    err = std::max(err, std::fabs(double(va[i]) - vb[i]));
    scale = std::max(scale, std::fabs(double(vb[i])));
  }
  return err / scale;
}

/// Random running statistics and affine parameters, so that folding them is tested.
void randomise(nn::BatchNorm2d& bn) {
  const Tensor m = randn({bn.channels()}), v = rand({bn.channels()}), g = randn({bn.channels()}),
               b = randn({bn.channels()});
  for (int64_t c = 0; c < bn.channels(); ++c) {
    bn.running_mean.data()[c] = m.data()[c];
    bn.running_var.data()[c] = 0.25f + v.data()[c];
    bn.weight.data()[c] = g.data()[c];
    bn.bias.data()[c] = b.data()[c];
  }
}

}  // namespace

TEST_CASE("Sequential fuses Upsample, Conv2d, eval BatchNorm2d and ReLU without changing the result",
          "[nn][conv][fusion]") {
  manual_seed(21);
  // The W3/W4 generator's body at a small width: 3 × (upsample, conv, BN, ReLU), conv, tanh.
  nn::Sequential body;
  std::vector<nn::Module*> stages;
  const int64_t widths[4] = {24, 16, 8, 5};
  for (int i = 0; i < 3; ++i) {
    stages.push_back(&body.emplace_back<nn::Upsample>(2));
    stages.push_back(&body.emplace_back<nn::Conv2d>(widths[i], widths[i + 1], 3, nn::Conv2dOptions{.padding = 1}));
    randomise(*static_cast<nn::BatchNorm2d*>(stages.emplace_back(&body.emplace_back<nn::BatchNorm2d>(widths[i + 1]))));
    stages.push_back(&body.emplace_back<nn::ReLU>());
  }
  auto& last = body.emplace_back<nn::Conv2d>(5, 3, 3, nn::Conv2dOptions{.padding = 1});
  body.emplace_back<nn::Tanh>();
  CHECK(body.fuse() == 3);
  const Tensor x = randn({3, 24, 2, 3});
  // Stage by stage, each module on its own.
  auto reference = [&](const Tensor& in) {
    Tensor y = in;
    for (size_t i = 0; i < stages.size(); i += 4) {
      y = static_cast<nn::Upsample*>(stages[i])->forward(y);
      y = static_cast<nn::Conv2d*>(stages[i + 1])->forward(y);
      y = static_cast<nn::BatchNorm2d*>(stages[i + 2])->forward(y);
      y = relu(y);
    }
    return tanh(last(y));
  };

  SECTION("eval mode without gradients: fused, equal up to rounding") {
    body.eval();
    NoGradGuard no_grad;
    const Tensor want = reference(x), got = body(x);
    CHECK(got.shape() == Shape({3, 3, 16, 24}));
    CHECK(rel_diff(got, want) < 1e-5);
    // Before the final conv: the fused ReLU leaves no negative value.
    nn::Sequential head;
    head.emplace_back<nn::Upsample>(2);
    auto& conv = head.emplace_back<nn::Conv2d>(24, 16, 3, nn::Conv2dOptions{.padding = 1});
    head.emplace_back<nn::ReLU>();
    CHECK(head.fuse() == 1);
    const Tensor h = head(x), h_want = relu(conv(nn::Upsample(2)(x)));
    CHECK(rel_diff(h, h_want) < 1e-5);
    const auto hv = h.to_vector();
    CHECK(*std::min_element(hv.begin(), hv.end()) >= 0.f);
  }
  SECTION("training-mode BatchNorm2d is not folded: batch statistics and running updates as before") {
    NoGradGuard no_grad;
    auto* bn0 = static_cast<nn::BatchNorm2d*>(stages[2]);
    const Tensor mean0 = bn0->running_mean.clone();
    const Tensor got = body(x);
    const Tensor mean_after_fused = bn0->running_mean.clone();
    for (int64_t c = 0; c < bn0->channels(); ++c) bn0->running_mean.data()[c] = mean0.data()[c];
    const Tensor want = reference(x);
    CHECK(rel_diff(got, want) < 1e-5);
    CHECK(rel_diff(mean_after_fused, bn0->running_mean) < 1e-5);
    CHECK(rel_diff(mean_after_fused, mean0) > 1e-3);  // the statistics did move
  }
  SECTION("with gradients recorded: upsample + conv alone as one recorded op, same values and gradients") {
    body.eval();
    const Tensor xg = x.clone().requires_grad_();
    const Tensor got = body(xg);
    const Tensor dy = randn(got.shape());
    sum(got * dy).backward();
    REQUIRE(xg.grad().defined());
    auto* conv0 = static_cast<nn::Conv2d*>(stages[1]);
    auto* conv2 = static_cast<nn::Conv2d*>(stages[9]);
    const Tensor dw0 = conv0->weight.grad().clone(), db0 = conv0->bias.grad().clone();
    const Tensor dw2 = conv2->weight.grad().clone();
    body.zero_grad();
    const Tensor x2 = x.clone().requires_grad_();
    const Tensor want = reference(x2);
    sum(want * dy).backward();
    CHECK(rel_diff(got, want) < 1e-5);
    CHECK(rel_diff(xg.grad(), x2.grad()) < 1e-5);
    CHECK(rel_diff(dw0, conv0->weight.grad()) < 1e-5);
    CHECK(rel_diff(db0, conv0->bias.grad()) < 1e-5);
    CHECK(rel_diff(dw2, conv2->weight.grad()) < 1e-5);
  }
}

TEST_CASE("the fused Upsample + Conv2d passes gradcheck and gradgradcheck", "[nn][conv][fusion]") {
  manual_seed(22);
  nn::Sequential seq;
  seq.emplace_back<nn::Upsample>(2);
  auto& conv = seq.emplace_back<nn::Conv2d>(2, 3, 3, nn::Conv2dOptions{.padding = 1});
  REQUIRE(seq.fuse() == 1);
  const Tensor x = randn({2, 2, 3, 2}).requires_grad_();
  auto f = [&](const std::vector<Tensor>& in) { return seq(in[0]); };
  CHECK(module_gradcheck({&conv.weight, &conv.bias}, {x}, f));
  CHECK(gradgradcheck([&](const std::vector<Tensor>& in) {
    conv.weight = in[1];
    return seq(in[0]);
  }, {x, conv.weight.detach().clone().requires_grad_()}));
}

namespace {
/// A Conv2d with its own forward: Sequential must call it, not fuse past it.
class DoubledConv : public nn::Conv2d {
public:
  using nn::Conv2d::Conv2d;
  Tensor forward(const Tensor& x) const { return nn::Conv2d::forward(x) * 2.f; }
};
}  // namespace

TEST_CASE("Sequential does not fuse a subclass of Conv2d", "[nn][conv][fusion]") {
  manual_seed(23);
  nn::Sequential seq;
  seq.emplace_back<nn::Upsample>(2);
  auto& conv = seq.emplace_back<DoubledConv>(4, 3, 3, nn::Conv2dOptions{.padding = 1});
  CHECK(seq.fuse() == 0);
  NoGradGuard no_grad;
  const Tensor x = randn({2, 4, 3, 3});
  const Tensor want = conv.forward(nn::Upsample(2)(x));
  CHECK(testing::max_abs_diff(seq(x).to_vector(), want.to_vector()) == 0.0);
}

TEST_CASE("Sequential runs stage by stage until fuse() is called", "[nn][conv][fusion]") {
  manual_seed(24);
  nn::Sequential seq;
  auto& up = seq.emplace_back<nn::Upsample>(2);
  auto& conv = seq.emplace_back<nn::Conv2d>(4, 3, 3, nn::Conv2dOptions{.padding = 1});
  seq.emplace_back<nn::ReLU>();
  NoGradGuard no_grad;
  const Tensor x = randn({2, 4, 3, 5});
  const Tensor stage_by_stage = relu(conv(up(x)));
  CHECK(testing::max_abs_diff(seq(x).to_vector(), stage_by_stage.to_vector()) == 0.0);
  CHECK(seq.fuse() == 1);
  CHECK(rel_diff(seq(x), stage_by_stage) < 1e-5);
  // A stage added after fuse() is run on its own until fuse() is called again.
  seq.emplace_back<nn::Upsample>(2);
  seq.emplace_back<nn::Conv2d>(3, 2, 3, nn::Conv2dOptions{.stride = 2, .padding = 1});
  CHECK(seq.fuse() == 1);   // stride 2: not the fused op's convolution
  CHECK(seq(x).shape() == Shape({2, 2, 6, 10}));
}
