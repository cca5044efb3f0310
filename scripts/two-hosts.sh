#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Data-parallel training across two hosts, made on one machine: two network
# namespaces ("hosts" fresco-h1 and fresco-h2, each with its own hostname)
# joined by a veth pair, one rank in each, talking TCP over 10.77.0.0/24.
# mpirun starts in fresco-h1 and reaches fresco-h2 through a stand-in for ssh
# (scripts/netns-rsh). The run trains a tiny GPT with pretrain_gpt for
# --steps steps, and one process trains it with the two ranks' batch
# together; the script prints how far apart the two models are.
#
#   usage: scripts/two-hosts.sh [steps]     (default 60; needs root and iproute2)
# Environment: FRESCO_BUILD_DIR (build). The namespaces are removed at exit.
set -euo pipefail
cd "$(dirname "$0")/.."
steps=${1:-60}
build=$(realpath "${FRESCO_BUILD_DIR:-build}")
[[ $(id -u) == 0 ]] || { echo "two-hosts.sh: needs root (ip netns)" >&2; exit 1; }
command -v ip >/dev/null || { echo "two-hosts.sh: needs iproute2 (apt-get install iproute2)" >&2; exit 1; }
cmake --build "$build" --target pretrain_gpt >/dev/null

out=$(mktemp -d /tmp/fresco-two-hosts.XXXXXX)
cleanup() {
  ip netns del fresco-h1 2>/dev/null || true
  ip netns del fresco-h2 2>/dev/null || true
  sed -i '/ fresco-h[12]$/d' /etc/hosts
}
trap cleanup EXIT
cleanup
ip netns add fresco-h1
ip netns add fresco-h2
ip link add fresco-v1 type veth peer name fresco-v2
ip link set fresco-v1 netns fresco-h1
ip link set fresco-v2 netns fresco-h2
ip -n fresco-h1 addr add 10.77.0.1/24 dev fresco-v1
ip -n fresco-h2 addr add 10.77.0.2/24 dev fresco-v2
for h in 1 2; do
  ip -n fresco-h$h link set lo up
  ip -n fresco-h$h link set fresco-v$h up
done
printf '10.77.0.1 fresco-h1\n10.77.0.2 fresco-h2\n' >>/etc/hosts
echo "hosts: fresco-h1 (10.77.0.1) and fresco-h2 (10.77.0.2), joined by a veth pair"
veth_bytes() { ip -n fresco-h1 -s link show fresco-v1 | awk '/RX:/ {getline; rx = $1} /TX:/ {getline; tx = $1} END {print rx + tx}'; }

printf 'fresco-h1 slots=1\nfresco-h2 slots=1\n' >"$out/hostfile"
common=(--dataset shapes --captions 2000 --minutes 0 --steps "$steps" --threads 1 --samples 0 --seed 3)
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1
# Rank 0 in fresco-h1, rank 1 in fresco-h2; TCP only, over the veth pair (no shared memory).
start=$SECONDS
ip netns exec fresco-h1 unshare --uts sh -c "hostname fresco-h1; exec mpirun --hostfile $out/hostfile -np 2 \
  --mca plm_rsh_agent $PWD/scripts/netns-rsh --mca btl tcp,self --mca btl_tcp_if_include 10.77.0.0/24 \
  --mca oob_tcp_if_include 10.77.0.0/24 -x OMPI_ALLOW_RUN_AS_ROOT -x OMPI_ALLOW_RUN_AS_ROOT_CONFIRM -x OMP_NUM_THREADS \
  $build/examples/pretrain_gpt ${common[*]} --batch 16 --out $out/two-hosts" 2>&1 | tr '\r' '\n' | grep -v '^pretrain \['
echo "two hosts: $((SECONDS - start)) s; the veth pair carried $(( $(veth_bytes) / 1000000 )) MB"
start=$SECONDS
"$build/examples/pretrain_gpt" "${common[@]}" --batch 32 --out "$out/one" 2>&1 | tr '\r' '\n' | grep -E '^trained'
echo "one process: $((SECONDS - start)) s"
/usr/bin/python3 - "$out/two-hosts/gpt.safetensors" "$out/one/gpt.safetensors" <<'PY'
import array, json, struct, sys
def tensors(path):
    raw = open(path, 'rb').read()
    n = struct.unpack('<Q', raw[:8])[0]
    header, data = json.loads(raw[8:8 + n]), raw[8 + n:]
    out = {}
    for name, t in header.items():
        if name == '__metadata__': continue
        a = array.array('f'); a.frombytes(data[t['data_offsets'][0]:t['data_offsets'][1]]); out[name] = a
    return out
a, b = tensors(sys.argv[1]), tensors(sys.argv[2])
assert a.keys() == b.keys()
worst = max(max(abs(x - y) for x, y in zip(a[k], b[k])) for k in a)
scale = max(max(abs(x) for x in b[k]) for k in b)
print(f"parameters: {sum(len(v) for v in a.values())} in {len(a)} tensors; largest difference between the two-host "
      f"and the one-process model {worst:.3g} (largest weight {scale:.3g})")
PY
