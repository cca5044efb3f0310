// SPDX-License-Identifier: Apache-2.0
// Convolution and pooling kernels against naive loops written from the definitions.
// Legend: N batch, C channels in, H W input, K channels out, R S kernel, P Q output, G groups.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "kernels/conv.hpp"

using namespace fresco::kernels;

namespace {

std::vector<float> random_vector(size_t n, std::mt19937& rng) {
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

double max_rel_error(const std::vector<float>& got, const std::vector<float>& want) {
  double err = 0, scale = 1;
  for (size_t i = 0; i < want.size(); ++i) {
    err = std::max(err, double(std::fabs(got[i] - want[i])));
    scale = std::max(scale, double(std::fabs(want[i])));
  }
  return err / scale;
}

ConvGeometry geometry(int64_t N, int64_t C, int64_t H, int64_t W, int64_t K, int64_t R, int64_t S, int64_t stride,
                      int64_t pad, int64_t dil, int64_t groups) {
  ConvGeometry g{N, C, H, W, K, R, S, 0, 0};
  g.stride_h = g.stride_w = stride;
  g.pad_h = g.pad_w = pad;
  g.dil_h = g.dil_w = dil;
  g.groups = groups;
  g.P = (H + 2 * pad - dil * (R - 1) - 1) / stride + 1;
  g.Q = (W + 2 * pad - dil * (S - 1) - 1) / stride + 1;
  return g;
}

/// Calls f(n, k, c, p, q, r, s, h, w) for every term x[n,c,h,w] * w[k,c%(C/G),r,s] of
/// y[n,k,p,q], skipping taps that fall in the zero padding: the one definition the three
/// naive directions share.
template <class F>
void for_each_tap(const ConvGeometry& g, F&& f) {
  const int64_t cg = g.C / g.groups, kg = g.K / g.groups;
  for (int64_t n = 0; n < g.N; ++n)
    for (int64_t k = 0; k < g.K; ++k)
      for (int64_t ci = 0; ci < cg; ++ci)
        for (int64_t p = 0; p < g.P; ++p)
          for (int64_t q = 0; q < g.Q; ++q)
            for (int64_t r = 0; r < g.R; ++r)
              for (int64_t s = 0; s < g.S; ++s) {
                const int64_t h = p * g.stride_h - g.pad_h + r * g.dil_h;
                const int64_t w = q * g.stride_w - g.pad_w + s * g.dil_w;
                if (h < 0 || h >= g.H || w < 0 || w >= g.W) continue;
                const int64_t c = (k / kg) * cg + ci;
                f(((n * g.C + c) * g.H + h) * g.W + w, ((k * cg + ci) * g.R + r) * g.S + s,
                  ((n * g.K + k) * g.P + p) * g.Q + q);
              }
}

void check_conv(const ConvGeometry& g, bool bias, std::mt19937& rng) {
  const size_t xn = size_t(g.N * g.C * g.H * g.W), wn = size_t(g.K * (g.C / g.groups) * g.R * g.S);
  const size_t yn = size_t(g.N * g.K * g.P * g.Q);
  const auto x = random_vector(xn, rng), w = random_vector(wn, rng), b = random_vector(size_t(g.K), rng);
  const auto dy = random_vector(yn, rng);

  // Naive twins in double: y = conv(x, w) + b; dx = conv^T(dy, w); dw = corr(x, dy); db = sum dy.
  std::vector<double> y_d(yn, 0.0), dx_d(xn, 0.0), dw_d(wn, 0.0), db_d(size_t(g.K), 0.0);
  for_each_tap(g, [&](int64_t xi, int64_t wi, int64_t yi) {
    y_d[yi] += double(x[xi]) * w[wi];
    dx_d[xi] += double(dy[yi]) * w[wi];
    dw_d[wi] += double(dy[yi]) * x[xi];
  });
  for (size_t i = 0; i < yn; ++i) {
    const int64_t k = int64_t(i) / (g.P * g.Q) % g.K;
    if (bias) y_d[i] += b[size_t(k)];
    db_d[size_t(k)] += dy[i];
  }
  auto to_float = [](const std::vector<double>& v) { return std::vector<float>(v.begin(), v.end()); };

  INFO("N " << g.N << " C " << g.C << " H " << g.H << " W " << g.W << " K " << g.K << " R " << g.R << " S " << g.S
            << " stride " << g.stride_h << " pad " << g.pad_h << " dil " << g.dil_h << " groups " << g.groups
            << " bias " << bias);
  std::vector<float> y(yn, 7.0f), dx(xn, 7.0f), dw(wn, 7.0f), db(size_t(g.K), 7.0f);
  conv2d_forward(y.data(), x.data(), w.data(), bias ? b.data() : nullptr, g);
  CHECK(max_rel_error(y, to_float(y_d)) < 1e-4);
  conv2d_backward_data(dx.data(), dy.data(), w.data(), g);
  CHECK(max_rel_error(dx, to_float(dx_d)) < 1e-4);
  conv2d_backward_weights(dw.data(), bias ? db.data() : nullptr, x.data(), dy.data(), g);
  CHECK(max_rel_error(dw, to_float(dw_d)) < 1e-4);
  if (bias) CHECK(max_rel_error(db, to_float(db_d)) < 1e-4);

  // The training path: the forward leaves x in the backward's layout (when that is not
  // plain), and one call gives both gradients; also each gradient alone.
  std::vector<float> saved(size_t(conv2d_saved_input_numel(g)), 7.0f);
  float* saved_p = saved.empty() ? nullptr : saved.data();
  std::fill(y.begin(), y.end(), 7.0f);
  conv2d_forward(y.data(), x.data(), w.data(), bias ? b.data() : nullptr, g, saved_p);
  CHECK(max_rel_error(y, to_float(y_d)) < 1e-4);
  std::fill(dx.begin(), dx.end(), 7.0f), std::fill(dw.begin(), dw.end(), 7.0f), std::fill(db.begin(), db.end(), 7.0f);
  conv2d_backward(dx.data(), dw.data(), bias ? db.data() : nullptr, dy.data(), w.data(), x.data(), saved_p, g);
  CHECK(max_rel_error(dx, to_float(dx_d)) < 1e-4);
  CHECK(max_rel_error(dw, to_float(dw_d)) < 1e-4);
  if (bias) CHECK(max_rel_error(db, to_float(db_d)) < 1e-4);
  std::fill(dx.begin(), dx.end(), 7.0f), std::fill(dw.begin(), dw.end(), 7.0f);
  conv2d_backward(dx.data(), nullptr, nullptr, dy.data(), w.data(), nullptr, nullptr, g);
  CHECK(max_rel_error(dx, to_float(dx_d)) < 1e-4);
  conv2d_backward(nullptr, dw.data(), nullptr, dy.data(), nullptr, x.data(), saved_p, g);
  CHECK(max_rel_error(dw, to_float(dw_d)) < 1e-4);
}

}  // namespace

TEST_CASE("conv2d forward and backward match naive loops", "[kernels][conv]") {
  std::mt19937 rng(7);
  // N C H W K R S stride pad dil groups
  check_conv(geometry(1, 1, 5, 5, 1, 3, 3, 1, 0, 1, 1), false, rng);
  check_conv(geometry(2, 3, 8, 8, 4, 3, 3, 1, 1, 1, 1), true, rng);
  check_conv(geometry(2, 4, 9, 7, 6, 4, 4, 2, 1, 1, 1), true, rng);   // DCGAN-style 4x4 stride 2
  check_conv(geometry(1, 3, 17, 17, 5, 3, 3, 2, 0, 1, 1), false, rng);  // odd size, stride drops a column
  check_conv(geometry(2, 4, 11, 11, 4, 3, 3, 1, 2, 2, 1), true, rng);   // dilation
  check_conv(geometry(2, 6, 8, 8, 4, 3, 3, 1, 1, 1, 2), true, rng);     // groups
  check_conv(geometry(1, 8, 7, 7, 8, 3, 3, 1, 1, 1, 8), false, rng);    // depthwise
  check_conv(geometry(3, 4, 10, 9, 6, 5, 3, 3, 2, 2, 2), true, rng);    // everything at once
  check_conv(geometry(2, 5, 6, 6, 3, 1, 1, 1, 0, 1, 1), true, rng);     // 1x1
  // Channel counts that oneDNN runs in blocked layouts (reordered in and out),
  // including ones that are not a multiple of the block.
  check_conv(geometry(2, 16, 8, 8, 24, 3, 3, 1, 1, 1, 1), true, rng);
  check_conv(geometry(2, 12, 9, 9, 20, 3, 3, 1, 1, 1, 1), true, rng);
  check_conv(geometry(2, 32, 8, 8, 32, 4, 4, 2, 1, 1, 2), true, rng);
  check_conv(geometry(1, 16, 6, 6, 16, 3, 3, 1, 1, 1, 16), true, rng);  // depthwise, blocked
  // 3x3 convolutions to 1-4 channels (image heads): computed directly, not by oneDNN.
  check_conv(geometry(2, 32, 32, 32, 3, 3, 3, 1, 1, 1, 1), true, rng);
  check_conv(geometry(1, 5, 7, 13, 1, 3, 3, 1, 1, 1, 1), false, rng);
  check_conv(geometry(2, 9, 3, 17, 4, 3, 3, 1, 1, 1, 1), true, rng);
  check_conv(geometry(1, 2, 1, 1, 2, 3, 3, 1, 1, 1, 1), true, rng);
}

TEST_CASE("conv2d on random geometries", "[kernels][conv]") {
  std::mt19937 rng(8);
  std::uniform_int_distribution<int> pick(0, 1 << 20);
  for (int t = 0; t < 25; ++t) {
    const int64_t groups = 1 + pick(rng) % 3;
    const int64_t C = groups * (1 + pick(rng) % 3), K = groups * (1 + pick(rng) % 3);
    const int64_t R = 1 + pick(rng) % 4, S = 1 + pick(rng) % 4, dil = 1 + pick(rng) % 2;
    const int64_t stride = 1 + pick(rng) % 3, pad = pick(rng) % 3;
    // Input at least as large as the dilated kernel.
    const int64_t H = dil * (R - 1) + 1 + pick(rng) % 7, W = dil * (S - 1) + 1 + pick(rng) % 7;
    const int64_t N = 1 + pick(rng) % 2;
    ConvGeometry g = geometry(N, C, H, W, K, R, S, stride, pad, dil, groups);
    // Asymmetric strides and padding as well.
    g.stride_w = 1 + pick(rng) % 2;
    g.pad_w = pick(rng) % 2;
    g.Q = (W + 2 * g.pad_w - dil * (S - 1) - 1) / g.stride_w + 1;
    check_conv(g, pick(rng) % 2, rng);
  }
}

namespace {

PoolGeometry pool_geometry(int64_t N, int64_t C, int64_t H, int64_t W, int64_t R, int64_t S, int64_t sh,
                           int64_t sw) {
  return {N, C, H, W, R, S, sh, sw, (H - R) / sh + 1, (W - S) / sw + 1};
}

void check_pool(const PoolGeometry& g, std::mt19937& rng) {
  const size_t xn = size_t(g.N * g.C * g.H * g.W), yn = size_t(g.N * g.C * g.P * g.Q);
  const auto x = random_vector(xn, rng), dy = random_vector(yn, rng);
  std::vector<float> y_max(yn), y_avg(yn), dx_max(xn, 0.0f), dx_avg(xn, 0.0f);
  std::vector<int32_t> arg(yn);
  for (int64_t nc = 0; nc < g.N * g.C; ++nc)
    for (int64_t p = 0; p < g.P; ++p)
      for (int64_t q = 0; q < g.Q; ++q) {
        const size_t o = size_t((nc * g.P + p) * g.Q + q);
        float best = -INFINITY, sum = 0;
        int32_t best_i = -1;
        for (int64_t r = 0; r < g.R; ++r)
          for (int64_t s = 0; s < g.S; ++s) {
            const int64_t i = (p * g.stride_h + r) * g.W + q * g.stride_w + s;
            const float v = x[size_t(nc * g.H * g.W + i)];
            sum += v;
            if (v > best) best = v, best_i = int32_t(i);
          }
        y_max[o] = best;
        y_avg[o] = sum / float(g.R * g.S);
        arg[o] = best_i;
        dx_max[size_t(nc * g.H * g.W + best_i)] += dy[o];
        for (int64_t r = 0; r < g.R; ++r)
          for (int64_t s = 0; s < g.S; ++s)
            dx_avg[size_t(nc * g.H * g.W + (p * g.stride_h + r) * g.W + q * g.stride_w + s)] +=
                dy[o] / float(g.R * g.S);
      }
  INFO("N " << g.N << " C " << g.C << " H " << g.H << " W " << g.W << " R " << g.R << " S " << g.S << " stride "
            << g.stride_h << "x" << g.stride_w);
  std::vector<float> y(yn, 7.0f), dx(xn, 7.0f);
  std::vector<int32_t> a(yn, -7);
  max_pool2d_forward(y.data(), a.data(), x.data(), g);
  CHECK(y == y_max);
  CHECK(a == arg);
  max_pool2d_forward(y.data(), nullptr, x.data(), g);  // argmax is optional
  CHECK(y == y_max);
  max_pool2d_backward(dx.data(), dy.data(), a.data(), g);
  CHECK(max_rel_error(dx, dx_max) < 1e-5);
  avg_pool2d_forward(y.data(), x.data(), g);
  CHECK(max_rel_error(y, y_avg) < 1e-5);
  std::fill(dx.begin(), dx.end(), 7.0f);
  avg_pool2d_backward(dx.data(), dy.data(), g);
  CHECK(max_rel_error(dx, dx_avg) < 1e-5);
}

}  // namespace

TEST_CASE("pooling forward and backward match naive loops", "[kernels][pool]") {
  std::mt19937 rng(9);
  check_pool(pool_geometry(2, 3, 8, 8, 2, 2, 2, 2), rng);    // the usual 2x2
  check_pool(pool_geometry(1, 2, 7, 9, 3, 3, 2, 2), rng);    // overlapping windows, odd sizes
  check_pool(pool_geometry(2, 2, 5, 6, 2, 3, 1, 3), rng);    // asymmetric
  check_pool(pool_geometry(1, 1, 1, 1, 1, 1, 1, 1), rng);    // trivial
  check_pool(pool_geometry(4, 64, 32, 32, 2, 2, 2, 2), rng); // large enough to run in parallel
}

TEST_CASE("max pooling picks the first of equal maxima", "[kernels][pool]") {
  const std::vector<float> x{1, 1, 0, 1};
  float y = 0;
  int32_t a = -1;
  max_pool2d_forward(&y, &a, x.data(), pool_geometry(1, 1, 2, 2, 2, 2, 2, 2));
  CHECK(y == 1.0f);
  CHECK(a == 0);
}

TEST_CASE("upsample2_conv3x3_forward matches upsampling then a 3x3 convolution", "[kernels][conv]") {
  std::mt19937 rng(11);
  // N C H W K: plain and blocked channel counts, K not a multiple of the block, non-square; the
  // last has enough weights (K·C) for the phase kernels to be laid out on two threads.
  const int64_t shapes[][5] = {{1, 1, 1, 1, 1}, {2, 3, 4, 5, 2},  {2, 16, 4, 4, 8},   {3, 12, 5, 3, 20},
                               {2, 32, 8, 8, 16}, {2, 8, 3, 6, 16}, {1, 8, 6, 7, 3}, {1, 128, 2, 3, 64}};
  for (const auto& s : shapes)
    for (const bool bias : {false, true})
      for (const bool relu : {false, true}) {
        const int64_t N = s[0], C = s[1], H = s[2], W = s[3], K = s[4];
        INFO("N " << N << " C " << C << " H " << H << " W " << W << " K " << K << " bias " << bias << " relu "
                  << relu);
        const auto x = random_vector(size_t(N * C * H * W), rng), w = random_vector(size_t(K * C * 9), rng);
        const auto b = random_vector(size_t(K), rng);
        // The naive twin: upsample explicitly, then convolve in double.
        const int64_t H2 = 2 * H, W2 = 2 * W;
        std::vector<float> up(size_t(N * C * H2 * W2));
        for (int64_t nc = 0; nc < N * C; ++nc)
          for (int64_t h = 0; h < H2; ++h)
            for (int64_t v = 0; v < W2; ++v) up[size_t((nc * H2 + h) * W2 + v)] = x[size_t((nc * H + h / 2) * W + v / 2)];
        const ConvGeometry g = geometry(N, C, H2, W2, K, 3, 3, 1, 1, 1, 1);
        auto naive = [&](const std::vector<float>& wk) {
          std::vector<double> want_d(size_t(N * K * H2 * W2), 0.0);
          for_each_tap(g, [&](int64_t xi, int64_t wi, int64_t yi) {
            want_d[size_t(yi)] += double(up[size_t(xi)]) * wk[size_t(wi)];
          });
          std::vector<float> want(want_d.size());
          for (size_t i = 0; i < want.size(); ++i) {
            double v = want_d[i] + (bias ? b[i / size_t(H2 * W2) % size_t(K)] : 0.0);
            want[i] = float(relu ? std::max(v, 0.0) : v);
          }
          return want;
        };
        const std::vector<float> want = naive(w);
        std::vector<float> y(want.size(), 7.0f);
        upsample2_conv3x3_forward(y.data(), x.data(), w.data(), bias ? b.data() : nullptr, N, C, H, W, K, relu);
        CHECK(max_rel_error(y, want) < 1e-5);
        // Per-output-channel weight scales (a folded batch norm) against pre-scaled weights.
        const auto scale = random_vector(size_t(K), rng);
        std::vector<float> ws(w.size());
        for (size_t i = 0; i < w.size(); ++i) ws[i] = w[i] * scale[i / size_t(C * 9)];
        std::vector<float> ys(want.size(), 7.0f);
        upsample2_conv3x3_forward(ys.data(), x.data(), w.data(), bias ? b.data() : nullptr, N, C, H, W, K, relu,
                                  scale.data());
        CHECK(max_rel_error(ys, naive(ws)) < 1e-5);
        if (relu) CHECK(*std::min_element(y.begin(), y.end()) >= 0.0f);
      }
}

TEST_CASE("upsample2_conv3x3 training forward and backward match the unfused definitions", "[kernels][conv]") {
  std::mt19937 rng(12);
  // The last lays out the plain phase kernels of dx on two threads.
  const int64_t shapes[][5] = {{2, 3, 4, 5, 2}, {2, 16, 4, 4, 8}, {3, 12, 5, 3, 20}, {2, 8, 3, 6, 16},
                               {2, 32, 4, 8, 32}, {1, 64, 2, 3, 72}};
  for (const auto& s : shapes)
    for (const bool bias : {false, true}) {
      const int64_t N = s[0], C = s[1], H = s[2], W = s[3], K = s[4], H2 = 2 * H, W2 = 2 * W;
      INFO("N " << N << " C " << C << " H " << H << " W " << W << " K " << K << " bias " << bias);
      const auto x = random_vector(size_t(N * C * H * W), rng), w = random_vector(size_t(K * C * 9), rng);
      const auto b = random_vector(size_t(K), rng), dy = random_vector(size_t(N * K * H2 * W2), rng);
      std::vector<float> up(size_t(N * C * H2 * W2));
      for (int64_t nc = 0; nc < N * C; ++nc)
        for (int64_t h = 0; h < H2; ++h)
          for (int64_t v = 0; v < W2; ++v) up[size_t((nc * H2 + h) * W2 + v)] = x[size_t((nc * H + h / 2) * W + v / 2)];
      // Naive twins in double over the upsampled input; dx sums each 2×2 block of d(up).
      const ConvGeometry g = geometry(N, C, H2, W2, K, 3, 3, 1, 1, 1, 1);
      std::vector<double> y_d(dy.size(), 0.0), dup_d(up.size(), 0.0), dw_d(w.size(), 0.0), db_d(size_t(K), 0.0);
      for_each_tap(g, [&](int64_t xi, int64_t wi, int64_t yi) {
        y_d[size_t(yi)] += double(up[size_t(xi)]) * w[size_t(wi)];
        dup_d[size_t(xi)] += double(dy[size_t(yi)]) * w[size_t(wi)];
        dw_d[size_t(wi)] += double(dy[size_t(yi)]) * up[size_t(xi)];
      });
      std::vector<float> y_want(y_d.size()), dx_want(x.size(), 0.f), dw_want(w.size()), db_want(static_cast<size_t>(K));
      for (size_t i = 0; i < y_d.size(); ++i) {
        const size_t k = i / size_t(H2 * W2) % size_t(K);
        y_want[i] = float(y_d[i] + (bias ? b[k] : 0.0));
        db_d[k] += dy[i];
      }
      std::vector<double> dx_d(x.size(), 0.0);
      for (int64_t nc = 0; nc < N * C; ++nc)
        for (int64_t h = 0; h < H2; ++h)
          for (int64_t v = 0; v < W2; ++v)
            dx_d[size_t((nc * H + h / 2) * W + v / 2)] += dup_d[size_t((nc * H2 + h) * W2 + v)];
      for (size_t i = 0; i < x.size(); ++i) dx_want[i] = float(dx_d[i]);
      for (size_t i = 0; i < w.size(); ++i) dw_want[i] = float(dw_d[i]);
      for (size_t k = 0; k < size_t(K); ++k) db_want[k] = float(db_d[k]);

      std::vector<float> saved(size_t(upsample2_conv3x3_saved_input_numel(N, C, H, W, K)), 7.f);
      float* saved_p = saved.empty() ? nullptr : saved.data();
      std::vector<float> y(y_want.size(), 7.f), dx(x.size(), 7.f), dw(w.size(), 7.f), db(size_t(K), 7.f);
      upsample2_conv3x3_forward_train(y.data(), x.data(), w.data(), bias ? b.data() : nullptr, N, C, H, W, K, saved_p);
      CHECK(max_rel_error(y, y_want) < 1e-5);
      upsample2_conv3x3_backward(dx.data(), dw.data(), bias ? db.data() : nullptr, dy.data(), w.data(), x.data(),
                                 saved_p, N, C, H, W, K);
      CHECK(max_rel_error(dx, dx_want) < 1e-5);
      CHECK(max_rel_error(dw, dw_want) < 1e-5);
      if (bias) CHECK(max_rel_error(db, db_want) < 1e-5);
      // Each gradient alone, and dw from x instead of the saved copy.
      std::fill(dx.begin(), dx.end(), 7.f), std::fill(dw.begin(), dw.end(), 7.f);
      upsample2_conv3x3_backward(dx.data(), nullptr, nullptr, dy.data(), w.data(), nullptr, nullptr, N, C, H, W, K);
      CHECK(max_rel_error(dx, dx_want) < 1e-5);
      upsample2_conv3x3_backward(nullptr, dw.data(), nullptr, dy.data(), nullptr, x.data(), nullptr, N, C, H, W, K);
      CHECK(max_rel_error(dw, dw_want) < 1e-5);
    }
}
