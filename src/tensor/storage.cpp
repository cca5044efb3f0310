// SPDX-License-Identifier: Apache-2.0
#include "tensor/storage.hpp"

#include <fresco/error.hpp>
#include <fresco/tensor/memory_limit.hpp>

#include <cstdlib>
#include <limits>
#include <mutex>
#include <new>
#include <unordered_map>
#include <vector>

namespace fresco::detail {
namespace {

constexpr std::size_t kAlignment = 64;
// Blocks above this size are cached; smaller ones are cheap for malloc anyway
// but caching them too keeps the code uniform. The cache is bounded so that a
// program that changes shapes does not hold memory forever.
constexpr std::size_t kMaxCachedBytes = std::size_t(2) << 30;
// Under AddressSanitizer every block goes straight back to the system, so
// that a use after free is caught rather than hidden by the cache.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif

// Size classes: multiples of 64 bytes up to 4 KiB, then 1/8-of-a-power-of-two
// steps, so reuse is likely and waste is at most 12.5%.
std::size_t size_class(std::size_t bytes) {
  if (bytes <= 4096) return (bytes + kAlignment - 1) / kAlignment * kAlignment;
  std::size_t p = 4096;
  while (p * 2 < bytes) p *= 2;
  const std::size_t step = p / 8;
  return (bytes + step - 1) / step * step;
}

struct Cache {
  std::mutex mutex;
  std::unordered_map<std::size_t, std::vector<void*>> free_lists;
  AllocatorStats stats;

  void* take(std::size_t bytes) {
    {
      std::lock_guard lock(mutex);
      auto it = free_lists.find(bytes);
      if (it != free_lists.end() && !it->second.empty()) {
        void* p = it->second.back();
        it->second.pop_back();
        stats.cached_bytes -= bytes;
        note_allocated(bytes);
        return p;
      }
    }
    void* p = std::aligned_alloc(kAlignment, bytes);
    if (!p) {
      release_all();
      p = std::aligned_alloc(kAlignment, bytes);
      if (!p) throw std::bad_alloc();
    }
    std::lock_guard lock(mutex);
    note_allocated(bytes);
    return p;
  }

  void give_back(void* p, std::size_t bytes) {
    std::lock_guard lock(mutex);
    stats.allocated_bytes -= bytes;
    if (kSanitized || stats.cached_bytes + bytes > kMaxCachedBytes) {
      std::free(p);
      return;
    }
    free_lists[bytes].push_back(p);
    stats.cached_bytes += bytes;
  }

  void release_all() {
    std::lock_guard lock(mutex);
    for (auto& [size, list] : free_lists)
      for (void* p : list) std::free(p);
    free_lists.clear();
    stats.cached_bytes = 0;
  }

  void note_allocated(std::size_t bytes) {
    stats.allocated_bytes += bytes;
    if (stats.allocated_bytes > stats.peak_allocated_bytes) stats.peak_allocated_bytes = stats.allocated_bytes;
  }

  ~Cache() { release_all(); }
};

Cache& cache() {
  static Cache* c = new Cache;  // never destroyed: tensors in static objects may outlive it
  return *c;
}

}  // namespace

Storage::Storage(int64_t numel) : numel_(numel) {
  // Callers check sizes; this keeps the byte count below from wrapping whatever they pass.
  FRESCO_ASSERT(numel >= 0 && numel <= std::numeric_limits<int64_t>::max() / 8, "storage of {} floats", numel);
  bytes_ = size_class(std::max<std::size_t>(1, static_cast<std::size_t>(numel)) * sizeof(float));
  charge_ = charge_memory_limits(static_cast<int64_t>(bytes_) + MemoryLimit::kTensorOverheadBytes);
  try {
    data_ = static_cast<float*>(cache().take(bytes_));
  } catch (...) {
    release_memory_limits(static_cast<int64_t>(bytes_) + MemoryLimit::kTensorOverheadBytes, charge_);
    throw;
  }
}

Storage::~Storage() {
  release_memory_limits(static_cast<int64_t>(bytes_) + MemoryLimit::kTensorOverheadBytes, charge_);
  cache().give_back(data_, bytes_);
}

AllocatorStats allocator_stats() {
  std::lock_guard lock(cache().mutex);
  return cache().stats;
}

void empty_cache() { cache().release_all(); }

}  // namespace fresco::detail
