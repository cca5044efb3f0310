// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file
/// End-to-end evaluation of a text-to-image model on Fashion-MNIST or
/// Shapes: prompts with known labels go through the model, an
/// `eval::Classifier` trained on real images judges the results (conditional
/// accuracy per attribute, seen and held-out), and its penultimate features
/// give the Fréchet distance to real test images (with the real-vs-real
/// floor) and the diversity among images of one caption (beside real images).
/// On Shapes, with a cell judge (eval/cells.hpp), prompts that name two
/// objects are judged too: is each named object in its cell with its shape,
/// colour and size; real scenes of the same prompts give the judge's own score.
///
///     auto judges = fresco::eval::load_judges("shapes_classifier.safetensors");
///     auto model = fresco::gan::TextToImage::load("model.safetensors");
///     auto report = fresco::eval::evaluate_text_to_image(
///         [&](const std::vector<std::string>& c, uint64_t seed) { return model.generate(c, seed); },
///         fresco::eval::judge_of(*judges.scene, judges.cell.get()), fresco::eval::DatasetKind::shapes,
///         {.samples = 1000, .seed = 1});
///     fmt::print("{}\n{}\n", report.to_table(), report.to_json());

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <fresco/eval/cells.hpp>
#include <fresco/eval/classifier.hpp>
#include <fresco/eval/retrieval.hpp>
#include <fresco/progress.hpp>
#include <fresco/tensor/tensor.hpp>

namespace fresco::eval {

/// The datasets a text-to-image model can be evaluated on.
enum class DatasetKind { shapes, fashion_mnist };

/// "shapes" or "fashion-mnist" (also "fashion_mnist") -> the kind; throws `fresco::Error` otherwise.
DatasetKind parse_dataset_kind(const std::string& name);
/// The kind's name as `parse_dataset_kind` reads it ("shapes", "fashion-mnist").
std::string dataset_kind_name(DatasetKind kind);

/// A text-to-image model as a function: N captions and a seed -> images
/// [N, C, H, W] in [0, 1] (as `gan::TextToImage::generate`).
using GenerateFn = std::function<Tensor(const std::vector<std::string>& captions, uint64_t seed)>;

/// What judges the images: the classifier's input convention and two
/// functions of images [N, C, S, S] in [-1, 1]. `judge_of(classifier)` builds
/// it from an `eval::Classifier`; tests pass stubs.
struct ImageJudge {
  /// channels, image_size and heads are read (the rest is ignored).
  ClassifierConfig config;
  /// images -> features [N, F] (the classifier's penultimate layer).
  std::function<Tensor(const Tensor&)> features;
  /// images -> labels[h][n] per head (as `Classifier::predict`).
  std::function<std::vector<std::vector<int64_t>>(const Tensor&)> predict;
  /// Shapes, optional: the cell judge's config (`cell_judge_config`: heads
  /// {5, 7, 3}, image_size half the judge's).
  ClassifierConfig cell_config = {};
  /// Shapes, optional: `cell_crops` of images [9 N, 3, S/2, S/2] in [-1, 1]
  /// -> labels[h][row] (shape, colour, size, each with "none" last). Empty:
  /// no cell judge, and no two-object evaluation.
  std::function<std::vector<std::vector<int64_t>>(const Tensor&)> predict_cells = {};
};

/// The judge backed by `classifier` and, when given, `cell_judge` (both put
/// in eval mode; run without gradients). They must outlive the judge.
///
/// With a cell judge that fits a Shapes classifier, `predict` reads a
/// single object as a person would look at it: its position from the
/// classifier, its shape, colour and size from the cell judge's reading of
/// that cell (`read_at_position`). The cell judge sees the object at full
/// resolution with nothing else to attend to, and reads soft, noisy or
/// shifted objects far better than the whole-image heads (docs/eval.md).
ImageJudge judge_of(Classifier& classifier, Classifier* cell_judge = nullptr);

/// Combines a Shapes classifier's labels `scene[h][n]` (shape, colour,
/// size, position) with a cell judge's labels `cells[h][9 n + p]` (as for
/// `cell_crops`): image n's shape, colour and size become those read in the
/// cell at its predicted position, unless that cell reads no object (then
/// the classifier's stay; likewise for a single head reading "none").
/// Throws `fresco::Error` when the counts disagree.
std::vector<std::vector<int64_t>> read_at_position(std::vector<std::vector<int64_t>> scene,
                                                   const std::vector<std::vector<int64_t>>& cells);

/// Brings generated or real images [N, C, H, W] in [0, 1] to a classifier's
/// input convention [N, channels, S, S] in [-1, 1] (x ↦ 2x − 1, after
/// clamping to [0, 1]). Channels must match. 28×28 images going into a
/// 32×32 classifier are padded with 2 black pixels per side (as
/// `FashionMnist` with `pad_to_32`); other sizes are resized (area average
/// when shrinking, bilinear when growing). Throws `fresco::ShapeError` for
/// images that are not [N, C, H, H] with the classifier's channel count.
Tensor to_classifier_input(const Tensor& images, const ClassifierConfig& config);

/// A prompt with the labels it asks for.
struct Prompt {
  std::string caption;
  /// One label per head: {class} for Fashion-MNIST; {shape, colour, size, position} for Shapes,
  /// four more (the second object's) for a Shapes prompt naming two objects.
  std::vector<int64_t> labels;
  /// Shapes: a (colour, shape) pair of the prompt is one of the held-out combinations.
  bool held_out = false;
};

/// `count` prompts drawn from `seed`. Shapes: single objects, the first
/// round(count × (1 − held_out_fraction)) with a seen (colour, shape) pair
/// (uniform over the pairs of the training split, as its test split draws
/// them), the rest with a held-out pair; size and position uniform; caption
/// by `Shapes::describe(objects, seed)` (random template and synonyms).
/// Fashion-MNIST: uniform classes, a random phrasing of `captions_for_class`.
///
/// `objects` = 2 (Shapes only): prompts naming two objects in two different
/// cells (uniform over the pairs of cells); a seen prompt has two seen
/// pairs, a held-out one a held-out pair on one of its objects (either
/// first or second in the caption) and any pair on the other. Throws
/// `fresco::Error` for other counts, or 2 with Fashion-MNIST.
std::vector<Prompt> make_prompts(DatasetKind kind, int64_t count, uint64_t seed, double held_out_fraction = 0.3,
                                 int objects = 1);

/// Options of `evaluate_text_to_image`. Checked when it starts.
struct EvaluateOptions {
  /// Prompts (generated images) for accuracy and the Fréchet distance (>= 4).
  int64_t samples = 1000;
  /// Seed of the prompts, the generator's seeds and the real images picked.
  uint64_t seed = 0;
  /// Captions per call of the generator.
  int64_t batch = 64;
  /// Shapes: share of the prompts that are held-out combinations, in [0, 1).
  double held_out_fraction = 0.3;
  /// Diversity: captions (the first seen prompts) and images per caption (>= 2).
  int64_t diversity_captions = 16;
  int64_t diversity_images = 8;
  /// Shapes: prompts naming two objects, judged cell by cell (as many real
  /// scenes of the same prompts give the judge's own score). Run only when
  /// the judge has a cell judge; 0: none.
  int64_t two_object_samples = 200;
  /// Where the Fashion-MNIST files are (its test split supplies the real images).
  std::string fashion_mnist_root = "/usr/share/datasets/fashion-mnist";
  /// Receives a report ("evaluate") after each call of the generator (step: calls
  /// done, total: calls planned) and a final `done` one with the Fréchet distance
  /// and the mean seen accuracy. Empty: silent.
  ProgressCallback on_progress = {};
};

/// The figures of one evaluation. Accuracies are shares in [0, 1]; an empty
/// held-out vector means no held-out prompts (Fashion-MNIST).
struct EvaluationReport {
  std::string dataset;                 ///< "shapes" or "fashion-mnist"
  std::vector<std::string> heads;      ///< head names: {"class"} or {"shape", "colour", "size", "position"}
  std::vector<double> accuracy_seen;   ///< per head
  std::vector<double> accuracy_held_out;
  /// The share of images with every attribute right at once, seen and held-out.
  double all_right_seen = 0, all_right_held_out = 0;
  int64_t seen_count = 0, held_out_count = 0;
  /// Fréchet distance between features of the generated images of seen
  /// prompts and as many real test images, and between two disjoint real
  /// sets of that size (the floor a perfect model would reach).
  double frechet_distance = 0, frechet_floor = 0;
  int64_t frechet_samples = 0;         ///< feature vectors per set
  /// Mean pairwise feature distance among images of one caption, averaged
  /// over captions, for generated and for real images of the same labels.
  double diversity_generated = 0, diversity_real = 0;
  int64_t diversity_captions = 0, diversity_images = 0;
  /// Shapes prompts naming two objects, read by the cell judge: generated
  /// images and real scenes of the same prompts, seen and held-out (`images`
  /// 0: not run, for want of a cell judge or with `two_object_samples` 0).
  TwoObjectScores two_object_seen, two_object_held_out, two_object_real_seen, two_object_real_held_out;
  /// The judge had a cell judge: single objects were read through it (`judge_of`).
  bool cell_judge = false;
  /// `evaluate_on_dataset`: the judge's accuracy per head on the real images
  /// of the same prompts (how far to trust it), seen and held-out; empty otherwise.
  std::vector<double> real_accuracy_seen, real_accuracy_held_out;
  /// `evaluate_on_dataset` with an encoder: the share of generated images of
  /// all prompts whose own caption ranks first among `retrieval_candidates`
  /// (caption_retrieval_precision); -1 when not measured.
  double retrieval_precision = -1;
  int64_t retrieval_candidates = 0;
  double seconds = 0;                  ///< wall clock of the evaluation

  /// The figures as an aligned text table.
  std::string to_table() const;
  /// The figures as a JSON object (keys: dataset, heads, accuracy {seen,
  /// held_out: {head: share}}, counts, frechet_distance, frechet_floor,
  /// diversity {generated, real}, two_objects {generated, real: {seen,
  /// held_out: {images, all_right, shape, colour, size, object_right,
  /// object_placed, swapped, extra_object}}} (null when not run), cell_judge, real_accuracy {seen,
  /// held_out: {head: share}} and retrieval {precision, candidates} (null
  /// when not measured), seconds).
  std::string to_json() const;
};

/// Evaluates a text-to-image model (see the file comment). Throws
/// `fresco::Error` for bad options, a judge (or cell judge) whose heads /
/// channels / size do not fit the dataset, or generated images of the wrong
/// count or shape.
EvaluationReport evaluate_text_to_image(const GenerateFn& generate, const ImageJudge& judge, DatasetKind kind,
                                        const EvaluateOptions& options = {});
/// Prompts and real images from labelled datasets, e.g. an `ImageFolder`
/// read with label keys (train_classifier --dataset folder:DIR).
struct DatasetPrompts {
  /// Name in the report ("folder:emoji").
  std::string name;
  /// Entries whose captions are seen prompts; their labels (the first one per
  /// judge head) are what each image should show, their images the real side.
  std::shared_ptr<const data::Dataset> seen;
  /// Entries held out of the model's training (null or empty: none).
  std::shared_ptr<const data::Dataset> held_out;
  /// A name per judge head ("category", "subcategory", ...).
  std::vector<std::string> heads;
};

/// Evaluates a text-to-image model on labelled datasets: `options.samples`
/// prompts, a share `held_out_fraction` of them from `prompts.held_out`
/// (when given), each an entry drawn without repeats; per-head accuracy of
/// the generated images (and of the entries' real images, the judge's own
/// score); the Fréchet distance of seen prompts' images to real images of
/// other seen entries with the real-vs-real floor; diversity (generated:
/// `diversity_images` per caption; real: the entries of that caption); and,
/// with `retrieval`, the caption-retrieval precision among `candidates`
/// captions of both datasets. Throws `fresco::Error` for bad options, a judge
/// whose head count differs from `prompts.heads`, datasets too small, or
/// images of the wrong count or shape.
EvaluationReport evaluate_on_dataset(const GenerateFn& generate, const ImageJudge& judge, const DatasetPrompts& prompts,
                                     const EvaluateOptions& options = {}, ImageTextEncoder* retrieval = nullptr,
                                     int64_t candidates = 100);

/// The same with an `eval::Classifier` as the judge (no cell judge; see `judge_of`).
EvaluationReport evaluate_text_to_image(const GenerateFn& generate, Classifier& classifier, DatasetKind kind,
                                        const EvaluateOptions& options = {});

}  // namespace fresco::eval
