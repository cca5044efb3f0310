#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds Release and runs each reference workload (W1-W4 of the reference
# workloads spec) alternately with fresco and with the PyTorch peer programs,
# several rounds, then prints a table of medians and ratios. Only ratios
# measured in one run count: the machine's speed drifts between runs.
#
#   usage: scripts/bench.sh [rounds] [workloads...]   (default: 3 rounds, w2 w3 w4; add w1 for GEMM)
# Environment: FRESCO_BUILD_DIR (build), PEERS (../shared/peers), FRESCO_JOBS (2).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
shift || true
workloads=("$@")
[[ ${#workloads[@]} -gt 0 ]] || workloads=(w2 w3 w4)
build=${FRESCO_BUILD_DIR:-build}
peers=${PEERS:-../shared/peers}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

scripts/install-deps.sh >/dev/null
need=()
dpkg -s python3-torch >/dev/null 2>&1 || need+=(python3-torch)
dpkg -s libopenblas0-openmp >/dev/null 2>&1 || need+=(libopenblas0-openmp)
if [[ ${#need[@]} -gt 0 ]]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" --parallel "${FRESCO_JOBS:-2}" --target bench_w1_gemm bench_w2_gpt bench_w3_gan bench_w4_infer >/dev/null

# The peer in its fastest configuration (as the peers' run-pytorch.sh sets it up). OpenBLAS is
# told which kernels to use: SkylakeX (AVX-512) where the CPU has it, Haswell (AVX2) otherwise.
lib=/usr/lib/x86_64-linux-gnu
coretype=Haswell
grep -qw avx512f /proc/cpuinfo && coretype=SkylakeX
peer() {
  env LD_LIBRARY_PATH=$lib/openblas-openmp OPENBLAS_CORETYPE=$coretype \
    MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=4000000000 \
    /usr/bin/python3 "$peers/pytorch/$1" "${@:2}"
}

run_fresco() {
  case $1 in
    w1) "$build/benchmarks/bench_w1_gemm" ;;
    w2) "$build/benchmarks/bench_w2_gpt" --steps 30 ;;
    w3) "$build/benchmarks/bench_w3_gan" --steps 20 ;;
    w4) "$build/benchmarks/bench_w4_infer" --steps 30 ;;
  esac
}
run_peer() {
  case $1 in
    w1) peer w1_gemm.py ;;
    w2) peer w2_gpt.py --steps 30 ;;
    w3) peer w3_gan.py --steps 20 ;;
    w4) peer w4_infer.py --steps 30 ;;
  esac
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), OpenBLAS core $coretype"
for r in $(seq "$rounds"); do
  for w in "${workloads[@]}"; do
    echo "== round $r $w fresco"; run_fresco "$w" | tee -a "$out/fresco-$w.txt" | grep RESULT || true
    echo "== round $r $w pytorch"; run_peer "$w" | tee -a "$out/peer-$w.txt" | grep RESULT || true
  done
done

# Table: per RESULT label, the median over rounds of each program's median ms and peak RSS.
python3 - "$out" "${workloads[@]}" <<'PY'
import re, statistics, sys, os
out, workloads = sys.argv[1], sys.argv[2:]
pat = re.compile(r"RESULT (.+?): median ([0-9.]+) ms.*?peakRSS ([0-9.]+) MiB")
def read(path):
    rows = {}
    if not os.path.exists(path): return rows
    for line in open(path):
        m = pat.search(line)
        if m:
            label = re.sub(r"^(W\d) (fresco|PyTorch) ?", r"\1 ", m.group(1)).strip()
            rows.setdefault(label, []).append((float(m.group(2)), float(m.group(3))))
    return rows
print(f"\n{'workload':28s} {'fresco ms':>10s} {'PyTorch ms':>11s} {'ratio':>7s} {'fresco RSS':>11s} {'PyTorch RSS':>12s} {'RSS ratio':>9s}")
for w in workloads:
    f, p = read(f"{out}/fresco-{w}.txt"), read(f"{out}/peer-{w}.txt")
    for label in f:
        if label not in p: continue
        fm = statistics.median(x[0] for x in f[label]); pm = statistics.median(x[0] for x in p[label])
        fr = max(x[1] for x in f[label]); pr = max(x[1] for x in p[label])
        print(f"{label:28s} {fm:10.2f} {pm:11.2f} {fm/pm:7.2f} {fr:9.0f} M {pr:10.0f} M {fr/pr:9.2f}")
print("ratio = fresco time / PyTorch time (below 1: fresco faster)")
PY
