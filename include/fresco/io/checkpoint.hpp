// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file
/// Saving and loading a module's parameters and buffers (and an optimizer's
/// state) as safetensors files, under the names of `named_parameters()` /
/// `named_buffers()` (resp. `state_dict()`).
///
///     fresco::io::save(model, "model.safetensors");
///     fresco::io::load(model, "model.safetensors");   // strict: names and shapes must match

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include <fresco/io/safetensors.hpp>
#include <fresco/tensor/memory_limit.hpp>
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

/// RAII for every loader that builds modules from a file's metadata: the
/// file's tensor index is read and validated first, and while the guard
/// lives the calling thread may hold at most `kLoadMemoryFactor` times the
/// file's tensors (as f32) plus `kLoadMemorySlackBytes` of new tensors: the
/// model, the tensors read to fill it and initialisation's temporaries. A
/// file whose metadata claims a larger model than its tensors fails after a
/// few megabytes with `MemoryLimitError` naming the loader and the file,
/// instead of allocating the claimed model. Declare it before the first module:
///
///     std::unique_ptr<Classifier> Classifier::load(const std::string& path) {
///       const fresco::io::LoadLimit limit(path, "Classifier::load");
///       auto model = std::make_unique<Classifier>(config_from_metadata(...));
///
/// Not copyable or movable; covers the calling thread only.
class LoadLimit {
public:
  /// How many times the file's f32 tensor bytes a load may hold at once.
  static constexpr int64_t kLoadMemoryFactor = 3;
  /// Room beyond that for small tensors the file does not store.
  static constexpr int64_t kLoadMemorySlackBytes = int64_t{4} << 20;

  /// Reads the header of `path` (throws `fresco::IoError` naming the file if it is not a
  /// valid safetensors file) and starts the limit. `loader` names the caller in messages.
  LoadLimit(const std::string& path, std::string_view loader);

  /// The file's validated tensor index and metadata.
  const SafetensorsHeader& header() const { return header_; }
  /// Throws `fresco::IoError` ("<loader>: <path>: the metadata's configuration needs tensor
  /// <name> of shape [..], the file holds [..]" / "... holds no such tensor") unless the file
  /// holds a tensor `name` of `shape`: a loader's first check of a config against the file,
  /// before building anything.
  void expect_tensor(const std::string& name, const Shape& shape) const;
  /// Throws `fresco::IoError` "<loader>: <path>: <problem>".
  [[noreturn]] void fail(std::string_view problem) const;
  /// The limit's current use and cap, in bytes.
  const MemoryLimit& memory() const { return limit_; }

private:
  std::string path_;
  std::string loader_;
  SafetensorsHeader header_;
  MemoryLimit limit_;
};

}  // namespace fresco::io
