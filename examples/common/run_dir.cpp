// SPDX-License-Identifier: Apache-2.0
#include "run_dir.hpp"

#include <fresco/io/file.hpp>

namespace fresco::cli {

int prepare_run_directory(const std::string& dir) {
  io::prepare_output_directory(dir);
  return io::remove_stale_temporaries(dir);
}

}  // namespace fresco::cli
