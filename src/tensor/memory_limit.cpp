// SPDX-License-Identifier: Apache-2.0
// Each thread keeps a stack of its active limits (innermost first, linked by
// outer_). A storage remembers the serial of the innermost limit it was charged
// to and the thread it was charged on; when it is freed on that thread, every
// limit still active and at least as old as that serial was active at the
// charge (limits nest, serials only grow) and gets the bytes back.
#include <fresco/tensor/memory_limit.hpp>

#include <atomic>

#include "tensor/storage.hpp"

namespace fresco {
namespace {

std::atomic<uint64_t> g_next_serial{1};
thread_local MemoryLimit* t_innermost = nullptr;

std::string mib(int64_t bytes) { return fmt::format("{:.1f} MiB", static_cast<double>(bytes) / (1 << 20)); }

}  // namespace

namespace detail {

struct MemoryLimitAccess {
  static LimitCharge charge(int64_t bytes) {
    MemoryLimit* inner = t_innermost;
    if (!inner) return {};
    for (MemoryLimit* l = inner; l; l = l->outer_)
      if (bytes > l->max_ - l->used_)
        throw MemoryLimitError(fmt::format("{}: more than {} of tensors ({} bytes) needed: {} in use, {} more asked for",
                                           l->context_, mib(l->max_), l->max_, mib(l->used_), mib(bytes)));
    for (MemoryLimit* l = inner; l; l = l->outer_) {
      l->used_ += bytes;
      if (l->used_ > l->peak_) l->peak_ = l->used_;
    }
    return {inner->serial_, &t_innermost};
  }

  static void release(int64_t bytes, const LimitCharge& charge) {
    if (charge.serial == 0 || charge.thread != &t_innermost) return;
    for (MemoryLimit* l = t_innermost; l; l = l->outer_)
      if (l->serial_ <= charge.serial) l->used_ -= bytes;
  }
};

LimitCharge charge_memory_limits(int64_t bytes) { return MemoryLimitAccess::charge(bytes); }
void release_memory_limits(int64_t bytes, const LimitCharge& charge) { MemoryLimitAccess::release(bytes, charge); }

}  // namespace detail

MemoryLimit::MemoryLimit(int64_t max_bytes, std::string context)
    : max_(max_bytes), serial_(g_next_serial.fetch_add(1)), context_(std::move(context)), outer_(t_innermost) {
  FRESCO_CHECK(max_bytes >= 0, "MemoryLimit: max_bytes must be non-negative, got {}", max_bytes);
  t_innermost = this;
}

MemoryLimit::~MemoryLimit() { t_innermost = outer_; }

}  // namespace fresco
