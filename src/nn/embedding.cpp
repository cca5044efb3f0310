// SPDX-License-Identifier: Apache-2.0
#include <fresco/nn/embedding.hpp>

#include <fresco/autograd/autograd.hpp>
#include <fresco/error.hpp>
#include <fresco/ops/nn.hpp>

namespace fresco::nn {

Embedding::Embedding(int64_t num, int64_t dim) : num_(num), dim_(dim) {
  FRESCO_CHECK(num > 0 && dim > 0, "Embedding: sizes must be positive, got num = {}, dim = {}", num, dim);
  NoGradGuard guard;
  weight = register_parameter("weight", randn({num, dim}));
}

Tensor Embedding::forward(const std::vector<int64_t>& ids, Shape ids_shape) const {
  for (size_t i = 0; i < ids.size(); ++i)
    FRESCO_CHECK(ids[i] >= 0 && ids[i] < num_, "Embedding: id {} at position {} is outside [0, {})", ids[i], i, num_);
  return embedding(weight, ids, std::move(ids_shape));
}

}  // namespace fresco::nn
