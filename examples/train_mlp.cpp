// SPDX-License-Identifier: Apache-2.0
// A 2-layer MLP learns a nonlinear function of two inputs,
//   f(x, y) = sin(3x) · cos(2y) on [-1, 1]²,
// with fresco alone: tensors, autograd, Linear layers and Adam. Prints the
// loss as it falls and exits non-zero unless it fell by at least 100×.
//
//   usage: train_mlp [--steps N] [--hidden H] [--seed S]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <string>
#include <vector>

#include <fresco/fresco.hpp>

#include "common/cli.hpp"

namespace {

namespace cli = fresco::cli;

struct Args {
  int steps = 1500;
  int64_t hidden = 64;
  uint64_t seed = 0;
};

void add_options(CLI::App& app, Args& a) {
  cli::add_number(app, "--steps", a.steps, "Adam steps")->check(cli::positive());
  cli::add_number(app, "--hidden", a.hidden, "units in each hidden layer")->check(cli::positive());
  cli::add_number(app, "--seed", a.seed, "seed of the points and the initialisation");
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

// n training points in [-1, 1]² [n, 2] and their targets f(x, y) [n, 1].
std::pair<fresco::Tensor, fresco::Tensor> make_data(int64_t n) {
  fresco::Tensor x = fresco::uniform({n, 2}, -1.f, 1.f);
  std::vector<float> xv = x.to_vector(), yv(n);
  for (int64_t i = 0; i < n; ++i) yv[i] = std::sin(3 * xv[2 * i]) * std::cos(2 * xv[2 * i + 1]);
  return {x, fresco::tensor(yv, {n, 1})};
}

int train(const Args& args) {
  fresco::manual_seed(args.seed);
  const int64_t n = 1024;
  const auto [x, y] = make_data(n);
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
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"A 2-layer MLP learns f(x, y) = sin(3x) · cos(2y) on [-1, 1]² with fresco alone: tensors,\n"
               "autograd, Linear layers and Adam. Prints the loss as it falls and exits with status 1\n"
               "unless it fell by at least 100x.",
               "train_mlp"};
  Args args;
  add_options(app, args);
  return cli::run(app, argc, argv, [&] { return train(args); });
}
