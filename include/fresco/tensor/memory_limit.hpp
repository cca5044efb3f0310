// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file
/// `fresco::MemoryLimit`: a cap on the tensor memory the calling thread takes
/// while a scope runs. Loaders that build a model from a file's metadata run
/// under one sized by the file (`io::LoadLimit`), so that a file claiming a
/// huge model fails after a few megabytes instead of allocating the model.
///
///     {
///       fresco::MemoryLimit limit(64 << 20, "model.safetensors");
///       auto model = build(config);   // throws MemoryLimitError past 64 MiB of tensors
///     }

#include <cstdint>
#include <string>

#include <fresco/error.hpp>

namespace fresco {

namespace detail {
struct MemoryLimitAccess;
}  // namespace detail

/// Thrown by a tensor allocation that would take a `MemoryLimit` past its cap.
class MemoryLimitError : public Error {
public:
  using Error::Error;
};

/// RAII: while it lives, the tensors the calling thread creates and still holds
/// may take at most `max_bytes` (each tensor's storage, rounded up to the
/// allocator's size class, plus `kTensorOverheadBytes` for its bookkeeping).
/// Storage freed on this thread within the scope is given back. A tensor
/// allocation past the cap throws `MemoryLimitError`
/// ("<context>: more than <max_bytes> bytes of tensors ...") before allocating.
/// Limits nest: an allocation must fit every active limit of the thread.
/// Other threads are not affected. Neither copyable nor movable; destroy in
/// reverse order of creation (as scopes do).
class MemoryLimit {
public:
  /// What each tensor is charged beyond its storage: its handle, shape and strides.
  static constexpr int64_t kTensorOverheadBytes = 256;

  MemoryLimit(int64_t max_bytes, std::string context);
  ~MemoryLimit();
  MemoryLimit(const MemoryLimit&) = delete;
  MemoryLimit& operator=(const MemoryLimit&) = delete;

  /// Bytes charged now (tensors made in the scope and still alive).
  int64_t used_bytes() const { return used_; }
  /// The most `used_bytes()` has been.
  int64_t peak_bytes() const { return peak_; }
  int64_t max_bytes() const { return max_; }

private:
  friend struct detail::MemoryLimitAccess;
  int64_t max_;
  int64_t used_ = 0;
  int64_t peak_ = 0;
  uint64_t serial_;
  std::string context_;
  MemoryLimit* outer_;
};

}  // namespace fresco
