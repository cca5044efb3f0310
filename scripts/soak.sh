#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Memory over long runs (docs/reliability.md): generates IMAGES images in one process
# (`generate --soak`, batches of 64, none kept) and prints its resident memory at the
# start, every tenth of the way and at the end; then, with TRAIN_MINUTES > 0, trains for
# that long and prints the first and last resident memory train_text2image logged in
# OUT/memory.jsonl (a line every 10 seconds).
#
#   scripts/soak.sh                         # 100000 images from a tiny model trained first
#   MODEL=runs/shapes/model.safetensors scripts/soak.sh
#   IMAGES=10000 TRAIN_MINUTES=10 scripts/soak.sh
#
# Environment: BUILD (default ./build), MODEL (a trained model; default: a tiny GAN trained
# here in about a minute), IMAGES (default 100000), BATCH (default 64), TRAIN_MINUTES
# (default 0: no training soak), TRAIN_ARGS (extra train_text2image options for it),
# WORK (default /tmp/fresco-soak).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$root/build}
work=${WORK:-/tmp/fresco-soak}
images=${IMAGES:-100000}
batch=${BATCH:-64}
train_minutes=${TRAIN_MINUTES:-0}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}

train=$build/examples/train_text2image
generate=$build/examples/generate
if [[ ! -x $train || ! -x $generate ]]; then
  [[ -f $build/CMakeCache.txt ]] || cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$build" --parallel 2 --target train_text2image generate >/dev/null
fi
mkdir -p "$work"

model=${MODEL:-}
if [[ -z $model ]]; then
  model=$work/tiny/model.safetensors
  if [[ ! -f $model ]]; then
    echo "training a tiny GAN to generate with ($work/tiny) ..."
    "$train" --family gan --dataset shapes --limit 512 --image-size 16 --minutes 0 --text-steps 50 --align-steps 20 \
      --steps 100 --g-width 16 --d-width 8 --batch 16 --sample-every 0 --checkpoint-every 0 --out "$work/tiny" \
      >"$work/tiny.log" 2>&1
  fi
fi

echo "generate --soak $images (batches of $batch) with $model"
"$generate" --model "$model" --prompt "a large red circle in the center" --n "$batch" --soak "$images"

if [[ $train_minutes != 0 ]]; then
  out=$work/train
  rm -rf "$out"
  echo "train_text2image for $train_minutes minutes ($out) ..."
  # shellcheck disable=SC2086  # TRAIN_ARGS is a list of options
  "$train" --dataset shapes --minutes "$train_minutes" --out "$out" ${TRAIN_ARGS:-} >"$work/train.log" 2>&1
  first=$(head -1 "$out/memory.jsonl")
  last=$(tail -1 "$out/memory.jsonl")
  echo "training: $(wc -l <"$out/memory.jsonl") memory lines; first $first; last $last"
  # Each stage's first resident memory, a quarter of the way in (after its first checkpoints and
  # sample grids: one-time allocations), and its last.
  python3 - "$out/memory.jsonl" <<'EOF' || true
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
stages = []
for r in rows:
    if not stages or stages[-1][0] != r["stage"]:
        stages.append((r["stage"], []))
    stages[-1][1].append(r)
for name, rs in stages:
    first, warm, last = rs[0], rs[len(rs) // 4], rs[-1]
    print(f"  {name:>11}: first {first['rss_mib']:.1f} MiB (step {first['step']}), "
          f"{warm['rss_mib']:.1f} MiB at step {warm['step']}, last {last['rss_mib']:.1f} MiB (step {last['step']}): "
          f"{last['rss_mib'] - warm['rss_mib']:+.1f} MiB after the first quarter")
EOF
fi
