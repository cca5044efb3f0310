// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file
/// `data::DataLoader`: batches of a `Dataset`, shuffled per epoch by seed,
/// assembled by a background thread one batch ahead of the consumer.
///
///     auto ds = std::make_shared<fresco::data::ShapesDataset>(fresco::data::Shapes({.size = 5000}));
///     fresco::data::DataLoader loader(ds, {.batch_size = 64, .seed = 1});
///     for (int64_t epoch = 0; epoch < 10; ++epoch)
///       for (fresco::data::Batch& b : loader.epoch(epoch)) { /* b.images [64, 3, 32, 32] in [-1, 1] */ }

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <fresco/data/dataset.hpp>
#include <fresco/tensor/tensor.hpp>

namespace fresco::data {

/// Options of `DataLoader`. Checked in the constructor.
struct DataLoaderOptions {
  /// Samples per batch (>= 1).
  int64_t batch_size = 64;
  /// Visit the samples in a random order, a different one each epoch
  /// (epoch e's order depends only on (seed, e)); false keeps 0, 1, 2, ...
  bool shuffle = true;
  /// Seed of the shuffling and of the flips.
  uint64_t seed = 0;
  /// Drop the last batch when it is smaller than batch_size.
  bool drop_last = false;
  /// Mirror each image left-right with probability 1/2 (seeded by (seed,
  /// epoch, position)). Only for datasets whose captions and labels do not
  /// mention left and right: **not for Shapes**, whose positions it would contradict.
  bool horizontal_flip = false;
  /// Assemble the next batch on a background thread while the consumer works
  /// on the current one; false assembles each batch in `next()`.
  bool prefetch = true;
  /// Data-parallel training (PyTorch's DistributedSampler): the epoch's
  /// order is shared by `num_replicas` processes, this one being `rank`
  /// (from `dist::ProcessGroup`). Each takes every num_replicas-th sample
  /// from position `rank` on, so the shards are disjoint and together cover
  /// the epoch (the order padded with its own beginning to a multiple of
  /// num_replicas); batch k of all replicas together is what one process
  /// with a batch of num_replicas · batch_size would get as its batch k.
  int64_t num_replicas = 1;
  int64_t rank = 0;
};

/// One batch: N samples (N = batch_size, except perhaps the last batch of an epoch).
struct Batch {
  /// [N, C, H, W], the dataset's [0, 1] pixels mapped to [-1, 1] (x ↦ 2x − 1).
  Tensor images;
  /// N captions.
  std::vector<std::string> captions;
  /// N label lists, as the dataset gives them.
  std::vector<std::vector<int64_t>> labels;
  /// N dataset indices of the samples.
  std::vector<int64_t> indices;
  /// N flags: sample n was mirrored (all false without horizontal_flip).
  std::vector<bool> flipped;
  /// Epoch and position of the batch within it.
  int64_t epoch = 0, batch = 0;
};

/// Batches over a dataset, epoch by epoch.
///
/// `epoch(e)` (or `start_epoch(e)`) fixes the order of epoch e, then `next()`
/// returns its batches in turn and `std::nullopt` after the last one. With
/// `prefetch`, a worker thread builds batch k+1 while the caller uses batch
/// k; an exception thrown while building a batch (a dataset's `get`, images
/// of different shapes) is rethrown by the `next()` that asks for that batch.
/// The destructor stops and joins the worker. One consumer thread at a time.
///
///     fresco::data::DataLoader loader(ds, {.batch_size = 32, .shuffle = false});
///     loader.start_epoch(0);  while (auto b = loader.next()) { /* b->images [32, C, H, W] */ }
class DataLoader {
public:
  /// Throws `fresco::Error` for an empty dataset or a bad option.
  DataLoader(std::shared_ptr<const Dataset> dataset, DataLoaderOptions options = {});
  ~DataLoader();
  DataLoader(const DataLoader&) = delete;
  DataLoader& operator=(const DataLoader&) = delete;

  /// Samples of an epoch for this replica: size(), or ceil(size / num_replicas).
  int64_t shard_size() const;
  /// Batches in an epoch: ceil(shard_size / batch_size), or floor with drop_last.
  int64_t batches_per_epoch() const;
  /// The dataset indices of epoch e this replica visits, in order (all
  /// shard_size() of them, including those that drop_last leaves out).
  std::vector<int64_t> order(int64_t epoch) const;

  /// Starts epoch e (any e >= 0, in any order): the next `next()` returns its first batch.
  void start_epoch(int64_t epoch);
  /// The next batch of the current epoch, or std::nullopt when it is over.
  /// Throws if no epoch was started, and rethrows the worker's exceptions
  /// (calling again retries the same batch).
  std::optional<Batch> next();

  /// Range over the batches of epoch e, for `for (Batch& b : loader.epoch(e))`.
  class EpochRange;
  EpochRange epoch(int64_t e);

  const Dataset& dataset() const { return *dataset_; }
  const DataLoaderOptions& options() const { return options_; }

private:
  Batch build(int64_t generation_epoch, int64_t batch, const std::vector<int64_t>& indices) const;
  std::vector<int64_t> batch_indices(int64_t batch) const;
  void request(int64_t batch);  // called with mu_ held
  void worker_loop();

  std::shared_ptr<const Dataset> dataset_;
  DataLoaderOptions options_;

  // Consumer state.
  int64_t epoch_ = -1;
  int64_t cursor_ = 0;
  std::vector<int64_t> order_;

  // Shared with the worker, under mu_. A request is (generation, batch,
  // indices); the answer lands in ready_ / error_ tagged with the same
  // (generation, batch), so an answer for an abandoned epoch is ignored.
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  uint64_t generation_ = 0;
  bool has_request_ = false;
  int64_t request_batch_ = 0;
  std::vector<int64_t> request_indices_;
  bool has_answer_ = false;
  uint64_t answer_generation_ = 0;
  int64_t answer_batch_ = 0;
  std::optional<Batch> ready_;
  std::exception_ptr error_;
  std::thread worker_;
};

/// Input range over one epoch's batches (see `DataLoader::epoch`).
class DataLoader::EpochRange {
public:
  class iterator {
  public:
    explicit iterator(DataLoader* loader) : loader_(loader) { advance(); }
    iterator() = default;
    Batch& operator*() { return *current_; }
    Batch* operator->() { return &*current_; }
    iterator& operator++() {
      advance();
      return *this;
    }
    bool operator==(const iterator& o) const { return !current_ && !o.current_; }
    bool operator!=(const iterator& o) const { return !(*this == o); }

  private:
    void advance() { current_ = loader_->next(); }
    DataLoader* loader_ = nullptr;
    std::optional<Batch> current_;
  };
  EpochRange(DataLoader* loader, int64_t e) : loader_(loader) { loader_->start_epoch(e); }
  iterator begin() { return iterator(loader_); }
  iterator end() { return iterator(); }

private:
  DataLoader* loader_;
};

inline DataLoader::EpochRange DataLoader::epoch(int64_t e) { return EpochRange(this, e); }

}  // namespace fresco::data
