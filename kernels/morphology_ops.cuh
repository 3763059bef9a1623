// The per-pixel upwind morphology steps of the CUDA kernels, shared by the one-step kernel, the
// fused (temporal-blocking) kernel and tests/fused_steps_test.cpp, which runs them on the CPU.
#pragma once

#include "kernels/morphology.cuh"
#include "kernels/perona_malik.cuh"  // detail::Neighbours

namespace pdeimg {
namespace cuda {

enum MorphShape { kMorphDisc, kMorphDiamond, kMorphSquare };

/// One Rouy–Tourin upwind step of one pixel (kernels/morphology.cuh, the CPU rows' functions):
/// dilation, or erosion with kErode; kUnit: the square's and diamond's exact unit step.
template <int kShape, bool kErode, bool kUnit>
struct MorphUpwindOp {
  static constexpr bool kDiagonals = kShape == kMorphSquare;
  float dt;
  PDEIMG_HD void operator()(detail::Neighbours<1>& u, float* r) const {
    if (kShape == kMorphDisc) {
      r[0] = detail::disc_update<kErode>(u.m[0], u.n[0], u.s[0], u.w[0], u.e[0], dt);
    } else if (kShape == kMorphDiamond) {
      r[0] = detail::diamond_update<kErode, kUnit>(u.m[0], u.n[0], u.s[0], u.w[0], u.e[0], dt);
    } else {
      r[0] = detail::square_update<kErode, kUnit>(u.nw[0], u.n[0], u.ne[0], u.w[0], u.m[0], u.e[0],
                                                  u.sw[0], u.s[0], u.se[0], dt);
    }
  }
};

}  // namespace cuda
}  // namespace pdeimg
