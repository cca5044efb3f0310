// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file
/// `nn::Embedding`: a lookup table of learned vectors.

#include <vector>

#include <fresco/nn/module.hpp>

namespace fresco::nn {

/// Rows of `weight` [num, dim] (initialised N(0, 1), as PyTorch) picked by
/// integer ids: ids of shape S -> S + [dim].
///
///     fresco::nn::Embedding tok(512, 128);
///     fresco::Tensor x = tok({3, 1, 4, 1, 5, 9}, {2, 3});   // [2, 3, 128]
class Embedding : public Module {
public:
  Embedding(int64_t num, int64_t dim);

  /// ids (row-major, of shape `ids_shape`) -> ids_shape + [dim]. Ids outside [0, num) throw.
  Tensor forward(const std::vector<int64_t>& ids, Shape ids_shape) const;
  Tensor operator()(const std::vector<int64_t>& ids, Shape ids_shape) const { return forward(ids, std::move(ids_shape)); }

  int64_t num_embeddings() const { return num_; }
  int64_t embedding_dim() const { return dim_; }

  Tensor weight;

private:
  int64_t num_, dim_;
};

}  // namespace fresco::nn
