#!/usr/bin/env bash
# Installs what pdeimg needs to build and test, from Debian/Ubuntu packages. Idempotent: it only
# calls apt-get when a package is missing. The CUDA toolkit is not installed here: without nvcc
# the build simply leaves the CUDA backend out.
# OpenCV comes as Debian's libopencv-dev: it is the only package with OpenCVConfig.cmake (the
# per-module -dev packages lack it), and it brings contrib's ximgproc used by the benchmarks.
# libjpeg-dev: pdeimg::io decodes JPEG itself to fail on libjpeg's corrupt-data warnings;
# libpng-dev, libtiff-dev, libwebp-dev: pdeimg::io reads image headers through them (and TIFF
# pages, grey+alpha and strip checks through libtiff); zlib1g-dev: Deflate TIFF checksums;
# nlohmann-json3-dev: the apps' JSON reports. libkissfft-dev (BSD-3-Clause): the FFTs of the CPU
# spectral heat solver, through its header-only C++ kissfft.hh (FFTW is GPL; Debian 12 has no
# pocketfft or ducc package). libeigen3-dev (MPL-2.0): the matrix products of that solver's pruned
# transforms at large times, header-only.
set -euo pipefail

packages=(cmake ninja-build g++ pkg-config libopencv-dev libjpeg-dev libpng-dev libtiff-dev libwebp-dev zlib1g-dev nlohmann-json3-dev libkissfft-dev libeigen3-dev libcli11-dev libgtest-dev libbenchmark-dev)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

sudo=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "install-deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
