// SPDX-License-Identifier: Apache-2.0
#pragma once
// Storage: one 64-byte-aligned block of floats shared by every tensor that
// views it. Blocks come from a caching allocator: a training step frees and
// asks for the same sizes over and over, and returning them to the system
// each time (as glibc does for large blocks) costs page faults on every step.

#include <cstddef>
#include <cstdint>

namespace fresco::detail {

/// Where a storage was charged to the thread's `MemoryLimit`s (serial 0: none).
struct LimitCharge {
  uint64_t serial = 0;
  const void* thread = nullptr;
};
/// Charges `bytes` to every active limit of the calling thread, or throws
/// `MemoryLimitError` charging none (src/tensor/memory_limit.cpp).
LimitCharge charge_memory_limits(int64_t bytes);
/// Gives `bytes` back to the limits still active that `charge` was made to.
void release_memory_limits(int64_t bytes, const LimitCharge& charge);

class Storage {
public:
  /// Room for `numel` floats (uninitialised).
  explicit Storage(int64_t numel);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  float* data() const { return data_; }
  int64_t numel() const { return numel_; }

private:
  float* data_;
  int64_t numel_;
  std::size_t bytes_;  // the allocator's size class
  LimitCharge charge_;
};

/// Bytes held by the caching allocator's free lists, and bytes handed out now.
struct AllocatorStats {
  std::size_t cached_bytes = 0;
  std::size_t allocated_bytes = 0;
  std::size_t peak_allocated_bytes = 0;
};
AllocatorStats allocator_stats();
/// Returns every cached block to the system.
void empty_cache();

}  // namespace fresco::detail
