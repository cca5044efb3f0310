// SPDX-License-Identifier: Apache-2.0
// Trains the evaluation classifier on Fashion-MNIST or Shapes, prints the test
// accuracy per head and the time taken, and saves the classifier.
//
//   train_classifier --dataset fashion-mnist --minutes 5 --out fashion_classifier.safetensors
//   train_classifier --dataset shapes --minutes 5 --out shapes_classifier.safetensors
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>

#include <fresco/fresco.hpp>

namespace {

void usage() {
  std::fprintf(stderr,
               "usage: train_classifier --dataset fashion-mnist|shapes [--minutes M] [--epochs E] [--out FILE]\n"
               "                        [--width W] [--batch B] [--lr LR] [--seed S] [--flip] [--train-size N]\n"
               "                        [--fashion-root DIR] [--threads T]\n");
}

std::string load_average() {
  std::ifstream f("/proc/loadavg");
  std::string a, b, c;
  f >> a >> b >> c;
  return f ? a + " " + b + " " + c : "unknown";
}

}  // namespace

int main(int argc, char** argv) {
  std::string dataset, out, fashion_root = "/usr/share/datasets/fashion-mnist";
  double minutes = 0;
  int64_t epochs = 0, width = 16, batch = 64, train_size = 60000, threads = 0;
  float lr = 3e-3f;
  uint64_t seed = 0;
  bool flip = false;
  try {
    for (int i = 1; i < argc; ++i) {
      const std::string a = argv[i];
      auto value = [&]() -> std::string {
        if (i + 1 >= argc) throw fresco::Error("train_classifier: " + a + " needs a value");
        return argv[++i];
      };
      if (a == "--dataset") dataset = value();
      else if (a == "--minutes") minutes = std::stod(value());
      else if (a == "--epochs") epochs = std::stoll(value());
      else if (a == "--out") out = value();
      else if (a == "--width") width = std::stoll(value());
      else if (a == "--batch") batch = std::stoll(value());
      else if (a == "--lr") lr = std::stof(value());
      else if (a == "--seed") seed = std::stoull(value());
      else if (a == "--train-size") train_size = std::stoll(value());
      else if (a == "--fashion-root") fashion_root = value();
      else if (a == "--threads") threads = std::stoll(value());
      else if (a == "--flip") flip = true;
      else if (a == "--help" || a == "-h") return usage(), 0;
      else throw fresco::Error("train_classifier: unknown argument '" + a + "'");
    }
    if (dataset != "fashion-mnist" && dataset != "shapes") {
      usage();
      return 2;
    }
    if (minutes <= 0 && epochs <= 0) minutes = 5;
    if (out.empty()) out = dataset == "shapes" ? "shapes_classifier.safetensors" : "fashion_classifier.safetensors";
    if (threads > 0) fresco::set_num_threads(static_cast<int>(threads));
    fresco::manual_seed(seed);

    std::shared_ptr<fresco::data::Dataset> train, test, compositional;
    fresco::eval::ClassifierConfig config{.width = width};
    std::vector<std::string> head_names;
    if (dataset == "fashion-mnist") {
      train = std::make_shared<fresco::data::FashionMnistDataset>(fresco::data::FashionMnist(
          {.root = fashion_root, .split = "train", .pad_to_32 = true, .limit = std::min<int64_t>(train_size, 60000)}));
      test = std::make_shared<fresco::data::FashionMnistDataset>(
          fresco::data::FashionMnist({.root = fashion_root, .split = "test", .pad_to_32 = true}));
      config.channels = 1;
      config.heads = {10};
      head_names = {"class"};
    } else {
      // Single-object scenes: each attribute of the scene is then well defined.
      // The test split is drawn from an independent stream with another seed.
      // The classifier is the yardstick, not the model under test: it trains on
      // every (colour, shape) pair, so that it judges held-out pairs as well as
      // the others (trained without them, it confuses their colour and shape).
      auto shapes = [](int64_t size, uint64_t s, const char* split, bool all_pairs = false) {
        fresco::data::ShapesOptions o{.size = size, .seed = s, .split = split, .two_object_fraction = 0.f};
        if (all_pairs) o.held_out.clear();
        return std::make_shared<fresco::data::ShapesDataset>(fresco::data::Shapes(o));
      };
      train = shapes(train_size, seed + 1, "train", true);
      test = shapes(10000, seed + 1000003, "test");
      compositional = shapes(2000, seed + 2000003, "compositional");
      config.channels = 3;
      config.heads = {4, 6, 2, 9};
      head_names = fresco::data::Shapes::attribute_names();
    }
    config.image_size = 32;
    fresco::eval::Classifier model(config);
    fmt::print("train_classifier: {} ({} train, {} test images), {} parameters, {} threads, load average {}\n",
               dataset, train->size(), test->size(), model.num_parameters(), fresco::num_threads(), load_average());
    fmt::print("budget: {}\n", epochs > 0 ? fmt::format("{} epochs", epochs) : fmt::format("{} minutes", minutes));
    std::fflush(stdout);

    const fresco::eval::ClassifierReport r = fresco::eval::train_classifier(
        model, train, test,
        {.epochs = epochs, .minutes = epochs > 0 ? 0 : minutes, .lr = lr, .batch_size = batch, .seed = seed,
         .horizontal_flip = flip, .log_every = 100});
    fmt::print("trained {} steps ({:.2f} epochs) in {:.1f} s ({:.2f} min); evaluated in {:.1f} s; load average {}\n",
               r.steps, r.epochs, r.train_seconds, r.train_seconds / 60, r.eval_seconds, load_average());
    for (size_t h = 0; h < head_names.size(); ++h)
      fmt::print("test accuracy {:>9}: {:.2f}%\n", head_names[h], 100 * r.test_accuracy[h]);
    if (compositional) {
      const std::vector<double> acc = fresco::eval::evaluate_classifier(model, compositional);
      for (size_t h = 0; h < head_names.size(); ++h)
        fmt::print("held-out combinations accuracy {:>9}: {:.2f}%\n", head_names[h], 100 * acc[h]);
    }
    model.save(out);
    fmt::print("saved {}\n", out);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  return 0;
}
