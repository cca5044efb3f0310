// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file
/// `nn::Module`: the base of every layer. A module registers its parameters,
/// buffers and submodules by name, so that a model's tensors can be listed
/// with dotted paths ("blocks.0.attn.in_proj_weight"), saved, loaded and
/// handed to an optimizer.
///
///     struct Mlp : fresco::nn::Module {
///       fresco::nn::Linear fc{4, 8}, proj{8, 2};
///       Mlp() { register_module("fc", fc); register_module("proj", proj); }
///       fresco::Tensor forward(const fresco::Tensor& x) { return proj(fresco::relu(fc(x))); }
///     };
///
/// `forward` is not virtual: each module declares the signature it needs.
/// `train(bool)` is the one virtual function.

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include <fresco/tensor/tensor.hpp>

namespace fresco::nn {

/// Base class of all layers and models. **Neither copyable nor movable**: its
/// registry refers to its members. Hold submodules as members and register
/// them, or hold them by `std::unique_ptr` (see `ModuleList`, `Sequential`).
class Module {
public:
  Module() = default;
  virtual ~Module();
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;
  Module(Module&&) = delete;
  Module& operator=(Module&&) = delete;

  /// Every parameter of this module and its submodules, with dotted paths,
  /// in registration order (own parameters first, then each submodule's).
  /// A tensor registered under two names (tied weights) is listed once, under its first name.
  std::vector<std::pair<std::string, Tensor>> named_parameters() const;
  /// The tensors of `named_parameters()`, for an optimizer.
  std::vector<Tensor> parameters() const;
  /// Every buffer (state that is saved but not trained, e.g. BatchNorm running statistics).
  std::vector<std::pair<std::string, Tensor>> named_buffers() const;
  /// Direct submodules with their names, in registration order.
  std::vector<std::pair<std::string, Module*>> children() const;

  /// Switches training mode (dropout active, BatchNorm on batch statistics)
  /// on this module and every submodule. Override to react, and call the base.
  virtual void train(bool on = true);
  /// `train(false)`.
  void eval();
  bool is_training() const { return training_; }

  /// Drops the accumulated gradient of every parameter.
  void zero_grad();
  /// Total elements over all parameters (tied parameters counted once).
  int64_t num_parameters() const;

  /// The type shown in summaries: the class name without namespaces ("Linear").
  std::string type_name() const;
  /// The module tree, one line per module: name, type, own parameter shapes
  /// and counts; the total at the end. Also `fmt::format("{}", module)`.
  std::string summary() const;

protected:
  /// Registers `t` as a parameter called `name` (it becomes a leaf that
  /// requires a gradient) and returns the registered handle:
  /// `weight = register_parameter("weight", fresco::empty({4, 3}));`.
  Tensor& register_parameter(std::string name, Tensor t);
  /// Registers a buffer (saved with the module, not trained).
  Tensor& register_buffer(std::string name, Tensor t);
  /// Registers a submodule held by this module (a member or a smart pointer's target).
  template <class M>
  M& register_module(std::string name, M& m) {
    static_assert(std::is_base_of_v<Module, M>, "register_module: M must derive from nn::Module");
    add_child(std::move(name), &m);
    return m;
  }

private:
  void check_new_name(const std::string& name, const char* what) const;
  void add_child(std::string name, Module* m);

  // deque: references handed out by register_* stay valid as entries are added.
  std::deque<std::pair<std::string, Tensor>> parameters_;
  std::deque<std::pair<std::string, Tensor>> buffers_;
  std::vector<std::pair<std::string, Module*>> children_;
  bool training_ = true;
};

}  // namespace fresco::nn

/// `fmt::format("{}", module)` prints `module.summary()`, for any module type.
template <class M>
struct fmt::formatter<M, char, std::enable_if_t<std::is_base_of_v<fresco::nn::Module, M>>>
    : fmt::formatter<std::string> {
  template <class Ctx>
  auto format(const M& m, Ctx& ctx) const -> decltype(ctx.out()) {
    return fmt::formatter<std::string>::format(m.summary(), ctx);
  }
};
