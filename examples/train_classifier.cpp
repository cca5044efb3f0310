// SPDX-License-Identifier: Apache-2.0
// Trains the evaluation classifier on Fashion-MNIST or Shapes, prints the test
// accuracy per head and the time taken, and saves the classifier. On Shapes it
// trains with label-keeping augmentation (blur, noise, shifts, scaling, colour
// jitter; --no-augment turns it off), then a cell judge for two-object scenes
// stored in the same file, and prints both judges' accuracy on real test
// scenes changed in each of those ways beside their clean accuracy.
//
//   train_classifier --dataset fashion-mnist --minutes 5 --out fashion_classifier.safetensors
//   train_classifier --dataset shapes --minutes 1 --out shapes_classifier.safetensors
//   train_classifier --dataset shapes --judge shapes_classifier.safetensors   (only the report)
//   train_classifier --dataset moving-shapes --minutes 3   (the frame judge of text-to-video)
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <fmt/ranges.h>

#include <fresco/fresco.hpp>

#include "common/cli.hpp"
#include "common/distributed.hpp"

namespace {

namespace cli = fresco::cli;

struct Args {
  std::string dataset, out, fashion_root = "/usr/share/datasets/fashion-mnist";
  double minutes = 0;  // 0 with --epochs 0 and --steps 0: 5 minutes
  int64_t epochs = 0, steps = 0, width = 16, batch = 64, train_size = 60000, threads = 0;
  float lr = 3e-3f;
  uint64_t seed = 0;
  bool flip = false;
  // Augmentation: on for Shapes unless --no-augment, off for Fashion-MNIST unless --augment.
  bool augment = false, no_augment = false;
  // Shapes' cell judge: its budget (0 with --minutes: half of them; with --epochs: as many) and width.
  double cell_minutes = 0;
  int64_t cell_width = 16, report_scenes = 1000;
  bool no_cell_judge = false;
  std::string judge;  // only report on this file
  // Folders: the labels (JSONL keys), the captions file, the test split, the image side,
  // a held-out list, and the caption-retrieval encoder.
  std::string labels, captions_file, test_where, exclude, retrieval;
  int64_t image_size = 32;
  double retrieval_minutes = 0;
};

void add_options(CLI::App& app, Args& a) {
  app.add_option("--dataset", a.dataset,
                 "the real images to learn: fashion-mnist, shapes, moving-shapes (the frames of clips) or folder:DIR")
      ->required()
      ->check(cli::dataset_name({"fashion-mnist", "shapes", "moving-shapes"}, "folder:", "DIR", CLI::ExistingDirectory));
  cli::add_number(app, "--minutes", a.minutes, "training time budget; 0 with --epochs 0 and --steps 0: 5 minutes")
      ->check(cli::non_negative());
  cli::add_number(app, "--epochs", a.epochs, "passes over the training set instead of a time budget (0: none)")
      ->check(cli::non_negative());
  cli::add_number(app, "--steps", a.steps,
                  "stop after this many steps (0: none); the schedule is laid out over them when no other budget "
                  "is given (Shapes: the cell judge trains half as many)")
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
  auto* on = app.add_flag("--augment", a.augment,
                          "perturb training images at random (blur, noise, shifts, scaling, colour jitter); "
                          "on by default for Shapes");
  app.add_flag("--no-augment", a.no_augment, "train on clean images only")->excludes(on);
  cli::add_number(app, "--cell-minutes", a.cell_minutes,
                  "Shapes: the cell judge's training budget (0: half of --minutes, or --epochs epochs)")
      ->check(cli::non_negative());
  cli::add_number(app, "--cell-width", a.cell_width, "Shapes: channels of the cell judge's first convolution")
      ->check(cli::positive());
  app.add_flag("--no-cell-judge", a.no_cell_judge, "Shapes: do not train the cell judge for two-object scenes");
  cli::add_number(app, "--report-scenes", a.report_scenes,
                  "Shapes: real test scenes per change in the robustness report (0: no report)")
      ->check(cli::non_negative());
  app.add_option("--labels", a.labels,
                 "folders: the JSONL keys to classify, one head each, e.g. category,subcategory,skin_tone");
  app.add_option("--captions-file", a.captions_file,
                 "folders: the JSONL file with the labels, relative to DIR (default captions.jsonl)");
  app.add_option("--test-where", a.test_where,
                 "folders: the test split as KEY=VALUE (e.g. designer=openmoji: judged on a designer it never "
                 "saw); default: every tenth entry");
  cli::add_number(app, "--image-size", a.image_size, "folders: side of the images (a multiple of 16)")
      ->check(cli::positive());
  app.add_option("--exclude", a.exclude, "folders: a file of image paths left out of training (a held-out list)")
      ->check(cli::existing_file("scripts/fetch-emoji.sh writes heldout.txt"));
  app.add_option("--retrieval", a.retrieval,
                 "folders: also train an image-text encoder on the training pairs and save it here (for "
                 "evaluate's caption-retrieval precision)");
  cli::add_number(app, "--retrieval-minutes", a.retrieval_minutes,
                  "the image-text encoder's budget (0: as --minutes)")
      ->check(cli::non_negative());
  app.add_option("--judge", a.judge, "Shapes: train nothing; print the robustness report of this classifier file")
      ->check(cli::existing_file("train one with train_classifier --dataset shapes"));
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

// The frame judge of text-to-video: single frames of one-object moving-Shapes clips, labelled
// shape, colour and size (objects anywhere in the frame, not at cell centres), every
// (shape or colour, motion) pair in training as for Shapes.
Task moving_shapes_task(const Args& a) {
  auto frames = [](int64_t clips, uint64_t s, const char* split, bool all_pairs = false) {
    fresco::data::MovingShapesOptions o{.size = clips, .seed = s, .split = split, .two_object_fraction = 0.f};
    if (all_pairs) o.held_out.clear();
    return std::make_shared<fresco::data::MovingShapesFrames>(fresco::data::MovingShapes(o));
  };
  Task t;
  t.train = frames(std::max<int64_t>(1, a.train_size / 8), a.seed + 1, "train", true);
  t.test = frames(1250, a.seed + 1000003, "test");
  t.compositional = frames(250, a.seed + 2000003, "compositional");
  t.config.channels = 3;
  t.config.heads = {fresco::data::kShapesNumShapes, fresco::data::kShapesNumColours, fresco::data::kShapesNumSizes};
  t.head_names = {"shape", "colour", "size"};
  return t;
}

// A folder whose JSONL captions carry labels: one head per --labels key, tested on the
// entries matching --test-where (or every tenth), trained on the others.
Task folder_task(const Args& a, std::shared_ptr<fresco::data::ImageFolder>& folder) {
  FRESCO_CHECK(!a.labels.empty(), "train_classifier: a folder needs --labels (the JSONL keys to classify), e.g. "
                                  "--labels category,subcategory --captions-file metadata.jsonl");
  FRESCO_CHECK(a.image_size % 16 == 0, "train_classifier: --image-size must be a multiple of 16, got {}",
               a.image_size);
  std::vector<std::string> keys = cli::split_list(a.labels, "--labels");
  std::string where_key, where_value;
  if (!a.test_where.empty()) {
    const size_t eq = a.test_where.find('=');
    FRESCO_CHECK(eq != std::string::npos && eq > 0, "train_classifier: --test-where '{}': expected KEY=VALUE",
                 a.test_where);
    where_key = a.test_where.substr(0, eq);
    where_value = a.test_where.substr(eq + 1);
    if (std::find(keys.begin(), keys.end(), where_key) == keys.end()) keys.push_back(where_key);
  }
  folder = std::make_shared<fresco::data::ImageFolder>(fresco::data::ImageFolderOptions{
      .root = a.dataset.substr(7), .image_size = a.image_size, .channels = 3, .captions_file = a.captions_file,
      .label_keys = keys, .exclude_file = a.exclude});
  const size_t heads = cli::split_list(a.labels, "--labels").size();   // keys may gain the split key below
  int64_t where_class = -1;
  if (!where_key.empty()) {
    const size_t k = static_cast<size_t>(std::find(keys.begin(), keys.end(), where_key) - keys.begin());
    const auto& names = folder->label_names(k);
    const auto it = std::find(names.begin(), names.end(), where_value);
    FRESCO_CHECK(it != names.end(), "train_classifier: --test-where {}: no entry has {} = \"{}\" (values: {})",
                 a.test_where, where_key, where_value, fmt::join(names, ", "));
    where_class = it - names.begin();
  }
  // Heads are the --labels keys; a --test-where key that is not one of them only splits.
  const size_t where_k = where_key.empty() ? 0 : static_cast<size_t>(std::find(keys.begin(), keys.end(), where_key) - keys.begin());
  std::vector<int64_t> train_rows, test_rows;
  for (int64_t i = 0; i < folder->size(); ++i) {
    const bool test = where_class >= 0 ? folder->get(i).labels[where_k] == where_class : i % 10 == 9;
    (test ? test_rows : train_rows).push_back(i);
  }
  FRESCO_CHECK(!train_rows.empty() && !test_rows.empty(),
               "train_classifier: the split leaves {} training and {} test entries; both need some", train_rows.size(),
               test_rows.size());
  // Labels of the heads only (the split key dropped when it is not a head).
  class Heads : public fresco::data::Dataset {
  public:
    Heads(std::shared_ptr<const fresco::data::Dataset> base, std::vector<int64_t> rows, size_t heads)
        : subset_(std::move(base), std::move(rows)), heads_(heads) {}
    int64_t size() const override { return subset_.size(); }
    fresco::data::Example get(int64_t i) const override {
      fresco::data::Example e = subset_.get(i);
      e.labels.resize(heads_);
      return e;
    }

  private:
    fresco::data::Subset subset_;
    size_t heads_;
  };
  Task t;
  t.train = std::make_shared<Heads>(folder, train_rows, heads);
  t.test = std::make_shared<Heads>(folder, test_rows, heads);
  t.config.channels = 3;
  t.config.image_size = a.image_size;
  t.config.heads.clear();   // the default is Fashion-MNIST's {10}
  for (size_t h = 0; h < heads; ++h) {
    const auto n = static_cast<int64_t>(folder->label_names(h).size());
    FRESCO_CHECK(n >= 2, "train_classifier: label '{}' has {} value(s) in the folder; a head needs at least 2",
                 keys[h], n);
    t.config.heads.push_back(n);
    t.head_names.push_back(keys[h]);
  }
  return t;
}

fresco::eval::TrainClassifierOptions classifier_options(const Args& a) {
  const bool augment = a.dataset == "shapes" || a.dataset == "moving-shapes" ? !a.no_augment : a.augment;
  return {.epochs = a.epochs, .minutes = a.epochs > 0 ? 0 : a.minutes, .lr = a.lr, .batch_size = a.batch,
          .seed = a.seed, .horizontal_flip = a.flip, .augment = {.enabled = augment}, .log_every = 100,
          .max_steps = a.steps, .on_progress = fresco::progress_bar(), .group = fresco::dist::world()};
}

// Shapes' cell judge: crops of one- and two-object scenes with every (colour, shape) pair.
struct CellTask {
  std::shared_ptr<fresco::eval::ShapesCellCrops> train, test;
};

// The training crops are cut from scenes perturbed whole (ShapesCellCrops' augment), not perturbed as crops.
CellTask cell_task(const Args& a, const fresco::eval::AugmentOptions& augment) {
  auto crops = [](int64_t size, uint64_t s, const char* split, bool all_pairs,
                  const fresco::eval::AugmentOptions& aug) {
    fresco::data::ShapesOptions o{.size = size, .seed = s, .split = split, .two_object_fraction = 0.5f};
    if (all_pairs) o.held_out.clear();
    return std::make_shared<fresco::eval::ShapesCellCrops>(fresco::data::Shapes(o), s, 0.6, aug);
  };
  return {crops(a.train_size, a.seed + 3, "train", true, augment), crops(10000, a.seed + 3000017, "test", false, {})};
}

std::unique_ptr<fresco::eval::Classifier> train_cell_judge(const Args& a) {
  fresco::eval::TrainClassifierOptions o = classifier_options(a);
  CellTask task = cell_task(a, o.augment);
  o.augment.enabled = false;
  auto judge = std::make_unique<fresco::eval::Classifier>(fresco::eval::cell_judge_config(a.cell_width, 16));
  o.minutes = a.epochs > 0 ? 0 : (a.cell_minutes > 0 ? a.cell_minutes : a.minutes / 2);
  o.max_steps = a.steps > 0 ? std::max<int64_t>(a.steps / 2, 1) : 0;
  o.seed = a.seed + 1;
  fmt::print("cell judge: crops {}x{} of one- and two-object scenes ({} train, {} test), {} parameters, budget {}\n",
             16, 16, task.train->size(), task.test->size(), judge->num_parameters(),
             a.epochs > 0 ? fmt::format("{} epochs", a.epochs)
                          : o.minutes > 0 ? fmt::format("{} minutes", o.minutes) : fmt::format("{} steps", o.max_steps));
  std::fflush(stdout);
  const fresco::eval::ClassifierReport r = fresco::eval::train_classifier(*judge, task.train, task.test, o);
  fmt::print("cell judge: trained {} steps in {:.1f} s; crop accuracy shape {:.2f}%, colour {:.2f}%, size {:.2f}%\n",
             r.steps, r.train_seconds, 100 * r.test_accuracy[0], 100 * r.test_accuracy[1], 100 * r.test_accuracy[2]);
  return judge;
}

// Labels per head of `images` (in [0, 1]) by `predict`, in batches.
std::vector<std::vector<int64_t>> predict_all(
    const std::function<std::vector<std::vector<int64_t>>(const fresco::Tensor&)>& predict, const fresco::Tensor& images,
    const fresco::eval::ClassifierConfig& config, bool crops) {
  std::vector<std::vector<int64_t>> out;
  for (int64_t b = 0; b < images.size(0); b += 250) {
    fresco::Tensor x = fresco::eval::to_classifier_input(images.slice(0, b, std::min(b + 250, images.size(0))), config);
    const auto p = predict(crops ? fresco::eval::cell_crops(x) : x);
    out.resize(p.size());
    for (size_t h = 0; h < p.size(); ++h) out[h].insert(out[h].end(), p[h].begin(), p[h].end());
  }
  return out;
}

// The judges on real test scenes, clean and changed in each way (eval::perturbed_shapes_scenes):
// the classifier's heads alone, single objects read through the cell judge (as evaluate reads
// them), and two-object scenes read cell by cell.
void print_robustness(fresco::eval::Classifier& scene, fresco::eval::Classifier* cell, int64_t count, uint64_t seed) {
  namespace ev = fresco::eval;
  const fresco::data::Shapes single({.size = count, .seed = seed + 5000011, .split = "test", .two_object_fraction = 0.f});
  const fresco::data::Shapes pairs({.size = count, .seed = seed + 6000007, .split = "test", .two_object_fraction = 1.f});
  std::vector<std::vector<int64_t>> labels;
  std::vector<std::vector<fresco::data::ShapesObject>> pair_objects;
  for (int64_t i = 0; i < count; ++i) {
    const auto l = single.objects(i)[0].labels();
    labels.emplace_back(l.begin(), l.end());
    pair_objects.push_back(pairs.objects(i));
  }
  const auto single_sets = ev::perturbed_shapes_scenes(single, count, seed + 7);
  const auto pair_sets = ev::perturbed_shapes_scenes(pairs, count, seed + 8);
  const ev::ImageJudge alone = ev::judge_of(scene), both = ev::judge_of(scene, cell);
  fmt::print("\naccuracy on {} real test scenes per change (rendered afresh; shape, colour, size, position):\n", count);
  fmt::print("{:<14}{:>34}{}\n", "images", "classifier heads",
             cell != nullptr ? "      read with the cell judge        two objects: both right (shape, colour, size)"
                             : "");
  auto percent = [](const std::vector<double>& acc) {
    std::string s;
    for (double a : acc) s += fmt::format("{:>7.1f}%", 100 * a);
    return s;
  };
  for (size_t k = 0; k < single_sets.size(); ++k) {
    std::string line = fmt::format(
        "{:<14}{}", single_sets[k].name,
        percent(ev::conditional_accuracy(labels, predict_all(alone.predict, single_sets[k].images, scene.config(), false))
                    .seen));
    if (cell != nullptr) {
      line += "  " + percent(ev::conditional_accuracy(
                                 labels, predict_all(both.predict, single_sets[k].images, scene.config(), false))
                                 .seen);
      const auto s = ev::score_two_objects(
          pair_objects, predict_all(both.predict_cells, pair_sets[k].images, scene.config(), true));
      line += fmt::format("   {:>5.1f}% ({:.1f}%, {:.1f}%, {:.1f}%)", 100 * s.all_right, 100 * s.attributes[0],
                          100 * s.attributes[1], 100 * s.attributes[2]);
    }
    fmt::print("{}\n", line);
  }
  std::fflush(stdout);
}

// --judge FILE: the report of a stored classifier (and its cell judge, if any).
int report_only(const Args& a) {
  auto judges = fresco::eval::load_judges(a.judge);
  FRESCO_CHECK(judges.scene->config().heads == std::vector<int64_t>({4, 6, 2, 9}),
               "train_classifier --judge: expected a Shapes classifier (heads 4, 6, 2, 9) in '{}'", a.judge);
  fmt::print("train_classifier: the judges of {} ({}cell judge)\n", a.judge, judges.cell ? "with a " : "no ");
  print_robustness(*judges.scene, judges.cell.get(), std::max<int64_t>(a.report_scenes, 1), a.seed);
  return 0;
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

// The image-text encoder of evaluate's caption-retrieval precision, trained on every pair of the
// folder (all designers; the --exclude list left out): it must read any style the models draw in.
void train_retrieval(const Args& a, std::shared_ptr<const fresco::data::ImageFolder> pairs) {
  std::vector<std::string> captions;
  for (int64_t i = 0; i < pairs->size(); ++i) captions.push_back(pairs->caption(i));
  fresco::eval::ImageTextEncoderConfig config;
  config.image.image_size = a.image_size;
  config.image.width = a.width;
  auto encoder = fresco::eval::ImageTextEncoder::create(captions, config);
  const double minutes = a.retrieval_minutes > 0 ? a.retrieval_minutes : a.minutes;
  fmt::print("image-text encoder: {} training pairs, {} parameters, budget {}\n", pairs->size(),
             encoder->num_parameters(), minutes > 0 ? fmt::format("{} minutes", minutes) : fmt::format("{} steps", a.steps));
  std::fflush(stdout);
  const auto r = fresco::eval::train_image_text_encoder(
      *encoder, pairs,
      {.steps = minutes > 0 ? 0 : std::max<int64_t>(a.steps, 1), .minutes = minutes, .seed = a.seed,
       .on_progress = fresco::progress_bar()});
  encoder->save(a.retrieval);
  fmt::print("image-text encoder: {} steps in {:.1f} s, contrastive loss {:.3f} -> {:.3f}; saved {}\n", r.steps,
             r.seconds, r.first_loss, r.last_loss, a.retrieval);
}

int train(Args a) {
  if (a.threads > 0) fresco::set_num_threads(static_cast<int>(a.threads));
  if (!a.judge.empty()) return report_only(a);
  // Under mpirun: data parallel, rank 0 prints and saves (docs/distributed.md).
  const auto group = cli::join_world();
  const bool writer = cli::writes_files(*group);
  if (a.minutes <= 0 && a.epochs <= 0 && a.steps <= 0) a.minutes = 5;
  const bool folder = a.dataset.rfind("folder:", 0) == 0;
  if (a.out.empty())
    a.out = a.dataset == "shapes"          ? "shapes_classifier.safetensors"
            : a.dataset == "moving-shapes" ? "moving_shapes_classifier.safetensors"
            : folder                       ? "folder_classifier.safetensors"
                                           : "fashion_classifier.safetensors";
  fresco::manual_seed(a.seed);
  // Before the training, not after it: the directory the classifier goes to takes files.
  if (writer)
    fresco::io::prepare_output_directory(std::filesystem::path(a.out).parent_path().empty()
                                             ? std::string(".")
                                             : std::filesystem::path(a.out).parent_path().string());

  std::shared_ptr<fresco::data::ImageFolder> images;
  Task task = folder                           ? folder_task(a, images)
              : a.dataset == "fashion-mnist" ? fashion_mnist_task(a)
              : a.dataset == "moving-shapes" ? moving_shapes_task(a)
                                             : shapes_task(a);
  task.config.width = a.width;
  if (!folder) task.config.image_size = 32;
  fresco::eval::Classifier model(task.config);
  fmt::print("train_classifier: {} ({} train, {} test images), {} parameters, {} threads, load average {}\n",
             a.dataset, task.train->size(), task.test->size(), model.num_parameters(), fresco::num_threads(),
             load_average());
  const auto options = classifier_options(a);
  fmt::print("budget: {}{}; augmentation {}\n",
             a.epochs > 0 ? fmt::format("{} epochs", a.epochs)
                          : a.minutes > 0 ? fmt::format("{} minutes", a.minutes) : std::string("no clock"),
             a.steps > 0 ? fmt::format(", at most {} steps", a.steps) : std::string(),
             options.augment.enabled ? "on" : "off");
  std::fflush(stdout);

  const fresco::eval::ClassifierReport r = fresco::eval::train_classifier(model, task.train, task.test, options);
  print_accuracy(r, model, task);
  if (a.dataset != "shapes" && !writer) return 0;
  if (a.dataset != "shapes") {
    model.save(a.out);
    fmt::print("saved {}\n", a.out);
    if (folder && !a.retrieval.empty()) train_retrieval(a, images);
    return 0;
  }
  std::unique_ptr<fresco::eval::Classifier> cell = a.no_cell_judge ? nullptr : train_cell_judge(a);
  if (!writer) return 0;
  if (cell) {
    fresco::eval::save_judges(model, *cell, a.out);
  } else {
    model.save(a.out);
  }
  fmt::print("saved {} ({})\n", a.out, cell ? "scene classifier and cell judge" : "scene classifier");
  if (a.report_scenes > 0) print_robustness(model, cell.get(), a.report_scenes, a.seed);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Trains the evaluation classifier on Fashion-MNIST, Shapes or a folder whose JSONL captions carry\n"
               "labels, prints the test accuracy per head and the time taken, and saves the classifier. On Shapes\n"
               "it trains with label-keeping augmentation, then a cell judge for two-object scenes stored in the\n"
               "same file, and prints both judges' accuracy on real test scenes blurred, noised, shifted,\n"
               "recoloured, softened and re-rendered. On a folder it can also train the image-text encoder of\n"
               "evaluate's caption-retrieval precision (--retrieval).",
               "train_classifier"};
  app.footer(
      "Examples:\n"
      "  train_classifier --dataset fashion-mnist --minutes 5 --out fashion_classifier.safetensors\n"
      "  train_classifier --dataset shapes --minutes 1 --out shapes_classifier.safetensors\n"
      "  train_classifier --dataset shapes --judge shapes_classifier.safetensors   (only the robustness report)\n"
      "  train_classifier --dataset folder:emoji --image-size 64 --captions-file metadata.jsonl \\\n"
      "      --labels category,subcategory,skin_tone --test-where designer=openmoji --exclude emoji/heldout.txt \\\n"
      "      --minutes 5 --out emoji_classifier.safetensors --retrieval emoji_retrieval.safetensors\n"
      "  mpirun -np 2 --bind-to none -x OMP_NUM_THREADS=1 train_classifier --dataset fashion-mnist --minutes 5 --threads 1\n"
      "      (data parallel, --batch per process: docs/distributed.md)");
  Args args;
  add_options(app, args);
  return cli::run(app, argc, argv, [&] { return train(args); });
}
