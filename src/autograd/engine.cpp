// SPDX-License-Identifier: Apache-2.0
// Reverse-mode sweep, micrograd-style: topological order by an explicit
// stack (deep graphs must not overflow the call stack), seed, sweep back,
// accumulate.
#include "autograd/engine.hpp"

#include <atomic>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include <fresco/autograd/autograd.hpp>
#include <fresco/error.hpp>
#include <fresco/ops/elementwise.hpp>

#include "kernels/parallel.hpp"
#include "tensor/profiler_scope.hpp"
#include "tensor/tensor_impl.hpp"

namespace fresco {

namespace {
thread_local bool g_grad_enabled = true;
}

NoGradGuard::NoGradGuard() : previous_(g_grad_enabled) { g_grad_enabled = false; }
NoGradGuard::~NoGradGuard() { g_grad_enabled = previous_; }
EnableGradGuard::EnableGradGuard() : previous_(g_grad_enabled) { g_grad_enabled = true; }
EnableGradGuard::~EnableGradGuard() { g_grad_enabled = previous_; }
bool is_grad_enabled() { return g_grad_enabled; }

namespace detail {

bool needs_grad(std::initializer_list<const Tensor*> inputs) {
  if (!g_grad_enabled) return false;
  for (const Tensor* t : inputs)
    if (t->defined() && t->requires_grad()) return true;
  return false;
}

bool needs_grad(const std::vector<Tensor>& inputs) {
  if (!g_grad_enabled) return false;
  for (const Tensor& t : inputs)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}

void record(Tensor& output, const char* name, std::vector<Tensor> inputs, BackwardFn backward) {
  auto node = std::make_shared<Node>();
  node->name = name;
  node->inputs = std::move(inputs);
  node->backward = std::move(backward);
  output.impl()->grad_fn = std::move(node);
}

std::string grad_fn_name(const Tensor& t) {
  return t.defined() && t.impl()->grad_fn ? t.impl()->grad_fn->name : "";
}

namespace {
// The callbacks queued during the running backward pass of this thread
// (null outside one); a backward inside a hook gets its own list.
thread_local std::vector<std::function<void()>>* g_backward_callbacks = nullptr;
thread_local uint64_t g_pass_serial = 0;
std::atomic<uint64_t> g_next_pass_serial{1};
std::atomic<uint64_t> g_next_hook_id{1};

}  // namespace

uint64_t backward_pass_serial() { return g_pass_serial; }

namespace {

bool has_grad_hooks(const Tensor& t) {
  return t.defined() && t.impl()->requires_grad && !t.impl()->grad_fn && t.impl()->grad_hooks &&
         !t.impl()->grad_hooks->hooks.empty();
}
}  // namespace

namespace {

// Nodes reachable from the roots, each after every node that consumes its
// output (so that its gradient is complete when it is visited). Owning
// pointers: freeing the graph as the sweep goes must not free a node still
// waiting for its turn.
std::vector<std::shared_ptr<Node>> topological_order(const std::vector<Tensor>& roots) {
  std::vector<std::shared_ptr<Node>> post;  // post-order: inputs before consumers
  std::unordered_set<Node*> seen;
  std::vector<std::pair<Node*, size_t>> stack;  // node, next input to visit
  for (const Tensor& r : roots) {
    Node* n = r.impl()->grad_fn.get();
    if (!n || !seen.insert(n).second) continue;
    stack.emplace_back(n, 0);
    while (!stack.empty()) {
      auto& [node, next] = stack.back();
      if (next < node->inputs.size()) {
        const Tensor& in = node->inputs[next++];
        Node* child = in.defined() ? in.impl()->grad_fn.get() : nullptr;
        if (child && seen.insert(child).second) stack.emplace_back(child, 0);
      } else {
        post.push_back(node->shared_from_this());
        stack.pop_back();
      }
    }
  }
  return {post.rbegin(), post.rend()};
}

// a + b for gradients. Without create_graph, the first gradient is kept
// as is and later ones are added into a private copy.
Tensor accumulate(const Tensor& a, const Tensor& b) {
  if (!a.defined()) return b;
  return a + b;
}

// A leaf's .grad() must be a contiguous tensor nobody else holds, so that
// optimizers and clip_grad_norm may update it in place.
Tensor owned(const Tensor& g) {
  if (g.is_contiguous() && g.impl().use_count() == 1 && g.impl()->storage.use_count() == 1) return g;
  NoGradGuard guard;
  Tensor copy = empty(g.shape());
  auto v = g.contiguous();
  std::copy(v.data(), v.data() + v.numel(), copy.data());
  return copy;
}

void check_roots(const std::vector<Tensor>& roots, const std::vector<Tensor>& root_grads) {
  FRESCO_ASSERT(roots.size() == root_grads.size());
  for (size_t i = 0; i < roots.size(); ++i) {
    FRESCO_CHECK(roots[i].requires_grad(),
                 "backward: the tensor does not require a gradient (no input of the computation asked for one, "
                 "or it was computed under NoGradGuard)");
    FRESCO_CHECK(root_grads[i].defined(), "backward: the gradient argument is undefined");
    FRESCO_CHECK_SHAPE(root_grads[i].shape() == roots[i].shape(),
                       "backward: expected a gradient of shape {} (the tensor's), got {}", shape_str(roots[i].shape()),
                       shape_str(root_grads[i].shape()));
  }
}

// node->backward(g), timed under the profiler as "<name>.backward".
std::vector<Tensor> call_backward(Node& node, const Tensor& g) {
  FRESCO_CHECK(node.backward,
               "backward: the graph through {} was already freed by an earlier backward; "
               "pass {{.retain_graph = true}} to the first one to run backward twice",
               node.name);
  const auto start = detail::g_profiling ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{};
  std::vector<Tensor> input_grads = node.backward(g);
  if (detail::g_profiling)
    profile_add((std::string(node.name) + ".backward").c_str(),
                std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  FRESCO_ASSERT(input_grads.size() == node.inputs.size(), "{} returned {} gradients for {} inputs", node.name,
                input_grads.size(), node.inputs.size());
  return input_grads;
}

// The state of one reverse sweep: the gradients waiting at nodes not yet
// visited and, for fresco::grad, the tensors whose gradients are wanted.
class Sweep {
public:
  Sweep(BackwardOptions options, std::vector<Tensor>* capture)
      : create_graph_(options.create_graph), retain_(options.retain_graph || options.create_graph), capture_(capture) {
    if (!capture_) return;
    // Which tensors does fresco::grad want? Leaves by impl, non-leaves by node.
    captured_.resize(capture_->size());
    for (size_t i = 0; i < capture_->size(); ++i) {
      const Tensor& t = (*capture_)[i];
      if (t.impl()->grad_fn)
        captured_nodes_[t.impl()->grad_fn.get()] = i;
      else
        captured_leaves_[t.impl().get()] = i;
    }
  }

  // Adds g to the gradient of t: waiting at the node that made t, or
  // delivered to the leaf t.
  void send(const Tensor& t, const Tensor& g) {
    if (t.impl()->grad_fn) {
      Tensor& slot = grads_[t.impl()->grad_fn.get()];
      slot = accumulate(slot, g);
    } else {
      deliver_to_leaf(t, g);
    }
  }

  // Counts, for each leaf with hooks, the edges that may bring it a
  // gradient in this pass: its hooks run when the last one has been taken.
  void count_hooked_edges(const std::vector<Tensor>& roots, const std::vector<std::shared_ptr<Node>>& order) {
    if (capture_) return;  // fresco::grad leaves .grad() alone: no hooks
    for (const Tensor& r : roots)
      if (has_grad_hooks(r)) ++pending_[r.impl().get()];
    for (const auto& node : order)
      for (const Tensor& in : node->inputs)
        if (has_grad_hooks(in)) ++pending_[in.impl().get()];
  }

  // One of leaf's edges has been taken: after the last, its gradient is final.
  void edge_done(const Tensor& leaf) {
    if (pending_.empty() || !has_grad_hooks(leaf)) return;
    auto it = pending_.find(leaf.impl().get());
    if (it == pending_.end() || --it->second > 0) return;
    pending_.erase(it);
    // A copy: a hook may remove itself.
    const auto hooks = leaf.impl()->grad_hooks->hooks;
    for (const auto& [id, hook] : hooks) hook(leaf);
  }

  // Runs node's backward on its complete gradient and sends the results on;
  // frees the node's part of the graph unless it is retained.
  void visit(Node& node) {
    auto it = grads_.find(&node);
    if (it == grads_.end()) {  // no gradient reached this node
      for (const Tensor& in : node.inputs) edge_done(in);
      return;
    }
    Tensor g = std::move(it->second);
    grads_.erase(it);
    if (capture_) {
      auto c = captured_nodes_.find(&node);
      if (c != captured_nodes_.end()) captured_[c->second] = g;
    }
    const std::vector<Tensor> input_grads = call_backward(node, g);
    for (size_t i = 0; i < input_grads.size(); ++i) {
      const Tensor& in = node.inputs[i];
      const Tensor& gi = input_grads[i];
      if (gi.defined() && in.defined() && in.requires_grad()) {
        FRESCO_ASSERT(gi.shape() == in.shape(), "{}: gradient of input {} has shape {}, the input {}", node.name, i,
                      shape_str(gi.shape()), shape_str(in.shape()));
        send(in, gi);
      }
      edge_done(in);
    }
    if (!retain_) {
      node.backward = nullptr;
      node.inputs.clear();
    }
  }

  // Hands fresco::grad its gradients.
  void finish() {
    if (capture_) *capture_ = std::move(captured_);
  }

private:
  void deliver_to_leaf(const Tensor& leaf, const Tensor& g) {
    if (capture_) {
      auto it = captured_leaves_.find(leaf.impl().get());
      if (it != captured_leaves_.end()) captured_[it->second] = accumulate(captured_[it->second], g);
      return;
    }
    if (!leaf.impl()->requires_grad) return;
    Tensor& slot = leaf.impl()->grad;
    if (create_graph_) {
      slot = accumulate(slot, g);
    } else if (!slot.defined()) {
      slot = owned(g);
    } else {
      // In place: slot is ours (see owned()).
      Tensor gc = g.contiguous();
      float* dst = slot.data();
      const float* src = gc.data();
      kernels::parallel_for(slot.numel(), 1 << 15, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) dst[i] += src[i];
      });
    }
  }

  const bool create_graph_;
  const bool retain_;
  std::vector<Tensor>* capture_;
  std::unordered_map<const TensorImpl*, size_t> captured_leaves_;
  std::unordered_map<const Node*, size_t> captured_nodes_;
  std::vector<Tensor> captured_;
  std::unordered_map<const Node*, Tensor> grads_;
  std::unordered_map<const TensorImpl*, int64_t> pending_;
};

}  // namespace

void run_backward(const std::vector<Tensor>& roots, const std::vector<Tensor>& root_grads, BackwardOptions options,
                  std::vector<Tensor>* capture) {
  check_roots(roots, root_grads);
  // Without create_graph the formulas run unrecorded; with it, recorded.
  std::optional<NoGradGuard> no_grad;
  std::optional<EnableGradGuard> enable_grad;
  if (options.create_graph)
    enable_grad.emplace();
  else
    no_grad.emplace();

  Sweep sweep(options, capture);
  const std::vector<std::shared_ptr<Node>> order = topological_order(roots);
  sweep.count_hooked_edges(roots, order);
  // Callbacks queued by hooks run after the sweep, still inside backward().
  std::vector<std::function<void()>> callbacks;
  auto* const outer_callbacks = g_backward_callbacks;
  g_backward_callbacks = capture ? nullptr : &callbacks;
  const uint64_t outer_serial = g_pass_serial;
  g_pass_serial = g_next_pass_serial++;
  struct Restore {
    std::vector<std::function<void()>>* previous;
    uint64_t serial;
    ~Restore() {
      g_backward_callbacks = previous;
      g_pass_serial = serial;
    }
  } restore{outer_callbacks, outer_serial};
  for (size_t i = 0; i < roots.size(); ++i) {
    sweep.send(roots[i], root_grads[i]);
    sweep.edge_done(roots[i]);
  }
  for (const std::shared_ptr<Node>& node : order) sweep.visit(*node);
  sweep.finish();
  for (size_t i = 0; i < callbacks.size(); ++i) {  // a callback may queue another
    auto callback = std::move(callbacks[i]);
    callback();
  }
}

}  // namespace detail

HookHandle register_post_accumulate_grad_hook(const Tensor& leaf, std::function<void(const Tensor&)> hook) {
  FRESCO_CHECK(leaf.defined(), "register_post_accumulate_grad_hook: the tensor is undefined");
  FRESCO_CHECK(leaf.requires_grad() && !leaf.impl()->grad_fn,
               "register_post_accumulate_grad_hook: expected a leaf that requires a gradient (a parameter), got {}",
               leaf.impl()->grad_fn ? fmt::format("the output of {}", leaf.impl()->grad_fn->name)
                                    : std::string("a tensor that does not require a gradient"));
  FRESCO_CHECK(hook != nullptr, "register_post_accumulate_grad_hook: the hook is empty");
  auto& hooks = leaf.impl()->grad_hooks;
  if (!hooks) hooks = std::make_shared<detail::GradHooks>();
  const uint64_t id = detail::g_next_hook_id++;
  hooks->hooks.emplace_back(id, std::move(hook));
  return HookHandle(std::static_pointer_cast<void>(hooks), id, [](const std::shared_ptr<void>& owner, uint64_t id) {
    auto& list = static_cast<detail::GradHooks*>(owner.get())->hooks;
    std::erase_if(list, [id](const auto& h) { return h.first == id; });
  });
}

void queue_backward_callback(std::function<void()> callback) {
  FRESCO_CHECK(detail::g_backward_callbacks != nullptr,
               "queue_backward_callback: no backward pass is running on this thread (call it from a gradient hook)");
  detail::g_backward_callbacks->push_back(std::move(callback));
}

}  // namespace fresco
