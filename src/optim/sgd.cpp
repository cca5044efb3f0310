// SPDX-License-Identifier: Apache-2.0
#include <fresco/optim/sgd.hpp>

#include <cmath>

#include <fresco/autograd/autograd.hpp>
#include <fresco/error.hpp>

#include "kernels/optim.hpp"

namespace fresco::optim {

namespace {

std::vector<std::string> sgd_state(const SGDOptions& o) {
  return o.momentum != 0.f ? std::vector<std::string>{"momentum_buffer"} : std::vector<std::string>{};
}

}  // namespace

SGD::SGD(std::vector<Tensor> params, SGDOptions options)
    : Optimizer(std::move(params), options.lr, "SGD", sgd_state(options)), options_(options) {
  FRESCO_CHECK(options.momentum >= 0.f && std::isfinite(options.momentum), "SGD: momentum must be >= 0, got {}",
               options.momentum);
  FRESCO_CHECK(options.weight_decay >= 0.f && std::isfinite(options.weight_decay),
               "SGD: weight_decay must be >= 0, got {}", options.weight_decay);
  FRESCO_CHECK(options.dampening >= 0.f && options.dampening <= 1.f, "SGD: dampening must be in [0, 1], got {}",
               options.dampening);
  FRESCO_CHECK(!options.nesterov || (options.momentum > 0.f && options.dampening == 0.f),
               "SGD: Nesterov momentum needs momentum > 0 and dampening 0, got momentum {} and dampening {}",
               options.momentum, options.dampening);
}

void SGD::step() {
  NoGradGuard guard;
  for (size_t i = 0; i < params().size(); ++i) {
    Tensor g = grad_of(i);
    if (!g.defined()) continue;
    ParamState& s = state(i);
    Tensor p = params()[i];
    float* buffer = options_.momentum != 0.f ? s.buffers.at("momentum_buffer").data() : nullptr;
    kernels::sgd_update(p.data(), buffer, g.data(), p.numel(),
                        {.lr = lr(), .momentum = options_.momentum, .dampening = options_.dampening,
                         .weight_decay = options_.weight_decay, .nesterov = options_.nesterov, .first = s.step == 0});
    ++s.step;
  }
  count_step();
}

}  // namespace fresco::optim
