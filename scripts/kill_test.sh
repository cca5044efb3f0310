#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Crash safety of train_text2image (docs/reliability.md). For each family, runs a tiny
# training bounded by step counts (--minutes 0) once to the end as the reference, then for
# each trial starts the same run in a fresh directory, kills it with SIGKILL at a random
# moment (every third trial waits for a checkpoint's temporary file and kills during the
# write), checks that every safetensors file left on disk loads, runs the same command
# again (it resumes) and compares the finished model to the reference byte for byte.
# As root, it also fills a small tmpfs during a run (the write fails, the old checkpoint
# stays loadable, no temporary is left, and the run resumes once space is freed) and
# points a run at a read-only file system (refused at start-up).
#
#   scripts/kill_test.sh            # 20 trials per family
#   scripts/kill_test.sh 5          # 5 trials per family
#   FAMILIES=transformer BUILD=/path/to/build scripts/kill_test.sh
#
# Environment: BUILD (build directory, default ./build; configured and built when the
# programs are missing), FAMILIES (default "transformer gan"), WORK (scratch directory,
# default /tmp/fresco-kill-test), SEED (of the kill times, default 1).
set -euo pipefail

trials=${1:-20}
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$root/build}
families=${FAMILIES:-transformer gan}
work=${WORK:-/tmp/fresco-kill-test}
RANDOM=${SEED:-1}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}

train=$build/examples/train_text2image
info=$build/examples/checkpoint_info
if [[ ! -x $train || ! -x $info ]]; then
  [[ -f $build/CMakeCache.txt ]] || cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$build" --parallel 2 --target train_text2image checkpoint_info >/dev/null
fi

# Tiny runs of a few seconds: every checkpoint step, so that writes are a large share of the time.
common=(--dataset shapes --limit 128 --image-size 16 --minutes 0 --seed 3 --checkpoint-every 1 --sample-every 0)
# shellcheck disable=SC2034  # read through args_of
transformer_args=(--family transformer "${common[@]}" --vq-steps 8 --vq-disc-start 4 --codes 32 --downsample 4
                  --steps 120 --t-width 32 --t-layers 1 --t-heads 2 --t-batch 8)
# shellcheck disable=SC2034  # read through args_of
gan_args=(--family gan "${common[@]}" --text-steps 12 --align-steps 6 --steps 60 --g-width 16 --d-width 8 --batch 8)

now() { date +%s.%N; }
seconds_since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
# A random time in [0, max) seconds, 3 decimals.
random_time() { awk -v m="$1" -v r="$RANDOM" 'BEGIN { printf "%.3f", m * r / 32768 }'; }
temporaries() { find "$1" -name '*.tmp.*' 2>/dev/null | wc -l; }
# The stage the log had reached: the last "[k/4] ..." line, cut before its figures.
phase_of() {
  grep -aoE '^(\[[0-9]/4\] [a-zA-Z -]*| +token transformer)' "$1" | tail -1 | sed 's/^ *//; s/ for .*//; s/ on the .*//; s/ *$//' || true
}
# Every safetensors file under a directory loads whole; prints how many.
check_loads() {
  local files
  mapfile -t files < <(find "$1" -name '*.safetensors' -not -name '*.tmp.*')
  if ((${#files[@]} > 0)); then "$info" "${files[@]}" >>"$2" 2>&1 || return 1; fi
  echo "${#files[@]}"
}
args_of() { local -n ref="$1_args"; printf '%s\n' "${ref[@]}"; }

rm -rf "$work"
mkdir -p "$work"
total_equal=0 total_trials=0

for family in $families; do
  mapfile -t args < <(args_of "$family")
  ref=$work/$family/reference
  mkdir -p "$work/$family"
  start=$(now)
  "$train" "${args[@]}" --out "$ref" >"$ref.log" 2>&1 || { echo "$family: the reference run failed:"; tail -5 "$ref.log"; exit 1; }
  duration=$(seconds_since "$start")
  echo "$family: reference run in $duration s; model digest $("$info" --digest "$ref/model.safetensors" | cut -c1-16)"
  equal=0
  for ((i = 1; i <= trials; i++)); do
    dir=$work/$family/trial_$i
    log=$dir.log
    "$train" "${args[@]}" --out "$dir" >"$log" 2>&1 &
    pid=$!
    start=$(now)
    if ((i % 3 == 0)); then
      # Kill during a checkpoint write: wait a random time, then for a temporary file to appear.
      mode="write"
      sleep "$(random_time "$(awk -v d="$duration" 'BEGIN { print d * 0.8 }')")"
      while kill -0 "$pid" 2>/dev/null; do
        if compgen -G "$dir/*.tmp.*" >/dev/null || compgen -G "$dir/image_tokenizer/*.tmp.*" >/dev/null; then break; fi
      done
    else
      mode="random"
      sleep "$(random_time "$duration")"
    fi
    killed_at=$(seconds_since "$start")
    if kill -9 "$pid" 2>/dev/null; then killed=yes; else killed=no; fi
    wait "$pid" 2>/dev/null || true
    phase=$(phase_of "$log")
    temps=$(temporaries "$dir")
    verdict=""
    if ! loaded=$(check_loads "$dir" "$log"); then
      verdict="FAIL: a file on disk does not load (see $log)"
    elif ! "$train" "${args[@]}" --out "$dir" >>"$log" 2>&1; then
      verdict="FAIL: the resumed run failed (see $log)"
    elif cmp -s "$ref/model.safetensors" "$dir/model.safetensors"; then
      verdict="bitwise equal"
      equal=$((equal + 1))
    elif [[ $("$info" --digest "$ref/model.safetensors" | cut -c1-16) == $("$info" --digest "$dir/model.safetensors" | cut -c1-16) ]]; then
      verdict="FAIL: tensors equal, bytes differ (metadata)"
    else
      verdict="FAIL: the model differs from the reference"
    fi
    [[ $killed == yes ]] || phase="finished before the kill"
    printf '%s trial %2d  %-6s kill at %6.2f s  %-34s %d temporary file(s), %s file(s) load  -> %s\n' \
      "$family" "$i" "$mode" "$killed_at" "${phase:-[start]}" "$temps" "${loaded:-?}" "$verdict"
  done
  echo "$family: $equal of $trials bitwise equal"
  total_equal=$((total_equal + equal))
  total_trials=$((total_trials + trials))
done
echo "kill test: $total_equal of $total_trials bitwise equal"
status=0
((total_equal == total_trials)) || status=1

# --- A full disk and a read-only directory (root only: they mount tmpfs) ---
if [[ $(id -u) != 0 ]] || [[ " $families " != *" transformer "* ]]; then
  echo "disk checks: skipped (need root and the transformer family)"
  exit $status
fi
mnt=$work/small_disk ro=$work/read_only
mkdir -p "$mnt" "$ro"
# shellcheck disable=SC2317  # called by the trap
cleanup() { umount "$mnt" 2>/dev/null || true; umount "$ro" 2>/dev/null || true; }
trap cleanup EXIT
mapfile -t args < <(args_of transformer)
ref=$work/transformer/reference

mount -t tmpfs -o size=64m tmpfs "$mnt"
out=$mnt/run
log=$work/disk_full.log
"$train" "${args[@]}" --out "$out" >"$log" 2>&1 &
pid=$!
ckpt=$out/image_tokenizer/checkpoint.safetensors
while kill -0 "$pid" 2>/dev/null && [[ ! -f $ckpt ]]; do sleep 0.01; done
# Leave free less than half a checkpoint: the next checkpoint cannot be written.
size=$(stat -c %s "$ckpt")
for attempt in 1 2 3 4 5; do
  avail=$(df --output=avail -B1 "$mnt" | tail -1)
  if fallocate -l $((avail - size / 2)) "$mnt/filler.$attempt" 2>/dev/null; then break; fi
done
rc=0
wait "$pid" || rc=$?
message=$(grep -a '^error:' "$log" | tail -1 || true)
echo "disk full: exit status $rc; $message"
if ((rc != 0)) && [[ $message == *"No space left on device"* ]] && check_loads "$out" "$log" >/dev/null &&
  (($(temporaries "$out") == 0)); then
  echo "disk full: the previous checkpoint loads ($("$info" "$ckpt" | sed 's/.*format //'))"
  echo "disk full: no temporary file left behind"
else
  echo "disk full: FAIL (see $log)"
  status=1
fi
rm -f "$mnt"/filler.*
if "$train" "${args[@]}" --out "$out" >>"$log" 2>&1 && cmp -s "$ref/model.safetensors" "$out/model.safetensors"; then
  echo "disk full: after freeing space the run resumed to the reference model, bitwise"
else
  echo "disk full: FAIL: the resumed run after freeing space (see $log)"
  status=1
fi

mount -t tmpfs -o ro,size=1m tmpfs "$ro"
start=$(now)
rc=0
"$train" "${args[@]}" --out "$ro/run" >"$work/read_only.log" 2>&1 || rc=$?
took=$(seconds_since "$start")
echo "read-only directory: exit status $rc after $took s; $(grep -a '^error:' "$work/read_only.log" | tail -1 || true)"
if ((rc == 0)); then status=1; fi
exit $status
