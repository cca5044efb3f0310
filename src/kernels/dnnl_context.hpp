// SPDX-License-Identifier: Apache-2.0
#pragma once
// The one oneDNN engine and per-thread streams, and a small thread-safe cache for
// primitives keyed by a fixed array of integers (dims, strides, flags). Included only
// by kernel .cpp files: nothing outside src/kernels sees oneDNN.

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <unordered_map>

#include <oneapi/dnnl/dnnl.hpp>

namespace fresco::kernels::dnnl_context {

/// The CPU engine, created on first use.
dnnl::engine& engine();
/// A stream on engine(), one per calling thread: CPU streams are cheap and a
/// per-thread one needs no locking.
dnnl::stream& stream();

/// The calling thread's scratchpad for primitives created with scratchpad_mode::user:
/// at least `bytes` long, 64-byte aligned, kept and grown between calls. A primitive
/// with the library's own scratchpad (shared by all primitives) may run on one thread
/// only, the one it was created on; with this one it may run on any thread, on several
/// at once.
void* scratchpad(size_t bytes);

/// Attributes with scratchpad_mode::user: what every primitive is created with, so that
/// `execute` hands it the calling thread's scratchpad and one primitive may run on several
/// threads at once (a user's threads sharing one model, or the parts of a split product).
inline dnnl::primitive_attr user_scratchpad_attr() {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

/// One argument of a primitive: its oneDNN role (DNNL_ARG_*), layout and the caller's buffer.
struct Arg {
  int role;
  const dnnl::memory::desc* desc;
  const void* data;
};

/// Runs `primitive` on the calling thread's stream, with memory objects wrapping the
/// callers' buffers. A primitive created with scratchpad_mode::user that needs a scratchpad
/// gets the calling thread's (`scratchpad`) unless the caller passes DNNL_ARG_SCRATCHPAD. Goes through the C API so that a call costs one small allocation
/// per argument and no argument map: small GEMMs are dominated by such overheads.
void execute(const dnnl::primitive& primitive, std::initializer_list<Arg> args);

/// Hashes an array of integers (splitmix-style mixing; the key is a handful of words).
template <size_t N>
struct KeyHash {
  size_t operator()(const std::array<int64_t, N>& key) const noexcept {
    uint64_t h = 0x9e3779b97f4a7c15ull;
    for (int64_t v : key) {
      h ^= static_cast<uint64_t>(v) + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
      h *= 0xbf58476d1ce4e5b9ull;
      h ^= h >> 31;
    }
    return static_cast<size_t>(h);
  }
};

/// Primitives created once per key and kept for the life of the process. Entries are
/// never erased, so the returned reference stays valid after the lock is released
/// (unordered_map does not move its nodes on rehash).
template <size_t N, class Value>
class PrimitiveCache {
public:
  using Key = std::array<int64_t, N>;

  /// The entry for `key`, built by `make()` (outside any other entry's use) on first request.
  template <class Make>
  const Value& get(const Key& key, Make&& make) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = map_.find(key);
    if (it != map_.end()) return *it->second;
    // Creation happens under the lock: it is rare (once per shape) and keeps two
    // threads from building the same primitive twice.
    auto value = std::make_unique<Value>(make());
    return *map_.emplace(key, std::move(value)).first->second;
  }

private:
  std::mutex mutex_;
  std::unordered_map<Key, std::unique_ptr<Value>, KeyHash<N>> map_;
};

}  // namespace fresco::kernels::dnnl_context
