// SPDX-License-Identifier: Apache-2.0
#include <fresco/nn/dropout.hpp>

#include <fresco/error.hpp>
#include <fresco/ops/nn.hpp>

namespace fresco::nn {

Dropout::Dropout(float p) : p_(p) {
  FRESCO_CHECK(p >= 0.f && p <= 1.f, "Dropout: p must be in [0, 1], got {}", p);
}

Tensor Dropout::forward(const Tensor& x) const {
  if (!is_training() || p_ == 0.f) return x;
  return dropout(x, p_, true);
}

}  // namespace fresco::nn
