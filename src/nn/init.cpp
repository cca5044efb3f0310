// SPDX-License-Identifier: Apache-2.0
#include <fresco/nn/init.hpp>

#include <algorithm>
#include <cmath>

#include <fresco/autograd/autograd.hpp>
#include <fresco/error.hpp>
#include <fresco/nn/module.hpp>

namespace fresco::nn::init {

float default_bound(int64_t fan_in) { return fan_in > 0 ? 1.f / std::sqrt(static_cast<float>(fan_in)) : 0.f; }

float xavier_bound(int64_t fan_in, int64_t fan_out) { return std::sqrt(6.f / static_cast<float>(fan_in + fan_out)); }

int64_t fan_in(const Tensor& weight) {
  FRESCO_CHECK(weight.defined() && weight.dim() >= 2, "nn::init::fan_in: expected a weight of two or more dims, got {}",
               weight.defined() ? shape_str(weight.shape()) : std::string("an undefined tensor"));
  return weight.size(0) > 0 ? weight.numel() / weight.size(0) : 0;
}

Tensor uniform(const Shape& shape, float bound) {
  NoGradGuard guard;
  return fresco::uniform(shape, -bound, bound);
}

Tensor xavier_uniform(const Shape& shape, int64_t fan_in, int64_t fan_out) {
  return uniform(shape, xavier_bound(fan_in, fan_out));
}

void uniform_(Tensor& t, float bound, Generator& gen) {
  float* d = t.data();
  for (int64_t i = 0; i < t.numel(); ++i) d[i] = (2.f * gen.uniform() - 1.f) * bound;
}

void normal_(Tensor& t, float std, Generator& gen) {
  float* d = t.data();
  for (int64_t i = 0; i < t.numel(); ++i) d[i] = std * gen.normal();
}

void zeros_(Tensor& t) {
  if (t.defined()) std::fill_n(t.data(), t.numel(), 0.f);
}

void reset_uniform_(Module& module, uint64_t seed) {
  Generator gen(seed);
  for (auto& [name, p] : module.named_parameters()) {
    if (p.dim() >= 2) {
      uniform_(p, default_bound(fan_in(p)), gen);
    } else if (name.size() >= 4 && name.compare(name.size() - 4, 4, "bias") == 0) {
      zeros_(p);
    }
  }
}

}  // namespace fresco::nn::init
