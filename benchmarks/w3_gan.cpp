// SPDX-License-Identifier: Apache-2.0
// W3: one text-conditioned GAN step at 32×32×3, batch 64, as the peer's
// w3_gan.py: a D update on (real, text) -> 1, (G(z, text), text) -> 0 and
// (real, wrong text) -> 0, then a G update with a fresh z.
//   usage: bench_w3_gan [--steps N] [--threads T]
#include <string>
#include <tuple>

#include "bench_common.hpp"
#include "w3_models.hpp"

using namespace fresco;

int main(int argc, char** argv) {
  const bench::RunArgs args = bench::parse_run_args(argc, argv, 20);
  const int steps = args.steps;
  set_num_threads(args.threads);
  manual_seed(0);
  const int64_t B = 64;
  bench::W3Generator G;
  bench::W3Discriminator D;
  optim::Adam opt_g(G.parameters(), {.lr = 2e-4f, .beta1 = 0.5f, .beta2 = 0.999f});
  optim::Adam opt_d(D.parameters(), {.lr = 2e-4f, .beta1 = 0.5f, .beta2 = 0.999f});
  Tensor real = rand({B, 3, 32, 32}) * 2.f - 1.f;
  Tensor text = randn({B, bench::kTextDim});
  Tensor text_wrong = cat({text.slice(0, B - 1, B), text.slice(0, 0, B - 1)}, 0);  // roll by one
  float loss_d_value = 0, loss_g_value = 0;

  auto step = [&] { std::tie(loss_d_value, loss_g_value) = bench::w3_step(G, D, opt_g, opt_d, real, text, text_wrong); };

  const double gf = bench::w3_generator_flops(B), df = bench::w3_discriminator_flops(B);
  const double flops = gf + 3 * 3 * df + 3 * gf + 3 * df;
  fmt::print("== W3 GAN step: fresco {}, threads {}\n", FRESCO_VERSION_STRING, num_threads());
  fmt::print("G params {}, D params {}; step ~{:.2f} GFLOP\n", G.num_parameters(), D.num_parameters(), flops / 1e9);
  const auto ms = bench::time_steps(step, steps);
  fmt::print("final losses D {:.4f} G {:.4f}\n", loss_d_value, loss_g_value);
  bench::report("W3 fresco", ms, B, "images", flops);
}
