// SPDX-License-Identifier: Apache-2.0
#pragma once
// Shared pieces of every op: contiguous inputs, fresh outputs, recording.

#include <fresco/autograd/autograd.hpp>
#include <fresco/error.hpp>
#include <fresco/ops/elementwise.hpp>
#include <fresco/ops/reduce.hpp>
#include <fresco/tensor/tensor.hpp>

#include "kernels/elementwise.hpp"
#include "tensor/tensor_impl.hpp"

namespace fresco::detail {

/// Throws naming `op` when `t` is undefined.
inline void check_defined(const Tensor& t, const char* op, const char* what = "input") {
  FRESCO_CHECK(t.defined(), "{}: the {} tensor is undefined", op, what);
}

/// y = f(x) elementwise, no recording.
template <class F>
Tensor map_unary(const Tensor& x, F f) {
  Tensor xc = x.contiguous();
  Tensor y = make_tensor(x.shape());
  kernels::map1(y.data(), xc.data(), y.numel(), f);
  return y;
}

/// y = f(a, b) elementwise over tensors of one shape, no recording.
template <class F>
Tensor map_binary(const Tensor& a, const Tensor& b, F f) {
  FRESCO_ASSERT(a.shape() == b.shape());
  Tensor ac = a.contiguous(), bc = b.contiguous();
  Tensor y = make_tensor(a.shape());
  kernels::map2(y.data(), ac.data(), bc.data(), y.numel(), f);
  return y;
}

/// y = f(a, b, c) elementwise over tensors of one shape, no recording.
template <class F>
Tensor map_ternary(const Tensor& a, const Tensor& b, const Tensor& c, F f) {
  FRESCO_ASSERT(a.shape() == b.shape() && a.shape() == c.shape());
  Tensor ac = a.contiguous(), bc = b.contiguous(), cc = c.contiguous();
  Tensor y = make_tensor(a.shape());
  kernels::map3(y.data(), ac.data(), bc.data(), cc.data(), y.numel(), f);
  return y;
}

}  // namespace fresco::detail
