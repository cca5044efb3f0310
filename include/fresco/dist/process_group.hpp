// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file
/// `dist::ProcessGroup`: the processes of a data-parallel run and their
/// collectives (all-reduce, broadcast, barrier), on MPI.
///
/// A program started by a launcher (`mpirun -np 4 prog`, Slurm's `srun`, an
/// MPI operator) is one of `world_size()` processes; `dist::world()` finds
/// out from the environment the launcher set up and joins them. A program
/// started on its own is a world of one process, whose collectives return at
/// once: every program runs unchanged on one machine. MPI stays behind these
/// functions (no public header includes `mpi.h`), and a build with
/// `-DFRESCO_WITH_MPI=OFF` has only the one-process world.
///
///     auto group = fresco::dist::world();
///     fresco::Tensor t = fresco::full({1000}, float(group->rank()));
///     group->all_reduce(t, fresco::dist::ReduceOp::Mean);   // every element (n - 1) / 2 on every rank
///
/// Every collective must be called by every process of the group, in the
/// same order, with tensors of the same sizes. A process that does not
/// arrive (it died, or hangs) makes the others stop after
/// `timeout_seconds()` instead of waiting for ever: a blocking collective
/// prints the reason and exits the process (MPI cannot be interrupted; the
/// launcher then ends the run), a pending `Work` throws `fresco::Error`.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <fresco/tensor/tensor.hpp>

namespace fresco::dist {

/// How an all-reduce combines the processes' values.
enum class ReduceOp {
  Sum,   ///< element-wise sum
  Mean,  ///< element-wise sum divided by world_size() (the same bits on every rank)
  Max,   ///< element-wise maximum
  Min,   ///< element-wise minimum
};

/// A pending collective started by `ProcessGroup::all_reduce_async`.
/// `wait()` blocks until it has finished on this process (or throws after
/// the group's timeout); the destructor waits too. Move-only.
class Work {
public:
  /// Implementation of a pending operation (backend-specific).
  struct Impl {
    virtual ~Impl() = default;
    /// True once the operation has completed locally (never blocks).
    virtual bool test() = 0;
    /// Blocks until completion; throws `fresco::Error` on timeout.
    virtual void wait() = 0;
  };

  Work() = default;
  explicit Work(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
  Work(Work&&) noexcept = default;
  Work& operator=(Work&& o) noexcept;
  ~Work();

  /// True once the operation has completed on this process (a finished or empty Work is complete).
  bool is_completed();
  /// Blocks until the operation has completed on this process.
  void wait();

private:
  std::unique_ptr<Impl> impl_;
};

/// The processes of a run. Collectives are in place and work on contiguous
/// float tensors (any shape) or raw buffers; every process must call them in
/// the same order with the same sizes. Not thread-safe: one thread of each
/// process talks to the group at a time.
class ProcessGroup {
public:
  virtual ~ProcessGroup() = default;

  /// This process's index, 0 to world_size() − 1.
  virtual int rank() const = 0;
  /// The number of processes.
  virtual int world_size() const = 0;
  /// "mpi", or "single" for the one-process world.
  virtual std::string backend() const = 0;
  /// Seconds a collective waits for the other processes before it throws.
  double timeout_seconds() const { return timeout_seconds_; }
  void set_timeout_seconds(double seconds);

  /// Combines `t` over the processes, in place: afterwards every process
  /// holds the same values. `t` must be contiguous float.
  void all_reduce(const Tensor& t, ReduceOp op = ReduceOp::Sum);
  /// All-reduces several tensors, packed into flat buffers of at most
  /// `bucket_bytes` (a tensor larger than that gets a buffer of its own):
  /// fewer, larger messages than one call per tensor, and the same result.
  void all_reduce(const std::vector<Tensor>& tensors, ReduceOp op = ReduceOp::Sum,
                  int64_t bucket_bytes = int64_t(25) << 20);
  /// Copies `t` from process `root` to every other process, in place.
  void broadcast(const Tensor& t, int root = 0);
  /// Broadcasts several tensors (packed like the list all-reduce).
  void broadcast(const std::vector<Tensor>& tensors, int root = 0);
  /// Returns once every process has called it.
  void barrier();

  /// The scalar collectives a training loop agrees with: returns the
  /// combination of every process's `value`.
  double all_reduce(double value, ReduceOp op);
  /// Throws `fresco::Error` on every process unless all of them hold the same
  /// `value` (a resumed step, a budget), naming `what` and the range found.
  void check_same(double value, const std::string& what);
  /// All-reduces doubles in place (statistics that need double sums).
  void all_reduce(std::vector<double>& values, ReduceOp op);
  /// Process `root`'s bytes on every process (`bytes` is resized on the others).
  void broadcast(std::string& bytes, int root = 0);

  /// Starts an all-reduce of `n` floats at `data`, in place, and returns at
  /// once: `data` must stay untouched until the Work completes. What the
  /// distributed data parallel wrapper overlaps with the backward pass.
  virtual Work all_reduce_async(float* data, int64_t n, ReduceOp op) = 0;

protected:
  // The raw collectives the public ones are made of.
  virtual void all_reduce_blocking(float* data, int64_t n, ReduceOp op) { all_reduce_async(data, n, op).wait(); }
  virtual void broadcast_bytes(void* data, int64_t bytes, int root) = 0;
  virtual void all_reduce_doubles(double* data, int64_t n, ReduceOp op) = 0;
  virtual void barrier_impl() = 0;
  void check_root(int root, const char* what) const;

private:
  double timeout_seconds_ = 300;
};

/// The world: every process the launcher started, or this process alone.
/// Created on first call (starting MPI when a launcher's environment is
/// there: Open MPI's `OMPI_COMM_WORLD_SIZE`, or PMI / PMIx as set by Slurm),
/// and shut down at exit. `FRESCO_DIST=off` in the environment forces the
/// one-process world; `FRESCO_DIST_TIMEOUT=S` sets the collectives'
/// timeout (default 300 s). Throws `fresco::Error` when a launcher started
/// several processes and fresco was built without MPI.
std::shared_ptr<ProcessGroup> world();

/// A one-process group (rank 0 of 1), whatever the environment.
std::shared_ptr<ProcessGroup> single_process_group();

/// True when fresco was built with MPI (`FRESCO_WITH_MPI`).
bool mpi_available();

/// Ends every process of the world at once with `code` (MPI_Abort when
/// several run): for a process that hit an error that the others cannot
/// know about and would otherwise wait for until their timeout. In a
/// one-process world, returns without doing anything.
void abort_world(int code);

}  // namespace fresco::dist
