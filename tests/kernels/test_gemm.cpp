// SPDX-License-Identifier: Apache-2.0
// kernels::gemm against a naive triple loop over random shapes and layouts.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "kernels/gemm.hpp"
#include "kernels/parallel.hpp"

using fresco::kernels::gemm;
using fresco::kernels::MatRef;

namespace {

std::vector<float> random_vector(size_t n, std::mt19937& rng) {
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

/// Naive twin of gemm: double accumulation, same addressing contract.
void naive_gemm(int64_t batch, int64_t M, int64_t N, int64_t K, MatRef A, MatRef B, float* C, int64_t ldc,
                int64_t c_bs, const float* bias, bool accumulate) {
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) {
        double s = 0;
        for (int64_t k = 0; k < K; ++k)
          s += double(A.data[b * A.batch_stride + i * A.row_stride + k * A.col_stride]) *
               double(B.data[b * B.batch_stride + k * B.row_stride + j * B.col_stride]);
        if (bias) s += bias[j];
        float& c = C[b * c_bs + i * ldc + j];
        c = accumulate ? float(c + s) : float(s);
      }
}

struct Case {
  int64_t batch, M, N, K;
  bool a_trans, b_trans, a_bcast, b_bcast, bias, accumulate;
  int64_t pad;  // extra elements per row (sliced views) of A, B and C
};

/// Largest |got - want| relative to the largest |want| (at least 1).
double max_rel_error(const std::vector<float>& got, const std::vector<float>& want) {
  double err = 0, scale = 1;
  for (size_t i = 0; i < want.size(); ++i) {
    err = std::max(err, double(std::fabs(got[i] - want[i])));
    scale = std::max(scale, double(std::fabs(want[i])));
  }
  return err / scale;
}

void run_case(const Case& c, std::mt19937& rng) {
  // A is stored as [batch or 1][M x K] row-major with padded rows, or transposed
  // ([K x M] storage read through swapped strides); likewise B.
  const int64_t a_rows = c.a_trans ? c.K : c.M, a_cols = c.a_trans ? c.M : c.K;
  const int64_t b_rows = c.b_trans ? c.N : c.K, b_cols = c.b_trans ? c.K : c.N;
  const int64_t lda = a_cols + c.pad, ldb = b_cols + c.pad, ldc = c.N + c.pad;
  const int64_t a_bs = c.a_bcast ? 0 : a_rows * lda, b_bs = c.b_bcast ? 0 : b_rows * ldb;
  const int64_t c_bs = c.M * ldc + c.pad;
  auto a = random_vector(size_t((c.a_bcast ? 1 : c.batch) * a_rows * lda), rng);
  auto b = random_vector(size_t((c.b_bcast ? 1 : c.batch) * b_rows * ldb), rng);
  auto bias = random_vector(size_t(c.N), rng);
  auto out = random_vector(size_t(c.batch * c_bs), rng);
  auto want = out;
  const MatRef A{a.data(), a_bs, c.a_trans ? 1 : lda, c.a_trans ? lda : 1};
  const MatRef B{b.data(), b_bs, c.b_trans ? 1 : ldb, c.b_trans ? ldb : 1};
  const float* bias_ptr = c.bias ? bias.data() : nullptr;
  gemm(c.batch, c.M, c.N, c.K, A, B, out.data(), ldc, c_bs, bias_ptr, c.accumulate);
  naive_gemm(c.batch, c.M, c.N, c.K, A, B, want.data(), ldc, c_bs, bias_ptr, c.accumulate);
  INFO("batch " << c.batch << " M " << c.M << " N " << c.N << " K " << c.K << " a_trans " << c.a_trans
                << " b_trans " << c.b_trans << " a_bcast " << c.a_bcast << " b_bcast " << c.b_bcast
                << " bias " << c.bias << " accumulate " << c.accumulate << " pad " << c.pad);
  // Padding between rows and batches must be left untouched: compared too.
  CHECK(max_rel_error(out, want) < 1e-4);
}

}  // namespace

TEST_CASE("gemm matches a naive product on fixed shapes", "[kernels][gemm]") {
  std::mt19937 rng(1);
  const int64_t sizes[] = {1, 3, 17, 33};
  for (int64_t M : sizes)
    for (int64_t N : sizes)
      for (int64_t K : sizes) run_case({1, M, N, K, false, false, false, false, false, false, 0}, rng);
}

TEST_CASE("gemm handles transposes, slices, batches, broadcast, bias and accumulate", "[kernels][gemm]") {
  std::mt19937 rng(2);
  std::uniform_int_distribution<int> size_dist(0, 5), bit(0, 1), pad_dist(0, 2);
  const int64_t sizes[] = {1, 2, 3, 8, 17, 33};
  for (int t = 0; t < 120; ++t) {
    Case c{};
    c.batch = std::uniform_int_distribution<int>(1, 4)(rng);
    c.M = sizes[size_dist(rng)];
    c.N = sizes[size_dist(rng)];
    c.K = sizes[size_dist(rng)];
    c.a_trans = bit(rng);
    c.b_trans = bit(rng);
    c.a_bcast = bit(rng) && bit(rng);
    c.b_bcast = bit(rng) && bit(rng);
    c.bias = bit(rng);
    c.accumulate = bit(rng);
    c.pad = pad_dist(rng);
    run_case(c, rng);
  }
}

TEST_CASE("gemm on model-sized shapes", "[kernels][gemm]") {
  std::mt19937 rng(3);
  run_case({1, 128, 128, 192, false, false, false, false, true, false, 0}, rng);
  run_case({1, 128, 512, 64, false, true, false, false, false, true, 0}, rng);
  run_case({1, 64, 128, 256, true, false, false, false, false, false, 0}, rng);
  run_case({8, 32, 32, 16, false, true, false, false, false, false, 0}, rng);
  run_case({8, 32, 16, 32, false, false, false, false, false, true, 3}, rng);
}

TEST_CASE("gemm with an empty inner dimension gives the bias", "[kernels][gemm]") {
  std::vector<float> c(6, 5.0f), bias{1, 2, 3};
  const float dummy = 0;
  gemm(1, 2, 3, 0, MatRef{&dummy, 0, 0, 1}, MatRef{&dummy, 0, 3, 1}, c.data(), 3, 0, bias.data(), false);
  CHECK(c == std::vector<float>{1, 2, 3, 1, 2, 3});
  gemm(1, 2, 3, 0, MatRef{&dummy, 0, 0, 1}, MatRef{&dummy, 0, 3, 1}, c.data(), 3, 0, bias.data(), true);
  CHECK(c == std::vector<float>{2, 4, 6, 2, 4, 6});
}

TEST_CASE("gemm reuses one primitive per shape and stays correct", "[kernels][gemm]") {
  // The same shape with different data: a cached primitive must not keep old pointers.
  std::mt19937 rng(4);
  for (int t = 0; t < 3; ++t) run_case({2, 17, 33, 3, true, true, false, false, true, true, 1}, rng);
}

TEST_CASE("gemm split over threads matches the naive product", "[kernels][gemm]") {
  // Products of at least 2^21 multiply-adds run as one part per thread, by rows of C
  // when M >= N and by columns otherwise; three threads give parts of unequal length,
  // and sizes off the 16-row blocks give a short last part.
  struct Threads {
    int before = fresco::kernels::threads();
    ~Threads() { fresco::kernels::set_threads(before); }
  } restore;
  std::mt19937 rng(5);
  for (int t : {2, 3}) {
    fresco::kernels::set_threads(t);
    INFO("threads " << t);
    run_case({1, 301, 77, 97, false, false, false, false, true, true, 3}, rng);   // rows, bias, accumulate
    run_case({1, 301, 77, 97, true, true, false, false, false, false, 1}, rng);   // rows, both transposed
    run_case({1, 45, 533, 90, false, false, false, false, true, false, 2}, rng);  // columns, bias
    run_case({1, 45, 533, 90, true, true, false, false, true, true, 0}, rng);     // columns, transposed
    run_case({1, 2048, 128, 128, false, true, false, false, true, false, 0}, rng);  // a linear layer
    // Parts of one shape run one primitive on several threads at once; with a scratchpad
    // shared between threads, about one run in five of this one came out wrong.
    for (int r = 0; r < 25; ++r) run_case({1, 45, 533, 90, true, true, false, false, true, true, 0}, rng);
  }
}
