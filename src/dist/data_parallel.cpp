// SPDX-License-Identifier: Apache-2.0
// Gradient averaging in buckets that start their all-reduce during the
// backward pass (PyTorch's DDP reducer, Li et al., "PyTorch Distributed",
// VLDB 2020, in small).
//
// Each bucket is a flat buffer: the gradients of its parameters, then one
// "used" flag per parameter (1 when this process has a gradient for it), so
// that a parameter no process touched keeps an undefined gradient, as it
// would on one process, at no extra message. Buckets start in index order on
// every process whatever order the hooks fire in, because MPI needs every
// process to start its collectives in the same order.
#include <fresco/dist/data_parallel.hpp>

#include <cstring>

#include <fresco/error.hpp>

namespace fresco::dist {

struct DistributedDataParallel::Bucket {
  std::vector<size_t> params;  // in fill order
  int64_t values = 0;          // floats of gradient; the flags follow
  std::vector<float> flat;
  size_t pending = 0;
  Work work;
};

namespace {

// "numel numel ..." of every parameter then every buffer: what the
// replicas must agree on before rank 0's values can be copied into them.
std::string layout_of(const std::vector<Tensor>& params, const std::vector<Tensor>& buffers) {
  std::string s = fmt::format("{} parameters:", params.size());
  for (const Tensor& p : params) s += fmt::format(" {}", p.numel());
  s += fmt::format("; {} buffers:", buffers.size());
  for (const Tensor& b : buffers) s += fmt::format(" {}", b.numel());
  return s;
}

std::vector<Tensor> buffers_of(const nn::Module& module) {
  std::vector<Tensor> buffers;
  for (auto& [name, b] : module.named_buffers()) buffers.push_back(b);
  return buffers;
}

}  // namespace

DistributedDataParallel::DistributedDataParallel(nn::Module& module, std::shared_ptr<ProcessGroup> group,
                                                 DistributedDataParallelOptions options)
    : module_(&module), group_(std::move(group)), options_(options), params_(module.parameters()) {
  FRESCO_CHECK(group_ != nullptr, "DistributedDataParallel: the process group is null");
  FRESCO_CHECK(options_.bucket_cap_mb > 0, "DistributedDataParallel: expected bucket_cap_mb > 0, got {}",
               options_.bucket_cap_mb);
  if (group_->world_size() == 1) return;  // nothing to average: no hooks, no cost

  // Same architecture everywhere, then rank 0's weights everywhere.
  const std::vector<Tensor> buffers = buffers_of(module);
  const std::string mine = layout_of(params_, buffers);
  std::string root = mine;
  group_->broadcast(root, 0);
  const bool same = root == mine;
  const bool all_same = group_->all_reduce(same ? 1.0 : 0.0, ReduceOp::Min) == 1.0;
  FRESCO_CHECK(same, "DistributedDataParallel: the replicas differ: rank {} has a model of {}, rank 0 one of {}",
               group_->rank(),
               mine.substr(0, 200), root.substr(0, 200));
  FRESCO_CHECK(all_same, "DistributedDataParallel: the processes' models differ (another rank reported it)");
  std::vector<Tensor> state;
  for (const Tensor& p : params_) state.push_back(p.detach());
  state.insert(state.end(), buffers.begin(), buffers.end());
  group_->broadcast(state, 0);

  // Buckets in reverse registration order: the backward pass finishes the
  // last layers' gradients first.
  const int64_t cap = std::max<int64_t>(1, int64_t(options_.bucket_cap_mb * 1024 * 1024) / int64_t(sizeof(float)));
  slot_.resize(params_.size());
  for (size_t i = params_.size(); i-- > 0;) {
    const int64_t n = params_[i].numel();
    if (buckets_.empty() || (buckets_.back()->values > 0 && buckets_.back()->values + n > cap))
      buckets_.push_back(std::make_unique<Bucket>());
    Bucket& b = *buckets_.back();
    slot_[i] = {buckets_.size() - 1, b.values, b.params.size()};
    b.params.push_back(i);
    b.values += n;
  }
  for (auto& b : buckets_) b->flat.resize(size_t(b->values) + b->params.size());
  ready_.assign(params_.size(), false);
  reset_pass();
  for (size_t i = 0; i < params_.size(); ++i)
    hooks_.push_back(register_post_accumulate_grad_hook(params_[i], [this, i](const Tensor&) { on_gradient_ready(i); }));
}

DistributedDataParallel::~DistributedDataParallel() = default;

std::vector<int64_t> DistributedDataParallel::bucket_parameters(int64_t k) const {
  FRESCO_CHECK(k >= 0 && k < bucket_count(), "DistributedDataParallel::bucket_parameters: bucket {} of {}", k,
               bucket_count());
  return {buckets_[size_t(k)]->params.begin(), buckets_[size_t(k)]->params.end()};
}

void DistributedDataParallel::reset_pass() {
  std::fill(ready_.begin(), ready_.end(), false);
  for (auto& b : buckets_) b->pending = b->params.size();
  next_launch_ = 0;
  in_pass_ = false;
}

// Copies parameter p's accumulated gradient (zeros when it has none) and its
// flag into its bucket.
void DistributedDataParallel::pack(size_t p) {
  const auto [k, offset, j] = slot_[p];
  Bucket& b = *buckets_[k];
  float* dst = b.flat.data() + offset;
  const Tensor g = params_[p].grad();
  if (g.defined()) {
    const Tensor gc = g.contiguous();
    std::memcpy(dst, gc.data(), size_t(gc.numel()) * sizeof(float));
    b.flat[size_t(b.values) + j] = 1.f;
  } else {
    std::fill(dst, dst + params_[p].numel(), 0.f);
    b.flat[size_t(b.values) + j] = 0.f;
  }
  ready_[p] = true;
  --b.pending;
}

void DistributedDataParallel::launch_ready_buckets() {
  while (next_launch_ < buckets_.size() && buckets_[next_launch_]->pending == 0) {
    Bucket& b = *buckets_[next_launch_++];
    b.work = group_->all_reduce_async(b.flat.data(), int64_t(b.flat.size()), ReduceOp::Sum);
  }
  // Nudge the ones in flight: MPI progresses a collective while it is being tested.
  for (size_t k = 0; k < next_launch_; ++k) buckets_[k]->work.is_completed();
}

void DistributedDataParallel::on_gradient_ready(size_t p) {
  if (!sync_) return;
  // A pass that ended by an exception never ran its callback: start afresh.
  if (in_pass_ && pass_serial_ != fresco::detail::backward_pass_serial()) reset_pass();
  if (!in_pass_) {
    in_pass_ = true;
    pass_serial_ = fresco::detail::backward_pass_serial();
    queue_backward_callback([this] { finish_pass(); });
  }
  if (ready_[p]) return;
  pack(p);
  launch_ready_buckets();
}

void DistributedDataParallel::finish_pass() {
  struct Reset {
    DistributedDataParallel* self;
    ~Reset() { self->reset_pass(); }
  } reset{this};
  // Parameters this pass did not reach still take part (their gradient from
  // earlier passes, or none), so every process sends the same buckets.
  for (size_t p = 0; p < params_.size(); ++p)
    if (!ready_[p]) pack(p);
  launch_ready_buckets();
  const float n = float(group_->world_size());
  for (auto& bucket : buckets_) {
    Bucket& b = *bucket;
    b.work.wait();
    for (size_t j = 0; j < b.params.size(); ++j) {
      if (b.flat[size_t(b.values) + j] == 0.f) continue;  // no process has a gradient
      const size_t p = b.params[j];
      Tensor g = params_[p].grad();
      if (!g.defined() || !g.is_contiguous()) {
        g = empty(params_[p].shape());
        params_[p].set_grad(g);
      }
      const float* src = b.flat.data() + slot_[p].offset;
      float* dst = g.data();
      // A division, as ReduceOp::Mean: the same bits on every process.
      for (int64_t i = 0; i < g.numel(); ++i) dst[i] = src[i] / n;
    }
  }
  ++passes_;
  if (options_.broadcast_buffers) broadcast_buffers();
}

void DistributedDataParallel::synchronize_gradients() {
  if (group_->world_size() == 1) return;
  reset_pass();
  in_pass_ = true;
  finish_pass();
}

void DistributedDataParallel::broadcast_buffers() {
  if (group_->world_size() == 1) return;
  const std::vector<Tensor> buffers = buffers_of(*module_);
  if (!buffers.empty()) group_->broadcast(buffers, 0);
}

}  // namespace fresco::dist
