// SPDX-License-Identifier: Apache-2.0
// Evaluates a trained text-to-image model with a classifier trained on real
// images of the same dataset: conditional accuracy per attribute (seen and
// held-out prompts), the Fréchet distance of classifier features to real test
// images with its real-vs-real floor, and diversity; on Shapes, when the
// classifier file holds a cell judge (train_classifier --dataset shapes stores
// one), prompts naming two objects, scored beside real scenes of the same
// prompts. Prints a table, then JSON.
//
//   evaluate --model shapes_model.safetensors --classifier shapes_classifier.safetensors --dataset shapes
//   evaluate --model fashion_model.safetensors --classifier fashion_classifier.safetensors
//            --dataset fashion-mnist --samples 2000 --json metrics.json   (one line)
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include <fresco/fresco.hpp>
#include <fresco/eval/evaluate.hpp>
#include <fresco/text_to_image.hpp>

#include "common/cli.hpp"
#include "common/sampling.hpp"

namespace {

namespace cli = fresco::cli;

struct Args {
  std::string model, classifier, dataset, json;
  fresco::eval::EvaluateOptions options;
  fresco::cli::SamplingArgs sampling;
};

void add_options(CLI::App& app, Args& a) {
  app.add_option("--model", a.model, "the text-to-image model (OUT/model.safetensors of train_text2image)")
      ->required()
      ->check(cli::existing_file("train one with train_text2image"));
  app.add_option("--classifier", a.classifier, "the judging classifier, trained on the same dataset")
      ->required()
      ->check(cli::existing_file("train one with train_classifier --dataset shapes|fashion-mnist"));
  // "fashion_mnist" reads as "fashion-mnist", as eval::parse_dataset_kind reads it.
  app.add_option("--dataset", a.dataset, "the dataset the model and the classifier were trained on")
      ->required()
      ->check(CLI::IsMember({"shapes", "fashion-mnist"}, [](std::string name) {
        std::replace(name.begin(), name.end(), '_', '-');
        return name;
      }));
  cli::add_number(app, "--samples", a.options.samples,
                  "prompts (generated images) for accuracy and the Fréchet distance")
      ->check(cli::at_least(4));
  cli::add_number(app, "--seed", a.options.seed,
                  "seed of the prompts, the generator's seeds and the real images picked");
  cli::add_number(app, "--batch", a.options.batch, "captions per call of the generator")->check(cli::positive());
  cli::add_number(app, "--two-object-samples", a.options.two_object_samples,
                  "Shapes: prompts naming two objects, judged cell by cell (0: none)")
      ->check(cli::non_negative());
  app.add_option("--json", a.json, "also write the JSON report to this file");
  app.add_option("--fashion-root", a.options.fashion_mnist_root, "where the Fashion-MNIST files are")
      ->check(CLI::ExistingDirectory);
  cli::add_sampling_options(app, a.sampling);
}

void write_json(const fresco::eval::EvaluationReport& report, const std::string& path) {
  std::ofstream out(path);
  out << report.to_json() << "\n";
  if (!out) throw fresco::IoError("evaluate: cannot write '" + path + "'");
}

int evaluate(const Args& a) {
  const auto kind = fresco::eval::parse_dataset_kind(a.dataset);
  auto model = fresco::load_text_to_image(a.model);
  cli::apply_sampling(*model, a.sampling, a.model);
  const auto generate = [&model](const std::vector<std::string>& captions, uint64_t seed) {
    return model->generate(captions, seed);
  };
  auto judges = fresco::eval::load_judges(a.classifier);
  auto options = a.options;
  if (kind == fresco::eval::DatasetKind::shapes && !judges.cell && options.two_object_samples > 0) {
    std::fprintf(stderr, "%s has no cell judge: no two-object evaluation (train_classifier --dataset shapes "
                         "stores one)\n", a.classifier.c_str());
    options.two_object_samples = 0;
  }
  std::fprintf(stderr, "evaluating %s on %s: %lld prompts...\n", a.model.c_str(), a.dataset.c_str(),
               static_cast<long long>(a.options.samples));
  options.on_progress = fresco::progress_bar();
  const auto report = fresco::eval::evaluate_text_to_image(
      generate, fresco::eval::judge_of(*judges.scene, judges.cell.get()), kind, options);
  std::cout << report.to_table() << "\n" << report.to_json() << "\n";
  if (!a.json.empty()) write_json(report, a.json);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Evaluates a trained text-to-image model with a classifier trained on real images of the same\n"
               "dataset: conditional accuracy per attribute (seen and held-out prompts), the Fréchet distance\n"
               "of classifier features to real test images with its real-vs-real floor, and diversity; on\n"
               "Shapes with a cell judge in the classifier file, prompts naming two objects beside real scenes.\n"
               "Prints a table, then JSON.",
               "evaluate"};
  app.footer(
      "Examples:\n"
      "  evaluate --model shapes_model.safetensors --classifier shapes_classifier.safetensors --dataset shapes\n"
      "  evaluate --model fashion_model.safetensors --classifier fashion_classifier.safetensors \\\n"
      "           --dataset fashion-mnist --samples 2000 --json metrics.json");
  Args args;
  add_options(app, args);
  return cli::run(app, argc, argv, [&] { return evaluate(args); });
}
