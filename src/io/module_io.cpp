// SPDX-License-Identifier: Apache-2.0
// Module and optimizer checkpoints on top of the safetensors reader/writer.
#include <fresco/io/checkpoint.hpp>

#include <cstring>
#include <vector>

#include <fresco/autograd/autograd.hpp>
#include <fresco/error.hpp>
#include <fresco/io/safetensors.hpp>
#include <fresco/nn/module.hpp>
#include <fresco/optim/optimizer.hpp>

namespace fresco::io {

std::map<std::string, Tensor> module_state(const nn::Module& module) {
  std::map<std::string, Tensor> out;
  for (const auto& [name, t] : module.named_parameters()) out.emplace(name, t);
  for (const auto& [name, t] : module.named_buffers()) {
    FRESCO_CHECK(!out.count(name), "module_state: '{}' names both a parameter and a buffer", name);
    out.emplace(name, t);
  }
  return out;
}

std::map<std::string, Tensor> with_prefix(const std::map<std::string, Tensor>& tensors, const std::string& prefix) {
  std::map<std::string, Tensor> out;
  for (const auto& [name, t] : tensors) out[prefix + name] = t;
  return out;
}

std::map<std::string, Tensor> strip_prefix(const std::map<std::string, Tensor>& tensors, const std::string& prefix) {
  std::map<std::string, Tensor> out;
  for (const auto& [name, t] : tensors)
    if (name.rfind(prefix, 0) == 0) out[name.substr(prefix.size())] = t;
  return out;
}

void load_module_state(nn::Module& module, const std::map<std::string, Tensor>& tensors, const std::string& source) {
  const std::map<std::string, Tensor> targets = module_state(module);
  std::vector<std::string> missing, unexpected, mismatched;
  for (const auto& [name, t] : targets) {
    auto it = tensors.find(name);
    if (it == tensors.end()) missing.push_back(name + " " + shape_str(t.shape()));
    else if (!it->second.defined() || it->second.shape() != t.shape())
      mismatched.push_back(fmt::format("{} (expected {}, found {})", name, shape_str(t.shape()),
                                       it->second.defined() ? shape_str(it->second.shape()) : "undefined"));
  }
  for (const auto& [name, t] : tensors)
    if (!targets.count(name)) unexpected.push_back(name + " " + (t.defined() ? shape_str(t.shape()) : "undefined"));
  if (!missing.empty() || !unexpected.empty() || !mismatched.empty()) {
    std::string msg = fmt::format("load: {} does not match the {} ({} tensors expected, {} found)", source,
                                  module.type_name(), targets.size(), tensors.size());
    if (!missing.empty()) msg += fmt::format("; missing: {}", fmt::join(missing, ", "));
    if (!unexpected.empty()) msg += fmt::format("; unexpected: {}", fmt::join(unexpected, ", "));
    if (!mismatched.empty()) msg += fmt::format("; mismatched: {}", fmt::join(mismatched, ", "));
    throw Error(msg);
  }
  // Copy into the existing storage: the module's members, an optimizer's
  // parameter list and any other handle all share it.
  NoGradGuard guard;
  for (const auto& [name, target] : targets) {
    Tensor dst = target;
    FRESCO_CHECK(dst.is_contiguous(), "load: {} of the {} is not contiguous", name, module.type_name());
    const Tensor src = tensors.at(name).contiguous();
    std::memcpy(dst.data(), src.data(), static_cast<size_t>(src.numel()) * sizeof(float));
  }
}

namespace {

int64_t load_memory_cap(const SafetensorsHeader& h) {
  // tensor_bytes_as_f32 is at most 4x a file of at most 2^40 bytes: the products stay far below 2^63.
  const auto bytes = static_cast<int64_t>(tensor_bytes_as_f32(h));
  const auto tensors = static_cast<int64_t>(h.entries.size()) * MemoryLimit::kTensorOverheadBytes;
  return LoadLimit::kLoadMemoryFactor * (bytes + tensors) + LoadLimit::kLoadMemorySlackBytes;
}

std::string load_limit_context(const std::string& loader, const std::string& path, const SafetensorsHeader& h) {
  return fmt::format("{}: {}: the configuration in its metadata describes a model larger than the file holds ({} "
                     "tensors, {} bytes as f32); the metadata or the file is damaged or not of this model",
                     loader, path, h.entries.size(), tensor_bytes_as_f32(h));
}

}  // namespace

LoadLimit::LoadLimit(const std::string& path, std::string_view loader)
    : path_(path),
      loader_(loader),
      header_(read_safetensors_header(path)),
      limit_(load_memory_cap(header_), load_limit_context(loader_, path_, header_)) {}

void LoadLimit::fail(std::string_view problem) const {
  throw IoError(fmt::format("{}: {}: {}", loader_, path_, problem));
}

void LoadLimit::expect_tensor(const std::string& name, const Shape& shape) const {
  for (const auto& e : header_.entries) {
    if (e.name != name) continue;
    if (e.shape == shape) return;
    fail(fmt::format("the configuration in its metadata needs tensor {} of shape {}, the file holds {}; the "
                     "metadata or the file is damaged",
                     name, shape_str(shape), shape_str(e.shape)));
  }
  fail(fmt::format("the configuration in its metadata needs tensor {} of shape {}, the file holds no such tensor; "
                   "the metadata or the file is damaged",
                   name, shape_str(shape)));
}

void save(const nn::Module& module, const std::string& path, const std::map<std::string, std::string>& metadata) {
  save_safetensors(module_state(module), path, metadata);
}

void load(nn::Module& module, const std::string& path) { load_module_state(module, load_safetensors(path), path); }

void save(const optim::Optimizer& optimizer, const std::string& path) {
  save_safetensors(optimizer.state_dict(), path);
}

void load(optim::Optimizer& optimizer, const std::string& path) { optimizer.load_state_dict(load_safetensors(path)); }

}  // namespace fresco::io
