// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file
/// `nn::Sequential`: modules applied one after another.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <fresco/error.hpp>
#include <fresco/nn/module.hpp>

namespace fresco::nn {

class BatchNorm2d;
class Conv2d;
class ReLU;
class Upsample;

/// A chain of single-input modules, x -> m0(x) -> m1(...) -> ...; any module
/// whose `forward(const Tensor&)` returns a Tensor fits (type-erased). Stages
/// are named "0", "1", ... by position unless given a name, so parameters
/// read "0.weight", "2.bias" (or "conv1.weight").
///
/// `forward` runs the stages one by one until `fuse()` is called, which
/// plans fused ops for the runs of stages it knows (see `fuse`).
///
///     fresco::nn::Sequential net;
///     net.emplace_back<fresco::nn::Linear>(4, 8);  net.emplace_back<fresco::nn::ReLU>();  // net(x): [N, 4] -> [N, 8]
class Sequential : public Module {
public:
  Sequential() = default;

  /// Appends `m` (taking ownership) under its position as name. Returns it.
  template <class M>
  M& push_back(std::unique_ptr<M> m) {
    return add(std::to_string(stages_.size()), std::move(m));
  }
  /// Appends `m` under `name`.
  template <class M>
  M& add(std::string name, std::unique_ptr<M> m) {
    FRESCO_CHECK(m != nullptr, "Sequential: module '{}' is null", name);
    M& ref = *m;
    register_module(std::move(name), ref);
    stages_.push_back([p = &ref](const Tensor& x) { return Tensor(p->forward(x)); });
    modules_.push_back(&ref);
    kinds_.push_back(kind_of<M>());
    fused_.push_back(false);
    owned_.push_back(std::move(m));
    return ref;
  }
  /// Constructs an `M` in place and appends it.
  template <class M, class... Args>
  M& emplace_back(Args&&... args) {
    return push_back(std::make_unique<M>(std::forward<Args>(args)...));
  }
  /// Appends a parameter-free function (a reshape, a flatten): it takes a position but registers nothing.
  void push_back(std::function<Tensor(const Tensor&)> f);

  /// Runs the stages in order; an empty Sequential is the identity.
  Tensor forward(const Tensor& x) const;
  Tensor operator()(const Tensor& x) const { return forward(x); }

  /// Number of stages (modules and functions).
  int64_t size() const { return static_cast<int64_t>(stages_.size()); }

  /// The fusion step: from now on `forward` runs each Upsample(2) -> Conv2d(3×3, stride 1,
  /// padding 1, no dilation or groups) among the stages as one op, `fresco::upsample2_conv3x3`
  /// (four 2×2 convolutions of the small input, one per output pixel phase: 2.25× fewer
  /// multiply-adds), recorded with its own backward when a gradient is needed. When none is
  /// (NoGradGuard, or nothing involved requires one), a BatchNorm2d in eval mode and a ReLU
  /// right after are folded in too (the batch norm into the weights, the ReLU into the
  /// convolution). Results and gradients equal the stage-by-stage ones up to float rounding;
  /// parameters, their names and checkpoints do not change. A stage is recognised by the type
  /// it was added as: a subclass of Conv2d added as itself runs its own `forward`. Covers the
  /// stages present now (call it again after adding more); returns the number of runs fused.
  ///
  ///     net.emplace_back<fresco::nn::Upsample>(2);
  ///     net.emplace_back<fresco::nn::Conv2d>(64, 32, 3, fresco::nn::Conv2dOptions{.padding = 1});
  ///     net.fuse();   // 1
  int64_t fuse();

private:
  /// What a stage is, from the static type it was added as; only these take part in fusion.
  enum class Kind : uint8_t { other, upsample, conv2d, batch_norm2d, relu };
  template <class M>
  static constexpr Kind kind_of() {
    if constexpr (std::is_same_v<M, Upsample>) return Kind::upsample;
    else if constexpr (std::is_same_v<M, Conv2d>) return Kind::conv2d;
    else if constexpr (std::is_same_v<M, BatchNorm2d>) return Kind::batch_norm2d;
    else if constexpr (std::is_same_v<M, ReLU>) return Kind::relu;
    else return Kind::other;
  }
  /// Runs the fused op for the run that starts at stage i; returns the stages it covered (0: none).
  size_t run_fused(size_t i, Tensor& y) const;

  std::vector<std::function<Tensor(const Tensor&)>> stages_;
  std::vector<Module*> modules_;  // per stage; null for a function
  std::vector<Kind> kinds_;       // per stage
  std::vector<bool> fused_;       // per stage: a fused run starts here (set by fuse())
  std::vector<std::unique_ptr<Module>> owned_;
};

}  // namespace fresco::nn
