// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file
/// Autograd controls: switching recording off (`NoGradGuard`), and the
/// finite-difference gradient checkers any test can use.
///
/// The graph is define-by-run: every differentiable op whose inputs need a
/// gradient records one node holding its inputs and a backward closure.
/// `Tensor::backward()` sorts the nodes with an explicit stack (no recursion,
/// so a 1,000-layer chain is fine), sweeps back, accumulates gradients with
/// `+=` into each leaf's `.grad()`, and frees the graph.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <fresco/tensor/tensor.hpp>

namespace fresco {

/// While one of these lives, operations on this thread record no graph
/// (as torch.no_grad()). RAII, thread-local, nestable.
///
///     { fresco::NoGradGuard guard; w = w - 0.1f * w.grad(); }
struct NoGradGuard {
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

private:
  bool previous_;
};

/// Turns recording back on inside a NoGradGuard (the backward of create_graph uses it).
struct EnableGradGuard {
  EnableGradGuard();
  ~EnableGradGuard();
  EnableGradGuard(const EnableGradGuard&) = delete;
  EnableGradGuard& operator=(const EnableGradGuard&) = delete;

private:
  bool previous_;
};

/// True unless a NoGradGuard is active on this thread.
bool is_grad_enabled();

/// Options of gradcheck and gradgradcheck.
struct GradcheckOptions {
  double eps = 1e-3;   ///< central-difference step
  double atol = 1e-3;  ///< absolute tolerance
  double rtol = 1e-2;  ///< relative tolerance
};

/// Compares analytic gradients of `f` with central differences, for every
/// element of every input that requires a gradient. `f` returns any tensor;
/// the checked scalar is sum(f(inputs) * w) for a fixed random w (double
/// accumulation). Returns true when all agree; otherwise throws
/// `fresco::Error` naming the input, the element and both values.
bool gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& f,
               const std::vector<Tensor>& inputs, GradcheckOptions options = {});

/// Checks second derivatives: gradcheck of the function
/// inputs -> grad(sum(f(inputs) * w), inputs, create_graph = true).
bool gradgradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& f,
                   const std::vector<Tensor>& inputs, GradcheckOptions options = {});

/// Keeps a hook registered until `remove()` is called or the handle is
/// destroyed. Move-only; a default-constructed handle holds nothing.
class HookHandle {
public:
  HookHandle() = default;
  HookHandle(std::weak_ptr<void> owner, uint64_t id, void (*remove)(const std::shared_ptr<void>&, uint64_t))
      : owner_(std::move(owner)), id_(id), remove_(remove) {}
  HookHandle(HookHandle&& o) noexcept { *this = std::move(o); }
  HookHandle& operator=(HookHandle&& o) noexcept {
    if (this != &o) {
      remove();
      owner_ = std::move(o.owner_);
      id_ = o.id_;
      remove_ = o.remove_;
      o.remove_ = nullptr;
    }
    return *this;
  }
  HookHandle(const HookHandle&) = delete;
  HookHandle& operator=(const HookHandle&) = delete;
  ~HookHandle() { remove(); }
  /// Unregisters the hook (a no-op when it is gone already).
  void remove() {
    if (remove_)
      if (auto owner = owner_.lock()) remove_(owner, id_);
    remove_ = nullptr;
  }

private:
  std::weak_ptr<void> owner_;
  uint64_t id_ = 0;
  void (*remove_)(const std::shared_ptr<void>&, uint64_t) = nullptr;
};

/// Calls `hook(leaf)` in every `backward()` once the pass has accumulated
/// into `leaf.grad()` for the last time (PyTorch's
/// `Tensor.register_post_accumulate_grad_hook`): every node of the graph
/// that consumes `leaf` has been visited, so the gradient is final for this
/// pass, while the rest of the graph may still be running. It is called for
/// each pass whose graph reaches the leaf, even when no gradient flowed to
/// it (then `.grad()` is unchanged). The hook may read and modify
/// `leaf.grad()`. `fresco::grad`, which leaves `.grad()` alone, calls no
/// hooks. `leaf` must be a leaf that requires a gradient (a parameter).
/// Distributed data parallel training starts its gradient all-reduce from
/// these hooks.
///
///     auto h = fresco::register_post_accumulate_grad_hook(w, [](const fresco::Tensor& p) { /* p.grad() is final */ });
[[nodiscard]] HookHandle register_post_accumulate_grad_hook(const Tensor& leaf,
                                                            std::function<void(const Tensor&)> hook);

/// From inside a hook of a running backward pass: runs `callback` on the
/// same thread once the pass has visited every node (and before
/// `backward()` returns), in the order queued. Throws `fresco::Error`
/// outside a backward pass.
void queue_backward_callback(std::function<void()> callback);

namespace detail {

/// The backward of one op: from d(output) to d(input) for each input, in the
/// order the inputs were recorded (an undefined tensor where an input needs
/// no gradient). Written with fresco's differentiable ops, so that with
/// create_graph the backward pass is itself recorded.
using BackwardFn = std::function<std::vector<Tensor>(const Tensor& grad_output)>;

/// True when recording is on and some input requires a gradient.
bool needs_grad(std::initializer_list<const Tensor*> inputs);
bool needs_grad(const std::vector<Tensor>& inputs);

/// Makes `output` the result of a recorded op `name` over `inputs`.
/// Call only when needs_grad(inputs) is true.
void record(Tensor& output, const char* name, std::vector<Tensor> inputs, BackwardFn backward);

/// A number for the backward pass running on this thread (the innermost, when
/// a hook runs another), different for every pass; 0 outside one. Lets a hook
/// tell a new pass from one that ended by an exception before its callbacks ran.
uint64_t backward_pass_serial();

/// Name of the op that produced `t` ("" for a leaf): for error messages and profiles.
std::string grad_fn_name(const Tensor& t);

}  // namespace detail
}  // namespace fresco
