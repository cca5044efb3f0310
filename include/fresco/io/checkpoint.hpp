// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file
/// Saving and loading a module's parameters and buffers (and an optimizer's
/// state) as safetensors files, under the names of `named_parameters()` /
/// `named_buffers()` (resp. `state_dict()`).
///
///     fresco::io::save(model, "model.safetensors");
///     fresco::io::load(model, "model.safetensors");   // strict: names and shapes must match

#include <map>
#include <string>

#include <fresco/tensor/tensor.hpp>

namespace fresco::nn {
class Module;
}  // namespace fresco::nn
namespace fresco::optim {
class Optimizer;
}  // namespace fresco::optim

namespace fresco::io {

/// Every parameter and buffer of `module` by dotted name (the tensors themselves, not copies).
std::map<std::string, Tensor> module_state(const nn::Module& module);

/// `tensors` with `prefix` put before every name: several modules' states in one
/// file ("g." + "fc.weight" -> "g.fc.weight").
std::map<std::string, Tensor> with_prefix(const std::map<std::string, Tensor>& tensors, const std::string& prefix);
/// The entries of `tensors` whose names start with `prefix`, with the prefix taken off.
std::map<std::string, Tensor> strip_prefix(const std::map<std::string, Tensor>& tensors, const std::string& prefix);

/// Copies `tensors` into `module`'s parameters and buffers, in place (every
/// handle on them sees the new values). Strict: throws `fresco::Error`
/// listing the missing, unexpected and mismatched names with their shapes,
/// before changing anything. `source` names where the tensors came from, for the message.
void load_module_state(nn::Module& module, const std::map<std::string, Tensor>& tensors,
                       const std::string& source = "<memory>");

/// Writes `module`'s parameters and buffers to a safetensors file (atomically:
/// a temporary file renamed into place), with optional string metadata.
void save(const nn::Module& module, const std::string& path, const std::map<std::string, std::string>& metadata = {});
/// Reads a file written by `save` into `module`; strict as `load_module_state`.
void load(nn::Module& module, const std::string& path);

/// Writes `optimizer.state_dict()` to a safetensors file.
void save(const optim::Optimizer& optimizer, const std::string& path);
/// Restores an optimizer from a file written by `save` (strict, as `load_state_dict`).
void load(optim::Optimizer& optimizer, const std::string& path);

}  // namespace fresco::io
