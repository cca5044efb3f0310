// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file
/// Printing tensors like PyTorch does:
///
///     fmt::print("{}\n", fresco::arange(4).reshape({2, 2}));
///     // tensor([[0., 1.],
///     //         [2., 3.]])
///
/// Tensors with more than 1000 elements show the first and last 3 entries of
/// each dim with "..." between. The shape follows for large tensors, and
/// `requires_grad=True` / `grad_fn=<name>` as PyTorch prints them.

#include <string>

#include <fmt/format.h>

#include <fresco/tensor/tensor.hpp>

namespace fresco {
/// The text `fmt::format("{}", t)` produces.
std::string to_string(const Tensor& t);
}  // namespace fresco

template <>
struct fmt::formatter<fresco::Tensor> : fmt::formatter<std::string> {
  template <class Ctx>
  auto format(const fresco::Tensor& t, Ctx& ctx) const -> decltype(ctx.out()) {
    return fmt::formatter<std::string>::format(fresco::to_string(t), ctx);
  }
};
