// SPDX-License-Identifier: Apache-2.0
#include "memory.hpp"

#include <unistd.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <utility>

#include <fmt/format.h>

#include <fresco/error.hpp>

namespace fresco::cli {

double resident_mib() {
  std::ifstream statm("/proc/self/statm");
  long long size = 0, resident = 0;
  if (!(statm >> size >> resident)) return 0;
  return static_cast<double>(resident) * static_cast<double>(::sysconf(_SC_PAGESIZE)) / (1024.0 * 1024.0);
}

ProgressCallback with_memory(ProgressCallback inner, std::string log_path, double interval_seconds) {
  using Clock = std::chrono::steady_clock;
  // One clock for the process: the logs of successive phases continue one another.
  static const Clock::time_point process_start = Clock::now();
  struct State {
    Clock::time_point start = process_start;
    double last_logged = -1e300;
    std::string last_stage;
  };
  auto state = std::make_shared<State>();
  return [inner = std::move(inner), log_path = std::move(log_path), interval_seconds, state](const Progress& p) {
    const double now = std::chrono::duration<double>(Clock::now() - state->start).count();
    const bool log_now = !log_path.empty() &&
                         (now - state->last_logged >= interval_seconds || p.stage != state->last_stage || p.done);
    Progress q = p;
    const double rss = resident_mib();
    q.values.emplace_back("rss MiB", rss);
    if (log_now) {
      std::ofstream log(log_path, std::ios::app);
      log << fmt::format("{{\"elapsed\": {:.1f}, \"stage\": \"{}\", \"step\": {}, \"rss_mib\": {:.1f}}}\n", now,
                         p.stage, p.step, rss);
      if (!log.flush())
        throw IoError(fmt::format("{}: cannot append the memory log (disk full or not writable?)", log_path));
      state->last_logged = now;
      state->last_stage = p.stage;
    }
    if (inner) inner(q);
  };
}

}  // namespace fresco::cli
