// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file
/// `nn::Linear`: y = x · weightᵀ + bias.

#include <fresco/nn/module.hpp>

namespace fresco::nn {

/// Fully connected layer, [..., in] -> [..., out]. Parameters `weight` [out, in]
/// and `bias` [out] (undefined when `bias` is false), both initialised as
/// PyTorch's: U(-1/sqrt(in), 1/sqrt(in)) (Kaiming-uniform with a = sqrt(5)).
///
///     fresco::nn::Linear fc(128, 512);
///     fresco::Tensor y = fc(fresco::randn({8, 128}));   // [8, 512]
class Linear : public Module {
public:
  Linear(int64_t in, int64_t out, bool bias = true);

  /// [..., in] -> [..., out]; throws ShapeError when the last dim is not `in`.
  Tensor forward(const Tensor& x) const;
  Tensor operator()(const Tensor& x) const { return forward(x); }

  int64_t in_features() const { return in_; }
  int64_t out_features() const { return out_; }

  Tensor weight, bias;

private:
  int64_t in_, out_;
};

}  // namespace fresco::nn
