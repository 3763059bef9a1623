#!/usr/bin/env bash
# Device check: builds pdeimg's core, tests and benchmarks on a machine with a CUDA GPU, runs the
# whole test suite with the CUDA tests required (PDEIMG_REQUIRE_CUDA=1 turns a missing device into
# a failure instead of a skip), then prints the device timing table of bench/device_bench: the
# copy bandwidth, heat and Perona-Malik steps on a 4096x4096 float image as fractions of it, Canny
# on a UHD frame (checked equal to the CPU's edge map), host_batch: 1024x1024 RGB host images
# denoised by 1, 2 and 4 workers with page-locked staging, with it off, and on the CPU; the learned
# reaction-diffusion denoiser on a UHD 8-bit frame (sigma given and blind; within one level of the
# CPU), disc dilation (exact r 10 and 30, upwind r 10) and the shock filter (equal to the CPU), the
# Perona-Malik K quantile by radix selection, and the spectral heat solver at sigma 2, 16 and 64.
# Exits non-zero on any failure, and when the whole check outlasts --time-limit.
#
# The GPU machine has CUDA, CMake and ninja but neither OpenCV nor GoogleTest, so OpenCV is off and
# GoogleTest is built from a source tree carried in .gtest/. Here, first:
#   scripts/prepare-device-carry.sh
# then the device tool's call (run from the repository root there; about 3 minutes on an H200):
#   run  command:   bash scripts/device-check.sh --out "$OUT"
#        carry:     [".gtest"]
#        timeout_s: 540
# --out copies the full log, the timing table and ctest's log into that folder.
#
# Options:
#   --build-dir DIR    build folder (default: build-device)
#   --cuda-arch LIST   CMAKE_CUDA_ARCHITECTURES (default: 90, the H100/H200's, native code only)
#   --gtest DIR        GoogleTest source (default: .gtest, else /usr/src/googletest)
#   --time-limit S     limit for the whole check in seconds (default: 480)
#   --out DIR          also write device-check.log, device-table.txt and ctest.log there
#   --no-gpu-ok        dry run on a machine without a GPU: CUDA tests skip instead of failing and
#                      the timing tool's "no device" is tolerated (never use it on the GPU machine)
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="build-device"
cuda_arch="90"
gtest=""
limit=480
out=""
no_gpu_ok=0
args=("$@")
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build-dir) build="$2"; shift 2 ;;
    --cuda-arch) cuda_arch="$2"; shift 2 ;;
    --gtest) gtest="$2"; shift 2 ;;
    --time-limit) limit="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --no-gpu-ok) no_gpu_ok=1; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "device-check: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done

# --- the time guard: run the check itself under timeout -----------------------------------------
if [[ -z "${PDEIMG_DEVICE_CHECK_GUARDED:-}" ]]; then
  export PDEIMG_DEVICE_CHECK_GUARDED=1
  if [[ -n "$out" ]]; then mkdir -p "$out"; fi
  log="$(mktemp)"
  set +e
  timeout -k 20 "$limit" bash "${BASH_SOURCE[0]}" "${args[@]}" 2>&1 | tee "$log"
  status=${PIPESTATUS[0]}
  set -e
  if [[ $status -eq 124 || $status -eq 137 ]]; then
    echo "device-check: FAILED: the check did not finish within ${limit}s" | tee -a "$log"
  fi
  if [[ -n "$out" ]]; then cp "$log" "$out/device-check.log"; fi
  rm -f "$log"
  exit "$status"
fi

t_start=$SECONDS
cd "$repo"
[[ "$build" = /* ]] || build="$repo/$build"
step() { printf '\n== %s (%ds) ==\n' "$1" "$((SECONDS - t_start))"; }
fail() { echo "device-check: FAILED: $*" >&2; exit 1; }

step "environment"
jobs="$(nproc)"
if ! command -v nvcc >/dev/null 2>&1 && [[ -z "${CUDACXX:-}" && -x /usr/local/cuda/bin/nvcc ]]; then
  export CUDACXX=/usr/local/cuda/bin/nvcc  # CUDA installed but not on PATH
fi
echo "host: $(uname -srm), $jobs cores"
echo "cmake: $(cmake --version | head -1)"
echo "nvcc: $("${CUDACXX:-nvcc}" --version 2>/dev/null | tail -1 || echo 'not found')"
if command -v nvidia-smi >/dev/null 2>&1; then
  nvidia-smi --query-gpu=index,name,driver_version,memory.total --format=csv,noheader || true
else
  echo "nvidia-smi: not found"
fi
if [[ $no_gpu_ok -eq 0 ]]; then
  export PDEIMG_REQUIRE_CUDA=1
  echo "PDEIMG_REQUIRE_CUDA=1: CUDA tests must run"
else
  echo "--no-gpu-ok: dry run, CUDA tests may skip and the timing tool may find no device"
fi

if [[ -z "$gtest" ]]; then
  if [[ -f "$repo/.gtest/CMakeLists.txt" ]]; then
    gtest="$repo/.gtest"
  elif [[ -f /usr/src/googletest/CMakeLists.txt ]]; then
    gtest=/usr/src/googletest
  else
    fail "no GoogleTest source: run scripts/prepare-device-carry.sh here and carry .gtest"
  fi
fi
[[ -f "$gtest/CMakeLists.txt" ]] || fail "no GoogleTest source tree at $gtest"

step "configure"
generator=()
if command -v ninja >/dev/null 2>&1; then generator=(-G Ninja); fi
want_generator="${generator[1]:-Unix Makefiles}"
if [[ -f "$build/CMakeCache.txt" ]] \
   && ! grep -q "CMAKE_GENERATOR:INTERNAL=$want_generator\$" "$build/CMakeCache.txt"; then
  rm -rf "$build"  # a cache from another generator cannot be reused
fi
mkdir -p "$build"
cmake -S "$repo" -B "$build" "${generator[@]}" \
  -DCMAKE_BUILD_TYPE=Release \
  -DPDEIMG_WITH_CUDA=ON \
  -DPDEIMG_WITH_OPENCV=OFF \
  -DPDEIMG_BUILD_TESTS=ON \
  -DPDEIMG_BUILD_BENCH=ON \
  -DPDEIMG_GOOGLETEST_SOURCE="$gtest" \
  -DCMAKE_CUDA_ARCHITECTURES="$cuda_arch" | tee "$build/configure.out" \
  || fail "configure"
grep -q "pdeimg: CUDA backend ON" "$build/configure.out" \
  || fail "CMake did not enable the CUDA backend (no CUDA compiler found?)"

step "build ($jobs jobs)"
cmake --build "$build" --parallel "$jobs" || fail "build"
[[ -x "$build/bench/device_bench" ]] || fail "bench/device_bench was not built"

step "ctest"
ctest_status=0
ctest --test-dir "$build" --output-on-failure --parallel "$jobs" --timeout 300 \
  | tee "$build/ctest.out" || ctest_status=$?
if [[ -n "$out" ]]; then
  cp "$build/Testing/Temporary/LastTest.log" "$out/ctest.log" 2>/dev/null || true
fi
[[ $ctest_status -eq 0 ]] || fail "ctest (exit $ctest_status)"
grep -Eq "^[0-9]+% tests passed" "$build/ctest.out" || fail "ctest ran no tests"
# With PDEIMG_REQUIRE_CUDA=1 a CUDA test fails rather than skips; what still skipped (e.g. tests
# that need ../shared/data, which does not travel) is listed.
skipped="$(grep -E '\*\*\*Skipped|Not Run' "$build/ctest.out" || true)"
if [[ -n "$skipped" ]]; then
  echo "skipped tests ($(grep -c . <<<"$skipped")):"
  echo "$skipped"
fi

step "device timing (bench/device_bench)"
table_status=0
"$build/bench/device_bench" --size 4096 --steps 100 --reps 20 | tee "$build/device-table.txt" \
  || table_status=$?
if [[ -n "$out" ]]; then cp "$build/device-table.txt" "$out/device-table.txt" || true; fi
if [[ $table_status -ne 0 ]]; then
  if [[ $no_gpu_ok -eq 1 ]]; then
    echo "device_bench exited $table_status: no device here, tolerated by --no-gpu-ok (dry run)"
  else
    fail "device_bench (exit $table_status)"
  fi
fi

step "done"
dry=""
if [[ $no_gpu_ok -eq 1 ]]; then dry=" (dry run without a GPU)"; fi
echo "device-check: OK in $((SECONDS - t_start))s$dry"
