// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file
/// `dist::DistributedDataParallel`: one model replica per process, each
/// training on its own share of every batch, with gradients averaged across
/// the processes so that every replica takes the same optimizer step.
///
/// Wrap the model once, then train as on one process: call the model,
/// `loss.backward()`, step the optimizer. The wrapper hooks every parameter
/// (`register_post_accumulate_grad_hook`): as soon as the backward pass has
/// finished a parameter's gradient, the gradient is copied into a flat
/// bucket, and a bucket whose gradients are all there starts its all-reduce
/// while the backward pass goes on through earlier layers; before
/// `backward()` returns, every bucket is waited for and each `.grad()` holds
/// the mean over the processes, the same bits on every process.
///
///     auto group = fresco::dist::world();
///     fresco::text::Gpt gpt(config);
///     fresco::dist::DistributedDataParallel ddp(gpt, group);   // rank 0's weights everywhere
///     fresco::optim::AdamW opt(gpt.parameters(), {.lr = 3e-4f});
///     for (...) {                                               // each rank: its shard of the batch
///       opt.zero_grad();
///       gpt.loss(ids, batch, seq).backward();                   // gradients averaged here
///       opt.step();
///     }
///
/// With the mean of per-process mean losses, N processes with batches of b
/// compute the gradient one process computes with a batch of N·b (to float
/// rounding). Gradient accumulation: backward passes inside `no_sync()` only
/// accumulate locally; the next synchronised pass averages the total.

#include <cstdint>
#include <memory>
#include <vector>

#include <fresco/autograd/autograd.hpp>
#include <fresco/dist/process_group.hpp>
#include <fresco/nn/module.hpp>

namespace fresco::dist {

/// Options of `DistributedDataParallel` (names as PyTorch's).
struct DistributedDataParallelOptions {
  /// Largest gradient bucket, in MiB: smaller buckets start their all-reduce
  /// sooner in the backward pass, larger ones send fewer messages. A
  /// parameter larger than this gets a bucket of its own.
  double bucket_cap_mb = 25;
  /// After every synchronised backward pass, copy rank 0's buffers (BatchNorm
  /// running statistics, a codebook's moving averages) to every process, so
  /// that the replicas stay identical; false leaves buffers alone.
  bool broadcast_buffers = true;
};

/// Averages a module's gradients across the processes of a group during
/// each backward pass. **The module is not owned**: it must outlive the
/// wrapper. Construction broadcasts rank 0's parameters and buffers (every
/// process must construct it, with the same architecture).
class DistributedDataParallel {
public:
  /// Throws `fresco::Error` when the processes' parameters differ in number
  /// or sizes (checked against rank 0), or for bad options.
  explicit DistributedDataParallel(nn::Module& module, std::shared_ptr<ProcessGroup> group = world(),
                                   DistributedDataParallelOptions options = {});
  ~DistributedDataParallel();
  DistributedDataParallel(const DistributedDataParallel&) = delete;
  DistributedDataParallel& operator=(const DistributedDataParallel&) = delete;

  nn::Module& module() { return *module_; }
  ProcessGroup& process_group() { return *group_; }

  /// While the returned guard lives, backward passes accumulate gradients
  /// locally and start no all-reduce (gradient accumulation over several
  /// micro-batches, or a backward pass that only passes through this model).
  class NoSyncGuard {
  public:
    explicit NoSyncGuard(DistributedDataParallel& ddp) : ddp_(&ddp), previous_(ddp.sync_) { ddp.sync_ = false; }
    ~NoSyncGuard() {
      if (ddp_) ddp_->sync_ = previous_;
    }
    NoSyncGuard(NoSyncGuard&& o) noexcept : ddp_(o.ddp_), previous_(o.previous_) { o.ddp_ = nullptr; }
    NoSyncGuard(const NoSyncGuard&) = delete;
    NoSyncGuard& operator=(const NoSyncGuard&) = delete;
    NoSyncGuard& operator=(NoSyncGuard&&) = delete;

  private:
    DistributedDataParallel* ddp_;
    bool previous_;
  };
  [[nodiscard]] NoSyncGuard no_sync() { return NoSyncGuard(*this); }

  /// Averages every parameter's accumulated gradient now (what the end of a
  /// synchronised backward pass does), for gradients made without
  /// `backward()` or after passes run under `no_sync()`.
  void synchronize_gradients();
  /// Copies rank 0's buffers to every process now.
  void broadcast_buffers();

  /// Number of gradient buckets, and the parameters (indices into
  /// `module().parameters()`) of bucket k, in the order they fill it.
  int64_t bucket_count() const { return int64_t(buckets_.size()); }
  std::vector<int64_t> bucket_parameters(int64_t k) const;
  /// Synchronised backward passes so far.
  int64_t synchronized_passes() const { return passes_; }
  /// Buckets whose all-reduce the running backward pass has started (0
  /// outside one): read from a gradient hook, it shows the communication
  /// overlapping the rest of the backward pass.
  int64_t started_buckets() const { return in_pass_ ? int64_t(next_launch_) : 0; }

private:
  struct Bucket;
  void on_gradient_ready(size_t p);
  void launch_ready_buckets();
  void finish_pass();
  void reset_pass();
  void pack(size_t p);

  nn::Module* module_;
  std::shared_ptr<ProcessGroup> group_;
  DistributedDataParallelOptions options_;
  std::vector<Tensor> params_;
  std::vector<std::unique_ptr<Bucket>> buckets_;
  struct Slot {
    size_t bucket;
    int64_t offset;  // of its gradient in the bucket
    size_t index;    // its place in the bucket's parameters (and flags)
  };
  std::vector<Slot> slot_;  // by parameter
  std::vector<HookHandle> hooks_;
  std::vector<bool> ready_;
  size_t next_launch_ = 0;
  bool in_pass_ = false;
  uint64_t pass_serial_ = 0;  // the backward pass in_pass_ belongs to
  bool sync_ = true;
  int64_t passes_ = 0;
};

}  // namespace fresco::dist
