// SPDX-License-Identifier: Apache-2.0
#pragma once
// What a Tensor handle points at. Private to the library.

#include <memory>

#include <fresco/autograd/autograd.hpp>
#include <fresco/tensor/tensor.hpp>

#include "tensor/storage.hpp"

namespace fresco::detail {

/// One recorded operation: its inputs (edges of the graph) and the closure
/// that maps d(output) to d(inputs). Exists only if some input needed a gradient.
struct Node : std::enable_shared_from_this<Node> {
  const char* name = "";
  std::vector<Tensor> inputs;
  BackwardFn backward;
};

/// The post-accumulate-grad hooks of one leaf, by id.
struct GradHooks {
  std::vector<std::pair<uint64_t, std::function<void(const Tensor&)>>> hooks;
};

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  Shape shape;
  Shape strides;
  int64_t offset = 0;
  // Autograd state: a leaf that asked for gradients, its accumulated
  // gradient, or the node of the op that produced this tensor.
  bool requires_grad = false;
  Tensor grad;
  std::shared_ptr<Node> grad_fn;
  // Hooks run when backward() has finished accumulating into a leaf's grad
  // (register_post_accumulate_grad_hook); null for nearly every tensor.
  std::shared_ptr<GradHooks> grad_hooks;

  float* ptr() const { return storage->data() + offset; }
};

/// Row-major strides of `shape`.
Shape contiguous_strides(const Shape& shape);

/// A new contiguous tensor of `shape` over fresh storage (uninitialised).
Tensor make_tensor(const Shape& shape);

/// A view of `base`'s storage with the given geometry (no autograd).
Tensor make_view(const Tensor& base, Shape shape, Shape strides, int64_t offset);

/// Normalises a possibly negative dim into [0, ndim); throws naming `op`.
int64_t wrap_dim(int64_t dim, int64_t ndim, const char* op);

}  // namespace fresco::detail
