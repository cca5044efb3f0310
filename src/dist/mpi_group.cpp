// SPDX-License-Identifier: Apache-2.0
// The process group on MPI: the only file of fresco that includes <mpi.h>.
//
// The blocking collectives are MPI's own (MPI_Allreduce, MPI_Bcast,
// MPI_Barrier: its tuned algorithms are about twice as fast as the
// non-blocking ones on one machine) under a watchdog: a process whose peer
// died or hangs prints why and exits after the group's timeout instead of
// blocking for ever, and the launcher then ends the run. The all-reduces the
// data-parallel wrapper overlaps with the backward pass are MPI_Iallreduce,
// completed by polling MPI_Test with a deadline (a thrown fresco::Error).
#include <mpi.h>
#include <sched.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <mutex>
#include <thread>

#include <fresco/error.hpp>

#include "dist/backend.hpp"

namespace fresco::dist::detail {
namespace {

std::string timeout_message(const char* what, int rank, int size, double waited, double timeout) {
  return fmt::format(
      "dist: {} on rank {} of {} waited {:.0f} s for the other processes without an answer "
      "(FRESCO_DIST_TIMEOUT={:g}): one of them has died or hangs; stopping",
      what, rank, size, waited, timeout);
}

// Ends this process when a blocking collective outlives its deadline: MPI
// cannot be interrupted, and another thread may not call it, so the
// watchdog prints the reason and exits; the launcher sees the exit and ends
// the other processes.
class Watchdog {
public:
  Watchdog() : thread_([this] { run(); }) {}
  ~Watchdog() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  void arm(const char* what, double timeout, int rank, int size) {
    std::lock_guard lock(mu_);
    armed_ = true;
    what_ = what;
    timeout_ = timeout;
    rank_ = rank;
    size_ = size;
    deadline_ = std::chrono::steady_clock::now() + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                                         std::chrono::duration<double>(timeout));
    cv_.notify_all();
  }
  void disarm() {
    std::lock_guard lock(mu_);
    armed_ = false;
  }

private:
  void run() {
    std::unique_lock lock(mu_);
    while (!stop_) {
      if (!armed_) {
        cv_.wait(lock);
        continue;
      }
      if (cv_.wait_until(lock, deadline_) == std::cv_status::timeout && armed_ && !stop_ &&
          std::chrono::steady_clock::now() >= deadline_) {
        std::fflush(stdout);
        std::fprintf(stderr, "error: %s\n", timeout_message(what_, rank_, size_, timeout_, timeout_).c_str());
        std::fflush(stderr);
        std::_Exit(1);
      }
    }
  }
  std::mutex mu_;
  std::condition_variable cv_;
  bool armed_ = false, stop_ = false;
  const char* what_ = "";
  double timeout_ = 0;
  int rank_ = 0, size_ = 1;
  std::chrono::steady_clock::time_point deadline_;
  std::thread thread_;
};

// MPI's state for the whole process: who started it, our communicator, and
// whether a collective failed (then the exit aborts the world rather than
// waiting in MPI_Finalize for processes that will not come).
struct Runtime {
  bool we_initialized = false;
  bool failed = false;
  MPI_Comm comm = MPI_COMM_NULL;
  int rank = 0, size = 1;
  std::unique_ptr<Watchdog> watchdog;

  ~Runtime() {
    watchdog.reset();
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (finalized || comm == MPI_COMM_NULL) return;
    if (failed && size > 1) {
      std::fflush(stdout);
      std::fflush(stderr);
      MPI_Abort(MPI_COMM_WORLD, 1);
    }
    MPI_Comm_free(&comm);
    if (we_initialized) MPI_Finalize();
  }
};

Runtime& runtime() {
  static Runtime r;
  return r;
}

void check_mpi(int code, const char* what) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  runtime().failed = true;
  throw Error(fmt::format("dist: {} failed on rank {} of {}: {}", what, runtime().rank, runtime().size,
                          std::string(text, size_t(length))));
}

// Polls until every request is complete: spins for 2 ms (a quick collective
// answers within microseconds), then yields the core, then sleeps between
// polls; throws once `timeout` seconds have passed.
void wait_all(std::vector<MPI_Request>& requests, double timeout, const char* what) {
  const auto start = std::chrono::steady_clock::now();
  for (;;) {
    int done = 0;
    check_mpi(MPI_Testall(int(requests.size()), requests.data(), &done, MPI_STATUSES_IGNORE), what);
    if (done) return;
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (elapsed > timeout) {
      runtime().failed = true;
      throw Error(timeout_message(what, runtime().rank, runtime().size, elapsed, timeout));
    }
    if (elapsed < 0.002) continue;
    if (elapsed < 0.05)
      sched_yield();
    else
      std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
}

MPI_Op mpi_op(ReduceOp op) {
  switch (op) {
    case ReduceOp::Sum:
    case ReduceOp::Mean: return MPI_SUM;
    case ReduceOp::Max: return MPI_MAX;
    case ReduceOp::Min: return MPI_MIN;
  }
  return MPI_SUM;
}

// MPI counts are int: larger buffers go in pieces of 2^30 elements.
constexpr int64_t kChunk = int64_t(1) << 30;

// An all-reduce in flight: its requests, and the division a Mean still owes.
class PendingAllReduce final : public Work::Impl {
public:
  PendingAllReduce(float* data, int64_t n, ReduceOp op, double timeout)
      : data_(data), n_(n), op_(op), timeout_(timeout) {
    for (int64_t at = 0; at < n; at += kChunk)
      check_mpi(MPI_Iallreduce(MPI_IN_PLACE, data + at, int(std::min(kChunk, n - at)), MPI_FLOAT, mpi_op(op),
                               runtime().comm, &requests_.emplace_back()),
                "all_reduce");
  }
  bool test() override {
    if (done_) return true;
    int flag = 0;
    check_mpi(MPI_Testall(int(requests_.size()), requests_.data(), &flag, MPI_STATUSES_IGNORE), "all_reduce");
    if (flag) finish();
    return done_;
  }
  void wait() override {
    if (done_) return;
    // After a collective timed out, the run is ending: waiting again would only delay it.
    if (runtime().failed) throw Error("dist: all_reduce abandoned: an earlier collective failed");
    wait_all(requests_, timeout_, "all_reduce");
    finish();
  }

private:
  void finish() {
    done_ = true;
    if (op_ != ReduceOp::Mean) return;
    // A division, not a multiplication by 1/N: correctly rounded, so the
    // mean is the same on every rank as the sum is.
    const float n = float(runtime().size);
    for (int64_t i = 0; i < n_; ++i) data_[i] /= n;
  }

  float* data_;
  int64_t n_;
  ReduceOp op_;
  double timeout_;
  bool done_ = false;
  std::vector<MPI_Request> requests_;
};

class MpiProcessGroup final : public ProcessGroup {
public:
  int rank() const override { return runtime().rank; }
  int world_size() const override { return runtime().size; }
  std::string backend() const override { return "mpi"; }

  Work all_reduce_async(float* data, int64_t n, ReduceOp op) override {
    FRESCO_CHECK(n >= 0 && (n == 0 || data), "ProcessGroup::all_reduce_async: bad buffer ({} floats at {})", n,
                 static_cast<const void*>(data));
    if (n == 0) return Work();
    return Work(std::make_unique<PendingAllReduce>(data, n, op, timeout_seconds()));
  }

protected:
  void all_reduce_blocking(float* data, int64_t n, ReduceOp op) override { blocking_all_reduce(data, n, op, MPI_FLOAT); }

  void broadcast_bytes(void* data, int64_t bytes, int root) override {
    Guarded guard(*this, "broadcast");
    auto* p = static_cast<char*>(data);
    for (int64_t at = 0; at < bytes; at += kChunk)
      check_mpi(MPI_Bcast(p + at, int(std::min(kChunk, bytes - at)), MPI_BYTE, root, runtime().comm), "broadcast");
  }

  void all_reduce_doubles(double* data, int64_t n, ReduceOp op) override {
    blocking_all_reduce(data, n, op, MPI_DOUBLE);
  }

  void barrier_impl() override {
    Guarded guard(*this, "barrier");
    check_mpi(MPI_Barrier(runtime().comm), "barrier");
  }

private:
  // MPI_Allreduce in pieces MPI's int counts can hold; a Mean divides (as PendingAllReduce).
  template <class T>
  void blocking_all_reduce(T* data, int64_t n, ReduceOp op, MPI_Datatype type) {
    Guarded guard(*this, "all_reduce");
    for (int64_t at = 0; at < n; at += kChunk)
      check_mpi(MPI_Allreduce(MPI_IN_PLACE, data + at, int(std::min(kChunk, n - at)), type, mpi_op(op), runtime().comm),
                "all_reduce");
    if (op == ReduceOp::Mean) {
      const T size = T(runtime().size);
      for (int64_t i = 0; i < n; ++i) data[i] /= size;
    }
  }

  // The watchdog armed for the length of one blocking collective.
  struct Guarded {
    Guarded(const MpiProcessGroup& g, const char* what) {
      runtime().watchdog->arm(what, g.timeout_seconds(), runtime().rank, runtime().size);
    }
    ~Guarded() { runtime().watchdog->disarm(); }
  };
};

}  // namespace

std::shared_ptr<ProcessGroup> mpi_world() {
  Runtime& r = runtime();
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) {
    // One thread of each process talks to MPI at a time (the training loop).
    int provided = 0;
    if (MPI_Init_thread(nullptr, nullptr, MPI_THREAD_SERIALIZED, &provided) != MPI_SUCCESS)
      throw Error("dist::world: MPI_Init_thread failed");
    r.we_initialized = true;
  }
  // A communicator of our own: the user's MPI traffic cannot mix with ours.
  MPI_Comm_dup(MPI_COMM_WORLD, &r.comm);
  MPI_Comm_set_errhandler(r.comm, MPI_ERRORS_RETURN);
  MPI_Comm_rank(r.comm, &r.rank);
  MPI_Comm_size(r.comm, &r.size);
  r.watchdog = std::make_unique<Watchdog>();
  return std::make_shared<MpiProcessGroup>();
}

void mpi_abort(int code) {
  Runtime& r = runtime();
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  if (!initialized || finalized || r.comm == MPI_COMM_NULL || r.size < 2) return;
  std::fflush(stdout);
  std::fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, code);
}

}  // namespace fresco::dist::detail
