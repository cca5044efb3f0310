// SPDX-License-Identifier: Apache-2.0
// DataLoader: a consumer (next) and one worker thread hand batches over a
// single request/answer slot guarded by one mutex. Each answer is tagged with
// the (generation, batch) it was asked for; start_epoch bumps the generation,
// so a batch built for an abandoned epoch is dropped instead of returned.
#include <fresco/data/loader.hpp>

#include <algorithm>

#include <fresco/error.hpp>
#include <fresco/tensor/random.hpp>

namespace fresco::data {
namespace {

// The seed of stream `b` (0: the order, 1 + k: the flips of batch k) of an epoch.
uint64_t epoch_seed(uint64_t seed, int64_t epoch, uint64_t b) {
  return mix_seed(mix_seed(seed, static_cast<uint64_t>(epoch)), b);
}

}  // namespace

DataLoader::DataLoader(std::shared_ptr<const Dataset> dataset, DataLoaderOptions options)
    : dataset_(std::move(dataset)), options_(options) {
  FRESCO_CHECK(dataset_ != nullptr, "DataLoader: the dataset is null");
  FRESCO_CHECK(dataset_->size() > 0, "DataLoader: the dataset is empty");
  FRESCO_CHECK(options_.batch_size >= 1, "DataLoader: .batch_size must be >= 1, got {}", options_.batch_size);
  FRESCO_CHECK(options_.num_replicas >= 1 && options_.rank >= 0 && options_.rank < options_.num_replicas,
               "DataLoader: expected 0 <= .rank < .num_replicas, got rank {} of {}", options_.rank,
               options_.num_replicas);
  FRESCO_CHECK(!options_.drop_last || shard_size() >= options_.batch_size,
               "DataLoader: with .drop_last, a dataset of {} samples ({} for each of {} replicas) and .batch_size {} "
               "gives no batch at all",
               dataset_->size(), shard_size(), options_.num_replicas, options_.batch_size);
  if (options_.prefetch) worker_ = std::thread([this] { worker_loop(); });
}

DataLoader::~DataLoader() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
}

int64_t DataLoader::shard_size() const {
  return (dataset_->size() + options_.num_replicas - 1) / options_.num_replicas;
}

int64_t DataLoader::batches_per_epoch() const {
  const int64_t n = shard_size(), b = options_.batch_size;
  return options_.drop_last ? n / b : (n + b - 1) / b;
}

std::vector<int64_t> DataLoader::order(int64_t epoch) const {
  FRESCO_CHECK(epoch >= 0, "DataLoader::order: epoch must be >= 0, got {}", epoch);
  std::vector<int64_t> all;
  if (!options_.shuffle) {
    all.resize(static_cast<size_t>(dataset_->size()));
    for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<int64_t>(i);
  } else {
    Generator g(epoch_seed(options_.seed, epoch, 0));  // depends only on (seed, epoch)
    all = randperm(dataset_->size(), g);
  }
  const int64_t replicas = options_.num_replicas;
  if (replicas == 1) return all;
  // PyTorch's DistributedSampler: the epoch's order, padded with its own
  // beginning to a multiple of the replicas, dealt out in turn. Batch k of
  // every replica together is then positions [k·R·b, (k+1)·R·b) of the
  // order: one process's batch k with a batch size R·b.
  const int64_t n = static_cast<int64_t>(all.size());
  std::vector<int64_t> mine;
  mine.reserve(static_cast<size_t>(shard_size()));
  for (int64_t i = options_.rank; i < shard_size() * replicas; i += replicas) mine.push_back(all[size_t(i % n)]);
  return mine;
}

std::vector<int64_t> DataLoader::batch_indices(int64_t batch) const {
  const int64_t begin = batch * options_.batch_size;
  const int64_t end = std::min<int64_t>(begin + options_.batch_size, static_cast<int64_t>(order_.size()));
  return {order_.begin() + begin, order_.begin() + end};
}

void DataLoader::start_epoch(int64_t epoch) {
  FRESCO_CHECK(epoch >= 0, "DataLoader::start_epoch: epoch must be >= 0, got {}", epoch);
  order_ = order(epoch);
  cursor_ = 0;
  std::lock_guard<std::mutex> lock(mu_);
  epoch_ = epoch;  // the worker reads it under mu_
  ++generation_;
  has_answer_ = false;
  ready_.reset();
  error_ = nullptr;
  has_request_ = false;
  if (options_.prefetch && batches_per_epoch() > 0) request(0);
}

void DataLoader::request(int64_t batch) {
  has_request_ = true;
  request_batch_ = batch;
  request_indices_ = batch_indices(batch);
  has_answer_ = false;
  cv_.notify_all();
}

std::optional<Batch> DataLoader::next() {
  FRESCO_CHECK(epoch_ >= 0, "DataLoader::next: no epoch started; call start_epoch(e) or iterate over epoch(e)");
  if (cursor_ >= batches_per_epoch()) return std::nullopt;
  if (!options_.prefetch) {
    Batch b = build(epoch_, cursor_, batch_indices(cursor_));
    ++cursor_;
    return b;
  }
  std::unique_lock<std::mutex> lock(mu_);
  // After a rethrown error nothing is in flight for the cursor: ask again.
  if (!has_request_ && !has_answer_) request(cursor_);
  cv_.wait(lock, [&] { return has_answer_ && answer_generation_ == generation_ && answer_batch_ == cursor_; });
  has_answer_ = false;
  if (error_) {
    std::exception_ptr e = error_;
    error_ = nullptr;
    std::rethrow_exception(e);
  }
  Batch b = std::move(*ready_);
  ready_.reset();
  ++cursor_;
  if (cursor_ < batches_per_epoch()) request(cursor_);
  return b;
}

void DataLoader::worker_loop() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stop_ || has_request_; });
    if (stop_) return;
    const uint64_t generation = generation_;
    const int64_t epoch = epoch_, batch = request_batch_;
    const std::vector<int64_t> indices = std::move(request_indices_);
    has_request_ = false;
    lock.unlock();
    std::optional<Batch> result;
    std::exception_ptr error;
    try {
      result = build(epoch, batch, indices);
    } catch (...) {
      error = std::current_exception();
    }
    lock.lock();
    if (generation == generation_) {
      has_answer_ = true;
      answer_generation_ = generation;
      answer_batch_ = batch;
      ready_ = std::move(result);
      error_ = error;
      cv_.notify_all();
    }
  }
}

Batch DataLoader::build(int64_t epoch, int64_t batch, const std::vector<int64_t>& indices) const {
  const int64_t n = static_cast<int64_t>(indices.size());
  Batch b;
  b.epoch = epoch;
  b.batch = batch;
  b.indices = indices;
  b.captions.reserve(static_cast<size_t>(n));
  b.labels.reserve(static_cast<size_t>(n));
  b.flipped.assign(static_cast<size_t>(n), false);
  Generator flips(epoch_seed(options_.seed, epoch,
                             static_cast<uint64_t>(batch * options_.num_replicas + options_.rank) + 1));
  Shape chw;
  float* out = nullptr;
  for (int64_t k = 0; k < n; ++k) {
    Example ex = dataset_->get(indices[static_cast<size_t>(k)]);
    if (k == 0) {
      FRESCO_CHECK(ex.image.defined() && ex.image.dim() == 3,
                   "DataLoader: sample {} has image {}; expected [C, H, W]", indices[0],
                   ex.image.defined() ? shape_str(ex.image.shape()) : "undefined");
      chw = ex.image.shape();
      b.images = empty({n, chw[0], chw[1], chw[2]});
      out = b.images.data();
    }
    FRESCO_CHECK_SHAPE(ex.image.defined() && ex.image.shape() == chw,
                       "DataLoader: sample {} has image {}, but sample {} of the same batch has {}; "
                       "every image of a dataset must have the same shape",
                       indices[static_cast<size_t>(k)], ex.image.defined() ? shape_str(ex.image.shape()) : "undefined",
                       indices[0], shape_str(chw));
    const bool flip = options_.horizontal_flip && flips.uniform() < 0.5f;
    b.flipped[static_cast<size_t>(k)] = flip;
    const Tensor img = ex.image.contiguous();
    const float* src = img.data();
    const int64_t rows = chw[0] * chw[1], w = chw[2];
    float* dst = out + k * rows * w;
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t x = 0; x < w; ++x) dst[r * w + x] = 2.f * src[r * w + (flip ? w - 1 - x : x)] - 1.f;
    b.captions.push_back(std::move(ex.caption));
    b.labels.push_back(std::move(ex.labels));
  }
  return b;
}

}  // namespace fresco::data
