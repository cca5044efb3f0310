#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Data-parallel training on this machine, in one sitting: the W2 and W3 steps
# (global batch 64) and the all-reduce's throughput, as 1 process × 1 thread,
# 1 process × 2 threads and 2 processes × 1 thread (mpirun), each `rounds`
# times alternately; prints every run's lines and the medians.
#
#   usage: scripts/bench-dist.sh [rounds]        (default 3)
# Environment: FRESCO_BUILD_DIR (build), FRESCO_JOBS (2).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
build=${FRESCO_BUILD_DIR:-build}
scripts/install-deps.sh >/dev/null
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" --parallel "${FRESCO_JOBS:-2}" --target bench_dist >/dev/null
bench=$build/benchmarks/bench_dist
# Open MPI refuses to run as root unless told; the processes are not pinned (the threads of a
# one-process run must be free to use both cores, and so must two processes).
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_WAIT_POLICY=PASSIVE
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
for r in $(seq "$rounds"); do
  OMP_NUM_THREADS=1 BENCH_THREADS=1 "$bench" | tee -a "$out/1x1"
  OMP_NUM_THREADS=2 BENCH_THREADS=2 "$bench" | tee -a "$out/1x2"
  mpirun --bind-to none -np 2 -x OMP_NUM_THREADS=1 -x BENCH_THREADS=1 "$bench" | tee -a "$out/2x1"
done

median() { sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
echo
echo "medians of $rounds rounds:"
printf '%-24s %14s %14s %20s %20s %20s\n' configuration "W2 tokens/s" "W3 images/s" "all_reduce 1 MiB" "all_reduce 4 MiB" "all_reduce 16 MiB"
for c in 1x1 1x2 2x1; do
  w2=$(grep '^W2' "$out/$c" | sed -E 's/.* ms, ([0-9]+) tokens.*/\1/' | median)
  w3=$(grep '^W3' "$out/$c" | sed -E 's/.* ms, ([0-9]+) images.*/\1/' | median)
  ar=(- - -)
  if [[ $c == 2x1 ]]; then
    ar=()
    for m in 1 4 16; do
      ar+=("$(grep -E "^all_reduce +$m MiB" "$out/$c" | sed -E 's/.*: [0-9.]+ ms, ([0-9.]+) GB\/s.*/\1/' | median) GB/s")
    done
  fi
  name="${c%x*} process(es) × ${c#*x} thread(s)"
  printf '%-24s %14s %14s %20s %20s %20s\n' "$name" "$w2" "$w3" "${ar[0]}" "${ar[1]}" "${ar[2]}"
done
mc=()
for m in 1 4 16; do
  mc+=("$(grep -E "^all_reduce +$m MiB" "$out/2x1" | sed -E 's/.*memcpy [0-9.]+ ms, ([0-9.]+) GB.*/\1/' | median) GB/s")
done
printf '%-24s %14s %14s %20s %20s %20s\n' "memcpy, same sizes" "" "" "${mc[0]}" "${mc[1]}" "${mc[2]}"
