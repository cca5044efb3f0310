// SPDX-License-Identifier: Apache-2.0
// The backend-independent half of ProcessGroup (packing tensors into
// buckets, the scalar and string collectives, argument checks), the
// one-process group, and the choice of the world.
#include <fresco/dist/process_group.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include <fresco/error.hpp>

#include "dist/backend.hpp"

namespace fresco::dist {

Work& Work::operator=(Work&& o) noexcept {
  if (this != &o) {
    if (impl_) {
      try {
        impl_->wait();
      } catch (...) {  // a move-assignment cannot throw: the timeout already marked the world failed
      }
    }
    impl_ = std::move(o.impl_);
  }
  return *this;
}

Work::~Work() {
  if (impl_) {
    try {
      impl_->wait();
    } catch (...) {  // see operator=
    }
  }
}

bool Work::is_completed() { return !impl_ || impl_->test(); }

void Work::wait() {
  if (!impl_) return;
  impl_->wait();
  impl_.reset();
}

void ProcessGroup::set_timeout_seconds(double seconds) {
  FRESCO_CHECK(std::isfinite(seconds) && seconds > 0, "ProcessGroup::set_timeout_seconds: expected seconds > 0, got {}",
               seconds);
  timeout_seconds_ = seconds;
}

void ProcessGroup::check_root(int root, const char* what) const {
  FRESCO_CHECK(root >= 0 && root < world_size(), "ProcessGroup::{}: root {} is not a rank of a world of {}", what, root,
               world_size());
}

namespace {

void check_float_tensor(const Tensor& t, const char* what) {
  FRESCO_CHECK(t.defined(), "ProcessGroup::{}: the tensor is undefined", what);
  FRESCO_CHECK(t.is_contiguous(), "ProcessGroup::{}: expected a contiguous tensor (in place), got shape {} strides {}",
               what, shape_str(t.shape()), shape_str(t.strides()));
}

// The collectives write into the tensors the caller hands over as const
// handles (a handle is const, its storage is shared, as for in-place ops).
float* data_of(const Tensor& t) {
  Tensor handle = t;
  return handle.data();
}

// Consecutive runs of `tensors` whose total size stays within bucket_bytes
// (a larger tensor alone): [begin, end) index pairs.
std::vector<std::pair<size_t, size_t>> buckets_of(const std::vector<Tensor>& tensors, int64_t bucket_bytes) {
  std::vector<std::pair<size_t, size_t>> buckets;
  size_t begin = 0;
  int64_t bytes = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const int64_t b = tensors[i].numel() * int64_t(sizeof(float));
    if (i > begin && bytes + b > bucket_bytes) {
      buckets.emplace_back(begin, i);
      begin = i;
      bytes = 0;
    }
    bytes += b;
  }
  if (begin < tensors.size()) buckets.emplace_back(begin, tensors.size());
  return buckets;
}

}  // namespace

void ProcessGroup::all_reduce(const Tensor& t, ReduceOp op) {
  check_float_tensor(t, "all_reduce");
  if (world_size() > 1) all_reduce_blocking(data_of(t), t.numel(), op);
}

void ProcessGroup::all_reduce(const std::vector<Tensor>& tensors, ReduceOp op, int64_t bucket_bytes) {
  FRESCO_CHECK(bucket_bytes > 0, "ProcessGroup::all_reduce: expected bucket_bytes > 0, got {}", bucket_bytes);
  for (const Tensor& t : tensors) check_float_tensor(t, "all_reduce");
  if (world_size() == 1) return;  // the sum, mean, max or min of one: unchanged
  for (const auto& [begin, end] : buckets_of(tensors, bucket_bytes)) {
    int64_t n = 0;
    for (size_t i = begin; i < end; ++i) n += tensors[i].numel();
    std::vector<float> flat(static_cast<size_t>(n));
    int64_t at = 0;
    for (size_t i = begin; i < end; ++i) {
      std::memcpy(flat.data() + at, tensors[i].data(), size_t(tensors[i].numel()) * sizeof(float));
      at += tensors[i].numel();
    }
    all_reduce_blocking(flat.data(), n, op);
    at = 0;
    for (size_t i = begin; i < end; ++i) {
      std::memcpy(data_of(tensors[i]), flat.data() + at, size_t(tensors[i].numel()) * sizeof(float));
      at += tensors[i].numel();
    }
  }
}

void ProcessGroup::broadcast(const Tensor& t, int root) {
  check_float_tensor(t, "broadcast");
  check_root(root, "broadcast");
  if (world_size() > 1) broadcast_bytes(data_of(t), t.numel() * int64_t(sizeof(float)), root);
}

void ProcessGroup::broadcast(const std::vector<Tensor>& tensors, int root) {
  check_root(root, "broadcast");
  for (const Tensor& t : tensors) check_float_tensor(t, "broadcast");
  if (world_size() == 1) return;
  for (const auto& [begin, end] : buckets_of(tensors, int64_t(25) << 20)) {
    int64_t n = 0;
    for (size_t i = begin; i < end; ++i) n += tensors[i].numel();
    std::vector<float> flat(static_cast<size_t>(n));
    int64_t at = 0;
    if (rank() == root)
      for (size_t i = begin; i < end; ++i) {
        std::memcpy(flat.data() + at, tensors[i].data(), size_t(tensors[i].numel()) * sizeof(float));
        at += tensors[i].numel();
      }
    broadcast_bytes(flat.data(), n * int64_t(sizeof(float)), root);
    at = 0;
    for (size_t i = begin; i < end; ++i) {
      std::memcpy(data_of(tensors[i]), flat.data() + at, size_t(tensors[i].numel()) * sizeof(float));
      at += tensors[i].numel();
    }
  }
}

void ProcessGroup::barrier() {
  if (world_size() > 1) barrier_impl();
}

double ProcessGroup::all_reduce(double value, ReduceOp op) {
  if (world_size() > 1) all_reduce_doubles(&value, 1, op);
  return value;
}

void ProcessGroup::check_same(double value, const std::string& what) {
  if (world_size() == 1) return;
  std::vector<double> range{value, -value};
  all_reduce(range, ReduceOp::Max);
  FRESCO_CHECK(range[0] == -range[1],
               "dist: the {} processes disagree on {}: from {:g} to {:g} (rank {} has {:g}); do they all read the same "
               "files?",
               world_size(), what, -range[1], range[0], rank(), value);
}

void ProcessGroup::all_reduce(std::vector<double>& values, ReduceOp op) {
  if (world_size() > 1 && !values.empty()) all_reduce_doubles(values.data(), static_cast<int64_t>(values.size()), op);
}

void ProcessGroup::broadcast(std::string& bytes, int root) {
  check_root(root, "broadcast");
  if (world_size() == 1) return;
  double size = rank() == root ? double(bytes.size()) : 0.0;
  broadcast_bytes(&size, sizeof size, root);
  bytes.resize(size_t(size));
  if (!bytes.empty()) broadcast_bytes(bytes.data(), int64_t(bytes.size()), root);
}

namespace {

// The group of one process: every collective is the identity.
class SingleProcessGroup final : public ProcessGroup {
public:
  int rank() const override { return 0; }
  int world_size() const override { return 1; }
  std::string backend() const override { return "single"; }
  Work all_reduce_async(float* data, int64_t n, ReduceOp) override {
    FRESCO_CHECK(n >= 0 && (n == 0 || data), "ProcessGroup::all_reduce_async: bad buffer ({} floats at {})", n,
                 static_cast<const void*>(data));
    return Work();
  }

protected:
  void broadcast_bytes(void*, int64_t, int) override {}
  void all_reduce_doubles(double*, int64_t, ReduceOp) override {}
  void barrier_impl() override {}
};

// The number of processes a launcher says it started: 1 without a
// launcher, 0 when one is there but does not say (PMIx sets the rank only).
int launched_world_size() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"})
    if (const char* v = std::getenv(name)) return std::max(1, std::atoi(v));
  return std::getenv("PMIX_RANK") || std::getenv("PMI_RANK") ? 0 : 1;
}

double timeout_from_environment() {
  const char* v = std::getenv("FRESCO_DIST_TIMEOUT");
  if (!v || !*v) return 300;
  char* end = nullptr;
  const double s = std::strtod(v, &end);
  FRESCO_CHECK(end && *end == '\0' && std::isfinite(s) && s > 0,
               "FRESCO_DIST_TIMEOUT: expected a number of seconds > 0, got '{}'", v);
  return s;
}

}  // namespace

std::shared_ptr<ProcessGroup> single_process_group() { return std::make_shared<SingleProcessGroup>(); }

std::shared_ptr<ProcessGroup> world() {
  static std::mutex mu;
  static std::shared_ptr<ProcessGroup> group;
  std::lock_guard lock(mu);
  if (group) return group;
  const char* off = std::getenv("FRESCO_DIST");
  const bool disabled = off && (std::string(off) == "off" || std::string(off) == "0");
  const int launched = launched_world_size();
  if (disabled || launched == 1) {
    group = single_process_group();
  } else {
#if FRESCO_WITH_MPI
    group = detail::mpi_world();
#else
    throw Error(fmt::format(
        "dist::world: started by a launcher ({} processes), but fresco was built without MPI "
        "(-DFRESCO_WITH_MPI=OFF); rebuild with libopenmpi-dev installed, or run one process (FRESCO_DIST=off)",
        launched > 0 ? std::to_string(launched) : std::string("several")));
#endif
  }
  group->set_timeout_seconds(timeout_from_environment());
  return group;
}

bool mpi_available() { return FRESCO_WITH_MPI != 0; }

void abort_world(int code) {
#if FRESCO_WITH_MPI
  detail::mpi_abort(code);
#else
  (void)code;
#endif
}

}  // namespace fresco::dist
