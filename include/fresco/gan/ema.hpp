// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file
/// `gan::EmaGenerator`: the exponential moving average of a generator's
/// weights, with BatchNorm statistics measured for the averaged weights.

#include <cstdint>
#include <functional>
#include <memory>

#include <fresco/gan/conditioning.hpp>
#include <fresco/gan/generator.hpp>

namespace fresco::gan {

/// A copy of a generator whose weights follow G's as θ̄ ← β θ̄ + (1 − β) θ. The averaged
/// weights make steadier images than G's own (Karras et al. 2018; Yazıcı et al. 2019).
/// BatchNorm statistics are not averaged: G's running statistics describe G's activations,
/// not those of the averaged weights (in eval mode they washed the images out to a haze of
/// the mean colour), so `refresh_statistics` measures the average's own.
///
///     EmaGenerator ema(g, 0.999f);
///     for (int64_t t = 0; t < steps; ++t) { /* update g */ ema.update(g, t); }
///     ema.refresh_statistics(captions_of_batch, seed);
///     Tensor images = ema.generator()(z, sentence, words, mask);
class EmaGenerator {
public:
  /// Batches that `refresh_statistics` averages.
  static constexpr int64_t kStatisticsBatches = 16;

  /// A copy of `g`'s configuration, weights and buffers, in eval mode. `decay` in [0, 1).
  EmaGenerator(const Generator& g, float decay);

  /// θ̄ ← β θ̄ + (1 − β) θ with β = min(decay, (1 + step) / (10 + step)): the warm-up of
  /// TensorFlow's ExponentialMovingAverage, so that early on the average follows G closely
  /// instead of staying near the initial weights for ~1/(1 − decay) steps. `g` must have
  /// the configuration of the copy.
  void update(const Generator& g, int64_t step);

  /// Sets each BatchNorm's running statistics to the mean of the batch statistics of
  /// `kStatisticsBatches` batches run through the average in training mode: batch k reads
  /// the caption features `captions(k)` and noise seeded by (seed, k). Leaves it in eval mode.
  /// With fixed captions and seed, the statistics are a function of the weights alone.
  void refresh_statistics(const std::function<TextFeatures(int64_t)>& captions, uint64_t seed);

  /// The averaged generator (in eval mode unless a caller switched it).
  Generator& generator() { return *ema_; }
  const Generator& generator() const { return *ema_; }

private:
  std::unique_ptr<Generator> ema_;
  float decay_;
};

}  // namespace fresco::gan
