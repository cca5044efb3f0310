#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# ThreadSanitizer over the test of one model shared by several threads
# (tests/gan/test_threads.cpp, tag [threads]): builds the library and test_gan
# with -fsanitize=thread in their own build directory and runs the test.
#
#   scripts/tsan.sh [build dir]        (default build-tsan; FRESCO_JOBS, default 2)
#
# OMP_NUM_THREADS=1: libgomp (OpenMP) and oneDNN come from Debian, not built
# with ThreadSanitizer, so it cannot see the synchronisation inside an OpenMP
# team and would report its workers' accesses as races. With one OpenMP thread
# fresco's kernels run on the caller's thread (parallel_for and the split GEMM
# never open a parallel region, oneDNN runs sequentially), so what is checked is
# exactly the users' threads sharing one model: the caches, the allocator, the
# primitive caches and scratchpads, the model's state. Races inside oneDNN are out
# of reach (not instrumented). tsan.supp is empty: no report is suppressed.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-tsan}
jobs=${FRESCO_JOBS:-2}

cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" \
  -DCMAKE_CXX_FLAGS="-fsanitize=thread" -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=thread" \
  -DCMAKE_SHARED_LINKER_FLAGS="-fsanitize=thread" -DFRESCO_PCH=OFF -DFRESCO_BUILD_EXAMPLES=OFF \
  -DFRESCO_BUILD_BENCHMARKS=OFF >/dev/null
cmake --build "$build" --parallel "$jobs" --target test_gan

export OMP_NUM_THREADS=1 FRESCO_TEST_QUICK=1
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$PWD/scripts/tsan.supp"
"$build/tests/test_gan" "[threads]"
