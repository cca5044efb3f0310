// SPDX-License-Identifier: Apache-2.0
// Evaluates a trained text-to-image model with a classifier trained on real
// images of the same dataset: conditional accuracy per attribute (seen and
// held-out prompts), the Fréchet distance of classifier features to real test
// images with its real-vs-real floor, and diversity. Prints a table, then JSON.
//
//   evaluate --model shapes_model.safetensors --classifier shapes_classifier.safetensors --dataset shapes
//   evaluate --model fashion_model.safetensors --classifier fashion_classifier.safetensors
//            --dataset fashion-mnist --samples 2000 --json metrics.json   (one line)
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>

#include <fresco/fresco.hpp>
#include <fresco/eval/evaluate.hpp>
#include <fresco/gan/text_to_image.hpp>

namespace {

void usage() {
  std::fprintf(stderr,
               "usage: evaluate --model FILE --classifier FILE --dataset shapes|fashion-mnist\n"
               "                [--samples N] [--seed S] [--batch B] [--json OUT.json] [--fashion-root DIR]\n");
}

void require_file(const std::string& path, const std::string& what, const std::string& hint) {
  if (path.empty()) throw fresco::Error("evaluate: --" + what + " FILE is required (" + hint + ")");
  if (!std::filesystem::is_regular_file(path))
    throw fresco::IoError("evaluate: " + what + " file '" + path + "' does not exist (" + hint + ")");
}

}  // namespace

int main(int argc, char** argv) {
  std::string model_path, classifier_path, dataset, json_path;
  fresco::eval::EvaluateOptions options;
  try {
    for (int i = 1; i < argc; ++i) {
      const std::string a = argv[i];
      auto value = [&]() -> std::string {
        if (i + 1 >= argc) throw fresco::Error("evaluate: " + a + " needs a value");
        return argv[++i];
      };
      if (a == "--model") model_path = value();
      else if (a == "--classifier") classifier_path = value();
      else if (a == "--dataset") dataset = value();
      else if (a == "--samples") options.samples = std::stoll(value());
      else if (a == "--seed") options.seed = std::stoull(value());
      else if (a == "--batch") options.batch = std::stoll(value());
      else if (a == "--json") json_path = value();
      else if (a == "--fashion-root") options.fashion_mnist_root = value();
      else if (a == "--help" || a == "-h") return usage(), 0;
      else throw fresco::Error("evaluate: unknown argument '" + a + "'");
    }
    if (dataset.empty()) {
      usage();
      return 2;
    }
    const auto kind = fresco::eval::parse_dataset_kind(dataset);
    require_file(model_path, "model", "train one with train_text2image");
    require_file(classifier_path, "classifier", "train one with train_classifier --dataset " + dataset);

    auto model = fresco::gan::TextToImage::load(model_path);
    auto classifier = fresco::eval::Classifier::load(classifier_path);
    const auto generate = [&model](const std::vector<std::string>& captions, uint64_t seed) {
      return model.generate(captions, seed);
    };
    std::fprintf(stderr, "evaluating %s on %s: %lld prompts...\n", model_path.c_str(), dataset.c_str(),
                 static_cast<long long>(options.samples));
    const auto report = fresco::eval::evaluate_text_to_image(generate, *classifier, kind, options);
    std::cout << report.to_table() << "\n" << report.to_json() << "\n";
    if (!json_path.empty()) {
      std::ofstream out(json_path);
      out << report.to_json() << "\n";
      if (!out) throw fresco::IoError("evaluate: cannot write '" + json_path + "'");
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  return 0;
}
