#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs the Debian packages fresco needs to build, test and run, and only
# those that are missing: a no-op when everything is there, and `apt-get
# update` only when something must be installed.
#
#   scripts/install-deps.sh            install what is missing
#   scripts/install-deps.sh --dry-run  print what is missing, change nothing
#   scripts/install-deps.sh --check    exit 1 if anything is missing
#
# Works as root, or through sudo otherwise; never asks questions.
set -euo pipefail

packages=(
  build-essential g++ make cmake        # toolchain (cmake >= 3.21)
  clang libomp-14-dev libclang-rt-14-dev  # clang 14 for the sanitized build and fuzzing: OpenMP, sanitizer and libFuzzer runtimes
  libdnnl-dev ocl-icd-opencl-dev        # oneDNN; its CMake config requires OpenCL
  libeigen3-dev libfmt-dev zlib1g-dev nlohmann-json3-dev libstb-dev libgif-dev
  libcli11-dev                          # command lines of the example programs
  libopenmpi-dev openmpi-bin            # data-parallel training across processes (MPI) and its tests
  catch2 libbenchmark-dev               # tests (Catch2 v2) and benchmarks
  dataset-fashion-mnist                 # /usr/share/datasets/fashion-mnist
  python3                               # independent reference readers in tests
)

mode=install
case "${1:-}" in
  "") ;;
  -n|--dry-run) mode=dry-run ;;
  --check) mode=check ;;
  -h|--help) sed -n '3,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "install-deps.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
esac

# A package counts as present only when dpkg says "install ok installed".
missing=()
for pkg in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$pkg")
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-deps: all ${#packages[@]} packages are installed"
  exit 0
fi
echo "install-deps: missing: ${missing[*]}"
case "$mode" in
  check) exit 1 ;;
  dry-run) echo "install-deps: would run: apt-get update && apt-get install -y ${missing[*]}"; exit 0 ;;
esac

if [[ $(id -u) -eq 0 ]]; then
  as_root=()
elif command -v sudo >/dev/null; then
  as_root=(sudo)
else
  echo "install-deps: not root and no sudo: install as root: apt-get install ${missing[*]}" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" </dev/null
echo "install-deps: installed ${missing[*]}"
