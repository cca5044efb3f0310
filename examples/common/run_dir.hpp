// SPDX-License-Identifier: Apache-2.0
#pragma once
// The output directory of a training program, checked at start-up.
#include <string>

namespace fresco::cli {

/// What a training program does first with its output directory: `io::prepare_output_directory`
/// (created, a probe file written and removed; a `fresco::IoError` naming the directory and the
/// reason otherwise), then `io::remove_stale_temporaries`: the temporary files a killed earlier
/// run left under it. Returns how many it removed.
int prepare_run_directory(const std::string& dir);

}  // namespace fresco::cli
