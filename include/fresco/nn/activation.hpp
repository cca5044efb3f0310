// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file
/// Activations as modules, for `Sequential`. Each is the function of the
/// same name in <fresco/ops/elementwise.hpp>, shape-preserving.
///
///     fresco::nn::Sequential net;
///     net.emplace_back<fresco::nn::Linear>(4, 8);  net.emplace_back<fresco::nn::ReLU>();

#include <fresco/nn/module.hpp>

namespace fresco::nn {

/// max(x, 0).
class ReLU : public Module {
public:
  Tensor forward(const Tensor& x) const;
  Tensor operator()(const Tensor& x) const { return forward(x); }
};

/// x if x > 0 else slope · x.
class LeakyReLU : public Module {
public:
  explicit LeakyReLU(float negative_slope = 0.01f) : slope_(negative_slope) {}
  Tensor forward(const Tensor& x) const;
  Tensor operator()(const Tensor& x) const { return forward(x); }
  float negative_slope() const { return slope_; }

private:
  float slope_;
};

/// Gaussian error linear unit, exact (erf) form.
class GELU : public Module {
public:
  Tensor forward(const Tensor& x) const;
  Tensor operator()(const Tensor& x) const { return forward(x); }
};

/// Hyperbolic tangent.
class Tanh : public Module {
public:
  Tensor forward(const Tensor& x) const;
  Tensor operator()(const Tensor& x) const { return forward(x); }
};

/// 1 / (1 + exp(-x)).
class Sigmoid : public Module {
public:
  Tensor forward(const Tensor& x) const;
  Tensor operator()(const Tensor& x) const { return forward(x); }
};

}  // namespace fresco::nn
