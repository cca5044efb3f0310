// SPDX-License-Identifier: Apache-2.0
// Embedding lookup and dropout. (Softmax and layer norm live in softmax.cpp
// and layer_norm.cpp.)
#include <fresco/ops/nn.hpp>

#include <fresco/ops/shape.hpp>
#include <fresco/tensor/random.hpp>

#include "ops/op_helpers.hpp"
#include "tensor/profiler_scope.hpp"

namespace fresco {

using detail::needs_grad;
using detail::record;

Tensor embedding(const Tensor& weight, const std::vector<int64_t>& ids, Shape ids_shape) {
  detail::check_defined(weight, "embedding", "weight");
  FRESCO_PROFILE("embedding");
  FRESCO_CHECK_SHAPE(weight.dim() == 2, "embedding: weight must be [num, dim], got {}", shape_str(weight.shape()));
  FRESCO_CHECK_SHAPE(shape_numel(ids_shape) == static_cast<int64_t>(ids.size()),
                     "embedding: ids_shape {} holds {} ids, but {} ids were given", shape_str(ids_shape),
                     shape_numel(ids_shape), ids.size());
  const int64_t num = weight.size(0);
  for (size_t i = 0; i < ids.size(); ++i)
    FRESCO_CHECK(ids[i] >= 0 && ids[i] < num, "embedding: id {} (position {}) is out of range for num = {} (weight {})",
                 ids[i], i, num, shape_str(weight.shape()));
  // Rows gathered by index_select, whose backward adds the gradient rows into
  // zeros [num, dim] (index_add), itself differentiable: embedding of the grad.
  Shape out_shape = ids_shape;
  out_shape.push_back(weight.size(1));
  return index_select(weight, 0, ids).view(out_shape);
}

Tensor dropout(const Tensor& x, float p, bool training) {
  detail::check_defined(x, "dropout");
  FRESCO_CHECK(p >= 0.f && p < 1.f, "dropout: probability must be in [0, 1), got {}", p);
  if (!training || p == 0.f) return x;
  FRESCO_PROFILE("dropout");
  // The mask holds 0 or 1/(1-p) (inverted dropout: the expectation is unchanged).
  // Drawn serially from the global generator, so a seed fixes it.
  Tensor mask = detail::make_tensor(x.shape());
  Generator& gen = default_generator();
  const float keep_scale = 1.f / (1.f - p);
  float* m = mask.data();
  for (int64_t i = 0; i < mask.numel(); ++i) m[i] = gen.uniform() < p ? 0.f : keep_scale;
  Tensor y = detail::map_binary(x, mask, [](float a, float b) { return a * b; });
  if (needs_grad({&x})) record(y, "dropout", {x}, [mask](const Tensor& g) { return std::vector<Tensor>{g * mask}; });
  return y;
}

}  // namespace fresco
