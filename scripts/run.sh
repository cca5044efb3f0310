#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The main job: installs the dependencies, builds Release in build/, and runs
# the example programs one after another. Each step is one `example` line.
#
# Environment: FRESCO_JOBS (default 2), FRESCO_BUILD_DIR (build).
set -euo pipefail
cd "$(dirname "$0")/.."

jobs=${FRESCO_JOBS:-2}
build=${FRESCO_BUILD_DIR:-build}

scripts/install-deps.sh
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release

# example <name> [args...]: builds examples/<name>.cpp and runs it.
example() {
  local name=$1
  shift
  echo
  echo "=== $name $*"
  cmake --build "$build" --parallel "$jobs" --target "$name"
  "$build/examples/$name" "$@"
}

# A 2-layer MLP learns a nonlinear function; its loss falls by >= 100x.
example train_mlp
