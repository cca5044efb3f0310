// SPDX-License-Identifier: Apache-2.0
#include <fresco/optim/adam.hpp>

#include <cmath>

#include <fresco/autograd/autograd.hpp>
#include <fresco/error.hpp>
#include <fresco/tensor/profiler.hpp>

#include "kernels/optim.hpp"

namespace fresco::optim {

namespace {

template <class O>
void check_adam_options(const O& o, const char* name) {
  FRESCO_CHECK(o.beta1 >= 0.f && o.beta1 < 1.f, "{}: beta1 must be in [0, 1), got {}", name, o.beta1);
  FRESCO_CHECK(o.beta2 >= 0.f && o.beta2 < 1.f, "{}: beta2 must be in [0, 1), got {}", name, o.beta2);
  FRESCO_CHECK(o.eps >= 0.f && std::isfinite(o.eps), "{}: eps must be >= 0, got {}", name, o.eps);
  FRESCO_CHECK(o.weight_decay >= 0.f && std::isfinite(o.weight_decay), "{}: weight_decay must be >= 0, got {}", name,
               o.weight_decay);
}

// One pass per parameter; `decoupled` picks AdamW's decay over Adam's L2 term.
template <class O>
void adam_step(Optimizer& opt, const O& o, bool decoupled, auto&& state_of, auto&& grad_of) {
  NoGradGuard guard;
  for (size_t i = 0; i < opt.params().size(); ++i) {
    Tensor g = grad_of(i);
    if (!g.defined()) continue;
    auto& s = state_of(i);
    ++s.step;
    Tensor p = opt.params()[i];
    kernels::adam_update(p.data(), s.buffers.at("exp_avg").data(), s.buffers.at("exp_avg_sq").data(), g.data(),
                         p.numel(),
                         {.lr = opt.lr(), .beta1 = o.beta1, .beta2 = o.beta2, .eps = o.eps,
                          .weight_decay = o.weight_decay, .decoupled = decoupled, .step = s.step});
  }
}

}  // namespace

Adam::Adam(std::vector<Tensor> params, AdamOptions options)
    : Optimizer(std::move(params), options.lr, "Adam", {"exp_avg", "exp_avg_sq"}), options_(options) {
  check_adam_options(options, "Adam");
}

void Adam::step() {
  profiler::Scope profile("adam.step");
  adam_step(*this, options_, false, [this](size_t i) -> ParamState& { return state(i); },
            [this](size_t i) { return grad_of(i); });
  count_step();
}

AdamW::AdamW(std::vector<Tensor> params, AdamWOptions options)
    : Optimizer(std::move(params), options.lr, "AdamW", {"exp_avg", "exp_avg_sq"}), options_(options) {
  check_adam_options(options, "AdamW");
}

void AdamW::step() {
  profiler::Scope profile("adamw.step");
  adam_step(*this, options_, true, [this](size_t i) -> ParamState& { return state(i); },
            [this](size_t i) { return grad_of(i); });
  count_step();
}

}  // namespace fresco::optim
