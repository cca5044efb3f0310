// SPDX-License-Identifier: Apache-2.0
#include <fresco/nn/linear.hpp>

#include <fresco/error.hpp>
#include <fresco/nn/init.hpp>
#include <fresco/ops/matmul.hpp>


namespace fresco::nn {

Linear::Linear(int64_t in, int64_t out, bool has_bias) : in_(in), out_(out) {
  FRESCO_CHECK(in > 0 && out > 0, "Linear: sizes must be positive, got in = {}, out = {}", in, out);
  const float bound = init::default_bound(in);
  weight = register_parameter("weight", init::uniform({out, in}, bound));
  if (has_bias) bias = register_parameter("bias", init::uniform({out}, bound));
}

Tensor Linear::forward(const Tensor& x) const {
  FRESCO_CHECK(x.defined(), "Linear: the input is undefined");
  FRESCO_CHECK_SHAPE(x.dim() >= 1 && x.size(-1) == in_, "Linear: expected input [..., {}], got {}", in_,
                     shape_str(x.shape()));
  return linear(x, weight, bias);
}

}  // namespace fresco::nn
