// SPDX-License-Identifier: Apache-2.0
// W4: text-to-image inference as the peer's w4_infer.py: captions of 32
// tokens -> the W2 GPT (sentence embedding = final hidden state of the last
// token) -> the W3 generator in eval mode -> images [B,3,32,32]. Randomly
// initialised weights (timing only), batch 64 and batch 1.
//   usage: bench_w4_infer [--steps N] [--threads T]
#include <string>

#include <fresco/text/gpt.hpp>

#include "bench_common.hpp"
#include "w3_models.hpp"

using namespace fresco;

int main(int argc, char** argv) {
  const bench::RunArgs args = bench::parse_run_args(argc, argv, 30);
  const int steps = args.steps;
  set_num_threads(args.threads);
  manual_seed(0);
  const text::GptConfig config;  // the W2 shapes
  text::Gpt gpt(config);
  bench::W3Generator G;
  gpt.eval();
  G.eval();
  fmt::print("== W4 text-to-image inference: fresco {}, threads {}\n", FRESCO_VERSION_STRING, num_threads());
  for (int64_t B : {64, 1}) {
    Generator rng(static_cast<uint64_t>(B));
    std::vector<int64_t> ids(B * config.context);
    for (auto& id : ids) id = static_cast<int64_t>(rng.below(static_cast<uint64_t>(config.vocab_size)));
    Tensor z = randn({B, bench::kZDim});
    Tensor images;
    auto step = [&] {
      NoGradGuard no_grad;
      Tensor hidden = gpt.token_features(ids, B, config.context);                    // [B, T, C]
      Tensor emb = hidden.slice(1, config.context - 1, config.context).squeeze(1);  // last token
      images = G.forward(z, emb);
    };
    // The LM head is not run: the embedding is the final hidden state.
    const double C = 128, L = 4, H = 512, T = 32;
    const double linear_params = L * (3 * C * C + C * C + C * H + H * C) + C * config.vocab_size;
    const double gpt_fwd = 2 * linear_params * B * T + L * 2 * (2 * B * T * T * C);
    const double flops = gpt_fwd - 2 * 128 * config.vocab_size * B * T + bench::w3_generator_flops(B);
    const auto ms = bench::time_steps(step, steps);
    FRESCO_CHECK(images.shape() == Shape({B, 3, 32, 32}), "W4: unexpected image shape {}", shape_str(images.shape()));
    bench::report(fmt::format("W4 fresco batch {}", B), ms, B, "images", flops);
  }
}
