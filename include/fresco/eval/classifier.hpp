// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file
/// `eval::Classifier`: the small CNN that judges images for the evaluation
/// of text-to-image models. Trained on real Fashion-MNIST it labels the
/// class; trained on real Shapes it labels each attribute (one head per
/// attribute). Its penultimate layer gives the features of the Fréchet distance.
///
/// A Shapes scene classifier is trained and evaluated on **single-object
/// scenes** (`.two_object_fraction = 0`): with two objects, "the" shape of a
/// scene is not defined. Two-object scenes are read cell by cell by a second
/// `Classifier`, the *cell judge* (eval/cells.hpp), which `save_judges`
/// stores in the same file; `Classifier::load` reads the scene classifier of
/// such a file and `load_judges` both. See docs/eval.md.
///
/// Both are trained with `TrainClassifierOptions::augment` by default in
/// `train_classifier --dataset shapes`: blur, noise, small shifts and
/// scalings and colour jitter that keep every label, so that they read
/// slightly soft or shifted generated images as a person would.
///
///     auto clf = fresco::eval::Classifier::load("shapes_classifier.safetensors");
///     auto labels = clf->predict(images);   // images [N, 3, 32, 32] in [-1, 1]; labels[h][n]

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <fresco/dist/process_group.hpp>
#include <fresco/eval/augment.hpp>
#include <fresco/nn/conv.hpp>
#include <fresco/nn/linear.hpp>
#include <fresco/nn/module.hpp>
#include <fresco/nn/module_list.hpp>
#include <fresco/nn/norm.hpp>
#include <fresco/progress.hpp>

namespace fresco::data {
class Dataset;
}  // namespace fresco::data

namespace fresco::eval {

/// Architecture of a `Classifier`. Saved in the checkpoint's metadata.
struct ClassifierConfig {
  /// Image channels: 1 (Fashion-MNIST) or 3 (Shapes).
  int64_t channels = 3;
  /// Side of the square input images; a multiple of 16 (Fashion-MNIST is read padded to 32).
  int64_t image_size = 32;
  /// Classes per head: {10} for Fashion-MNIST, {4, 6, 2, 9} for Shapes
  /// (shape, colour, size, position).
  std::vector<int64_t> heads = {10};
  /// Channels of the first convolution; the next two have 2× and 4× as many.
  int64_t width = 32;
  /// Size of the penultimate layer (`features`).
  int64_t feature_dim = 128;
};

/// Three 3×3 convolution stages, then a fully connected feature layer and
/// one linear head per attribute (B = batch, W = width, S = image_size):
///
///     [B, C, S, S] -> conv W, BN, ReLU, maxpool 2    -> [B, W, S/2, S/2]
///                  -> conv 2W, BN, ReLU, maxpool 2   -> [B, 2W, S/4, S/4]
///                  -> conv 4W, BN, ReLU, avgpool to 4×4 -> [B, 4W, 4, 4]
///                  -> flatten, linear, ReLU           -> features [B, F]
///                  -> one linear per head             -> logits [B, K_h]
///
/// The 4×4 grid before the feature layer keeps where things are (Shapes'
/// position attribute); a global average would throw it away.
/// Inputs are images in [-1, 1], as `data::DataLoader` gives them.
///
///     fresco::eval::Classifier clf({.channels = 1, .image_size = 32, .heads = {10}});
///     std::vector<fresco::Tensor> logits = clf.logits(fresco::randn({8, 1, 32, 32}));   // {[8, 10]}
class Classifier : public nn::Module {
public:
  /// Checks the config (channels >= 1, image_size a positive multiple of 16, heads >= 2 classes each).
  explicit Classifier(ClassifierConfig config);

  /// [B, C, S, S] -> per head [B, K_h]. Not const: BatchNorm updates its
  /// running statistics in training mode (call `eval()` to judge).
  std::vector<Tensor> logits(const Tensor& images);
  /// [B, C, S, S] -> [B, feature_dim], the penultimate layer (after its ReLU).
  Tensor features(const Tensor& images);
  /// [B, C, S, S] -> per head the argmax class of each image (labels[h][b]);
  /// runs without recording gradients, in the module's current mode.
  std::vector<std::vector<int64_t>> predict(const Tensor& images);

  /// Writes parameters, buffers and the config (metadata) as safetensors.
  void save(const std::string& path) const;
  /// Builds the classifier stored by `save` (config from the metadata) in eval mode.
  /// Reads the scene classifier of a file written by `save_judges` (the cell
  /// judge's tensors, under "cell.", are left alone).
  /// Throws `fresco::IoError` naming the file when it is not a classifier checkpoint.
  static std::unique_ptr<Classifier> load(const std::string& path);

  const ClassifierConfig& config() const { return config_; }
  /// The config as checkpoint metadata, and back (throws `fresco::Error` on bad metadata).
  static std::map<std::string, std::string> config_to_metadata(const ClassifierConfig& config);
  static ClassifierConfig config_from_metadata(const std::map<std::string, std::string>& metadata,
                                               const std::string& source);

  nn::Conv2d conv1, conv2, conv3;
  nn::BatchNorm2d bn1, bn2, bn3;
  nn::Linear fc;
  nn::ModuleList<nn::Linear> heads;

private:
  Tensor trunk(const Tensor& images);

  ClassifierConfig config_;
};

/// Options of `train_classifier`.
struct TrainClassifierOptions {
  /// Passes over the training set; 0 means "until `minutes` run out".
  int64_t epochs = 0;
  /// Wall-clock budget in minutes (0: no limit; at least one of epochs / minutes must be set).
  /// The learning-rate schedule is laid out over whichever budget ends first.
  double minutes = 0;
  /// Peak AdamW learning rate (linear warm-up over `warmup_steps`, then cosine decay to 0).
  float lr = 3e-3f;
  int64_t warmup_steps = 100;
  float weight_decay = 5e-4f;
  int64_t batch_size = 128;
  /// Seed of the initialisation, shuffling and flips.
  uint64_t seed = 0;
  /// Mirror training images left-right at random (Fashion-MNIST; never for Shapes).
  bool horizontal_flip = false;
  /// Random label-keeping perturbations of each training image (blur, noise,
  /// shift and scale, colour jitter; off unless `augment.enabled`), drawn from `seed`.
  AugmentOptions augment = {};
  /// A report to `on_progress` every this many steps, with the mean loss and accuracy
  /// over them (0: only the final report).
  int64_t log_every = 100;
  /// Stop after this many steps (0: no limit), e.g. for quick tests.
  int64_t max_steps = 0;
  /// Receives the reports ("classifier": epoch, loss, acc %, lr) and a final one
  /// after the test evaluation (`done`: test acc % per head). Empty: silent.
  /// `fresco::progress_bar()` draws them on stderr.
  ProgressCallback on_progress = {};
  /// Data-parallel training: each process of the group trains on its shard
  /// of every epoch (the DataLoader's `num_replicas`/`rank`; `batch_size` is
  /// per process) with gradients averaged and BatchNorm's running statistics
  /// taken from rank 0; the slowest process's clock ends the budget. Only
  /// rank 0 reports. Null: this process alone.
  std::shared_ptr<dist::ProcessGroup> group = nullptr;
};

/// What `train_classifier` measured.
struct ClassifierReport {
  /// Accuracy on the test set per head, in [0, 1].
  std::vector<double> test_accuracy;
  int64_t steps = 0;
  double epochs = 0;          ///< passes over the training set (fractional)
  double train_seconds = 0;   ///< wall clock of training alone
  double eval_seconds = 0;
};

/// Trains `model` on `train` with AdamW and cross-entropy summed over heads
/// (head h is trained on label h of each example), reporting progress (epoch,
/// step, loss, running accuracy, learning rate, elapsed time, ETA) to
/// `options.on_progress`, then evaluates on `test` in eval mode. Leaves the
/// model in eval mode.
ClassifierReport train_classifier(Classifier& model, std::shared_ptr<const data::Dataset> train,
                                  std::shared_ptr<const data::Dataset> test, TrainClassifierOptions options);

/// Accuracy per head of `model` (in its current mode) on `dataset`, in [0, 1].
std::vector<double> evaluate_classifier(Classifier& model, std::shared_ptr<const data::Dataset> dataset,
                                        int64_t batch_size = 256);

/// A Shapes scene classifier and the cell judge stored beside it (null when
/// the file has none, e.g. a file written by `Classifier::save`).
struct Judges {
  /// The whole-image classifier (heads shape, colour, size, position).
  std::unique_ptr<Classifier> scene;
  /// The cell judge (heads {5, 7, 3}), or null.
  std::unique_ptr<Classifier> cell;
};

/// Writes `scene` as `Classifier::save` does and `cell` beside it in the same
/// file: its tensors and config metadata under the prefix "cell.".
void save_judges(const Classifier& scene, const Classifier& cell, const std::string& path);
/// Reads a file of `save_judges` or `Classifier::save`, both in eval mode.
/// Throws `fresco::IoError` naming the file when it is not a classifier checkpoint.
Judges load_judges(const std::string& path);

}  // namespace fresco::eval
