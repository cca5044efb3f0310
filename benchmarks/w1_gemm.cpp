// SPDX-License-Identifier: Apache-2.0
// W1 GEMM (specs/reference-workloads.md): GFLOP/s of kernels::gemm next to a raw oneDNN
// matmul primitive built here once (memory objects too): the best case for oneDNN, so the
// ratio is the cost of fresco's wrapper (cache lookup, per-call memory objects).
// Also measures the machine's fp32 peak with a register-only FMA loop on 2 threads.
//   usage: bench_w1_gemm [samples]   (default 25 timed samples per path and shape)
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

#include "bench_common.hpp"
#include "kernels/gemm.hpp"

namespace {

using clock_type = std::chrono::steady_clock;

using fresco::bench::kW1Shapes;
using fresco::bench::median;
using fresco::bench::seconds_of;
using fresco::bench::W1Shape;

/// Each thread runs independent FMA chains on registers only (10 accumulators hide
/// the 4-cycle latency of two FMA pipes). The chains are a function of their own, called
/// inside the parallel region: clang outlines an OpenMP region into a function without
/// the enclosing function's target attribute. Returns one lane of the sum.
__attribute__((target("avx2,fma"))) float fma_chains_avx2(int64_t iters) {
  __m256 acc[10];
  for (int i = 0; i < 10; ++i) acc[i] = _mm256_set1_ps(float(i) * 1e-3f);
  const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
  for (int64_t it = 0; it < iters; ++it)
    for (int i = 0; i < 10; ++i) acc[i] = _mm256_fmadd_ps(acc[i], a, b);
  __m256 s = acc[0];
  for (int i = 1; i < 10; ++i) s = _mm256_add_ps(s, acc[i]);
  float out[8];
  _mm256_storeu_ps(out, s);
  return out[0];
}

__attribute__((target("avx512f"))) float fma_chains_avx512(int64_t iters) {
  __m512 acc[10];
  for (int i = 0; i < 10; ++i) acc[i] = _mm512_set1_ps(float(i) * 1e-3f);
  const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
  for (int64_t it = 0; it < iters; ++it)
    for (int i = 0; i < 10; ++i) acc[i] = _mm512_fmadd_ps(acc[i], a, b);
  __m512 s = acc[0];
  for (int i = 1; i < 10; ++i) s = _mm512_add_ps(s, acc[i]);
  return _mm512_reduce_add_ps(s);
}

/// GFLOP/s over all threads of the AVX2 chains.
double fma_peak_avx2() {
  constexpr int64_t kIters = 100'000'000;
  float sink = 0;
  const auto t0 = clock_type::now();
#pragma omp parallel reduction(+ : sink)
  sink += fma_chains_avx2(kIters);
  const double secs = std::chrono::duration<double>(clock_type::now() - t0).count();
  if (sink == 12345.0f) std::puts("");  // keeps the loop alive
  return double(omp_get_max_threads()) * kIters * 10 * 8 * 2 / secs / 1e9;
}

/// GFLOP/s over all threads of the AVX-512 chains.
double fma_peak_avx512() {
  constexpr int64_t kIters = 100'000'000;
  float sink = 0;
  const auto t0 = clock_type::now();
#pragma omp parallel reduction(+ : sink)
  sink += fma_chains_avx512(kIters);
  const double secs = std::chrono::duration<double>(clock_type::now() - t0).count();
  if (sink == 12345.0f) std::puts("");
  return double(omp_get_max_threads()) * kIters * 10 * 16 * 2 / secs / 1e9;
}

struct Result {
  double fresco_gflops, onednn_gflops;
};

Result bench_shape(const W1Shape& s, int samples) {
  const int64_t M = s.M, K = s.K, N = s.N;
  std::mt19937 rng(0);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> a(size_t(M * K)), b(size_t(K * N)), c(size_t(M * N));
  for (float& x : a) x = dist(rng);
  for (float& x : b) x = dist(rng);
  const int64_t b_rs = s.b_transposed ? 1 : N, b_cs = s.b_transposed ? K : 1;

  auto fresco_call = [&] {
    fresco::kernels::gemm(1, M, N, K, {a.data(), 0, K, 1}, {b.data(), 0, b_rs, b_cs}, c.data(), N, 0);
  };

  // Raw oneDNN: one primitive and its memory objects, built once outside the timing.
  using dnnl::memory;
  dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  dnnl::stream strm(eng);
  const memory::desc a_md({M, K}, memory::data_type::f32, {K, 1});
  const memory::desc b_md({K, N}, memory::data_type::f32, {b_rs, b_cs});
  const memory::desc c_md({M, N}, memory::data_type::f32, {N, 1});
  dnnl::matmul prim(dnnl::matmul::primitive_desc(dnnl::matmul::desc(a_md, b_md, c_md), eng));
  const std::unordered_map<int, memory> args{{DNNL_ARG_SRC, memory(a_md, eng, a.data())},
                                             {DNNL_ARG_WEIGHTS, memory(b_md, eng, b.data())},
                                             {DNNL_ARG_DST, memory(c_md, eng, c.data())}};
  auto raw_call = [&] { prim.execute(strm, args); };

  // Warm up both, then size a sample to >= ~10 ms of calls.
  for (int i = 0; i < 5; ++i) {
    fresco_call();
    raw_call();
  }
  const double one = std::min(seconds_of(fresco_call, 3), seconds_of(raw_call, 3)) / 3;
  const int calls = std::max(1, int(0.01 / std::max(one, 1e-7)));
  std::vector<double> fresco_t, raw_t;
  for (int i = 0; i < samples; ++i) {  // alternate so that drift hits both alike
    fresco_t.push_back(seconds_of(fresco_call, calls) / calls);
    raw_t.push_back(seconds_of(raw_call, calls) / calls);
  }
  const double flop = 2.0 * double(M) * double(N) * double(K);
  return {flop / median(fresco_t) / 1e9, flop / median(raw_t) / 1e9};
}

}  // namespace

int main(int argc, char** argv) {
  const int samples = argc > 1 ? std::max(20, std::atoi(argv[1])) : 25;
  omp_set_num_threads(2);
  const bool avx512 = __builtin_cpu_supports("avx512f");
  // Best of three runs (~0.2 s each): the first also wakes the thread pool and the clocks.
  double peak = 0;
  for (int i = 0; i < 3; ++i) peak = std::max(peak, avx512 ? fma_peak_avx512() : fma_peak_avx2());
  const char* peak_method = avx512 ? "AVX-512 FMA register loop" : "AVX2 FMA register loop";
  std::printf("W1 GEMM, 2 threads, fp32, median of %d samples (each >= 10 ms of calls)\n", samples);
  std::printf("measured fp32 peak: %.1f GFLOP/s (%s, 2 threads)\n", peak, peak_method);
  std::printf("%-18s %14s %14s %7s %7s\n", "shape (MxKxN)", "fresco GFLOP/s", "oneDNN GFLOP/s", "ratio",
              "%peak");
  std::string json = "{\"workload\":\"W1\",\"threads\":2,\"peak_gflops\":" + std::to_string(peak) +
                     ",\"peak_method\":\"" + peak_method + "\",\"shapes\":[";
  for (const W1Shape& s : kW1Shapes) {
    const Result r = bench_shape(s, samples);
    std::printf("%-18s %14.1f %14.1f %7.3f %6.1f%%\n", s.label, r.fresco_gflops, r.onednn_gflops,
                r.fresco_gflops / r.onednn_gflops, 100 * r.fresco_gflops / peak);
    std::fflush(stdout);
    char buf[256];
    std::snprintf(buf, sizeof buf,
                  "%s{\"label\":\"%s\",\"M\":%lld,\"K\":%lld,\"N\":%lld,\"b_transposed\":%s,"
                  "\"fresco_gflops\":%.2f,\"onednn_gflops\":%.2f,\"ratio\":%.4f}",
                  &s == kW1Shapes ? "" : ",", s.label, (long long)s.M, (long long)s.K, (long long)s.N,
                  s.b_transposed ? "true" : "false", r.fresco_gflops, r.onednn_gflops,
                  r.fresco_gflops / r.onednn_gflops);
    json += buf;
  }
  std::printf("JSON %s]}\n", json.c_str());
  return 0;
}
