// SPDX-License-Identifier: Apache-2.0
#pragma once
// The scope every op opens: costs one relaxed load when profiling is off.
#include <atomic>
#include <chrono>

namespace fresco::detail {

extern std::atomic<bool> g_profiling;
void profile_add(const char* name, double ms);

class ProfileScope {
public:
  explicit ProfileScope(const char* name) : name_(name) {
    if (g_profiling.load(std::memory_order_relaxed)) start_ = std::chrono::steady_clock::now(), on_ = true;
  }
  ~ProfileScope() {
    if (on_) profile_add(name_, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start_).count());
  }
  ProfileScope(const ProfileScope&) = delete;
  ProfileScope& operator=(const ProfileScope&) = delete;

private:
  const char* name_;
  bool on_ = false;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace fresco::detail

/// Times the enclosing scope under `name` when profiling is on.
#define FRESCO_PROFILE(name) ::fresco::detail::ProfileScope fresco_profile_scope_(name)
