#!/usr/bin/env bash
# Folder throughput of the batch pipeline on this machine: makes a folder of N (default 200)
# 1024x1024 8-bit RGB PNGs and, in the same run, reports images per second for a codec-only pass
# (decode + encode, no processing), for edges and for denoise, through apps/batch.cpp's run_batch.
#
#   bench/batch_bench.sh [BUILD_DIR] [N]        e.g. bench/batch_bench.sh build-all 200
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-$here/build}"
n="${2:-200}"
exe="$build/bench/batch_bench"
if [[ ! -x "$exe" ]]; then
  cmake --build "$build" --target batch_bench
fi
dir="$(mktemp -d "${TMPDIR:-/tmp}/pdeimg-batch-bench.XXXXXX")"
trap 'rm -rf "$dir"' EXIT
echo "$(nproc) CPU cores; $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- || true)"
"$exe" --images "$n" --size 1024 --dir "$dir"
