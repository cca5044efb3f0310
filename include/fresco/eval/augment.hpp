// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file
/// Label-keeping perturbations of Shapes-like images, for a judge that reads
/// generated images as a person does. Generated and reconstructed pictures
/// are a little soft, noisy, a pixel off and slightly off in colour; a
/// classifier trained only on clean renders misreads them. `augment_images`
/// draws such changes at random during training; `perturb_images` applies one
/// kind at a fixed strength, to measure how a judge copes with it.
///
///     fresco::Generator g(7);
///     fresco::Tensor x = fresco::eval::augment_images(images01, {.enabled = true}, g);   // [N, 3, S, S] in [0, 1]
///
/// The defaults never change a Shapes label (tests/eval/test_augment.cpp
/// checks it over many draws): at 32×32 an object's centre sits 5.3 px from
/// its cell's border and its jitter is 0.5 px, so ±2 px of shift plus 7% of
/// scale about the image centre (1.1 px at a corner cell) keep it in its cell;
/// the two sizes' radii (0.085 and 0.12 of the side, ±5%) stay apart under a
/// 7% scale change (a small object grows to at most 0.095, a large one
/// shrinks to at least 0.106), which 10% would not guarantee; the colours'
/// hues are at least 27° apart and blur, contrast and brightness keep a
/// hue, while a 5% per-channel gain moves it by a few degrees.

#include <cstdint>
#include <string>
#include <vector>

#include <fresco/data/shapes.hpp>
#include <fresco/tensor/random.hpp>
#include <fresco/tensor/tensor.hpp>

namespace fresco::eval {

/// The random perturbations of `augment_images`. Each of the four groups
/// (geometry, blur, colour, noise) is applied to an image with probability
/// `probability`, at an amount drawn uniformly up to its maximum.
struct AugmentOptions {
  /// Off by default; `augment_images` returns its input unchanged when off.
  bool enabled = false;
  /// Chance that each group is applied to a given image, in [0, 1].
  float probability = 0.5f;
  /// Largest shift per axis, in pixels of the image (sub-pixel, bilinear).
  float max_shift = 2.f;
  /// Largest relative change of scale about the image centre (0.07: 93%..107%).
  float max_scale = 0.07f;
  /// Largest standard deviation of the Gaussian blur, in pixels.
  float max_blur_sigma = 1.f;
  /// Largest brightness change: every value times a gain in [1 - b, 1 + b].
  float brightness = 0.1f;
  /// Largest contrast change: values move away from / toward the image mean by a factor in [1 - c, 1 + c].
  float contrast = 0.1f;
  /// Largest per-channel gain change (each of R, G, B its own gain in [1 - g, 1 + g]).
  float channel_gain = 0.05f;
  /// Largest standard deviation of the additive Gaussian noise, in [0, 1] pixel units.
  float max_noise = 0.05f;
};

/// Throws `fresco::Error` for options out of range: negative maxima, a scale
/// change of 50% or more, a brightness, contrast or channel gain of 1 or
/// more, a probability outside [0, 1].
void check_augment_options(const AugmentOptions& options);

/// Each image of `images` [N, C, H, W] in [0, 1] with its own random
/// perturbation (see `AugmentOptions`), drawn from `rng`; the result is
/// clamped to [0, 1]. Shifts and scaling resample bilinearly, taking pixels
/// beyond the border from the nearest edge (Shapes' background is flat).
/// Throws `fresco::Error` for options out of range (`check_augment_options`)
/// and `fresco::ShapeError` for images that are not 4-D.
Tensor augment_images(const Tensor& images, const AugmentOptions& options, Generator& rng);

/// One kind of change at a fixed strength, applied by `perturb_images`.
enum class Perturbation {
  clean,     ///< unchanged
  blurred,   ///< Gaussian blur, sigma 1 px
  noised,    ///< additive Gaussian noise, standard deviation 0.06
  shifted,   ///< shifted by 2 px along each axis (random signs per image)
  coloured,  ///< brightness ×0.9 or ×1.1 and per-channel gains 0.95..1.05 (random per image)
  softened,  ///< area-halved then bilinearly enlarged back, as a reconstruction loses detail
};

/// Every `Perturbation`, in declaration order.
const std::vector<Perturbation>& all_perturbations();
/// "clean", "blurred", "noised", "shifted", "coloured", "softened".
std::string perturbation_name(Perturbation p);

/// `images` [N, C, H, W] in [0, 1] with `p` applied to each (signs and
/// gains drawn from `seed`), clamped to [0, 1].
Tensor perturb_images(const Tensor& images, Perturbation p, uint64_t seed);

/// A set of real scenes changed in one way, named.
struct PerturbedScenes {
  /// `perturbation_name` of the change, or "supersampled".
  std::string name;
  /// [count, 3, S, S] in [0, 1].
  Tensor images;
};

/// Real Shapes scenes as a judge may meet them: the objects of the first
/// `count` scenes of `scenes` (`scenes.objects(i)`), rendered afresh at its
/// side S with jitter from `seed`, under every `Perturbation` in order, then
/// "supersampled": the same scenes rendered at 4 S and area-averaged to S
/// (a different anti-aliasing). Throws `fresco::Error` unless 1 <= count <= scenes.size().
std::vector<PerturbedScenes> perturbed_shapes_scenes(const data::Shapes& scenes, int64_t count, uint64_t seed);

}  // namespace fresco::eval
