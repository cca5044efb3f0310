// SPDX-License-Identifier: Apache-2.0
// W3: one text-conditioned GAN step at 32×32×3, batch 64, as the peer's
// w3_gan.py: a D update on (real, text) -> 1, (G(z, text), text) -> 0 and
// (real, wrong text) -> 0, then a G update with a fresh z.
//   usage: bench_w3_gan [--steps N] [--threads T]
#include <string>

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
  Tensor ones_ = ones({B}), zeros_ = zeros({B});
  float loss_d_value = 0, loss_g_value = 0;

  auto step = [&] {
    Tensor fake;
    {
      NoGradGuard no_grad;
      fake = G.forward(randn({B, bench::kZDim}), text);
    }
    Tensor loss_d = binary_cross_entropy_with_logits(D.forward(real, text), ones_) +
                    binary_cross_entropy_with_logits(D.forward(fake, text), zeros_) +
                    binary_cross_entropy_with_logits(D.forward(real, text_wrong), zeros_);
    opt_d.zero_grad();
    loss_d.backward();
    opt_d.step();
    Tensor loss_g = binary_cross_entropy_with_logits(D.forward(G.forward(randn({B, bench::kZDim}), text), text), ones_);
    opt_g.zero_grad();
    loss_g.backward();
    opt_g.step();
    loss_d_value = loss_d.item();
    loss_g_value = loss_g.item();
  };

  const double gf = bench::w3_generator_flops(B), df = bench::w3_discriminator_flops(B);
  const double flops = gf + 3 * 3 * df + 3 * gf + 3 * df;
  fmt::print("== W3 GAN step: fresco {}, threads {}\n", FRESCO_VERSION_STRING, num_threads());
  fmt::print("G params {}, D params {}; step ~{:.2f} GFLOP\n", G.num_parameters(), D.num_parameters(), flops / 1e9);
  const auto ms = bench::time_steps(step, steps);
  fmt::print("final losses D {:.4f} G {:.4f}\n", loss_d_value, loss_g_value);
  bench::report("W3 fresco", ms, B, "images", flops);
}
