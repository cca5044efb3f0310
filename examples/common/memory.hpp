// SPDX-License-Identifier: Apache-2.0
#pragma once
// The process's resident memory, for programs that watch it over a long run
// (train_text2image's OUT/memory.jsonl, generate --soak).
#include <string>

#include <fresco/progress.hpp>

namespace fresco::cli {

/// The resident set size of this process in MiB, from /proc/self/statm; 0 where
/// that file does not exist.
double resident_mib();

/// Wraps `inner` so that every report also carries the resident memory ("rss MiB"),
/// and appends a line {"elapsed": s, "stage": ..., "step": n, "rss_mib": m} to `log_path`
/// (unless empty; s counts from the first call of `with_memory` in the process) at most
/// every `interval_seconds` and at every change of stage. Throws
/// `fresco::IoError` naming the file when it cannot be appended to.
ProgressCallback with_memory(ProgressCallback inner, std::string log_path, double interval_seconds = 10.0);

}  // namespace fresco::cli
