// Heat equation u_t = Δu: one explicit Euler step of the 5-point Laplacian (grid spacing 1),
//   u' = u + dt (u_N + u_S + u_W + u_E - 4 u),   stable and monotone for dt <= 1/4.
#pragma once

#include "common.cuh"

namespace pdeimg {
namespace detail {

/// Stability bound of the explicit 5-point scheme in 2-D.
constexpr double kHeatMaxDt = 0.25;

PDEIMG_HD float heat_update(float c, float n, float s, float w, float e, float dt) {
#if defined(__CUDA_ARCH__)
  // The host's operations exactly, none fused into an FMA (nvcc contracts by default): the CUDA
  // backend then agrees with the CPU bit for bit, which canny's identical edge maps rely on.
  const float lap = __fsub_rn(__fadd_rn(__fadd_rn(n, s), __fadd_rn(w, e)), __fmul_rn(4.0f, c));
  return __fadd_rn(c, __fmul_rn(dt, lap));
#else
  return c + dt * (((n + s) + (w + e)) - 4.0f * c);
#endif
}

}  // namespace detail
}  // namespace pdeimg
