#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# A model file that lies about its size must cost no more memory than its tensors:
# writes two hostile text-to-image files and runs `generate --model` on each under
# `ulimit -v` (1 GB by default). Both must exit with fresco's message naming the
# file, not std::bad_alloc or a kill.
#   scripts/hostile_model.sh [build-dir]     (default: build; builds the generate example)
#   - hostile-small.safetensors: 4.6 MB claiming 3,000 layers of width 1,024 (the shapes disagree)
#   - hostile-consistent.safetensors: 30 MB whose named tensors fit the claim (only the last
#     block is there): the memory limit of the loader stops it
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build}
limit_kb=${FRESCO_HOSTILE_VMEM_KB:-1048576}
cmake --build "$build" --parallel 2 --target generate >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

/usr/bin/env python3 - "$work" <<'PY'
import json, struct, sys
work = sys.argv[1]
def write(path, tensors, meta):
    header, data, off = {"__metadata__": meta}, b"", 0
    for name, shape in tensors:
        n = 1
        for d in shape: n *= d
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [off, off + 4 * n]}
        off += 4 * n
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text)
        f.truncate(8 + len(text) + off)   # zeros
meta = {"format": "fresco-text2image", "tokenizer": "{}",
        "gpt.vocab_size": "300", "gpt.context": "16", "gpt.d_model": "1024", "gpt.heads": "2",
        "gpt.layers": "3000", "gpt.mlp_ratio": "4", "gpt.dropout": "0", "gpt.seed": "0",
        "generator.image_size": "32", "generator.channels": "3", "generator.noise_dim": "64",
        "generator.text_dim": "1024", "generator.base_width": "256", "generator.min_width": "32",
        "generator.cross_attention": "1", "generator.attention_heads": "4", "generator.seed": "0"}
# A small model's tensors (d_model 8) padded to 4.6 MB, under the huge claim.
write(f"{work}/hostile-small.safetensors",
      [("gpt.wte.weight", [300, 8]), ("gpt.wpe.weight", [16, 8]), ("generator.pad", [1150000])], meta)
# The tensors the loader checks by name are there, with the claimed shapes; the rest is not.
write(f"{work}/hostile-consistent.safetensors",
      [("gpt.wte.weight", [300, 1024]), ("gpt.wpe.weight", [16, 1024]),
       ("gpt.blocks.2999.attn.in_proj_weight", [3072, 1024]), ("gpt.blocks.2999.fc.weight", [4096, 1024])], meta)
PY

status=0
for f in hostile-small hostile-consistent; do
  out=$( (ulimit -v "$limit_kb"; "$build/examples/generate" --model "$work/$f.safetensors" --prompt "a red circle" \
          --out "$work/grid.png") 2>&1) && rc=0 || rc=$?
  echo "$f.safetensors ($(wc -c < "$work/$f.safetensors") bytes), ulimit -v $limit_kb kB: exit $rc"
  echo "  $out"
  if [ "$rc" -eq 0 ] || ! echo "$out" | grep -q "$f.safetensors" || echo "$out" | grep -q "bad_alloc"; then
    echo "  FAIL: expected an error naming the file"
    status=1
  fi
done
exit $status
