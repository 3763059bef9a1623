# Sourced by the other scripts: finds nvcc where the CUDA toolkit usually lives when it is not on
# PATH, so the CUDA backend is built whenever a toolkit is installed.
if ! command -v nvcc >/dev/null 2>&1 && [[ -z "${CUDACXX:-}" ]]; then
  for d in /usr/local/cuda/bin /opt/cuda/bin; do
    if [[ -x "$d/nvcc" ]]; then export CUDACXX="$d/nvcc"; break; fi
  done
fi
