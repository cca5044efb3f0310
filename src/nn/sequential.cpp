// SPDX-License-Identifier: Apache-2.0
#include <fresco/nn/sequential.hpp>

namespace fresco::nn {

void Sequential::push_back(std::function<Tensor(const Tensor&)> f) {
  FRESCO_CHECK(static_cast<bool>(f), "Sequential: the function is empty");
  stages_.push_back(std::move(f));
}

Tensor Sequential::forward(const Tensor& x) const {
  Tensor y = x;
  for (const auto& stage : stages_) y = stage(y);
  return y;
}

}  // namespace fresco::nn
