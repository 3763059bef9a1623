#!/usr/bin/env bash
# Default thread counts on a busy machine: folder throughput (bench/batch_bench: codec-only,
# edges, denoise) of 200 small 64x64 RGB PNGs and of N 1024x1024 RGB PNGs, each measured on an
# idle machine and again while another process keeps one core busy, in the same run. Prints both
# tables and, per pass, busy time / idle time (the target: at most 2).
#
#   bench/busy_core_bench.sh [BUILD_DIR] [N]        e.g. bench/busy_core_bench.sh build 200
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-$here/build}"
n="${2:-200}"
exe="$build/bench/batch_bench"
[[ -x "$exe" ]] || cmake --build "$build" --target batch_bench
dir="$(mktemp -d "${TMPDIR:-/tmp}/pdeimg-busy-bench.XXXXXX")"
busy=""
cleanup() { [[ -n "$busy" ]] && kill "$busy" 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
echo "$(nproc) CPU cores; $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- || true)"

measure() {  # $1 label, $2 size, $3 images -> table on stdout, "pass images/s" lines in $dir/$1
  echo "== $1"
  "$exe" --images "$3" --size "$2" --dir "$dir/$2" --keep | tee "$dir/$1.txt"
}
for case in "small 64 200" "large 1024 $n"; do
  read -r name size images <<<"$case"
  measure "$name-idle" "$size" "$images"
  bash -c 'while :; do :; done' &
  busy=$!
  sleep 0.5
  measure "$name-busy" "$size" "$images"
  kill "$busy"; busy=""
  echo "-- $name: busy time / idle time per pass"
  for pass in codec edges denoise; do
    idle=$(awk -v p="$pass" '$1 == p {print $2}' "$dir/$name-idle.txt")
    loaded=$(awk -v p="$pass" '$1 == p {print $2}' "$dir/$name-busy.txt")
    awk -v p="$pass" -v i="$idle" -v b="$loaded" 'BEGIN {printf "%-8s %6.2f\n", p, i / b}'
  done
done
