// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file
/// The evaluation of text-to-video models on moving Shapes: a frame judge
/// (an `eval::Classifier` with heads shape, colour and size, trained on single
/// frames by `train_classifier --dataset moving-shapes`) labels every frame of
/// a generated clip, and the object's trajectory, measured in the pixels,
/// gives its motion and speed (`data::MovingShapes::motion_of`).
///
///     auto judge = fresco::eval::Classifier::load("moving_shapes_classifier.safetensors");
///     auto report = fresco::eval::evaluate_text_to_video(
///         [&](const auto& captions, uint64_t seed) { return model.generate(captions, seed); }, *judge, {});
///     fmt::print("{}", report.to_table());

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <fresco/eval/classifier.hpp>
#include <fresco/progress.hpp>
#include <fresco/tensor/tensor.hpp>

namespace fresco::eval {

/// What the judge reads in one clip [T, 3, S, S] (values in [0, 1]).
struct ClipReading {
  /// Majority over the frames of the frame judge's shape, colour and size.
  int shape = -1, colour = -1, size = -1;
  /// `MovingShapes::motion_of` of the object's centres; -1 when no motion
  /// could be read (an object missing from a frame, or one that stands still).
  int motion = -1, speed = -1;
  /// Every frame has the same shape and colour (the clip keeps its object's identity).
  bool consistent = false;
  /// An object was found in every frame.
  bool found = false;
  /// The object's centre in each frame, in pixels (the centroid of the pixels
  /// that differ from the frame's background by more than 0.25).
  std::vector<std::array<float, 2>> centres;
};

/// Reads one clip with `frame_judge` (heads shape, colour, size, in eval mode).
/// The background is each frame's per-channel median. Throws
/// `fresco::ShapeError` unless the clip is [T, 3, S, S] with T >= 3.
ClipReading read_clip(Classifier& frame_judge, const Tensor& clip);

/// Options of `evaluate_text_to_video`. Checked when it starts.
struct VideoEvaluateOptions {
  /// Single-object prompts (clips), >= 4.
  int64_t samples = 300;
  /// Share of the prompts with a held-out (shape or colour, motion) combination, in [0, 1).
  double held_out_fraction = 0.3;
  /// Frames and side of the model's clips (the real clips are drawn alike).
  int64_t frames = 8, image_size = 32;
  /// Seed of the prompts, the generator's seeds and the real clips.
  uint64_t seed = 0;
  /// Captions per call of the generator.
  int64_t batch = 16;
  /// Diversity: captions (the first seen prompts) and clips per caption (>= 2).
  int64_t diversity_captions = 8, diversity_clips = 6;
  /// A report ("evaluate") after each call of the generator. Empty: silent.
  ProgressCallback on_progress = {};
};

/// The figures of one video evaluation; shares in [0, 1].
struct VideoReport {
  /// shape, colour, size, motion, speed.
  std::vector<std::string> heads;
  std::vector<double> accuracy_seen, accuracy_held_out;
  /// Shape, colour, size and motion right at once (speed aside).
  double all_right_seen = 0, all_right_held_out = 0;
  /// The share of clips whose object keeps its shape and colour in every frame.
  double consistency = 0;
  /// The same readings of real clips of the same prompts: how far to trust the judge.
  std::vector<double> real_accuracy_seen, real_accuracy_held_out;
  double real_consistency = 0;
  /// Fréchet distance between the judge's clip features (its features of the first
  /// and the last frame, side by side) of generated and real clips of the seen
  /// prompts, and between two real sets of those prompts (the floor).
  double frechet_distance = 0, frechet_floor = 0;
  int64_t frechet_samples = 0;
  /// Mean pairwise clip-feature distance among clips of one caption, generated and real.
  double diversity_generated = 0, diversity_real = 0;
  int64_t diversity_captions = 0, diversity_clips = 0;
  /// Generated clips (seen and held-out) by the motion their caption names (rows, in the
  /// order of `motion_names`) and the motion read from the clip (columns: the same motions,
  /// then one column for clips whose motion could not be read): where motion goes wrong.
  std::vector<std::string> motion_names;
  std::vector<std::vector<int64_t>> motion_confusion;
  /// Prompts of each kind, and the wall clock of the evaluation.
  int64_t seen_count = 0, held_out_count = 0;
  double seconds = 0;

  /// The figures as an aligned text table.
  std::string to_table() const;
  /// The figures as JSON: `dataset` ("moving-shapes"), `heads`, `accuracy.{seen,held_out}.<head>`,
  /// `all_right.{seen,held_out}`, `consistency`, `real_accuracy.{seen,held_out}.<head>`,
  /// `real_consistency`, `frechet_distance`, `frechet_floor`,
  /// `diversity.{generated,real}`, `motion_confusion` (`motions`; `counts`, one row per
  /// named motion, one column per read motion and a last one for "none"), `counts` (seen,
  /// held_out, frechet_samples, diversity_captions, diversity_clips), `seconds`; a NaN
  /// figure is `null`.
  std::string to_json() const;
};

/// Generates [N, T, C, S, S] clips in [0, 1], one per caption.
using ClipGenerateFn = std::function<Tensor(const std::vector<std::string>& captions, uint64_t seed)>;

/// Evaluates a text-to-video model on single-object moving-Shapes prompts: seen
/// prompts from the test split, held-out ones from the compositional split, each
/// clip read by `read_clip`, the real clips of the same prompts read alike. Throws
/// `fresco::Error` for bad options, a judge whose heads are not {4, 6, 2}, or clips
/// of the wrong count or shape.
VideoReport evaluate_text_to_video(const ClipGenerateFn& generate, Classifier& frame_judge,
                                   const VideoEvaluateOptions& options = {});

}  // namespace fresco::eval
