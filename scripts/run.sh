#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The main job: installs the dependencies, builds Release in build/, and runs
# the example programs one after another: the MLP, then text to image on
# Shapes (train, sample, evaluate). Each step is one `example` line.
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

# Text to image on Shapes (docs/text-to-image.md): a tokenizer and a GPT
# pretrained on the captions, then the GAN, within FRESCO_T2I_MINUTES
# (default 7) in all; then a sample grid and an animated GIF from the finished
# model. Re-running continues from the checkpoint in FRESCO_T2I_OUT.
# OpenMP waits as it does by default (spinning briefly, then sleeping): on an
# idle 2-core machine that runs GAN steps 1.6x faster than one core, where
# OMP_WAIT_POLICY=passive (threads that sleep at once) gains only 1.16x. On a
# machine other programs keep busy, passive is the better choice: set it.
t2i_minutes=${FRESCO_T2I_MINUTES:-7}
t2i_out=${FRESCO_T2I_OUT:-runs/shapes}
example train_text2image --dataset shapes --minutes "$t2i_minutes" --out "$t2i_out"
example generate --model "$t2i_out/model.safetensors" --prompt "a large red circle in the center" \
  --n 16 --seed 7 --out "$t2i_out/grid.png" \
  --gif "$t2i_out/morph.gif" --to "a small blue square at the top left" --frames 24

# The metrics (docs/eval.md): a classifier trained on real Shapes images (one
# minute; kept for later runs) judges the generated ones: conditional accuracy
# per attribute on seen and held-out combinations, Fréchet distance with its
# real-vs-real floor, and diversity. A table, then JSON in metrics.json.
classifier=${FRESCO_CLASSIFIER:-runs/shapes_classifier.safetensors}
if [[ ! -f "$classifier" ]]; then
  example train_classifier --dataset shapes --minutes 1 --out "$classifier"
fi
example evaluate --model "$t2i_out/model.safetensors" --classifier "$classifier" --dataset shapes \
  --samples 500 --json "$t2i_out/metrics.json"
