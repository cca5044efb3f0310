// SPDX-License-Identifier: Apache-2.0
// The optimizer base: parameters, lazily created state, state_dict and
// gradient clipping.
#include <fresco/optim/optimizer.hpp>

#include <algorithm>
#include <cmath>
#include <set>

#include <fresco/autograd/autograd.hpp>
#include <fresco/error.hpp>

#include "kernels/optim.hpp"

namespace fresco::optim {

Optimizer::Optimizer(std::vector<Tensor> params, float lr, const char* name, std::vector<std::string> state_names)
    : name_(name), params_(std::move(params)), state_names_(std::move(state_names)), state_(params_.size()), lr_(lr) {
  std::set<const void*> seen;
  for (size_t i = 0; i < params_.size(); ++i) {
    const Tensor& p = params_[i];
    FRESCO_CHECK(p.defined(), "{}: parameter {} is undefined", name_, i);
    FRESCO_CHECK(p.is_contiguous(), "{}: parameter {} ({}) is not contiguous; optimizers update parameters in place",
                 name_, i, shape_str(p.shape()));
    FRESCO_CHECK(seen.insert(p.impl().get()).second, "{}: parameter {} appears more than once in the list", name_, i);
  }
  set_lr(lr);
}

Optimizer::~Optimizer() = default;

void Optimizer::set_lr(float lr) {
  FRESCO_CHECK(lr >= 0.f && std::isfinite(lr), "{}: lr must be finite and >= 0, got {}", name_, lr);
  lr_ = lr;
}

void Optimizer::zero_grad() {
  for (auto& p : params_) p.zero_grad();
}

Optimizer::ParamState& Optimizer::state(size_t i) {
  ParamState& s = state_[i];
  if (s.buffers.empty())
    for (const auto& n : state_names_) s.buffers[n] = zeros(params_[i].shape());
  return s;
}

Tensor Optimizer::grad_of(size_t i) const {
  Tensor g = params_[i].grad();
  if (!g.defined()) return g;
  FRESCO_CHECK(g.shape() == params_[i].shape(), "{}: the gradient of parameter {} has shape {}, the parameter {}",
               name_, i, shape_str(g.shape()), shape_str(params_[i].shape()));
  return g.contiguous();
}

std::map<std::string, Tensor> Optimizer::state_dict() const {
  std::map<std::string, Tensor> out;
  out["step"] = tensor({static_cast<float>(steps_)}, {1});
  out["lr"] = tensor({lr_}, {1});
  for (size_t i = 0; i < state_.size(); ++i) {
    const ParamState& s = state_[i];
    if (s.step == 0 && s.buffers.empty()) continue;  // never updated
    const std::string prefix = "state." + std::to_string(i) + ".";
    out[prefix + "step"] = tensor({static_cast<float>(s.step)}, {1});
    for (const auto& [n, t] : s.buffers) out[prefix + n] = t.detach().clone();
  }
  return out;
}

void Optimizer::load_state_dict(const std::map<std::string, Tensor>& state) {
  std::vector<std::string> missing, unexpected, mismatched;
  auto expect_shape = [&](const std::string& key, const Tensor& t, const Shape& shape) {
    if (!t.defined() || t.shape() != shape) {
      mismatched.push_back(fmt::format("{} (expected {}, got {})", key, shape_str(shape),
                                       t.defined() ? shape_str(t.shape()) : "undefined"));
      return false;
    }
    return true;
  };
  for (const char* key : {"step", "lr"}) {
    auto it = state.find(key);
    if (it == state.end()) missing.emplace_back(key);
    else expect_shape(key, it->second, {1});
  }
  // state.<i>.<name>: which parameters have state, and is each entry known?
  std::map<size_t, std::set<std::string>> found;
  for (const auto& [key, t] : state) {
    if (key == "step" || key == "lr") continue;
    size_t i = 0;
    std::string name;
    bool ok = key.rfind("state.", 0) == 0;
    if (ok) {
      const std::string rest = key.substr(6);
      const size_t dot = rest.find('.');
      ok = dot != std::string::npos && dot > 0 && dot < 10 &&
           std::all_of(rest.begin(), rest.begin() + static_cast<std::ptrdiff_t>(dot),
                       [](char c) { return c >= '0' && c <= '9'; });
      if (ok) {
        i = std::stoul(rest.substr(0, dot));
        name = rest.substr(dot + 1);
        ok = i < params_.size() &&
             (name == "step" || std::find(state_names_.begin(), state_names_.end(), name) != state_names_.end());
      }
    }
    if (!ok) {
      unexpected.push_back(key + " " + (t.defined() ? shape_str(t.shape()) : "undefined"));
      continue;
    }
    expect_shape(key, t, name == "step" ? Shape{1} : params_[i].shape());
    found[i].insert(name);  // present (a wrong shape is reported as mismatched, not missing)
  }
  for (const auto& [i, names] : found) {
    for (const auto& n : state_names_)
      if (!names.count(n)) missing.push_back(fmt::format("state.{}.{} {}", i, n, shape_str(params_[i].shape())));
    if (!names.count("step")) missing.push_back(fmt::format("state.{}.step [1]", i));
  }
  if (!missing.empty() || !unexpected.empty() || !mismatched.empty()) {
    std::string msg = fmt::format("{}::load_state_dict: the state does not match this optimizer ({} parameters)", name_,
                                  params_.size());
    if (!missing.empty()) msg += fmt::format("; missing: {}", fmt::join(missing, ", "));
    if (!unexpected.empty()) msg += fmt::format("; unexpected: {}", fmt::join(unexpected, ", "));
    if (!mismatched.empty()) msg += fmt::format("; mismatched: {}", fmt::join(mismatched, ", "));
    throw Error(msg);
  }
  // Steps are counts: whole numbers in [0, 1e18] (a float beyond int64's range cannot be
  // converted), all checked before anything changes.
  const auto step_count = [&](const std::string& key) {
    const float v = state.at(key).item();
    FRESCO_CHECK(v >= 0.f && v <= 1e18f && v == std::floor(v), "{}::load_state_dict: {} must be a count, got {}", name_,
                 key, v);
    return static_cast<int64_t>(v);
  };
  const int64_t step = step_count("step");
  std::map<size_t, int64_t> param_steps;
  for (const auto& [i, names] : found) param_steps[i] = step_count(fmt::format("state.{}.step", i));
  set_lr(state.at("lr").item());
  steps_ = step;
  NoGradGuard guard;
  for (auto& s : state_) s = ParamState{};
  for (const auto& [i, names] : found) {
    ParamState& s = state_[i];
    s.step = param_steps.at(i);
    for (const auto& n : state_names_) s.buffers[n] = state.at(fmt::format("state.{}.{}", i, n)).detach().clone();
  }
}

float clip_grad_norm(const std::vector<Tensor>& params, float max_norm) {
  FRESCO_CHECK(max_norm >= 0.f, "clip_grad_norm: max_norm must be >= 0, got {}", max_norm);
  double total = 0;
  std::vector<Tensor> grads;
  for (const auto& p : params) {
    if (!p.defined() || !p.grad().defined()) continue;
    Tensor g = p.grad();
    if (!g.is_contiguous()) {
      g = g.contiguous();
      Tensor(p).set_grad(g);  // a handle on the same parameter
    }
    total += kernels::sum_squares(g.data(), g.numel());
    grads.push_back(g);
  }
  const double norm = std::sqrt(total);
  if (norm > max_norm) {
    const auto scale = static_cast<float>(max_norm / (norm + 1e-6));
    for (auto& g : grads) kernels::scale_inplace(g.data(), g.numel(), scale);
  }
  return static_cast<float>(norm);
}

}  // namespace fresco::optim
