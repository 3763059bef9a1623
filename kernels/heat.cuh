// Heat equation u_t = Δu: one explicit Euler step of the 5-point Laplacian (grid spacing 1),
//   u' = u + dt (u_N + u_S + u_W + u_E - 4 u),   stable and monotone for dt <= 1/4.
#pragma once

#include "common.cuh"

namespace pdeimg {
namespace detail {

/// Stability bound of the explicit 5-point scheme in 2-D.
constexpr double kHeatMaxDt = 0.25;

PDEIMG_HD float heat_update(float c, float n, float s, float w, float e, float dt) {
  // c + dt (((n + s) + (w + e)) - 4c), never fused into FMAs (rn_*): the CUDA backend then agrees
  // with the CPU bit for bit, which canny's identical edge maps rely on.
  const float lap = rn_sub(rn_add(rn_add(n, s), rn_add(w, e)), rn_mul(4.0f, c));
  return rn_add(c, rn_mul(dt, lap));
}

}  // namespace detail
}  // namespace pdeimg
