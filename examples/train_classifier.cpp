// SPDX-License-Identifier: Apache-2.0
// Trains the evaluation classifier on Fashion-MNIST or Shapes, prints the test
// accuracy per head and the time taken, and saves the classifier.
//
//   train_classifier --dataset fashion-mnist --minutes 5 --out fashion_classifier.safetensors
//   train_classifier --dataset shapes --minutes 5 --out shapes_classifier.safetensors
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <fresco/fresco.hpp>

#include "common/cli.hpp"

namespace {

namespace cli = fresco::cli;

struct Args {
  std::string dataset, out, fashion_root = "/usr/share/datasets/fashion-mnist";
  double minutes = 0;  // 0 with --epochs 0: 5 minutes
  int64_t epochs = 0, width = 16, batch = 64, train_size = 60000, threads = 0;
  float lr = 3e-3f;
  uint64_t seed = 0;
  bool flip = false;
};

void add_options(CLI::App& app, Args& a) {
  app.add_option("--dataset", a.dataset, "the real images to learn")
      ->required()
      ->check(CLI::IsMember({"fashion-mnist", "shapes"}));
  cli::add_number(app, "--minutes", a.minutes, "training time budget; 0 with --epochs 0: 5 minutes")
      ->check(cli::non_negative());
  cli::add_number(app, "--epochs", a.epochs, "passes over the training set instead of a time budget (0: none)")
      ->check(cli::non_negative());
  app.add_option("--out", a.out,
                 "the classifier file (default shapes_classifier.safetensors or fashion_classifier.safetensors)");
  cli::add_number(app, "--width", a.width, "channels of the first convolution")->check(cli::positive());
  cli::add_number(app, "--batch", a.batch, "images per step")->check(cli::positive());
  cli::add_number(app, "--lr", a.lr, "peak AdamW learning rate")->check(cli::positive());
  cli::add_number(app, "--seed", a.seed, "seed of the initialisation, the shuffling, the flips and the Shapes scenes");
  app.add_flag("--flip", a.flip, "mirror training images left-right at random (Fashion-MNIST)");
  cli::add_number(app, "--train-size", a.train_size, "training images (Fashion-MNIST: at most 60000)")
      ->check(cli::positive());
  app.add_option("--fashion-root", a.fashion_root, "where the Fashion-MNIST files are")->check(CLI::ExistingDirectory);
  cli::add_number(app, "--threads", a.threads, "threads (0: as many as OpenMP sees)")->check(cli::non_negative());
}

std::string load_average() {
  std::ifstream f("/proc/loadavg");
  std::string a, b, c;
  f >> a >> b >> c;
  return f ? a + " " + b + " " + c : "unknown";
}

// The datasets of a run and the classifier's shape for them.
struct Task {
  std::shared_ptr<fresco::data::Dataset> train, test, compositional;  // compositional: Shapes only
  fresco::eval::ClassifierConfig config;
  std::vector<std::string> head_names;
};

Task fashion_mnist_task(const Args& a) {
  Task t;
  t.train = std::make_shared<fresco::data::FashionMnistDataset>(fresco::data::FashionMnist(
      {.root = a.fashion_root, .split = "train", .pad_to_32 = true, .limit = std::min<int64_t>(a.train_size, 60000)}));
  t.test = std::make_shared<fresco::data::FashionMnistDataset>(
      fresco::data::FashionMnist({.root = a.fashion_root, .split = "test", .pad_to_32 = true}));
  t.config.channels = 1;
  t.config.heads = {10};
  t.head_names = {"class"};
  return t;
}

// Single-object scenes: each attribute of the scene is then well defined.
// The test split is drawn from an independent stream with another seed.
// The classifier is the yardstick, not the model under test: it trains on
// every (colour, shape) pair, so that it judges held-out pairs as well as
// the others (trained without them, it confuses their colour and shape).
Task shapes_task(const Args& a) {
  auto shapes = [](int64_t size, uint64_t s, const char* split, bool all_pairs = false) {
    fresco::data::ShapesOptions o{.size = size, .seed = s, .split = split, .two_object_fraction = 0.f};
    if (all_pairs) o.held_out.clear();
    return std::make_shared<fresco::data::ShapesDataset>(fresco::data::Shapes(o));
  };
  Task t;
  t.train = shapes(a.train_size, a.seed + 1, "train", true);
  t.test = shapes(10000, a.seed + 1000003, "test");
  t.compositional = shapes(2000, a.seed + 2000003, "compositional");
  t.config.channels = 3;
  t.config.heads = {4, 6, 2, 9};
  t.head_names = fresco::data::Shapes::attribute_names();
  return t;
}

fresco::eval::TrainClassifierOptions classifier_options(const Args& a) {
  return {.epochs = a.epochs, .minutes = a.epochs > 0 ? 0 : a.minutes, .lr = a.lr, .batch_size = a.batch,
          .seed = a.seed, .horizontal_flip = a.flip, .log_every = 100, .on_progress = fresco::progress_bar()};
}

void print_accuracy(const fresco::eval::ClassifierReport& r, fresco::eval::Classifier& model, const Task& task) {
  fmt::print("trained {} steps ({:.2f} epochs) in {:.1f} s ({:.2f} min); evaluated in {:.1f} s; load average {}\n",
             r.steps, r.epochs, r.train_seconds, r.train_seconds / 60, r.eval_seconds, load_average());
  for (size_t h = 0; h < task.head_names.size(); ++h)
    fmt::print("test accuracy {:>9}: {:.2f}%\n", task.head_names[h], 100 * r.test_accuracy[h]);
  if (task.compositional) {
    const std::vector<double> acc = fresco::eval::evaluate_classifier(model, task.compositional);
    for (size_t h = 0; h < task.head_names.size(); ++h)
      fmt::print("held-out combinations accuracy {:>9}: {:.2f}%\n", task.head_names[h], 100 * acc[h]);
  }
}

int train(Args a) {
  if (a.minutes <= 0 && a.epochs <= 0) a.minutes = 5;
  if (a.out.empty()) a.out = a.dataset == "shapes" ? "shapes_classifier.safetensors" : "fashion_classifier.safetensors";
  if (a.threads > 0) fresco::set_num_threads(static_cast<int>(a.threads));
  fresco::manual_seed(a.seed);

  Task task = a.dataset == "fashion-mnist" ? fashion_mnist_task(a) : shapes_task(a);
  task.config.width = a.width;
  task.config.image_size = 32;
  fresco::eval::Classifier model(task.config);
  fmt::print("train_classifier: {} ({} train, {} test images), {} parameters, {} threads, load average {}\n",
             a.dataset, task.train->size(), task.test->size(), model.num_parameters(), fresco::num_threads(),
             load_average());
  fmt::print("budget: {}\n", a.epochs > 0 ? fmt::format("{} epochs", a.epochs) : fmt::format("{} minutes", a.minutes));
  std::fflush(stdout);

  const fresco::eval::ClassifierReport r =
      fresco::eval::train_classifier(model, task.train, task.test, classifier_options(a));
  print_accuracy(r, model, task);
  model.save(a.out);
  fmt::print("saved {}\n", a.out);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Trains the evaluation classifier on Fashion-MNIST or Shapes, prints the test accuracy per head\n"
               "and the time taken, and saves the classifier.",
               "train_classifier"};
  app.footer(
      "Examples:\n"
      "  train_classifier --dataset fashion-mnist --minutes 5 --out fashion_classifier.safetensors\n"
      "  train_classifier --dataset shapes --minutes 5 --out shapes_classifier.safetensors");
  Args args;
  add_options(app, args);
  return cli::run(app, argc, argv, [&] { return train(args); });
}
