#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The test command (.ci/run runs exactly this): installs the dependencies,
# builds Release with GCC in build/ and runs every test, then builds with clang,
# AddressSanitizer + UndefinedBehaviorSanitizer in build-asan/ (no examples or
# benchmarks, and no precompiled headers for the library, so that a file missing
# an include fails to build; the tests keep their precompiled Catch2 + fresco.hpp) and runs the tests again there, with FRESCO_TEST_QUICK=1,
# plus every fuzz target on its committed corpus (tests/fuzz/corpus). So CI
# builds with both compilers.
# Exits non-zero if a build or any test fails.
#
# Environment: FRESCO_JOBS (default 2), FRESCO_BUILD_DIR (build),
# FRESCO_ASAN_BUILD_DIR (build-asan), FRESCO_SKIP_ASAN=1 for the plain run only.
set -euo pipefail
cd "$(dirname "$0")/.."

jobs=${FRESCO_JOBS:-2}
build=${FRESCO_BUILD_DIR:-build}
asan=${FRESCO_ASAN_BUILD_DIR:-build-asan}
start=$SECONDS
results=()
failed=0

phase() { echo; echo "=== $* ($((SECONDS - start)) s)"; }

run_tests() {  # run_tests <name> <build dir>
  phase "tests: $1"
  if ctest --test-dir "$2" --output-on-failure --parallel "$jobs"; then
    results+=("$1: passed")
  else
    results+=("$1: FAILED")
    failed=1
  fi
}

phase "dependencies"
scripts/install-deps.sh

phase "Release build in $build"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release
cmake --build "$build" --parallel "$jobs"
run_tests "Release" "$build"

if [[ "${FRESCO_SKIP_ASAN:-0}" != 1 ]]; then
  # -O1 keeps the sanitized build and its run short while keeping stack traces useful.
  # Precompiled headers off for the library: each file compiles with only the headers
  # it includes. The tests precompile Catch2 (their compile time 230 -> 100 s of CPU).
  phase "sanitized build (clang) in $asan"
  # A build directory configured with another compiler cannot switch: start it afresh.
  if [[ -f "$asan/CMakeCache.txt" ]] && ! grep -q '^CMAKE_CXX_COMPILER:.*clang++' "$asan/CMakeCache.txt"; then
    rm -rf "$asan/CMakeCache.txt" "$asan/CMakeFiles"
  fi
  CC=clang CXX=clang++ cmake -S . -B "$asan" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" \
    -DFRESCO_SANITIZE=ON -DFRESCO_PCH=OFF -DFRESCO_TEST_PCH=ON -DFRESCO_BUILD_EXAMPLES=OFF -DFRESCO_BUILD_BENCHMARKS=OFF
  cmake --build "$asan" --parallel "$jobs"
  run_tests "AddressSanitizer+UBSan" "$asan"
fi

phase "summary"
printf '  %s\n' "${results[@]}"
exit "$failed"
