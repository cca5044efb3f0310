#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds the libFuzzer targets with clang (AddressSanitizer + UBSan, the library
# instrumented for coverage) and runs each on its corpus, one after another.
#
#   scripts/fuzz.sh [seconds-per-target] [target...]   default 60 s, every target
#
# Each target starts from its committed corpus (tests/fuzz/corpus/<target>) and
# writes the new inputs it finds to a scratch directory ($FRESCO_FUZZ_OUT/<target>),
# never to the committed corpus. Crashes, leaks, timeouts and sanitizer reports
# are saved as $FRESCO_FUZZ_OUT/<target>/findings/crash-* (or leak-, timeout-, oom-).
# Prints per target the executions, executions per second and findings, and
# exits non-zero when any target found something. One process, one input at a time.
#
# Environment: FRESCO_FUZZ_BUILD_DIR (build-fuzz), FRESCO_FUZZ_OUT (build-fuzz/out),
# FRESCO_JOBS (2, for the build), FRESCO_FUZZ_ARGS (more libFuzzer flags).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-60}
shift || true
build=${FRESCO_FUZZ_BUILD_DIR:-build-fuzz}
out=${FRESCO_FUZZ_OUT:-$build/out}
jobs=${FRESCO_JOBS:-2}
all_targets=(safetensors image idx tokenizer gpt gan_model vq_model image_tokenizer judges captions optimizer checkpoint)
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=("${all_targets[@]}")

if ! command -v clang++ >/dev/null; then
  echo "fuzz.sh: clang++ not found (scripts/install-deps.sh installs it)" >&2
  exit 2
fi

# -O1 -g1: fast enough to fuzz, with stack traces that name lines.
CC=clang CXX=clang++ cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" -DFRESCO_SANITIZE=ON -DFRESCO_FUZZ_COVERAGE=ON -DFRESCO_PCH=OFF \
  -DFRESCO_BUILD_EXAMPLES=OFF -DFRESCO_BUILD_BENCHMARKS=OFF >/dev/null
cmake --build "$build" --parallel "$jobs" --target "${targets[@]/#/fuzz_}"

# One thread per model: the fuzzer runs one input at a time.
export OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
summary=()
failed=0
for t in "${targets[@]}"; do
  corpus=tests/fuzz/corpus/$t
  scratch=$out/$t
  mkdir -p "$scratch/new" "$scratch/findings"
  log=$scratch/fuzz.log
  echo "=== fuzz_$t: ${seconds} s on $corpus"
  status=0
  # shellcheck disable=SC2086
  "$build/tests/fuzz_$t" "$scratch/new" "$corpus" -max_total_time="$seconds" \
    -artifact_prefix="$scratch/findings/" -print_final_stats=1 ${FRESCO_FUZZ_ARGS:-} >"$log" 2>&1 || status=$?
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  findings=$(find "$scratch/findings" -type f | wc -l)
  if [[ $status -ne 0 || $findings -gt 0 ]]; then
    failed=1
    grep -m3 -E 'ERROR: |runtime error|terminate called|==ERROR' "$log" || tail -5 "$log"
  fi
  line=$(printf '%-16s %12s executions %7s exec/s  %s finding(s)%s' "$t" "${runs:-?}" "${rate:-?}" "$findings" \
    "$([[ $status -ne 0 ]] && echo "  (exit $status, see $log)")")
  echo "$line"
  summary+=("$line")
done

echo
echo "=== fuzz.sh summary (${seconds} s per target; new inputs and findings under $out)"
printf '  %s\n' "${summary[@]}"
exit "$failed"
