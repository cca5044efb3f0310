// SPDX-License-Identifier: Apache-2.0
#include <fresco/tensor/profiler.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>

#include <fmt/format.h>

#include "tensor/profiler_scope.hpp"

namespace fresco {
namespace detail {

std::atomic<bool> g_profiling{false};

namespace {
struct Table {
  std::mutex mutex;
  std::map<std::string, profiler::OpStats> rows;
};
Table& table() {
  static Table* t = new Table;  // outlives static destructors that may still run ops
  return *t;
}

// FRESCO_PROFILE=1 in the environment: collect from start-up, print at exit.
struct EnvSwitch {
  EnvSwitch() {
    const char* v = std::getenv("FRESCO_PROFILE");
    if (v && *v && std::string(v) != "0") {
      g_profiling = true;
      std::atexit([] { std::fputs(profiler::report().c_str(), stderr); });
    }
  }
} env_switch;
}  // namespace

void profile_add(const char* name, double ms) {
  Table& t = table();
  std::lock_guard lock(t.mutex);
  auto& row = t.rows[name];
  row.name = name;
  row.calls += 1;
  row.total_ms += ms;
}

}  // namespace detail

namespace profiler {

void enable() { detail::g_profiling = true; }
void disable() { detail::g_profiling = false; }
bool enabled() { return detail::g_profiling; }

void reset() {
  std::lock_guard lock(detail::table().mutex);
  detail::table().rows.clear();
}

std::vector<OpStats> stats() {
  std::vector<OpStats> out;
  {
    std::lock_guard lock(detail::table().mutex);
    for (auto& [name, row] : detail::table().rows) out.push_back(row);
  }
  std::sort(out.begin(), out.end(), [](const OpStats& a, const OpStats& b) { return a.total_ms > b.total_ms; });
  return out;
}

std::string report() {
  const auto rows = stats();
  double total = 0;
  for (const auto& r : rows) total += r.total_ms;
  std::string out = fmt::format("{:<32} {:>8} {:>12} {:>10} {:>7}\n", "op", "calls", "total ms", "ms/call", "share");
  for (const auto& r : rows)
    out += fmt::format("{:<32} {:>8} {:>12.2f} {:>10.4f} {:>6.1f}%\n", r.name, r.calls, r.total_ms,
                       r.total_ms / static_cast<double>(std::max<int64_t>(r.calls, 1)),
                       total > 0 ? 100.0 * r.total_ms / total : 0.0);
  return out;
}

}  // namespace profiler
}  // namespace fresco
