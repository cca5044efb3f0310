// SPDX-License-Identifier: Apache-2.0
// Elementwise ops. Each backward is written twice only where it pays: a
// fused kernel when no graph is being recorded (the common case), and the
// same formula in differentiable ops under create_graph.
//
// A backward closure never holds its own output with its graph (that would
// be a reference cycle: output -> node -> closure -> output, leaking every
// graph that is not run backward). It keeps a detached view of the values,
// and under create_graph recomputes the output from the inputs.
#include <fresco/ops/elementwise.hpp>

#include <cmath>

#include "kernels/vec_math.hpp"
#include "ops/op_helpers.hpp"
#include "tensor/profiler_scope.hpp"

namespace fresco {

using detail::map_binary;
using detail::map_unary;
using detail::needs_grad;
using detail::record;

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  const size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    const int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    const int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    FRESCO_CHECK_SHAPE(da == db || da == 1 || db == 1, "{}: shapes {} and {} do not broadcast (dim {}: {} vs {})", op,
                       shape_str(a), shape_str(b), i, da, db);
    out[i] = da == 1 ? db : da;
  }
  return out;
}

namespace {

// Strides of `t` read over the broadcast `shape` (0 on stretched dims).
Shape broadcast_strides(const Tensor& t, const Shape& shape) {
  Shape s(shape.size(), 0);
  const size_t off = shape.size() - t.shape().size();
  for (size_t i = 0; i < t.shape().size(); ++i)
    s[i + off] = t.shape()[i] == 1 ? 0 : t.strides()[i];
  return s;
}

template <class F>
Tensor broadcast_binary(const Tensor& a, const Tensor& b, const char* op, F f) {
  FRESCO_PROFILE(op);
  detail::check_defined(a, op, "first");
  detail::check_defined(b, op, "second");
  if (a.shape() == b.shape() && a.is_contiguous() && b.is_contiguous()) return map_binary(a, b, f);
  const Shape shape = broadcast_shapes(a.shape(), b.shape(), op);
  Tensor y = detail::make_tensor(shape);
  kernels::broadcast2(y.data(), a.impl()->ptr(), broadcast_strides(a, shape), b.impl()->ptr(),
                      broadcast_strides(b, shape), shape, f);
  return y;
}

}  // namespace

Tensor operator+(const Tensor& a, const Tensor& b) {
  Tensor y = broadcast_binary(a, b, "add", [](float x, float z) { return x + z; });
  if (needs_grad({&a, &b}))
    record(y, "add", {a, b}, [sa = a.shape(), sb = b.shape(), ra = a.requires_grad(), rb = b.requires_grad()](const Tensor& g) {
      return std::vector<Tensor>{ra ? sum_to(g, sa) : Tensor(), rb ? sum_to(g, sb) : Tensor()};
    });
  return y;
}

Tensor operator-(const Tensor& a, const Tensor& b) {
  Tensor y = broadcast_binary(a, b, "sub", [](float x, float z) { return x - z; });
  if (needs_grad({&a, &b}))
    record(y, "sub", {a, b}, [sa = a.shape(), sb = b.shape(), ra = a.requires_grad(), rb = b.requires_grad()](const Tensor& g) {
      return std::vector<Tensor>{ra ? sum_to(g, sa) : Tensor(), rb ? sum_to(-g, sb) : Tensor()};
    });
  return y;
}

Tensor operator*(const Tensor& a, const Tensor& b) {
  Tensor y = broadcast_binary(a, b, "mul", [](float x, float z) { return x * z; });
  if (needs_grad({&a, &b}))
    record(y, "mul", {a, b}, [a, b](const Tensor& g) {
      return std::vector<Tensor>{a.requires_grad() ? sum_to(g * b, a.shape()) : Tensor(),
                                 b.requires_grad() ? sum_to(g * a, b.shape()) : Tensor()};
    });
  return y;
}

Tensor operator/(const Tensor& a, const Tensor& b) {
  Tensor y = broadcast_binary(a, b, "div", [](float x, float z) { return x / z; });
  if (needs_grad({&a, &b}))
    record(y, "div", {a, b}, [a, b](const Tensor& g) {
      // d(a/b)/da = 1/b; d(a/b)/db = -a/b².
      return std::vector<Tensor>{a.requires_grad() ? sum_to(g / b, a.shape()) : Tensor(),
                                 b.requires_grad() ? sum_to(-(g * a) / (b * b), b.shape()) : Tensor()};
    });
  return y;
}

Tensor maximum(const Tensor& a, const Tensor& b) {
  Tensor y = broadcast_binary(a, b, "maximum", [](float x, float z) { return x >= z ? x : z; });
  if (needs_grad({&a, &b}))
    record(y, "maximum", {a, b}, [a, b](const Tensor& g) {
      // The selection mask is a constant (broadcast_binary records nothing).
      Tensor take_a = broadcast_binary(a, b, "maximum", [](float x, float z) { return x >= z ? 1.f : 0.f; });
      return std::vector<Tensor>{a.requires_grad() ? sum_to(g * take_a, a.shape()) : Tensor(),
                                 b.requires_grad() ? sum_to(g * (1.f - take_a), b.shape()) : Tensor()};
    });
  return y;
}

Tensor minimum(const Tensor& a, const Tensor& b) { return -maximum(-a, -b); }

// ---- with a float ---------------------------------------------------------

Tensor operator+(const Tensor& a, float s) {
  detail::check_defined(a, "add");
  FRESCO_PROFILE("add");
  Tensor y = map_unary(a, [s](float x) { return x + s; });
  if (needs_grad({&a})) record(y, "add_scalar", {a}, [](const Tensor& g) { return std::vector<Tensor>{g}; });
  return y;
}
Tensor operator-(const Tensor& a, float s) { return a + (-s); }
Tensor operator+(float s, const Tensor& a) { return a + s; }

Tensor operator*(const Tensor& a, float s) {
  detail::check_defined(a, "mul");
  FRESCO_PROFILE("mul");
  Tensor y = map_unary(a, [s](float x) { return x * s; });
  if (needs_grad({&a})) record(y, "mul_scalar", {a}, [s](const Tensor& g) { return std::vector<Tensor>{g * s}; });
  return y;
}
Tensor operator*(float s, const Tensor& a) { return a * s; }
Tensor operator/(const Tensor& a, float s) { return a * (1.f / s); }
Tensor operator-(const Tensor& a) { return a * -1.f; }
Tensor operator-(float s, const Tensor& a) { return (-a) + s; }

Tensor operator/(float s, const Tensor& a) {
  detail::check_defined(a, "div");
  FRESCO_PROFILE("div");
  Tensor y = map_unary(a, [s](float x) { return s / x; });
  if (needs_grad({&a}))
    record(y, "rdiv_scalar", {a}, [a, s](const Tensor& g) {
      // d(s/a)/da = -s/a²
      return std::vector<Tensor>{-(g * s) / (a * a)};
    });
  return y;
}

// ---- unary ----------------------------------------------------------------

Tensor exp(const Tensor& x) {
  detail::check_defined(x, "exp");
  FRESCO_PROFILE("exp");
  Tensor y = map_unary(x, [](float v) { return kernels::exp_fast(v); });
  if (needs_grad({&x}))
    record(y, "exp", {x}, [x, ys = y.detach()](const Tensor& g) {
      return std::vector<Tensor>{is_grad_enabled() ? g * exp(x) : g * ys};
    });
  return y;
}

Tensor log(const Tensor& x) {
  detail::check_defined(x, "log");
  FRESCO_PROFILE("log");
  Tensor y = map_unary(x, [](float v) { return std::log(v); });
  if (needs_grad({&x})) record(y, "log", {x}, [x](const Tensor& g) { return std::vector<Tensor>{g / x}; });
  return y;
}

Tensor sqrt(const Tensor& x) {
  detail::check_defined(x, "sqrt");
  FRESCO_PROFILE("sqrt");
  Tensor y = map_unary(x, [](float v) { return std::sqrt(v); });
  if (needs_grad({&x}))
    record(y, "sqrt", {x}, [x, ys = y.detach()](const Tensor& g) {
      return std::vector<Tensor>{is_grad_enabled() ? g * 0.5f / sqrt(x) : g * 0.5f / ys};
    });
  return y;
}

Tensor pow(const Tensor& x, float p) {
  detail::check_defined(x, "pow");
  FRESCO_PROFILE("pow");
  Tensor y = map_unary(x, [p](float v) { return p == 2.f ? v * v : std::pow(v, p); });
  if (needs_grad({&x}))
    record(y, "pow", {x}, [x, p](const Tensor& g) {
      if (p == 1.f) return std::vector<Tensor>{g};
      return std::vector<Tensor>{g * (p * pow(x, p - 1.f))};
    });
  return y;
}

namespace {
Tensor sign(const Tensor& x) {
  return map_unary(x, [](float v) { return v > 0.f ? 1.f : (v < 0.f ? -1.f : 0.f); });
}
}  // namespace

Tensor abs(const Tensor& x) {
  detail::check_defined(x, "abs");
  FRESCO_PROFILE("abs");
  Tensor y = map_unary(x, [](float v) { return std::fabs(v); });
  if (needs_grad({&x})) record(y, "abs", {x}, [x](const Tensor& g) { return std::vector<Tensor>{g * sign(x)}; });
  return y;
}

Tensor step(const Tensor& x) {
  detail::check_defined(x, "step");
  FRESCO_PROFILE("step");
  return map_unary(x, [](float v) { return v > 0.f ? 1.f : 0.f; });
}

Tensor relu(const Tensor& x) {
  detail::check_defined(x, "relu");
  FRESCO_PROFILE("relu");
  Tensor y = map_unary(x, [](float v) { return v > 0.f ? v : 0.f; });
  if (needs_grad({&x}))
    record(y, "relu", {x}, [x](const Tensor& g) {
      if (!is_grad_enabled()) return std::vector<Tensor>{map_binary(g, x, [](float d, float v) { return v > 0.f ? d : 0.f; })};
      return std::vector<Tensor>{g * step(x)};
    });
  return y;
}

Tensor leaky_relu(const Tensor& x, float slope) {
  detail::check_defined(x, "leaky_relu");
  FRESCO_PROFILE("leaky_relu");
  Tensor y = map_unary(x, [slope](float v) { return v > 0.f ? v : v * slope; });
  if (needs_grad({&x}))
    record(y, "leaky_relu", {x}, [x, slope](const Tensor& g) {
      if (!is_grad_enabled())
        return std::vector<Tensor>{map_binary(g, x, [slope](float d, float v) { return v > 0.f ? d : d * slope; })};
      Tensor local = map_unary(x, [slope](float v) { return v > 0.f ? 1.f : slope; });  // constant in x
      return std::vector<Tensor>{g * local};
    });
  return y;
}

namespace {
constexpr float kInvSqrt2 = 0.70710678118654752f;
constexpr float kInvSqrt2Pi = 0.39894228040143268f;
// gelu(x) = x Φ(x); gelu'(x) = Φ(x) + x φ(x); gelu''(x) = φ(x) (2 - x²).
// Φ and φ share exp(-x²/2), computed once.
// gelu(v) = v Φ(v) and gelu'(v) = Φ(v) + v φ(v), sharing exp(-v²/2) and erfc.
struct GeluAndDerivative {
  float value, d1;
};
inline GeluAndDerivative gelu_and_d1(float v) {
  const float a = std::fabs(v) * kInvSqrt2;
  const float e = kernels::exp_fast(-a * a);  // exp(-v²/2)
  const float erfc_a = kernels::erfc_from_exp(a, e);
  const float one_plus_erf = v >= 0.f ? 2.f - erfc_a : erfc_a;  // 2 Φ(v)
  return {0.5f * v * one_plus_erf, 0.5f * one_plus_erf + v * kInvSqrt2Pi * e};
}
inline float gelu_d1(float v) { return gelu_and_d1(v).d1; }
}  // namespace

Tensor gelu_grad(const Tensor& x) {
  detail::check_defined(x, "gelu_grad");
  FRESCO_PROFILE("gelu_grad");
  Tensor y = map_unary(x, gelu_d1);
  if (needs_grad({&x}))
    record(y, "gelu_grad", {x}, [x](const Tensor& g) {
      Tensor d2 = map_unary(x, [](float v) { return kInvSqrt2Pi * kernels::exp_fast(-0.5f * v * v) * (2.f - v * v); });
      return std::vector<Tensor>{g * d2};
    });
  return y;
}

Tensor gelu(const Tensor& x) {
  detail::check_defined(x, "gelu");
  FRESCO_PROFILE("gelu");
  if (!needs_grad({&x})) return map_unary(x, [](float v) { return 0.5f * v * kernels::one_plus_erf(v * kInvSqrt2); });
  // Recorded: gelu' shares exp(-x²/2) and erfc with gelu, so the forward writes both (the
  // same values as gelu_d1) and the backward is one multiply instead of a second pass of
  // the math (in the W2 step, per [2048, 512]: forward 1.14 -> 1.3 ms, backward 1.14 ->
  // 0.7 ms, for one more tensor kept until the backward).
  const Tensor xc = x.contiguous();
  Tensor y = detail::make_tensor(x.shape()), d1 = detail::make_tensor(x.shape());
  kernels::parallel_for(y.numel(), kernels::kElementwiseGrain,
                        [xp = xc.data(), yp = y.data(), dp = d1.data()](int64_t b0, int64_t b1) {
                          for (int64_t i = b0; i < b1; ++i) {
                            const GeluAndDerivative r = gelu_and_d1(xp[i]);
                            yp[i] = r.value;
                            dp[i] = r.d1;
                          }
                        });
  record(y, "gelu", {x}, [x, d1](const Tensor& g) {
    if (!is_grad_enabled()) return std::vector<Tensor>{map_binary(g, d1, [](float a, float b) { return a * b; })};
    return std::vector<Tensor>{g * gelu_grad(x)};
  });
  return y;
}

Tensor tanh(const Tensor& x) {
  detail::check_defined(x, "tanh");
  FRESCO_PROFILE("tanh");
  Tensor y = map_unary(x, [](float v) { return kernels::tanh_fast(v); });
  if (needs_grad({&x}))
    record(y, "tanh", {x}, [x, ys = y.detach()](const Tensor& g) {
      if (!is_grad_enabled())
        return std::vector<Tensor>{map_binary(g, ys, [](float d, float t) { return d * (1.f - t * t); })};
      const Tensor t = tanh(x);
      return std::vector<Tensor>{g * (1.f - t * t)};
    });
  return y;
}

Tensor sigmoid(const Tensor& x) {
  detail::check_defined(x, "sigmoid");
  FRESCO_PROFILE("sigmoid");
  // 1 / (1 + e^-v) for v >= 0, e^v / (1 + e^v) below: no overflow either way.
  Tensor y = map_unary(x, [](float v) {
    const float e = kernels::exp_fast(-std::fabs(v));
    return v >= 0.f ? 1.f / (1.f + e) : e / (1.f + e);
  });
  if (needs_grad({&x}))
    record(y, "sigmoid", {x}, [x, ys = y.detach()](const Tensor& g) {
      if (!is_grad_enabled())
        return std::vector<Tensor>{map_binary(g, ys, [](float d, float s) { return d * s * (1.f - s); })};
      const Tensor sg = sigmoid(x);
      return std::vector<Tensor>{g * sg * (1.f - sg)};
    });
  return y;
}

Tensor softplus(const Tensor& x) {
  detail::check_defined(x, "softplus");
  FRESCO_PROFILE("softplus");
  Tensor y = map_unary(x, [](float v) { return std::max(v, 0.f) + std::log1p(std::exp(-std::fabs(v))); });
  if (needs_grad({&x})) record(y, "softplus", {x}, [x](const Tensor& g) { return std::vector<Tensor>{g * sigmoid(x)}; });
  return y;
}

Tensor clamp(const Tensor& x, float low, float high) {
  detail::check_defined(x, "clamp");
  FRESCO_PROFILE("clamp");
  FRESCO_CHECK(low <= high, "clamp: expected low <= high, got {} > {}", low, high);
  Tensor y = map_unary(x, [low, high](float v) { return std::min(std::max(v, low), high); });
  if (needs_grad({&x}))
    record(y, "clamp", {x}, [x, low, high](const Tensor& g) {
      Tensor inside = map_unary(x, [low, high](float v) { return v >= low && v <= high ? 1.f : 0.f; });
      return std::vector<Tensor>{g * inside};
    });
  return y;
}

}  // namespace fresco
