// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file
/// Parameter initialisation, as `torch.nn.init`: the one home of the draws the
/// layers' constructors make and of the re-initialisations models apply after
/// (GPT-2's N(0, 0.02), the GAN's seeded PyTorch defaults). The in-place
/// functions write through `data()`: the tensors must be contiguous.
///
///     fresco::Generator gen(seed);
///     fresco::nn::init::normal_(gpt.wte.weight, 0.02f, gen);
///     fresco::nn::init::zeros_(linear.bias);

#include <cstdint>

#include <fresco/tensor/random.hpp>
#include <fresco/tensor/tensor.hpp>

namespace fresco::nn {
class Module;
}

namespace fresco::nn::init {

/// The bound of PyTorch's default init of Linear and Conv weights and biases:
/// kaiming_uniform_ with a = sqrt(5) gives gain sqrt(1/3), bound = gain · sqrt(3 / fan_in)
/// = 1 / sqrt(fan_in); 0 when fan_in is 0.
float default_bound(int64_t fan_in);

/// Xavier (Glorot) uniform bound: sqrt(6 / (fan_in + fan_out)).
float xavier_bound(int64_t fan_in, int64_t fan_out);

/// A weight's fan-in as PyTorch computes it: numel / size(0), i.e. size(1) times
/// the kernel area ([out, in] -> in; conv [out, in, k, k] -> in·k·k; transposed
/// conv [in, out, k, k] -> out·k·k). The tensor must have two or more dims.
int64_t fan_in(const Tensor& weight);

/// A new tensor of `shape` ~ U(-bound, bound) from the global generator
/// (`manual_seed` repeats it), made outside autograd: a layer's default draw.
Tensor uniform(const Shape& shape, float bound);

/// A new tensor of `shape` ~ U(-b, b) with b = xavier_bound(fan_in, fan_out).
Tensor xavier_uniform(const Shape& shape, int64_t fan_in, int64_t fan_out);

/// In place: every element ~ U(-bound, bound), drawn from `gen` in order as (2u − 1) · bound.
void uniform_(Tensor& t, float bound, Generator& gen);

/// In place: every element ~ N(0, std²), drawn from `gen` in order as std · normal().
void normal_(Tensor& t, float std, Generator& gen);

/// In place: every element 0. An undefined tensor (an absent bias) is left alone.
void zeros_(Tensor& t);

/// Re-initialises `module` from `Generator(seed)` alone, whatever the global
/// generator did: every parameter with two or more dims gets
/// uniform_(p, default_bound(fan_in(p))) (PyTorch's default for Linear and Conv),
/// in `named_parameters()` order; one-dim parameters named "...bias" are zeroed,
/// the other one-dim ones (norm gains) keep their values.
void reset_uniform_(Module& module, uint64_t seed);

}  // namespace fresco::nn::init
