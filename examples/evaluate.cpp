// SPDX-License-Identifier: Apache-2.0
// Evaluates a trained text-to-image model with a classifier trained on real
// images of the same dataset: conditional accuracy per attribute (seen and
// held-out prompts), the Fréchet distance of classifier features to real test
// images with its real-vs-real floor, and diversity; on Shapes, when the
// classifier file holds a cell judge (train_classifier --dataset shapes stores
// one), prompts naming two objects, scored beside real scenes of the same
// prompts. Prints a table, then JSON. A text-to-video model (--dataset
// moving-shapes) is read clip by clip: a frame judge and the object's path.
//
//   evaluate --model shapes_model.safetensors --classifier shapes_classifier.safetensors --dataset shapes
//   evaluate --model fashion_model.safetensors --classifier fashion_classifier.safetensors
//            --dataset fashion-mnist --samples 2000 --json metrics.json   (one line)
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <fresco/fresco.hpp>
#include <fresco/eval/evaluate.hpp>
#include <fresco/text_to_image.hpp>
#include <fresco/vq/text_to_video.hpp>

#include "common/cli.hpp"
#include "common/sampling.hpp"

namespace {

namespace cli = fresco::cli;

struct Args {
  std::string model, classifier, dataset, json;
  // Folders: the JSONL captions file with the labels, the label keys (the classifier's heads),
  // the held-out list, and the image-text encoder of the caption-retrieval precision.
  std::string captions_file, labels, held_out, retrieval;
  int64_t candidates = 100;
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
  app.add_option("--dataset", a.dataset,
                 "the dataset the model and the classifier were trained on: shapes, fashion-mnist, folder:DIR, or "
                 "moving-shapes for a text-to-video model (with the frame judge of train_classifier --dataset "
                 "moving-shapes)")
      ->required()
      ->transform([](std::string name) {
        if (name.rfind("folder:", 0) != 0) std::replace(name.begin(), name.end(), '_', '-');
        return name;
      })
      ->check(cli::dataset_name({"shapes", "fashion-mnist", "moving-shapes"}, "folder:", "DIR", CLI::ExistingDirectory));
  app.add_option("--captions-file", a.captions_file,
                 "folders: the JSONL file with the labels, relative to DIR (as train_classifier read it)");
  app.add_option("--labels", a.labels,
                 "folders: the JSONL keys of the classifier's heads, in its order (as train_classifier --labels)");
  app.add_option("--held-out", a.held_out,
                 "folders: the list of held-out images (scripts/fetch-emoji.sh writes heldout.txt); their captions "
                 "are the held-out prompts")
      ->check(CLI::ExistingFile);
  app.add_option("--retrieval", a.retrieval,
                 "folders: an image-text encoder (train_classifier --retrieval) for the caption-retrieval precision")
      ->check(cli::existing_file("train one with train_classifier --retrieval"));
  cli::add_number(app, "--candidates", a.candidates, "captions each image is ranked among for the retrieval precision")
      ->check(cli::at_least(2));
  cli::add_number(app, "--samples", a.options.samples,
                  "prompts (generated images) for accuracy and the Fréchet distance")
      ->check(cli::at_least(4));
  cli::add_number(app, "--seed", a.options.seed,
                  "seed of the prompts, the generator's seeds and the real images picked");
  cli::add_number(app, "--batch", a.options.batch, "captions per call of the generator")->check(cli::positive());
  cli::add_number(app, "--two-object-samples", a.options.two_object_samples,
                  "Shapes: prompts naming two objects, judged cell by cell (0: none)")
      ->check(cli::non_negative());
  cli::add_number(app, "--diversity-captions", a.options.diversity_captions,
                  "captions the diversity is measured over (the first seen prompts; more captions, a steadier "
                  "figure)")
      ->check(cli::positive());
  cli::add_number(app, "--diversity-images", a.options.diversity_images,
                  "images of each of those captions, generated and real")
      ->check(cli::at_least(2));
  app.add_option("--json", a.json, "also write the JSON report to this file");
  app.add_option("--fashion-root", a.options.fashion_mnist_root, "where the Fashion-MNIST files are")
      ->check(CLI::ExistingDirectory);
  cli::add_sampling_options(app, a.sampling);
}

template <class Report>
void write_json(const Report& report, const std::string& path) {
  std::ofstream out(path);
  out << report.to_json() << "\n";
  if (!out) throw fresco::IoError("evaluate: cannot write '" + path + "'");
}

// A folder's entries with their labels: the seen ones (the held-out list left out) and the held-out ones.
fresco::eval::DatasetPrompts folder_prompts(const Args& a, int64_t image_size) {
  if (a.labels.empty())
    throw CLI::ValidationError("--labels", "a folder needs the classifier's label keys, e.g. --labels "
                                           "category,subcategory,skin_tone --captions-file metadata.jsonl");
  const auto keys = cli::split_list(a.labels, "--labels");
  const std::string root = a.dataset.substr(7);
  const fresco::data::ImageFolderOptions base{.root = root, .image_size = image_size, .channels = 3,
                                              .captions_file = a.captions_file, .label_keys = keys};
  fresco::eval::DatasetPrompts p;
  p.name = a.dataset;
  p.heads = keys;
  auto seen_options = base;
  seen_options.exclude_file = a.held_out;
  p.seen = std::make_shared<fresco::data::ImageFolder>(seen_options);
  if (!a.held_out.empty()) {
    // The held-out entries: the whole folder's, at the rows the list names.
    auto all = std::make_shared<fresco::data::ImageFolder>(base);
    std::ifstream list(a.held_out);
    std::set<std::string> files;
    for (std::string line; std::getline(list, line);) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (!line.empty()) files.insert(line);
    }
    std::vector<int64_t> rows;
    for (int64_t i = 0; i < all->size(); ++i)
      if (files.contains(all->file(i))) rows.push_back(i);
    p.held_out = std::make_shared<fresco::data::Subset>(all, rows);
  }
  return p;
}

// A text-to-video model on moving Shapes, judged frame by frame and by the object's trajectory.
int evaluate_video(const Args& a) {
  if (!a.held_out.empty() || !a.retrieval.empty() || !a.labels.empty() || !a.captions_file.empty())
    throw CLI::ValidationError("--dataset moving-shapes", "--held-out, --retrieval, --labels and "
                                                          "--captions-file are for text-to-image models; leave them out");
  if (!fresco::vq::is_text_to_video(a.model))
    throw CLI::ValidationError("--dataset moving-shapes", a.model + " is not a text-to-video model (train one with "
                                                                    "train_text2video)");
  auto model = fresco::vq::TextToVideo::load(a.model);
  cli::apply_sampling(model.sampling(), a.sampling);
  auto judge = fresco::eval::Classifier::load(a.classifier);
  fresco::eval::VideoEvaluateOptions options{.samples = a.options.samples, .frames = model.frames(),
                                             .image_size = model.image_tokenizer().config().image_size,
                                             .seed = a.options.seed, .batch = std::min<int64_t>(a.options.batch, 32)};
  options.on_progress = fresco::progress_bar();
  std::fprintf(stderr, "evaluating %s on moving-shapes: %lld prompts...\n", a.model.c_str(),
               static_cast<long long>(options.samples));
  const auto report = fresco::eval::evaluate_text_to_video(
      [&model](const std::vector<std::string>& captions, uint64_t seed) { return model.generate(captions, seed); },
      *judge, options);
  std::cout << report.to_table() << "\n" << report.to_json() << "\n";
  if (!a.json.empty()) write_json(report, a.json);
  return 0;
}

int evaluate(const Args& a) {
  if (a.dataset == "moving-shapes") return evaluate_video(a);
  const bool folder = a.dataset.rfind("folder:", 0) == 0;
  auto model = fresco::load_text_to_image(a.model);
  cli::apply_sampling(*model, a.sampling, a.model);
  const auto generate = [&model](const std::vector<std::string>& captions, uint64_t seed) {
    return model->generate(captions, seed);
  };
  auto judges = fresco::eval::load_judges(a.classifier);
  auto options = a.options;
  if (folder) {
    const auto prompts = folder_prompts(a, judges.scene->config().image_size);
    std::unique_ptr<fresco::eval::ImageTextEncoder> encoder;
    if (!a.retrieval.empty()) encoder = fresco::eval::ImageTextEncoder::load(a.retrieval);
    std::fprintf(stderr, "evaluating %s on %s: %lld prompts (%lld seen and %lld held-out entries)...\n",
                 a.model.c_str(), a.dataset.c_str(), static_cast<long long>(options.samples),
                 static_cast<long long>(prompts.seen->size()),
                 static_cast<long long>(prompts.held_out ? prompts.held_out->size() : 0));
    options.on_progress = fresco::progress_bar();
    const auto report = fresco::eval::evaluate_on_dataset(generate, fresco::eval::judge_of(*judges.scene), prompts,
                                                          options, encoder.get(), a.candidates);
    std::cout << report.to_table() << "\n" << report.to_json() << "\n";
    if (!a.json.empty()) write_json(report, a.json);
    return 0;
  }
  const auto kind = fresco::eval::parse_dataset_kind(a.dataset);
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
               "On a folder with labels (train_classifier --dataset folder:DIR), the prompts are its captions\n"
               "(seen, and held-out with --held-out), judged beside the real images, and --retrieval adds the\n"
               "caption-retrieval precision. Prints a table, then JSON. A text-to-video model is evaluated on\n"
               "moving-shapes: shape, colour and size by a frame judge, motion and speed from the object's path\n"
               "(a table, then JSON).",
               "evaluate"};
  app.footer(
      "Examples:\n"
      "  evaluate --model shapes_model.safetensors --classifier shapes_classifier.safetensors --dataset shapes\n"
      "  evaluate --model fashion_model.safetensors --classifier fashion_classifier.safetensors \\\n"
      "           --dataset fashion-mnist --samples 2000 --json metrics.json\n"
      "  evaluate --model emoji_model.safetensors --classifier emoji_classifier.safetensors \\\n"
      "           --dataset folder:emoji --captions-file metadata.jsonl --labels category,subcategory,skin_tone \\\n"
      "           --held-out emoji/heldout.txt --retrieval emoji_retrieval.safetensors\n"
      "  evaluate --model runs/video/model.safetensors --classifier moving_shapes_classifier.safetensors \\\n"
      "           --dataset moving-shapes --samples 300");
  Args args;
  add_options(app, args);
  return cli::run(app, argc, argv, [&] { return evaluate(args); });
}
