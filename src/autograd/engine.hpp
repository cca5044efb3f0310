// SPDX-License-Identifier: Apache-2.0
#pragma once
#include <vector>

#include <fresco/tensor/tensor.hpp>

namespace fresco::detail {

/// The reverse sweep. Seeds each root with its grad, visits the nodes in
/// reverse topological order and accumulates into leaves' .grad(). When
/// `capture` is given (fresco::grad), it holds the tensors whose gradients
/// are wanted; on return each is replaced by its gradient (undefined if none
/// flowed) and no .grad() is touched.
void run_backward(const std::vector<Tensor>& roots, const std::vector<Tensor>& root_grads, BackwardOptions options,
                  std::vector<Tensor>* capture);

}  // namespace fresco::detail
