// The per-pixel heat updates of the CUDA kernels, shared by the one-step kernel, the fused
// (temporal-blocking) kernel and tests/fused_steps_test.cpp, which runs them on the CPU.
#pragma once

#include "kernels/heat.cuh"
#include "kernels/perona_malik.cuh"  // detail::Neighbours
#include "src/cuda/launch.hpp"       // kMaxCycleSteps

namespace pdeimg {
namespace cuda {

/// One explicit heat step of one pixel with step size dt. kMissing: non-finite samples are
/// missing data (detail::ghost), as on the CPU.
template <bool kMissing>
struct HeatOp {
  static constexpr bool kDiagonals = false;
  float dt;
  PDEIMG_HD void operator()(detail::Neighbours<1>& u, float* r) const {
    const float m = u.m[0];
    float n = u.n[0], s = u.s[0], w = u.w[0], e = u.e[0];
    if (kMissing) {
      if (!detail::is_finite(m)) {
        r[0] = m;
        return;
      }
      n = detail::ghost(n, m);
      s = detail::ghost(s, m);
      w = detail::ghost(w, m);
      e = detail::ghost(e, m);
    }
    r[0] = detail::heat_update(m, n, s, w, e, dt);
  }
};

/// Steps of different sizes in one fused launch (a fast explicit diffusion cycle): step k of the
/// launch (0-based) is HeatOp with dt[k]. The fused kernel passes k (kPerStep).
template <bool kMissing>
struct HeatCycleOp {
  static constexpr bool kDiagonals = false;
  static constexpr bool kPerStep = true;
  float dt[kMaxCycleSteps];
  PDEIMG_HD void operator()(detail::Neighbours<1>& u, float* r, int k) const {
    HeatOp<kMissing>{dt[k]}(u, r);
  }
};

}  // namespace cuda
}  // namespace pdeimg
