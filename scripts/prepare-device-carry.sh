#!/usr/bin/env bash
# Prepares what scripts/device-check.sh needs on the GPU machine and cannot find there: the
# GoogleTest source tree, copied into .gtest/ (ignored by git, ~4 MB) so that it can be carried.
# Idempotent: does nothing when .gtest/ already matches the source.
#
#   scripts/prepare-device-carry.sh [GOOGLETEST_SOURCE]    (default /usr/src/googletest)
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
src="${1:-/usr/src/googletest}"
dst="$repo/.gtest"

if [[ ! -f "$src/CMakeLists.txt" || ! -d "$src/googletest" ]]; then
  echo "prepare-device-carry: no GoogleTest source tree at $src (apt-get install googletest)" >&2
  exit 1
fi
if [[ -d "$dst" ]] && diff -rq "$src" "$dst" >/dev/null 2>&1; then
  echo "prepare-device-carry: $dst is up to date"
  exit 0
fi
rm -rf "$dst.tmp"
cp -a "$src/." "$dst.tmp"
rm -rf "$dst"
mv "$dst.tmp" "$dst"
echo "prepare-device-carry: copied $src to $dst ($(du -sh "$dst" | cut -f1))"
