// SPDX-License-Identifier: Apache-2.0
// Data-parallel training on one machine: the W2 and W3 steps of the
// reference workloads with their global batch of 64 split over the
// processes of `mpirun -np N` (gradients averaged by DistributedDataParallel),
// and the all-reduce's throughput on 1, 4 and 16 MiB beside a memcpy of the
// same size. Run as one process too: it then times the same steps alone.
// scripts/bench-dist.sh runs 1 × 1 thread, 1 × 2 threads and 2 × 1 thread in
// one sitting and prints the table.
//
//   [mpirun -np N] bench_dist [--steps 20] [--reps 30] [--bucket-mb 25]     (threads: BENCH_THREADS, default 1)
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <fmt/format.h>

#include <fresco/dist/data_parallel.hpp>
#include <fresco/ops/loss.hpp>
#include <fresco/optim/adam.hpp>
#include <fresco/tensor/random.hpp>
#include <fresco/text/gpt.hpp>

#include "w3_models.hpp"

namespace {

using Clock = std::chrono::steady_clock;

double g_bucket_mb = fresco::dist::DistributedDataParallelOptions{}.bucket_cap_mb;

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Times `step` (after 5 warm-up calls) `steps` times, each between barriers so
// that every process measures the same step: the median in ms.
template <class F>
double time_steps(fresco::dist::ProcessGroup& g, int64_t steps, F&& step) {
  for (int i = 0; i < 5; ++i) step();
  std::vector<double> ms;
  for (int64_t i = 0; i < steps; ++i) {
    g.barrier();
    const auto t0 = Clock::now();
    step();
    g.barrier();
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  return median(ms);
}

// W2: a GPT pretraining step over this process's share of 64 sequences of 32 tokens.
double w2(fresco::dist::ProcessGroup& g, int64_t steps) {
  const fresco::text::GptConfig config;
  const int64_t B = 64 / g.world_size(), T = config.context, V = config.vocab_size;
  fresco::text::Gpt model(config);
  fresco::dist::DistributedDataParallel ddp(model, fresco::dist::world(), {.bucket_cap_mb = g_bucket_mb});
  fresco::optim::AdamW opt(model.parameters(), {.lr = 3e-4f, .beta1 = 0.9f, .beta2 = 0.95f, .weight_decay = 0.1f});
  fresco::Generator gen(100 + uint64_t(g.rank()));
  std::vector<int64_t> x(size_t(B * T)), y(x.size());
  return time_steps(g, steps, [&] {
    for (auto& t : x) t = int64_t(gen.below(uint64_t(V)));
    for (auto& t : y) t = int64_t(gen.below(uint64_t(V)));
    fresco::Tensor loss = model.loss(x, y, B, T);
    opt.zero_grad();
    loss.backward();
    opt.step();
  });
}

// W3: a GAN step (D on real, fake and mismatched; then G) over this process's share of 64 images.
double w3(fresco::dist::ProcessGroup& g, int64_t steps) {
  using namespace fresco;
  const int64_t B = 64 / g.world_size();
  bench::W3Generator G;
  bench::W3Discriminator D;
  dist::DistributedDataParallel ddp_g(G, dist::world(), {.bucket_cap_mb = g_bucket_mb}),
      ddp_d(D, dist::world(), {.bucket_cap_mb = g_bucket_mb});
  optim::Adam opt_g(G.parameters(), {.lr = 2e-4f, .beta1 = 0.5f, .beta2 = 0.999f});
  optim::Adam opt_d(D.parameters(), {.lr = 2e-4f, .beta1 = 0.5f, .beta2 = 0.999f});
  manual_seed(7 + uint64_t(g.rank()));
  const Tensor real = rand({B, 3, 32, 32}) * 2.f - 1.f, text = randn({B, bench::kTextDim});
  const Tensor text_wrong = cat({text.slice(0, 1, B), text.slice(0, 0, 1)}, 0);
  return time_steps(g, steps, [&] {
    // G's backward passes through D: no all-reduce of D's gradients there (zeroed before D's next step).
    bench::w3_step(G, D, opt_g, opt_d, real, text, text_wrong, [&](const Tensor& loss) {
      auto local = ddp_d.no_sync();
      loss.backward();
    });
  });
}

}  // namespace

int main(int argc, char** argv) {
  int64_t steps = 20, reps = 30;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--steps") steps = std::max<int64_t>(1, std::atoll(argv[i + 1]));
    else if (flag == "--reps") reps = std::max<int64_t>(1, std::atoll(argv[i + 1]));
    else if (flag == "--bucket-mb") g_bucket_mb = std::max(1e-3, std::atof(argv[i + 1]));
  }
  const char* env = std::getenv("BENCH_THREADS");
  fresco::set_num_threads(env ? std::atoi(env) : 1);
  auto g = fresco::dist::world();
  const int n = g->world_size();
  const bool print = g->rank() == 0;
  if (print)
    fmt::print("== data parallel: {} process(es) × {} thread(s), backend {}, buckets of {} MiB\n", n,
               fresco::num_threads(), g->backend(), g_bucket_mb);

  const double w2_ms = w2(*g, steps);
  if (print) fmt::print("W2 step (64 × 32 tokens in all): {:.1f} ms, {:.0f} tokens/s\n", w2_ms, 64 * 32 / (w2_ms / 1e3));
  const double w3_ms = w3(*g, steps);
  if (print) fmt::print("W3 step (64 images in all): {:.1f} ms, {:.0f} images/s\n", w3_ms, 64 / (w3_ms / 1e3));

  for (int64_t mib : {1, 4, 16}) {
    if (n == 1) break;  // one process: nothing to reduce
    const int64_t bytes = mib << 20, n_floats = bytes / 4;
    fresco::Tensor t = fresco::ones({n_floats});
    std::vector<char> src(static_cast<size_t>(bytes), 1), dst(static_cast<size_t>(bytes));
    std::vector<double> reduce_ms, copy_ms;
    for (int64_t r = 0; r < reps + 3; ++r) {
      g->barrier();
      auto t0 = Clock::now();
      g->all_reduce(t, fresco::dist::ReduceOp::Sum);
      const double a = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
      t0 = Clock::now();
      std::memcpy(dst.data(), src.data(), size_t(bytes));
      const double c = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
      if (r >= 3) reduce_ms.push_back(a), copy_ms.push_back(c);
      src[size_t(r) % src.size()] ^= dst[0];  // keep the copy from being elided
    }
    const double a = median(reduce_ms), c = median(copy_ms);
    // Algorithm bandwidth (the buffer's bytes per second); bus bandwidth 2(n − 1)/n of it is what a ring moves.
    if (print)
      fmt::print("all_reduce {:>2} MiB: {:.3f} ms, {:.2f} GB/s (bus {:.2f} GB/s); memcpy {:.3f} ms, {:.2f} GB/s\n", mib, a,
                 bytes / (a / 1e3) / 1e9, n > 1 ? 2.0 * (n - 1) / n * bytes / (a / 1e3) / 1e9 : 0.0, c,
                 bytes / (c / 1e3) / 1e9);
  }
  return 0;
}
