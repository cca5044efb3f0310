// SPDX-License-Identifier: Apache-2.0
#pragma once
// Timing helpers shared by the workload benchmarks, printing the same line
// format as the PyTorch peer programs so the two can be set side by side:
//   RESULT <label>: median X ms  min Y  max Z  (n=N)  R items/s  G GFLOP/step -> F GFLOP/s  peakRSS M MiB
// followed by one JSON line for machines.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include <fmt/format.h>

namespace fresco::bench {

constexpr int kWarmup = 5;

/// `--steps N --threads T` of a workload program (defaults as given).
struct RunArgs {
  int steps;
  int threads = 2;
};
inline RunArgs parse_run_args(int argc, char** argv, int default_steps) {
  RunArgs a{default_steps};
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    if (k == "--steps") a.steps = std::stoi(argv[i + 1]);
    else if (k == "--threads") a.threads = std::stoi(argv[i + 1]);
    else throw std::invalid_argument("unknown argument " + k + " (expected --steps N or --threads T)");
  }
  return a;
}

/// Runs step() `warmup` times, then `n` timed times; returns milliseconds per step.
inline std::vector<double> time_steps(const std::function<void()>& step, int n, int warmup = kWarmup) {
  for (int i = 0; i < warmup; ++i) step();
  std::vector<double> ms;
  for (int i = 0; i < n; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    step();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  return ms;
}

/// Seconds taken by `calls` calls of f.
template <class F>
double seconds_of(F&& f, int calls) {
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < calls; ++i) f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

/// The W1 GEMM shapes (specs/reference-workloads.md): C [M, N] = A [M, K] · B [K, N].
struct W1Shape {
  const char* label;
  int64_t M, K, N;
  bool b_transposed;  // B stored N x K and read through swapped strides
};
inline constexpr W1Shape kW1Shapes[] = {
    {"large 1024^3", 1024, 1024, 1024, false}, {"2048x128x384", 2048, 128, 384, false},
    {"2048x128x128", 2048, 128, 128, false},   {"2048x128x512", 2048, 128, 512, false},
    {"2048x512x128", 2048, 512, 128, false},   {"2048x128x512 B^T", 2048, 128, 512, true},
    {"64x2048x128", 64, 2048, 128, false},
};

inline double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/// Peak resident set size of this process, MiB.
inline double peak_rss_mib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;  // Linux reports KiB
}

/// Prints the RESULT line and the JSON line; returns the median.
inline double report(const std::string& label, const std::vector<double>& ms, double items_per_step = 0,
                     const std::string& item_name = "", double flops_per_step = 0) {
  const double med = median(ms);
  const double lo = *std::min_element(ms.begin(), ms.end()), hi = *std::max_element(ms.begin(), ms.end());
  std::string line = fmt::format("RESULT {}: median {:.2f} ms  min {:.2f}  max {:.2f}  (n={})", label, med, lo, hi, ms.size());
  if (items_per_step > 0) line += fmt::format("  {:.0f} {}/s", items_per_step / (med / 1e3), item_name);
  if (flops_per_step > 0)
    line += fmt::format("  {:.3f} GFLOP/step -> {:.1f} GFLOP/s", flops_per_step / 1e9, flops_per_step / (med / 1e3) / 1e9);
  line += fmt::format("  peakRSS {:.0f} MiB", peak_rss_mib());
  fmt::print("{}\n", line);
  fmt::print("{{\"label\": \"{}\", \"median_ms\": {:.4f}, \"min_ms\": {:.4f}, \"max_ms\": {:.4f}, \"n\": {}, "
             "\"items_per_s\": {:.2f}, \"gflops\": {:.2f}, \"peak_rss_mib\": {:.1f}}}\n",
             label, med, lo, hi, ms.size(), items_per_step > 0 ? items_per_step / (med / 1e3) : 0.0,
             flops_per_step > 0 ? flops_per_step / (med / 1e3) / 1e9 : 0.0, peak_rss_mib());
  std::fflush(stdout);
  return med;
}

}  // namespace fresco::bench
