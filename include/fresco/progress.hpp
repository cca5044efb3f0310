// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file
/// Progress of long-running library calls (training stages, evaluation).
/// The library never prints: it hands a `Progress` to the `ProgressCallback`
/// the caller passed in its options, and the caller decides what to show.
/// `progress_bar()` is a ready-made callback that draws a bar on a stream.
///
///     fresco::text::PretrainOptions o{.steps = 1000};
///     o.on_progress = fresco::progress_bar();   // a bar on stderr
///     o.on_progress = nullptr;                  // silent

#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace fresco {

/// One report of a stage's progress.
struct Progress {
  /// Which stage reports ("pretrain", "align", "gan", "classifier", ...).
  std::string stage;
  /// Steps done so far in this stage (resumed steps included).
  int64_t step = 0;
  /// Steps planned (0: not known).
  int64_t total = 0;
  /// Seconds since the stage started in this process.
  double elapsed = 0;
  /// Share done in [0, 1]: of the steps or of the time budget, whichever is further.
  double fraction = 0;
  /// Estimated seconds left (negative: not known).
  double eta = -1;
  /// Named figures of the stage, in the order to show them: {"loss", 2.31}, {"step/s", 8.1}.
  std::vector<std::pair<std::string, double>> values;
  /// A line of text instead of a bar (a stage's summary, "resumed from ... at step 500"); may be empty.
  std::string message;
  /// True on the stage's last report.
  bool done = false;
};

/// Receives the reports of a long call. Called from the thread that runs the call.
using ProgressCallback = std::function<void(const Progress&)>;

/// A duration as "m:ss", or "h:mm:ss" from an hour on ("0:07", "12:30", "1:02:03").
/// Negative durations print as "0:00".
std::string format_duration(double seconds);

/// One line for `p` without a line end: its message when it has one, otherwise
/// "gan [########............] 40% step 400/1000 | d 1.234 g 0.567 | 0:10 elapsed, ETA 0:15".
std::string format_progress(const Progress& p);

/// A callback drawing `format_progress` lines on `stream`. On a terminal the bar
/// is rewritten in place at each report; otherwise (a log file, a pipe) a line is
/// written at most every `interval_seconds`, plus every message and every final report.
/// Throws `fresco::Error` for a null stream or a negative interval.
ProgressCallback progress_bar(std::FILE* stream = stderr, double interval_seconds = 5.0);

}  // namespace fresco
