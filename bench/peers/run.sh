#!/usr/bin/env bash
# pdeimg side by side with scikit-image, ITK and G'MIC: denoising quality on Set12 and the speed
# of primitives on a 2048x2048 float image (docs/peers.md shows a run and how to read it).
#
#   bench/peers/run.sh [peers.py options]      e.g. --only speed, --rounds 3, --threads 2
#
# Installs what is missing with apt-get (idempotent; sudo when not root): scikit-image, G'MIC, ITK
# 5 and pdeimg's own build dependencies. Builds pdeimg's apps (CPU, Release) in build-peers/pdeimg
# unless PDEIMG_BUILD names a build folder whose apps/ exist, and the ITK runner in
# build-peers/itk; neither is part of pdeimg's main build or CI. Data from ../shared/data (or
# PDEIMG_DATA). Results: out/peers/results.{json,md}. About 10 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/../.."
jobs=${JOBS:-2}
data=${PDEIMG_DATA:-../shared/data}

packages=(python3-numpy python3-scipy python3-skimage python3-pywt python3-tifffile gmic
          libinsighttoolkit5-dev cmake ninja-build g++)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""
  [[ $(id -u) -ne 0 ]] && sudo="sudo"
  echo "peers: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if [[ -n "${PDEIMG_BUILD:-}" && -x "$PDEIMG_BUILD/apps/denoise" ]]; then
  apps="$PDEIMG_BUILD/apps"
else
  scripts/install-deps.sh
  cmake -S . -B build-peers/pdeimg -G Ninja -DCMAKE_BUILD_TYPE=Release -DPDEIMG_WITH_CUDA=OFF \
    -DPDEIMG_BUILD_TESTS=OFF -DPDEIMG_BUILD_BENCH=OFF >/dev/null
  cmake --build build-peers/pdeimg --parallel "$jobs" --target denoise smooth edges morph
  apps=build-peers/pdeimg/apps
fi

cmake -S bench/peers/itk -B build-peers/itk -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build-peers/itk --parallel "$jobs"

# /usr/bin/python3: the distribution's, which has the packages above (a pyenv python may not).
exec /usr/bin/python3 bench/peers/peers.py --pdeimg-apps "$apps" \
  --itk-runner build-peers/itk/itk_runner --data "$data" --out out/peers "$@"
