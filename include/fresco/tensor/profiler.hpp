// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file
/// Per-op timing, to see where a training step spends its time.
///
///     fresco::profiler::enable();
///     ... run some steps ...
///     fmt::print("{}", fresco::profiler::report());
///
/// Setting the environment variable `FRESCO_PROFILE=1` enables it at start-up
/// and prints the report to stderr when the program exits. Forward ops are
/// listed by name, backward passes as "name.backward". Times are wall-clock;
/// an op's time includes the ops it calls.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace fresco::detail {
/// Whether profiling is on; read by `profiler::Scope` inline, so that a scope costs one
/// relaxed load when it is off.
extern std::atomic<bool> g_profiling;
/// Adds one call of `ms` milliseconds to the row `name`.
void profile_add(const char* name, double ms);
}  // namespace fresco::detail

namespace fresco::profiler {

/// One row of the report.
struct OpStats {
  std::string name;
  int64_t calls = 0;
  double total_ms = 0;
};

/// Starts collecting (clears nothing).
void enable();
/// Stops collecting.
void disable();
bool enabled();
/// Forgets everything collected.
void reset();
/// The collected rows, most total time first.
std::vector<OpStats> stats();
/// A table: op, calls, total ms, ms per call, share of the listed total.
std::string report();

/// Times the enclosing scope as one call of the row `name` when profiling is on (every op
/// opens one; so can code of your own). `name` must outlive the scope (a string literal).
///
///     { fresco::profiler::Scope scope("my_step"); ... }   // a row "my_step" in report()
class Scope {
public:
  explicit Scope(const char* name) : name_(name) {
    if (detail::g_profiling.load(std::memory_order_relaxed)) start_ = std::chrono::steady_clock::now(), on_ = true;
  }
  ~Scope() {
    if (on_)
      detail::profile_add(name_,
                          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start_).count());
  }
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;

private:
  const char* name_;
  bool on_ = false;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace fresco::profiler
