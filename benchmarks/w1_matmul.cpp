// SPDX-License-Identifier: Apache-2.0
// W1 GEMM (specs/reference-workloads.md) through the ops: GFLOP/s of fresco::matmul and of
// fresco::linear next to raw kernels::gemm on the same shapes in the same run, so the ratio
// is the op's overhead (validation, output allocation, stride analysis). Bar: >= 0.90.
// linear computes x [M, K] · Wᵀ + b with W [N, K] (B read transposed), timed against the
// raw GEMM with the same transposed B and the bias fused.
//   usage: bench_w1_matmul [samples] [threads]   (default 25 timed samples per path and shape, 2 threads)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <fresco/fresco.hpp>

#include "bench_common.hpp"
#include "kernels/gemm.hpp"

namespace {

using clock_type = std::chrono::steady_clock;

using fresco::bench::kW1Shapes;
using fresco::bench::median;
using fresco::bench::seconds_of;
using fresco::bench::W1Shape;

/// Seconds per call of an op and of its raw twin: medians (the figure) and minima (the
/// cost without interference, steadier on a shared machine).
struct Timing {
  double op, raw, op_best, raw_best;
};

/// Times `op` and `raw`, sampled alternately (so drift hits both alike).
template <class Op, class Raw>
Timing time_pair(Op&& op, Raw&& raw, int samples) {
  for (int i = 0; i < 5; ++i) {
    op();
    raw();
  }
  const double one = std::min(seconds_of(op, 3), seconds_of(raw, 3)) / 3;
  const int calls = std::max(1, int(0.01 / std::max(one, 1e-7)));
  std::vector<double> op_t, raw_t;
  for (int i = 0; i < samples; ++i) {
    op_t.push_back(seconds_of(op, calls) / calls);
    raw_t.push_back(seconds_of(raw, calls) / calls);
  }
  return {median(op_t), median(raw_t), *std::min_element(op_t.begin(), op_t.end()),
          *std::min_element(raw_t.begin(), raw_t.end())};
}

struct Row {
  double matmul, matmul_raw, linear, linear_raw;  // GFLOP/s (medians)
  double matmul_best_ratio, linear_best_ratio;     // op / raw, best samples
};

Row bench_shape(const W1Shape& s, int samples) {
  using fresco::kernels::gemm;
  const int64_t M = s.M, K = s.K, N = s.N;
  const fresco::Tensor a = fresco::randn({M, K});
  const fresco::Tensor b = s.b_transposed ? fresco::randn({N, K}).transpose(0, 1) : fresco::randn({K, N});
  const fresco::Tensor w = fresco::randn({N, K}), bias = fresco::randn({N});
  std::vector<float> c(size_t(M * N));
  const float* ap = a.data();
  const float* bp = s.b_transposed ? b.transpose(0, 1).data() : b.data();
  const int64_t b_rs = s.b_transposed ? 1 : N, b_cs = s.b_transposed ? K : 1;

  const Timing mm = time_pair([&] { fresco::Tensor y = fresco::matmul(a, b); },
                                      [&] { gemm(1, M, N, K, {ap, 0, K, 1}, {bp, 0, b_rs, b_cs}, c.data(), N, 0); },
                                      samples);
  const Timing lin = time_pair(
      [&] { fresco::Tensor y = fresco::linear(a, w, bias); },
      [&] { gemm(1, M, N, K, {ap, 0, K, 1}, {w.data(), 0, 1, K}, c.data(), N, 0, bias.data()); }, samples);
  const double flop = 2.0 * double(M) * double(N) * double(K);
  return {flop / mm.op / 1e9,           flop / mm.raw / 1e9,           flop / lin.op / 1e9,
          flop / lin.raw / 1e9,          mm.raw_best / mm.op_best,      lin.raw_best / lin.op_best};
}

}  // namespace

int main(int argc, char** argv) {
  const int samples = argc > 1 ? std::max(5, std::atoi(argv[1])) : 25;
  const int threads = argc > 2 ? std::max(1, std::atoi(argv[2])) : 2;
  fresco::set_num_threads(threads);
  fresco::manual_seed(0);
  std::printf("W1 through the ops, %d thread(s), fp32, median of %d samples (each >= 10 ms of calls)\n", threads,
              samples);
  std::printf("%-18s %10s %10s %6s %6s   %10s %10s %6s %6s\n", "shape (MxKxN)", "matmul", "raw gemm", "ratio",
              "best", "linear", "raw+bias", "ratio", "best");
  std::string json = "{\"workload\":\"W1 ops\",\"threads\":" + std::to_string(threads) + ",\"shapes\":[";
  double worst = 1e9;
  for (const W1Shape& s : kW1Shapes) {
    const Row r = bench_shape(s, samples);
    const double mr = r.matmul / r.matmul_raw, lr = r.linear / r.linear_raw;
    worst = std::min({worst, mr, lr});
    std::printf("%-18s %10.1f %10.1f %6.3f %6.3f   %10.1f %10.1f %6.3f %6.3f\n", s.label, r.matmul, r.matmul_raw, mr,
                r.matmul_best_ratio, r.linear, r.linear_raw, lr, r.linear_best_ratio);
    std::fflush(stdout);
    char buf[400];
    std::snprintf(buf, sizeof buf,
                  "%s{\"label\":\"%s\",\"M\":%lld,\"K\":%lld,\"N\":%lld,\"matmul_gflops\":%.2f,\"raw_gflops\":%.2f,"
                  "\"matmul_ratio\":%.4f,\"matmul_best_ratio\":%.4f,\"linear_gflops\":%.2f,\"raw_bias_gflops\":%.2f,"
                  "\"linear_ratio\":%.4f,\"linear_best_ratio\":%.4f}",
                  &s == kW1Shapes ? "" : ",", s.label, (long long)s.M, (long long)s.K, (long long)s.N, r.matmul,
                  r.matmul_raw, mr, r.matmul_best_ratio, r.linear, r.linear_raw, lr, r.linear_best_ratio);
    json += buf;
  }
  std::printf("worst median ratio: %.3f (bar: 0.90)\n", worst);
  std::printf("JSON %s]}\n", json.c_str());
  return 0;
}
