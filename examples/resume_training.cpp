// SPDX-License-Identifier: Apache-2.0
// Trains a small CNN (Conv2d, BatchNorm2d, pooling, Linear) on a synthetic
// "where is the bright square" task and a small transformer on sorting digit
// sequences, both with AdamW. Each is trained twice: once straight through,
// and once stopped half way, saved (model + optimizer), reloaded into a fresh
// model and continued. The losses of the second half must be identical.
//
//     resume_training [steps_per_half]      (default 60)
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <fresco/fresco.hpp>

#include "common/cli.hpp"

using namespace fresco;

namespace {

namespace cli = fresco::cli;

// ---- the CNN task: 4 classes, a bright 4x4 square in one quadrant of a noisy 16x16 image

struct Cnn : nn::Module {
  nn::Conv2d conv1{1, 8, 3, {.stride = 1, .padding = 1}};
  nn::BatchNorm2d bn1{8};
  nn::Conv2d conv2{8, 16, 3, {.stride = 1, .padding = 1}};
  nn::BatchNorm2d bn2{16};
  nn::Linear head{16 * 4 * 4, 4};
  nn::MaxPool2d pool{2};
  Cnn() {
    register_module("conv1", conv1);
    register_module("bn1", bn1);
    register_module("conv2", conv2);
    register_module("bn2", bn2);
    register_module("head", head);
  }
  Tensor forward(const Tensor& x) {
    Tensor h = pool(relu(bn1(conv1(x))));   // [B, 8, 8, 8]
    h = pool(relu(bn2(conv2(h))));          // [B, 16, 4, 4]
    return head(h.flatten(1));
  }
};

// Batch `step` is a pure function of the step, so both runs see the same data.
std::pair<Tensor, std::vector<int64_t>> cnn_batch(int64_t step, int64_t B = 32) {
  Generator g(1000 + static_cast<uint64_t>(step));
  std::vector<float> x(static_cast<size_t>(B * 16 * 16));
  std::vector<int64_t> y(static_cast<size_t>(B));
  for (int64_t b = 0; b < B; ++b) {
    const int64_t q = static_cast<int64_t>(g.below(4));
    y[static_cast<size_t>(b)] = q;
    for (int64_t i = 0; i < 256; ++i) x[static_cast<size_t>(b * 256 + i)] = 0.3f * g.normal();
    const int64_t oy = (q / 2) * 8 + static_cast<int64_t>(g.below(5)), ox = (q % 2) * 8 + static_cast<int64_t>(g.below(5));
    for (int64_t dy = 0; dy < 4; ++dy)
      for (int64_t dx = 0; dx < 4; ++dx) x[static_cast<size_t>(b * 256 + (oy + dy) * 16 + ox + dx)] += 1.f;
  }
  return {tensor(std::move(x), {B, 1, 16, 16}), std::move(y)};
}

// ---- the transformer task: sort 8 digits

constexpr int64_t kVocab = 10, kLen = 8, kDim = 32;

struct Sorter : nn::Module {
  nn::Embedding embed{kVocab, kDim};
  nn::PositionalEncoding pos{kDim, {kLen}, {.kind = nn::PositionalEncodingKind::learned}};
  nn::ModuleList<nn::TransformerBlock> blocks;
  nn::LayerNorm ln{{kDim}};
  nn::Linear head{kDim, kVocab};
  Sorter() {
    register_module("embed", embed);
    register_module("pos", pos);
    register_module("blocks", blocks);
    for (int i = 0; i < 2; ++i) blocks.emplace_back(kDim, 4);
    register_module("ln", ln);
    register_module("head", head);
  }
  Tensor forward(const std::vector<int64_t>& ids, int64_t B) {
    Tensor x = pos(embed(ids, {B, kLen}));
    for (auto& block : blocks) x = block(x);
    return head(ln(x));   // [B, T, V]
  }
};

std::pair<std::vector<int64_t>, std::vector<int64_t>> sort_batch(int64_t step, int64_t B = 32) {
  Generator g(5000 + static_cast<uint64_t>(step));
  std::vector<int64_t> x(static_cast<size_t>(B * kLen)), y;
  for (auto& v : x) v = static_cast<int64_t>(g.below(kVocab));
  y = x;
  for (int64_t b = 0; b < B; ++b) std::sort(y.begin() + b * kLen, y.begin() + (b + 1) * kLen);
  return {x, y};
}

// ---- training with a save/reload in the middle

template <class Model, class StepFn>
std::vector<float> train(Model& model, optim::AdamW& opt, int64_t begin, int64_t end, StepFn loss_at) {
  std::vector<float> losses;
  for (int64_t s = begin; s < end; ++s) {
    Tensor loss = loss_at(model, s);
    losses.push_back(loss.item());
    loss.backward();
    optim::clip_grad_norm(model.parameters(), 1.f);
    opt.step();
    opt.zero_grad();
  }
  return losses;
}

template <class Model, class StepFn>
bool run_task(const char* name, int64_t half, StepFn loss_at, const std::string& dir) {
  std::printf("== %s\n", name);
  manual_seed(1);
  Model straight;
  optim::AdamW opt_a(straight.parameters(), {.lr = 3e-3f, .weight_decay = 1e-2f});
  std::vector<float> a = train(straight, opt_a, 0, 2 * half, loss_at);

  manual_seed(1);
  std::vector<float> b;
  {
    Model first;
    optim::AdamW opt(first.parameters(), {.lr = 3e-3f, .weight_decay = 1e-2f});
    b = train(first, opt, 0, half, loss_at);
    io::save(first, dir + "/model.safetensors");
    io::save(opt, dir + "/optimizer.safetensors");
  }
  manual_seed(12345);   // a different initialisation, overwritten by the checkpoint
  Model resumed;
  optim::AdamW opt_c(resumed.parameters(), {.lr = 3e-3f, .weight_decay = 1e-2f});
  io::load(resumed, dir + "/model.safetensors");
  io::load(opt_c, dir + "/optimizer.safetensors");
  std::vector<float> c = train(resumed, opt_c, half, 2 * half, loss_at);
  b.insert(b.end(), c.begin(), c.end());

  bool identical = a == b;
  for (int64_t s = 0; s < 2 * half; s += std::max<int64_t>(1, half / 4))
    std::printf("  step %4lld  loss %.6f  resumed %.6f\n", static_cast<long long>(s), a[s], b[s]);
  std::printf("  final loss %.6f (first %.6f); resumed run identical to the uninterrupted one: %s\n", a.back(),
              a.front(), identical ? "yes" : "NO");
  return identical;
}

// The CNN's loss at step s.
Tensor cnn_loss(Cnn& m, int64_t s) {
  auto [x, y] = cnn_batch(s);
  return cross_entropy(m.forward(x), y);
}

// The sorter's loss at step s.
Tensor sort_loss(Sorter& m, int64_t s) {
  auto [x, y] = sort_batch(s);
  return cross_entropy(m.forward(x, 32).reshape({32 * kLen, kVocab}), y);
}

int run_both(int64_t half) {
  const std::string dir = (std::filesystem::temp_directory_path() / "fresco-resume-training").string();
  std::filesystem::create_directories(dir);
  bool ok = run_task<Cnn>("CNN: bright-square quadrant (Conv2d, BatchNorm2d, MaxPool2d, Linear)", half, cnn_loss, dir);
  ok = run_task<Sorter>("Transformer: sort 8 digits (2 blocks, d = 32, 4 heads)", half, sort_loss, dir) && ok;
  std::filesystem::remove_all(dir);
  return ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Trains a small CNN (Conv2d, BatchNorm2d, pooling, Linear) on a synthetic \"where is the bright\n"
               "square\" task and a small transformer on sorting digit sequences, both with AdamW. Each is\n"
               "trained twice: once straight through, and once stopped half way, saved (model + optimizer),\n"
               "reloaded into a fresh model and continued. The losses of the second half must be identical;\n"
               "the exit status is 1 if they are not.",
               "resume_training"};
  int64_t half = 60;
  cli::add_number(app, "steps_per_half", half, "training steps before the save, and again after it")
      ->check(cli::positive());
  return cli::run(app, argc, argv, [&] { return run_both(half); });
}
