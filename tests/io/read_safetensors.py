#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""An independent safetensors reader (standard library only) used by the tests.

usage: read_safetensors.py FILE EXPECT.json

EXPECT.json maps each tensor name to {"shape": [...], "offset": k}; the tensor
must hold float32 values arange(numel) * 0.5 - k. The file must hold exactly
these tensors, with metadata {"format": "pt", "step": "12"}, and follow the
format: u64 little-endian header length, a JSON header padded to 8 bytes,
data offsets in bounds, not overlapping, and spans equal to shape x 4 bytes.
"""
import json
import math
import struct
import sys


def fail(msg):
    print(f"read_safetensors.py: {msg}", file=sys.stderr)
    sys.exit(1)


def main():
    path, expect_path = sys.argv[1], sys.argv[2]
    with open(path, "rb") as f:
        blob = f.read()
    with open(expect_path) as f:
        expect = json.load(f)
    if len(blob) < 8:
        fail("file shorter than 8 bytes")
    (n,) = struct.unpack("<Q", blob[:8])
    if 8 + n > len(blob):
        fail(f"header length {n} past the end")
    if n % 8 != 0:
        fail(f"header length {n} is not a multiple of 8")
    header = json.loads(blob[8 : 8 + n].decode("utf-8"))
    data = blob[8 + n :]
    meta = header.pop("__metadata__", None)
    if meta != {"format": "pt", "step": "12"}:
        fail(f"metadata {meta!r}")
    if set(header) != set(expect):
        fail(f"names {sorted(header)} != {sorted(expect)}")
    spans = []
    for name, info in header.items():
        if info["dtype"] != "F32":
            fail(f"{name}: dtype {info['dtype']}")
        shape = info["shape"]
        if shape != expect[name]["shape"]:
            fail(f"{name}: shape {shape} != {expect[name]['shape']}")
        begin, end = info["data_offsets"]
        numel = math.prod(shape)
        if not (0 <= begin <= end <= len(data)) or end - begin != 4 * numel:
            fail(f"{name}: bad data_offsets {begin, end} for shape {shape}")
        spans.append((begin, end, name))
        values = struct.unpack(f"<{numel}f", data[begin:end])
        k = expect[name]["offset"]
        want = [i * 0.5 - k for i in range(numel)]
        if list(values) != want:
            fail(f"{name}: values {values[:8]}... != {want[:8]}...")
    spans.sort()
    for (b0, e0, n0), (b1, e1, n1) in zip(spans, spans[1:]):
        if b1 < e0:
            fail(f"{n0} and {n1} overlap")
    if spans and spans[-1][1] != len(data):
        fail("data section has trailing bytes")
    print(f"read_safetensors.py: {len(header)} tensors OK")


if __name__ == "__main__":
    main()
