// SPDX-License-Identifier: Apache-2.0
#include <fresco/progress.hpp>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>

#include <fmt/format.h>

#include <fresco/error.hpp>

namespace fresco {

std::string format_duration(double seconds) {
  const auto s = static_cast<int64_t>(std::isfinite(seconds) ? std::max(0.0, seconds) : 0.0);
  if (s >= 3600) return fmt::format("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
  return fmt::format("{}:{:02}", s / 60, s % 60);
}

std::string format_progress(const Progress& p) {
  if (!p.message.empty()) return p.stage.empty() ? p.message : fmt::format("{}: {}", p.stage, p.message);
  constexpr int kWidth = 20;
  const double frac = std::clamp(std::isfinite(p.fraction) ? p.fraction : 0.0, 0.0, 1.0);
  const int filled = static_cast<int>(frac * kWidth);
  std::string line = fmt::format("{} [{}{}] {:3.0f}% step {}", p.stage, std::string(filled, '#'),
                                 std::string(kWidth - filled, '.'), frac * 100, p.step);
  if (p.total > 0) line += fmt::format("/{}", p.total);
  if (!p.values.empty()) {
    line += " |";
    for (const auto& [name, value] : p.values) line += fmt::format(" {} {:.4g}", name, value);
  }
  line += fmt::format(" | {} elapsed", format_duration(p.elapsed));
  if (p.eta >= 0 && !p.done) line += fmt::format(", ETA {}", format_duration(p.eta));
  return line;
}

ProgressCallback progress_bar(std::FILE* stream, double interval_seconds) {
  FRESCO_CHECK(stream != nullptr, "progress_bar: the stream is null");
  FRESCO_CHECK(interval_seconds >= 0, "progress_bar: interval_seconds must be >= 0, got {}", interval_seconds);
  struct State {
    std::FILE* out;
    bool tty;
    double interval;
    bool open_line = false;   // a bar drawn without its line end (terminal only)
    std::chrono::steady_clock::time_point last{};
    bool printed = false;
  };
  auto st = std::make_shared<State>(State{stream, isatty(fileno(stream)) != 0, interval_seconds});
  return [st](const Progress& p) {
    const auto now = std::chrono::steady_clock::now();
    const bool line = !p.message.empty();
    if (st->tty) {
      if (line) {
        fmt::print(st->out, "{}{}\n", st->open_line ? "\n" : "", format_progress(p));
        st->open_line = false;
      } else {
        fmt::print(st->out, "\r{}\033[K{}", format_progress(p), p.done ? "\n" : "");
        st->open_line = !p.done;
      }
    } else {
      const double since = std::chrono::duration<double>(now - st->last).count();
      if (!line && !p.done && st->printed && since < st->interval) return;
      fmt::print(st->out, "{}\n", format_progress(p));
      if (!line) {
        st->last = now;
        st->printed = true;
      }
    }
    std::fflush(st->out);
  };
}

}  // namespace fresco
