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

#include <cstdint>
#include <string>
#include <vector>

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

}  // namespace fresco::profiler
