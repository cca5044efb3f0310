// SPDX-License-Identifier: Apache-2.0
// W2 of specs/reference-workloads.md, as peers/pytorch/w2_gpt.py: one GPT
// pretraining step (forward, cross-entropy over all positions, backward,
// AdamW update) on windows of a random token stream. B=64, T=32, V=512,
// d 128, 4 heads, 4 layers, MLP 512 GELU, tied head, dropout 0.
//
//   bench_w2_gpt [--steps 30] [--batch 64]      (threads: BENCH_THREADS, default 2)
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include <fmt/format.h>

#include <fresco/optim/adam.hpp>
#include <fresco/tensor/random.hpp>
#include <fresco/tensor/tensor.hpp>
#include <fresco/text/gpt.hpp>

namespace {

// Hand count of the peer's models.gpt_flops_forward: all linear layers with the
// tied LM head, plus q·kᵀ and att·v over the full T×T (multiply-add = 2).
double gpt_flops_forward(double B, double T, const fresco::text::GptConfig& c) {
  const double C = static_cast<double>(c.d_model), L = static_cast<double>(c.layers);
  const double H = C * static_cast<double>(c.mlp_ratio), V = static_cast<double>(c.vocab_size);
  const double linear_params = L * (3 * C * C + C * C + C * H + H * C) + C * V;
  const double attn = L * 2 * (2 * B * T * T * C);
  return 2 * linear_params * B * T + attn;
}

double peak_rss_mib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;  // Linux: KiB
}

}  // namespace

int main(int argc, char** argv) {
  int64_t steps = 30, B = 64;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--steps") steps = std::max<int64_t>(1, std::atoll(argv[i + 1]));
    else if (flag == "--batch") B = std::max<int64_t>(1, std::atoll(argv[i + 1]));
  }
  const char* env = std::getenv("BENCH_THREADS");
  fresco::set_num_threads(env ? std::atoi(env) : 2);

  const fresco::text::GptConfig config;  // the W2 shape
  const int64_t T = config.context, V = config.vocab_size;
  fresco::text::Gpt model(config);
  fresco::optim::AdamW opt(model.parameters(), {.lr = 3e-4f, .beta1 = 0.9f, .beta2 = 0.95f, .weight_decay = 0.1f});
  fresco::Generator data_gen(0), batch_gen(1);
  std::vector<int64_t> data(200'000);
  for (auto& t : data) t = static_cast<int64_t>(data_gen.below(static_cast<uint64_t>(V)));

  std::vector<int64_t> x(static_cast<size_t>(B * T)), y(x.size());
  float last_loss = 0;
  auto step = [&] {
    for (int64_t b = 0; b < B; ++b) {
      const auto i = static_cast<size_t>(batch_gen.below(data.size() - static_cast<size_t>(T) - 1));
      std::copy_n(data.begin() + static_cast<std::ptrdiff_t>(i), T, x.begin() + b * T);
      std::copy_n(data.begin() + static_cast<std::ptrdiff_t>(i) + 1, T, y.begin() + b * T);
    }
    fresco::Tensor loss = model.loss(x, y, B, T);
    opt.zero_grad();
    loss.backward();
    opt.step();
    last_loss = loss.item();
  };

  const double fwd = gpt_flops_forward(static_cast<double>(B), static_cast<double>(T), config);
  fmt::print("== W2 GPT train step: fresco, threads {}\n", fresco::num_threads());
  fmt::print("params {} (tied), B={} T={}, forward {:.3f} GFLOP, step (fwd+2x bwd) {:.3f} GFLOP\n",
             model.num_parameters(), B, T, fwd / 1e9, 3 * fwd / 1e9);
  for (int i = 0; i < 5; ++i) step();
  std::vector<double> ms;
  for (int64_t i = 0; i < steps; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    step();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  fmt::print("final loss {:.4f} (ln {} = {:.3f})\n", last_loss, V, std::log(static_cast<double>(V)));

  std::vector<double> sorted = ms;
  std::sort(sorted.begin(), sorted.end());
  const size_t n = sorted.size();
  const double median = n % 2 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
  const double tokens_s = static_cast<double>(B * T) / (median / 1e3);
  const double gflop = 3 * fwd / 1e9, gflops = 3 * fwd / (median / 1e3) / 1e9, rss = peak_rss_mib();
  fmt::print("RESULT W2 fresco: median {:.2f} ms  min {:.2f}  max {:.2f}  (n={})  {:.0f} tokens/s  {:.3f} GFLOP/step "
             "-> {:.1f} GFLOP/s  peakRSS {:.0f} MiB\n",
             median, sorted.front(), sorted.back(), n, tokens_s, gflop, gflops, rss);
  fmt::print("{{\"workload\": \"W2\", \"impl\": \"fresco\", \"median_ms\": {:.3f}, \"min_ms\": {:.3f}, \"max_ms\": {:.3f}, "
             "\"n\": {}, \"tokens_per_s\": {:.1f}, \"gflop_per_step\": {:.4f}, \"gflops\": {:.2f}, \"peak_rss_mib\": {:.1f}, "
             "\"threads\": {}, \"final_loss\": {:.4f}}}\n",
             median, sorted.front(), sorted.back(), n, tokens_s, gflop, gflops, rss, fresco::num_threads(), last_loss);
  return 0;
}
