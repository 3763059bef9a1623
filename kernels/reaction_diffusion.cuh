// Learned reaction–diffusion (Chen & Pock, TPAMI 2017; docs/rd-model-format.md): the per-pixel
// numerics shared by the CPU backend (src/cpu/reaction_diffusion.cpp) and the CUDA kernels
// (kernels/reaction_diffusion.cu). One stage of a network:
//   z_i = k_i ⋆ u,  y_i = φ_i(z_i),  u ← u − Σ_i k̄_i ⋆ y_i − λ (u − f)
// Every multiply-add below is fused (fmaf), in the same order on both backends, so the CPU's
// AVX-512 and scalar paths give identical bits and CUDA agrees to within rounding.
#pragma once

#include <cmath>

#include "kernels/common.cuh"

namespace pdeimg {
namespace detail {

/// The orthonormal opponent transform (B, G, R in memory order):
/// Y = (R + G + B)/√3, C1 = (R − B)/√2, C2 = (R − 2G + B)/√6, and its inverse (the transpose).
constexpr double kRdInvSqrt3 = 0.57735026918962576451;
constexpr double kRdInvSqrt2 = 0.70710678118654752440;
constexpr double kRdInvSqrt6 = 0.40824829046386301637;

PDEIMG_HD float rd_fma(float a, float b, float c) {
#if defined(__CUDA_ARCH__)
  return __fmaf_rn(a, b, c);
#else
  return std::fma(a, b, c);
#endif
}

/// The knot grid of a network's influence functions: s = (z − lo)·inv_h clamped to [0, K − 1].
struct RdKnots {
  float lo;
  float inv_h;
  float s_max;  // K − 1
  int j_max;    // K − 2
};

/// φ(z) = v_j + w·(v_{j+1} − v_j), j = min(floor(s), K − 2), w = s − j, with d_j = v_{j+1} − v_j.
PDEIMG_HD float rd_phi(float z, const RdKnots& k, const float* v, const float* d) {
  float s = rn_mul(rn_sub(z, k.lo), k.inv_h);
  s = s > 0.0f ? s : 0.0f;
  s = s < k.s_max ? s : k.s_max;
  int j = static_cast<int>(s);
  j = j < k.j_max ? j : k.j_max;
  const float w = rn_sub(s, static_cast<float>(j));
  return rd_fma(w, d[j], v[j]);
}

/// The stage's update u − r − λ (u − f), as −λ·(u − f) + (u − r) with one rounding.
PDEIMG_HD float rd_update(float u, float r, float f, float lambda) {
  return rd_fma(-lambda, rn_sub(u, f), rn_sub(u, r));
}

}  // namespace detail
}  // namespace pdeimg
