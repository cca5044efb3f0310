// SPDX-License-Identifier: Apache-2.0
// Finite-difference gradient checks. The checked scalar is sum(f(x) * w)
// for a fixed random w, accumulated in double, so that every output element
// takes part with a different weight.
#include <cmath>

#include <fresco/autograd/autograd.hpp>
#include <fresco/error.hpp>
#include <fresco/ops/elementwise.hpp>
#include <fresco/ops/reduce.hpp>
#include <fresco/tensor/random.hpp>

namespace fresco {
namespace {

using Fn = std::function<Tensor(const std::vector<Tensor>&)>;

double weighted_sum(const Tensor& y, const std::vector<float>& w) {
  std::vector<float> v = y.to_vector();
  double s = 0;
  for (size_t i = 0; i < v.size(); ++i) s += static_cast<double>(v[i]) * w[i];
  return s;
}

std::vector<float> fixed_weights(int64_t n) {
  Generator g(1234);
  std::vector<float> w(n);
  for (auto& x : w) x = 0.5f + g.uniform();  // in [0.5, 1.5): no cancellation to zero
  return w;
}

// Inputs as fresh leaves with the same values, so perturbing them never
// touches the caller's tensors.
std::vector<Tensor> fresh_leaves(const std::vector<Tensor>& inputs) {
  std::vector<Tensor> out;
  for (const Tensor& t : inputs) {
    if (!t.defined()) {
      out.emplace_back();
      continue;
    }
    Tensor c = tensor(t.to_vector(), t.shape());
    if (t.requires_grad()) c.requires_grad_();
    out.push_back(c);
  }
  return out;
}

}  // namespace

bool gradcheck(const Fn& f, const std::vector<Tensor>& inputs, GradcheckOptions options) {
  std::vector<Tensor> xs = fresh_leaves(inputs);
  Tensor y0 = f(xs);
  const std::vector<float> w = fixed_weights(y0.numel());
  Tensor wt = tensor(w, y0.shape());

  // Analytic: backward of sum(y * w) is w.
  std::vector<Tensor> wrt;
  for (const Tensor& x : xs)
    if (x.defined() && x.requires_grad()) wrt.push_back(x);
  FRESCO_CHECK(!wrt.empty(), "gradcheck: no input requires a gradient");
  // An output that does not depend on the inputs has zero gradients (grad() fills zeros).
  std::vector<Tensor> analytic;
  if (y0.requires_grad()) {
    analytic = grad({y0}, wrt, {wt});
  } else {
    for (const Tensor& x : wrt) analytic.push_back(zeros(x.shape()));
  }

  size_t k = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    if (!xs[i].defined() || !xs[i].requires_grad()) continue;
    std::vector<float> a = analytic[k++].to_vector();
    float* p = xs[i].data();
    for (int64_t j = 0; j < xs[i].numel(); ++j) {
      const float orig = p[j];
      double plus, minus;
      {
        NoGradGuard guard;
        p[j] = static_cast<float>(orig + options.eps);
        plus = weighted_sum(f(xs), w);
        p[j] = static_cast<float>(orig - options.eps);
        minus = weighted_sum(f(xs), w);
        p[j] = orig;
      }
      // The step actually taken in float, not the nominal eps.
      const double h = (static_cast<double>(static_cast<float>(orig + options.eps)) -
                        static_cast<double>(static_cast<float>(orig - options.eps)));
      const double numeric = (plus - minus) / h;
      const double diff = std::abs(numeric - a[j]);
      if (diff > options.atol + options.rtol * std::abs(numeric))
        throw Error(fmt::format("gradcheck: input {} element {}: analytic {:.6g}, numeric {:.6g} (difference {:.3g})", i,
                                j, a[j], numeric, diff));
    }
  }
  return true;
}

bool gradgradcheck(const Fn& f, const std::vector<Tensor>& inputs, GradcheckOptions options) {
  // For each input k: g_k(x) = d sum(f(x) * w) / dx_k, recorded (create_graph),
  // and gradcheck differentiates it once more.
  size_t n_wrt = 0;
  for (const Tensor& x : inputs)
    if (x.defined() && x.requires_grad()) ++n_wrt;
  for (size_t k = 0; k < n_wrt; ++k) {
    auto first = [&f, k](const std::vector<Tensor>& xs) {
      EnableGradGuard enable;  // gradcheck evaluates under NoGradGuard
      Tensor y = f(xs);
      Tensor wt = tensor(fixed_weights(y.numel()), y.shape());
      std::vector<Tensor> wrt;
      for (const Tensor& x : xs)
        if (x.defined() && x.requires_grad()) wrt.push_back(x);
      return grad({y}, wrt, {wt}, {.create_graph = true})[k];
    };
    gradcheck(first, inputs, options);
  }
  return true;
}

}  // namespace fresco
