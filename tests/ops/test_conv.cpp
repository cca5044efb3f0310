// SPDX-License-Identifier: Apache-2.0
// conv2d, conv_transpose2d, pooling and upsampling against naive loops and PyTorch's output
// sizes; their errors; gradcheck and gradgradcheck, including an R1-style gradient penalty.
#include <cstdlib>
#include <functional>
#include <numeric>

#include "support/check.hpp"

using namespace fresco;
using V = std::vector<float>;
using S = Shape;
using Fn = std::function<Tensor(const std::vector<Tensor>&)>;

namespace {

Tensor leaf(Shape shape) { return uniform(std::move(shape), -1.f, 1.f).requires_grad_(); }

/// Distinct values (0.1 apart, shuffled), so that max-pool's choice is stable under the
/// finite-difference step.
Tensor distinct_leaf(Shape shape, uint64_t seed) {
  std::vector<float> v(size_t(shape_numel(shape)));
  std::iota(v.begin(), v.end(), 0.f);
  Generator g(seed);
  for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[size_t(g.below(i))]);
  for (float& x : v) x = 0.1f * x - 1.f;
  return tensor(v, shape).requires_grad_();
}

/// conv2d by definition: y[n, k, p, q] = b[k] + Σ_{c in k's group, r, s} x[n, c, h, w] · w[k, c', r, s]
/// with h = p·stride - pad + r·dil (zero outside the input).
Tensor naive_conv2d(const Tensor& xt, const Tensor& wt, const Tensor& bt, const Conv2dParams& p) {
  const V x = xt.to_vector(), w = wt.to_vector();
  const int64_t N = xt.size(0), C = xt.size(1), H = xt.size(2), W = xt.size(3);
  const int64_t K = wt.size(0), Cg = wt.size(1), R = wt.size(2), Sk = wt.size(3), Kg = K / p.groups;
  const int64_t P = (H + 2 * p.padding[0] - p.dilation[0] * (R - 1) - 1) / p.stride[0] + 1;
  const int64_t Q = (W + 2 * p.padding[1] - p.dilation[1] * (Sk - 1) - 1) / p.stride[1] + 1;
  V y(size_t(N * K * P * Q));
  for (int64_t n = 0; n < N; ++n)
    for (int64_t k = 0; k < K; ++k)
      for (int64_t i = 0; i < P; ++i)
        for (int64_t j = 0; j < Q; ++j) {
          double s = bt.defined() ? bt.to_vector()[size_t(k)] : 0.0;
          for (int64_t c = 0; c < Cg; ++c)
            for (int64_t r = 0; r < R; ++r)
              for (int64_t q = 0; q < Sk; ++q) {
                const int64_t h = i * p.stride[0] - p.padding[0] + r * p.dilation[0];
                const int64_t ww = j * p.stride[1] - p.padding[1] + q * p.dilation[1];
                if (h < 0 || h >= H || ww < 0 || ww >= W) continue;
                const int64_t ci = (k / Kg) * Cg + c;
                s += double(x[size_t(((n * C + ci) * H + h) * W + ww)]) * w[size_t(((k * Cg + c) * R + r) * Sk + q)];
              }
          y[size_t(((n * K + k) * P + i) * Q + j)] = float(s);
        }
  return tensor(y, {N, K, P, Q});
}

/// conv_transpose2d by definition: every input element scatters x · w over its kernel window.
Tensor naive_conv_transpose2d(const Tensor& xt, const Tensor& wt, const Tensor& bt, const Conv2dParams& p) {
  const V x = xt.to_vector(), w = wt.to_vector();
  const int64_t N = xt.size(0), Cin = xt.size(1), H = xt.size(2), W = xt.size(3);
  const int64_t Cog = wt.size(1), R = wt.size(2), Sk = wt.size(3), Cout = Cog * p.groups, Cig = Cin / p.groups;
  const int64_t OH = (H - 1) * p.stride[0] - 2 * p.padding[0] + p.dilation[0] * (R - 1) + p.output_padding[0] + 1;
  const int64_t OW = (W - 1) * p.stride[1] - 2 * p.padding[1] + p.dilation[1] * (Sk - 1) + p.output_padding[1] + 1;
  std::vector<double> y(size_t(N * Cout * OH * OW), 0.0);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t ci = 0; ci < Cin; ++ci)
      for (int64_t h = 0; h < H; ++h)
        for (int64_t ww = 0; ww < W; ++ww)
          for (int64_t co = 0; co < Cog; ++co)
            for (int64_t r = 0; r < R; ++r)
              for (int64_t q = 0; q < Sk; ++q) {
                const int64_t oh = h * p.stride[0] - p.padding[0] + r * p.dilation[0];
                const int64_t ow = ww * p.stride[1] - p.padding[1] + q * p.dilation[1];
                if (oh < 0 || oh >= OH || ow < 0 || ow >= OW) continue;
                const int64_t o = (ci / Cig) * Cog + co;
                y[size_t(((n * Cout + o) * OH + oh) * OW + ow)] +=
                    double(x[size_t(((n * Cin + ci) * H + h) * W + ww)]) * w[size_t(((ci * Cog + co) * R + r) * Sk + q)];
              }
  V out(y.size());
  for (size_t i = 0; i < y.size(); ++i)
    out[i] = float(y[i] + (bt.defined() ? bt.to_vector()[(i / size_t(OH * OW)) % size_t(Cout)] : 0.0));
  return tensor(out, {N, Cout, OH, OW});
}

}  // namespace

TEST_CASE("conv2d by hand and PyTorch's output sizes", "[ops][conv]") {
  Tensor x = arange(9).reshape({1, 1, 3, 3});
  CHECK_TENSOR(conv2d(x, ones({1, 1, 2, 2}), tensor({1}, {1})), S({1, 1, 2, 2}), V({9, 13, 21, 25}), 0);
  CHECK_TENSOR(conv2d(x, ones({1, 1, 2, 2}), {}, {2, 2}, {1, 1}), S({1, 1, 2, 2}), V({0, 3, 9, 24}), 0);
  // Sizes as torch.nn.functional.conv2d / conv_transpose2d report them.
  CHECK(conv2d(zeros({2, 3, 32, 32}), zeros({32, 3, 3, 3}), {}, {1, 1}, {1, 1}).shape() == S({2, 32, 32, 32}));
  CHECK(conv2d(zeros({2, 32, 32, 32}), zeros({64, 32, 4, 4}), {}, {2, 2}, {1, 1}).shape() == S({2, 64, 16, 16}));
  CHECK(conv2d(zeros({1, 4, 7, 9}), zeros({6, 2, 3, 3}), {}, {.stride = {2, 1}, .dilation = {2, 2}, .groups = 2})
            .shape() == S({1, 6, 2, 5}));
  CHECK(conv_transpose2d(zeros({1, 16, 4, 4}), zeros({16, 8, 4, 4}), {}, {2, 2}, {1, 1}).shape() == S({1, 8, 8, 8}));
  CHECK(conv_transpose2d(zeros({1, 4, 5, 5}), zeros({4, 3, 3, 3}), {},
                         {.stride = {2, 2}, .padding = {1, 1}, .output_padding = {1, 1}})
            .shape() == S({1, 3, 10, 10}));
  CHECK(max_pool2d(zeros({1, 2, 5, 7}), {2, 2}, {2, 2}).shape() == S({1, 2, 2, 3}));
  CHECK(avg_pool2d(zeros({1, 2, 5, 7}), {3, 3}, {1, 2}).shape() == S({1, 2, 3, 3}));
  CHECK(upsample_nearest2d(zeros({1, 2, 3, 4}), 2).shape() == S({1, 2, 6, 8}));
}

TEST_CASE("conv2d and conv_transpose2d agree with naive loops", "[ops][conv]") {
  manual_seed(31);
  Generator g(7);
  const int trials = std::getenv("FRESCO_TEST_QUICK") ? 30 : 120;
  for (int t = 0; t < trials; ++t) {
    Conv2dParams p;
    p.groups = 1 + int64_t(g.below(2));
    for (int i = 0; i < 2; ++i) {
      p.stride[size_t(i)] = 1 + int64_t(g.below(3));
      p.padding[size_t(i)] = int64_t(g.below(3));
      p.dilation[size_t(i)] = 1 + int64_t(g.below(2));
    }
    const int64_t N = 1 + int64_t(g.below(2)), C = p.groups * (1 + int64_t(g.below(3)));
    const int64_t K = p.groups * (1 + int64_t(g.below(3))), R = 1 + int64_t(g.below(3)), Sk = 1 + int64_t(g.below(3));
    const int64_t H = R * p.dilation[0] + int64_t(g.below(6)), W = Sk * p.dilation[1] + int64_t(g.below(6));
    // Half of the inputs are non-contiguous views.
    Tensor x = t % 2 ? randn({N, C, W, H}).transpose(2, 3) : randn({N, C, H, W});
    Tensor w = randn({K, C / p.groups, R, Sk});
    Tensor b = g.below(2) ? randn({K}) : Tensor();
    INFO("x " << shape_str(x.shape()) << " w " << shape_str(w.shape()) << " stride " << p.stride[0] << "x"
              << p.stride[1] << " pad " << p.padding[0] << "x" << p.padding[1] << " dil " << p.dilation[0] << "x"
              << p.dilation[1] << " groups " << p.groups << " bias " << b.defined());
    Tensor want = naive_conv2d(x, w, b, p), got = conv2d(x, w, b, p);
    REQUIRE(got.shape() == want.shape());
    REQUIRE(testing::max_abs_diff(got.to_vector(), want.to_vector()) <= 1e-4);

    // The transpose: x plays the role of the conv's output; w is [Cin, Cout/groups, R, S].
    Conv2dParams pt = p;
    for (int i = 0; i < 2; ++i) pt.output_padding[size_t(i)] = int64_t(g.below(size_t(p.stride[size_t(i)])));
    Tensor xt = randn({N, K, 1 + int64_t(g.below(4)), 1 + int64_t(g.below(4))});
    Tensor wt = randn({K, C / p.groups, R, Sk});
    Tensor bt = g.below(2) ? randn({C}) : Tensor();
    const int64_t oh = (xt.size(2) - 1) * pt.stride[0] - 2 * pt.padding[0] + pt.dilation[0] * (R - 1) + pt.output_padding[0] + 1;
    const int64_t ow = (xt.size(3) - 1) * pt.stride[1] - 2 * pt.padding[1] + pt.dilation[1] * (Sk - 1) + pt.output_padding[1] + 1;
    if (oh < 1 || ow < 1) continue;
    Tensor want_t = naive_conv_transpose2d(xt, wt, bt, pt), got_t = conv_transpose2d(xt, wt, bt, pt);
    INFO("transpose: x " << shape_str(xt.shape()) << " output_padding " << pt.output_padding[0] << "x"
                         << pt.output_padding[1]);
    REQUIRE(got_t.shape() == want_t.shape());
    REQUIRE(testing::max_abs_diff(got_t.to_vector(), want_t.to_vector()) <= 1e-4);
  }
}

TEST_CASE("pooling and upsampling by hand", "[ops][conv]") {
  Tensor x = tensor({1, 5, 2, 0, 3, 4, 8, 1, 7, 6, 0, 9, 2, 2, 2, 2}, {1, 1, 4, 4});
  CHECK_TENSOR(max_pool2d(x, {2, 2}, {2, 2}), S({1, 1, 2, 2}), V({5, 8, 7, 9}), 0);
  CHECK_TENSOR(max_pool2d(x, {3, 3}, {1, 1}), S({1, 1, 2, 2}), V({8, 9, 8, 9}), 0);
  CHECK_TENSOR(avg_pool2d(x, {2, 2}, {2, 2}), S({1, 1, 2, 2}), V({13.f / 4, 11.f / 4, 17.f / 4, 13.f / 4}), 1e-6);
  CHECK_TENSOR(upsample_nearest2d(tensor({1, 2, 3, 4}, {1, 1, 2, 2}), 2), S({1, 1, 4, 4}),
               V({1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4}), 0);
  // Rows long enough for the vectorised ×2 loop, with a tail (W = 13), and ×3, against naive loops.
  for (int64_t scale : {2, 3}) {
    const Tensor u = randn({2, 3, 5, 13});
    const V uv = u.to_vector();
    V ref;
    for (int64_t p = 0; p < 2 * 3; ++p)
      for (int64_t h = 0; h < 5 * scale; ++h)
        for (int64_t w = 0; w < 13 * scale; ++w) ref.push_back(uv[(p * 5 + h / scale) * 13 + w / scale]);
    CHECK_TENSOR(upsample_nearest2d(u, scale), S({2, 3, 5 * scale, 13 * scale}), ref, 0);
  }
  // Backward: max sends the gradient to the chosen element (added up where windows
  // overlap), upsampling sums each block.
  Tensor xl = x.clone().detach().requires_grad_();
  sum(max_pool2d(xl, {3, 3}, {1, 1})).backward();
  CHECK_TENSOR(xl.grad(), S({1, 1, 4, 4}), V({0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 2, 0, 0, 0, 0}), 0);
  Tensor u = ones({1, 1, 2, 2}).requires_grad_();
  sum(upsample_nearest2d(u, 3) * arange(36).reshape({1, 1, 6, 6})).backward();
  CHECK_TENSOR(u.grad(), S({1, 1, 2, 2}), V({63, 90, 225, 252}), 0);
}

TEST_CASE("conv and pooling errors name the op and the shapes", "[ops][conv]") {
  CHECK_THROWS_WITH(conv2d(zeros({1, 3, 8, 8}), zeros({8, 4, 3, 3}), {}),
                    Catch::Contains("conv2d: input has 3 channels but weight expects 4 (weight [8, 4, 3, 3])"));
  CHECK_THROWS_WITH(conv2d(zeros({3, 8, 8}), zeros({8, 3, 3, 3}), {}), Catch::Contains("conv2d: expected a 4-d input"));
  CHECK_THROWS_WITH(conv2d(zeros({1, 3, 2, 2}), zeros({8, 3, 3, 3}), {}),
                    Catch::Contains("conv2d: kernel 3x3 (dilation 1x1) is larger than the padded input 2x2"));
  CHECK_NOTHROW(conv2d(zeros({1, 3, 2, 2}), zeros({8, 3, 3, 3}), {}, {1, 1}, {1, 1}));
  CHECK_THROWS_WITH(conv2d(zeros({1, 4, 8, 8}), zeros({3, 2, 3, 3}), {}, {.groups = 2}),
                    Catch::Contains("conv2d: groups 2 does not divide the weight's 3 output channels"));
  CHECK_THROWS_WITH(conv2d(zeros({1, 3, 8, 8}), zeros({4, 1, 3, 3}), {}, {.groups = 2}),
                    Catch::Contains("conv2d: input has 3 channels but weight expects 2"));
  CHECK_THROWS_WITH(conv2d(zeros({1, 3, 8, 8}), zeros({8, 3, 3, 3}), zeros({4})),
                    Catch::Contains("conv2d: expected a bias of shape [8], got [4]"));
  CHECK_THROWS_WITH(conv2d(zeros({1, 3, 8, 8}), zeros({8, 3, 3, 3}), {}, std::array<int64_t, 2>{0, 1}), Catch::Contains("conv2d: stride"));
  CHECK_THROWS_WITH(conv2d(zeros({1, 3, 8, 8}), zeros({8, 3, 3, 3}), {}, {.output_padding = {1, 1}}),
                    Catch::Contains("conv2d: output_padding is for conv_transpose2d only"));
  CHECK_THROWS_WITH(conv_transpose2d(zeros({1, 3, 4, 4}), zeros({4, 2, 3, 3}), {}),
                    Catch::Contains("conv_transpose2d: input has 3 channels but weight expects 4 (weight [4, 2, 3, 3])"));
  CHECK_THROWS_WITH(conv_transpose2d(zeros({1, 3, 4, 4}), zeros({3, 2, 3, 3}), {}, {.groups = 2}),
                    Catch::Contains("conv_transpose2d: groups 2 does not divide the input's 3 channels"));
  CHECK_THROWS_WITH(conv_transpose2d(zeros({1, 4, 4, 4}), zeros({4, 2, 3, 3}), {}, {.output_padding = {1, 0}}),
                    Catch::Contains("conv_transpose2d: output_padding 1x0 must be smaller than the stride 1x1"));
  CHECK_THROWS_WITH(conv_transpose2d(zeros({1, 4, 1, 1}), zeros({4, 2, 1, 1}), {}, {1, 1}, {1, 1}),
                    Catch::Contains("conv_transpose2d: output size -1x-1 is not positive"));
  CHECK_THROWS_WITH(max_pool2d(zeros({1, 1, 2, 2}), {3, 3}, {1, 1}),
                    Catch::Contains("max_pool2d: kernel 3x3 is larger than the input 2x2 (input [1, 1, 2, 2])"));
  CHECK_THROWS_WITH(avg_pool2d(zeros({2, 2}), {1, 1}, {1, 1}), Catch::Contains("avg_pool2d: expected a 4-d input"));
  CHECK_THROWS_WITH(max_pool2d(zeros({1, 1, 2, 2}), {1, 1}, {0, 1}), Catch::Contains("max_pool2d: stride"));
  CHECK_THROWS_WITH(upsample_nearest2d(zeros({1, 1, 2, 2}), 0), Catch::Contains("upsample_nearest2d: scale"));
}

TEST_CASE("conv, pooling and upsampling pass gradcheck", "[ops][conv]") {
  manual_seed(32);
  const Conv2dParams p{.stride = {2, 2}, .padding = {1, 1}, .dilation = {2, 2}, .groups = 2};
  CHECK(gradcheck([p](auto& v) { return conv2d(v[0], v[1], v[2], p); }, {leaf({2, 4, 6, 5}), leaf({4, 2, 2, 2}), leaf({4})}));
  CHECK(gradcheck([](auto& v) { return conv2d(v[0], v[1], {}, {1, 1}, {1, 1}); }, {leaf({1, 2, 4, 4}), leaf({3, 2, 3, 3})}));
  const Conv2dParams pt{.stride = {2, 2}, .padding = {1, 1}, .output_padding = {1, 1}};
  CHECK(gradcheck([pt](auto& v) { return conv_transpose2d(v[0], v[1], v[2], pt); },
                  {leaf({2, 3, 3, 3}), leaf({3, 2, 3, 3}), leaf({2})}));
  const Conv2dParams pg{.stride = {2, 1}, .dilation = {1, 2}, .groups = 2, .output_padding = {1, 0}};
  CHECK(gradcheck([pg](auto& v) { return conv_transpose2d(v[0], v[1], {}, pg); }, {leaf({1, 4, 3, 2}), leaf({4, 1, 2, 2})}));
  CHECK(gradcheck([](auto& v) { return max_pool2d(v[0], {2, 2}, {2, 2}); }, {distinct_leaf({2, 2, 4, 5}, 1)}));
  CHECK(gradcheck([](auto& v) { return max_pool2d(v[0], {3, 2}, {1, 1}); }, {distinct_leaf({1, 2, 4, 4}, 2)}));
  CHECK(gradcheck([](auto& v) { return avg_pool2d(v[0], {2, 3}, {1, 2}); }, {leaf({2, 2, 4, 5})}));
  CHECK(gradcheck([](auto& v) { return upsample_nearest2d(v[0], 2); }, {leaf({2, 2, 2, 3})}));
  // Non-contiguous inputs.
  CHECK(gradcheck([](auto& v) { return upsample_nearest2d(v[0].transpose(2, 3), 3); }, {leaf({1, 2, 3, 2})}));
  CHECK(gradcheck([](auto& v) { return conv2d(v[0].transpose(2, 3), v[1], {}); }, {leaf({1, 2, 4, 5}), leaf({2, 2, 2, 2})}));
}

TEST_CASE("conv, pooling and upsampling pass gradgradcheck", "[ops][conv]") {
  manual_seed(33);
  const Conv2dParams p{.stride = {2, 2}, .padding = {1, 1}, .dilation = {1, 2}, .groups = 2};
  CHECK(gradgradcheck([p](auto& v) { return conv2d(v[0], v[1], v[2], p); }, {leaf({1, 2, 5, 5}), leaf({2, 1, 2, 2}), leaf({2})}));
  const Conv2dParams pt{.stride = {2, 2}, .padding = {1, 1}, .output_padding = {1, 1}};
  CHECK(gradgradcheck([pt](auto& v) { return conv_transpose2d(v[0], v[1], v[2], pt); },
                      {leaf({1, 2, 2, 3}), leaf({2, 2, 3, 3}), leaf({2})}));
  // A nonlinearity makes the second derivative couple x and w through every conv op.
  CHECK(gradgradcheck([](auto& v) { return tanh(conv2d(v[0], v[1], {}, {2, 2}, {1, 1})); }, {leaf({1, 2, 4, 4}), leaf({2, 2, 3, 3})}));
  CHECK(gradgradcheck([](auto& v) { return leaky_relu(conv2d(v[0], v[1], v[2], {1, 1}, {1, 1}), 0.2f) * v[0]; },
                      {leaf({1, 1, 3, 3}), leaf({1, 1, 3, 3}), leaf({1})}));
  CHECK(gradgradcheck([](auto& v) { return max_pool2d(v[0], {2, 2}, {2, 2}) * max_pool2d(v[0], {2, 2}, {2, 2}); },
                      {distinct_leaf({1, 2, 4, 4}, 3)}));
  CHECK(gradgradcheck([](auto& v) { return avg_pool2d(v[0] * v[0], {2, 2}, {1, 1}); }, {leaf({1, 1, 3, 4})}));
  CHECK(gradgradcheck([](auto& v) { return upsample_nearest2d(v[0] * v[0], 2); }, {leaf({1, 2, 2, 2})}));
}

TEST_CASE("an R1-style penalty differentiates through conv2d's input gradient", "[ops][conv]") {
  // penalty(w) = |d/dx Σ c·leaky_relu(conv(x, w) + b)|², the derivative a GAN's gradient
  // penalty takes with respect to the discriminator's weights.
  manual_seed(34);
  Tensor x0 = randn({2, 2, 5, 5}), c = randn({2, 3, 3, 3}), b = randn({3});
  auto penalty = [&](const Tensor& w) {
    Tensor x = x0.detach().requires_grad_();
    Tensor out = sum(leaky_relu(conv2d(x, w, b, {2, 2}, {1, 1}), 0.2f) * c);
    Tensor gx = grad({out}, {x}, {}, {.create_graph = true})[0];
    return sum(gx * gx);
  };
  Tensor w = randn({3, 2, 3, 3}).requires_grad_();
  penalty(w).backward();
  const V analytic = w.grad().to_vector();
  REQUIRE(analytic.size() == 54);
  // The penalty is quadratic in w while the leaky_relu's pattern holds, so central
  // differences are exact up to rounding.
  const V w0 = w.detach().to_vector();
  const float eps = 1e-2f;
  double worst = 0;
  for (size_t i = 0; i < w0.size(); ++i) {
    V plus = w0, minus = w0;
    plus[i] += eps;
    minus[i] -= eps;
    const double fd = (double(penalty(tensor(plus, {3, 2, 3, 3})).item()) -
                       double(penalty(tensor(minus, {3, 2, 3, 3})).item())) / (2 * eps);
    worst = std::max(worst, std::fabs(fd - analytic[i]) / (1.0 + std::fabs(fd)));
  }
  INFO("largest relative difference " << worst);
  CHECK(worst < 1e-2);
}

TEST_CASE("upsample2_conv3x3 is upsample_nearest2d then a 3x3 conv2d, in value and gradients", "[ops][conv]") {
  manual_seed(31);
  const Tensor x = uniform({2, 3, 4, 5}, -1.f, 1.f), w = uniform({4, 3, 3, 3}, -1.f, 1.f), b = uniform({4}, -1.f, 1.f);
  const Tensor want = conv2d(upsample_nearest2d(x, 2), w, b, {1, 1}, {1, 1});
  const Tensor got = upsample2_conv3x3(x, w, b);
  REQUIRE(got.shape() == S{2, 4, 8, 10});
  CHECK(testing::max_abs_diff(got.to_vector(), want.to_vector()) < 1e-5);
  {
    // Inference folds: relu, and a per-output-channel weight scale (a batch norm).
    NoGradGuard no_grad;
    const Tensor s = uniform({4}, 0.5f, 2.f);
    const Tensor scaled = conv2d(upsample_nearest2d(x, 2), w * s.reshape({4, 1, 1, 1}), b, {1, 1}, {1, 1});
    const Tensor folded = upsample2_conv3x3(x, w, b, {.relu = true, .weight_scale = s});
    CHECK(testing::max_abs_diff(folded.to_vector(), relu(scaled).to_vector()) < 1e-5);
  }
  CHECK(gradcheck([](auto& v) { return upsample2_conv3x3(v[0], v[1], v[2]); },
                  {leaf({2, 2, 3, 2}), leaf({3, 2, 3, 3}), leaf({3})}));
  CHECK(gradcheck([](auto& v) { return upsample2_conv3x3(v[0], v[1], {}); }, {leaf({1, 2, 2, 3}), leaf({2, 2, 3, 3})}));
  CHECK(gradgradcheck([](auto& v) { return upsample2_conv3x3(v[0], v[1], v[2]); },
                      {leaf({1, 2, 2, 2}), leaf({2, 2, 3, 3}), leaf({2})}));
}

TEST_CASE("upsample2_conv3x3 errors name the op and the shapes", "[ops][conv]") {
  const Tensor x = zeros({1, 3, 4, 4});
  CHECK_THROWS_WITH(upsample2_conv3x3(x, zeros({2, 3, 5, 5}), {}), Catch::Contains("upsample2_conv3x3") &&
                                                                       Catch::Contains("[2, 3, 5, 5]"));
  CHECK_THROWS_WITH(upsample2_conv3x3(x, zeros({2, 3, 3, 3}), zeros({3})), Catch::Contains("bias"));
  CHECK_THROWS_WITH(upsample2_conv3x3(x, zeros({2, 3, 3, 3}), {}, {.weight_scale = ones({3})}),
                    Catch::Contains("weight_scale"));
  CHECK_THROWS_WITH(upsample2_conv3x3(x.clone().requires_grad_(), zeros({2, 3, 3, 3}), {}, {.relu = true}),
                    Catch::Contains("inference only"));
}
