// SPDX-License-Identifier: Apache-2.0
// A 2-layer MLP learns a nonlinear function of two inputs,
//   f(x, y) = sin(3x) · cos(2y) on [-1, 1]²,
// with fresco alone: tensors, autograd, Linear layers and Adam. Prints the
// loss as it falls and exits non-zero unless it fell by at least 100×.
//
//   usage: train_mlp [--steps N] [--hidden H] [--seed S]
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <string>

#include <fresco/fresco.hpp>

namespace {

struct Args {
  int steps = 1500;
  int64_t hidden = 64;
  uint64_t seed = 0;
};

Args parse_args(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw fresco::Error(fmt::format("train_mlp: {} needs a value", k));
      return argv[++i];
    };
    if (k == "--steps") a.steps = std::stoi(value());
    else if (k == "--hidden") a.hidden = std::stoll(value());
    else if (k == "--seed") a.seed = std::stoull(value());
    else throw fresco::Error(fmt::format("train_mlp: unknown argument '{}' (expected --steps, --hidden or --seed)", k));
  }
  if (a.steps < 1 || a.hidden < 1) throw fresco::Error("train_mlp: --steps and --hidden must be positive");
  return a;
}

// Two hidden layers of tanh units: [N, 2] -> [N, 1].
class Mlp : public fresco::nn::Module {
public:
  explicit Mlp(int64_t hidden) : fc1(2, hidden), fc2(hidden, hidden), out(hidden, 1) {
    register_module("fc1", fc1);
    register_module("fc2", fc2);
    register_module("out", out);
  }
  fresco::Tensor forward(const fresco::Tensor& x) {
    return out(fresco::tanh(fc2(fresco::tanh(fc1(x)))));
  }
  fresco::nn::Linear fc1, fc2, out;
};

}  // namespace

int main(int argc, char** argv) try {
  const Args args = parse_args(argc, argv);
  fresco::manual_seed(args.seed);

  // 1024 training points and their targets.
  const int64_t n = 1024;
  fresco::Tensor x = fresco::uniform({n, 2}, -1.f, 1.f);
  std::vector<float> xv = x.to_vector(), yv(n);
  for (int64_t i = 0; i < n; ++i) yv[i] = std::sin(3 * xv[2 * i]) * std::cos(2 * xv[2 * i + 1]);
  fresco::Tensor y = fresco::tensor(yv, {n, 1});

  Mlp model(args.hidden);
  fresco::optim::Adam opt(model.parameters(), {.lr = 1e-2f});
  fmt::print("MLP 2 -> {} -> {} -> 1 ({} parameters), {} points, Adam lr 1e-2, {} steps\n", args.hidden, args.hidden,
             model.num_parameters(), n, args.steps);

  const auto start = std::chrono::steady_clock::now();
  float first = 0, last = 0;
  for (int step = 0; step < args.steps; ++step) {
    fresco::Tensor loss = fresco::mse_loss(model.forward(x), y);
    opt.zero_grad();
    loss.backward();
    opt.step();
    last = loss.item();
    if (step == 0) first = last;
    if (step == args.steps * 2 / 3) opt.set_lr(2e-3f);  // a late, smaller step settles the fit
    if (step % 100 == 0 || step + 1 == args.steps)
      fmt::print("step {:5d}  loss {:.6f}\n", step, last);
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double ratio = first / std::max(last, 1e-12f);
  fmt::print("loss fell from {:.6f} to {:.6f}: {:.0f}x in {:.2f} s\n", first, last, ratio, seconds);
  return ratio >= 100 ? 0 : 1;
} catch (const std::exception& e) {
  fmt::print(stderr, "train_mlp: {}\n", e.what());
  return 2;
}
