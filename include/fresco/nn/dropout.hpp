// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file
/// `nn::Dropout`.

#include <fresco/nn/module.hpp>

namespace fresco::nn {

/// In training mode zeroes each element with probability `p` and scales the
/// others by 1/(1-p); the identity in eval mode. Draws from the global generator.
///
///     fresco::nn::Dropout drop(0.1f);
///     fresco::Tensor y = drop(x);   // same shape as x
class Dropout : public Module {
public:
  /// p in [0, 1].
  explicit Dropout(float p = 0.5f);

  Tensor forward(const Tensor& x) const;
  Tensor operator()(const Tensor& x) const { return forward(x); }

  float p() const { return p_; }

private:
  float p_;
};

}  // namespace fresco::nn
