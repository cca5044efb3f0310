// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file
/// `gan::GanBatch`: what one step of the GAN trainer (or of its alignment
/// stage) reads.

#include <cstdint>
#include <vector>

#include <fresco/gan/conditioning.hpp>
#include <fresco/tensor/tensor.hpp>

namespace fresco::gan {

/// One step's batch: images [B, C, S, S] in [-1, 1] and their captions as tokens.
struct GanBatch {
  Tensor images;
  TokenBatch tokens;
  /// Dataset indices of the rows.
  std::vector<int64_t> indices;
  /// The frozen text model's features of the captions, computed once for both
  /// phases (undefined members when the text model is fine-tuned).
  TextFeatures text;
  /// The extra negative captions, when a loss reads them (laid out by `NegativeSampler`:
  /// the random ones, then the hard ones of each row of the batch), as tokens, and their
  /// sentence vectors [K, d_model] from the frozen text model (undefined when it is fine-tuned).
  TokenBatch negatives;
  Tensor negative_sentences;
};

}  // namespace fresco::gan
