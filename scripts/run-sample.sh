#!/usr/bin/env bash
# Sets up, builds and runs the main job on the bundled sample images: the README's first command.
# Writes results to out/.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
source scripts/env.sh
jobs=$(nproc 2>/dev/null || echo 2)
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DPDEIMG_WITH_OPENCV=ON
cmake --build build --parallel "$jobs"
mkdir -p out
set -x
build/apps/smooth samples/images/camera.png out/camera_smooth.png --sigma 2 -v
build/apps/denoise samples/images/chelsea_noisy.png out/chelsea_denoised.png -v --report out/chelsea_denoised.json
build/apps/edges samples/images/camera.png out/camera_edges.png --sigma 2 -v
build/apps/morph blackhat samples/images/text.png out/text_blackhat.png --radius 6 -v
build/apps/smooth samples/images/camera.png out/camera_blurred.png --sigma 3
build/apps/morph shock out/camera_blurred.png out/camera_blurred_shock.png --sigma 2 --time 5 -v
