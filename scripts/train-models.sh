#!/usr/bin/env bash
# Retrains the shipped denoising model models/default.rdm from ../shared/data/train400 (gray and
# luma network) and ../shared/data/bsds500-train (chroma network): two training processes of one
# thread each, side by side, then one file. Fixed seeds; about 45 minutes on an idle 2-core machine.
#   scripts/train-models.sh [OUT]      (default: models/default.rdm; logs beside it)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-models/default.rdm}
if ! /usr/bin/python3 -c 'import torch, PIL, numpy' 2>/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-torch python3-pil python3-numpy
fi
# glibc returns large buffers to the system and zeroes them again on every step without these.
export MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=4000000000
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
args=(--greedy 200 --joint 3000 --joint-chroma 1500)
/usr/bin/python3 scripts/train_rd.py train --part gray --out "$tmp/gray.rdm" "${args[@]}" &
gray=$!
/usr/bin/python3 scripts/train_rd.py train --part chroma --out "$tmp/chroma.rdm" "${args[@]}" &
chroma=$!
wait "$gray"
wait "$chroma"
/usr/bin/python3 scripts/train_rd.py merge --gray "$tmp/gray.rdm" --chroma "$tmp/chroma.rdm" --out "$out"
cat "$tmp/gray.rdm.log" "$tmp/chroma.rdm.log" > "$out.log"
echo "wrote $out (training log: $out.log)"
