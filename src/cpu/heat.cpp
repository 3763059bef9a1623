// CPU backend of heat_smooth: temporally blocked explicit Euler steps (see stencil_pipeline.hpp).
#include <algorithm>
#include <cstdint>

#include "kernels/heat.cuh"
#include "src/backend.hpp"
#include "src/context_impl.hpp"
#include "src/cpu/fused_steps.hpp"

namespace pdeimg {
namespace cpu {
namespace {

// One heat step on a row segment. Built for AVX2 and baseline x86-64 when the compiler supports
// function multi-versioning; ISO C++ mode (no FP contraction) keeps both clones bit-identical.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__ELF__)
__attribute__((target_clones("avx512f", "avx2", "default")))
#endif
void heat_row(const float* __restrict up, const float* __restrict mid, const float* __restrict dn,
              float* __restrict out, int n, bool left_edge, bool right_edge, float dt) {
  if (n == 1) {
    const float w = left_edge ? mid[0] : mid[-1];
    const float e = right_edge ? mid[0] : mid[1];
    out[0] = detail::heat_update(mid[0], up[0], dn[0], w, e, dt);
    return;
  }
  out[0] = detail::heat_update(mid[0], up[0], dn[0], left_edge ? mid[0] : mid[-1], mid[1], dt);
  for (int i = 1; i < n - 1; ++i) {
    out[i] = detail::heat_update(mid[i], up[i], dn[i], mid[i - 1], mid[i + 1], dt);
  }
  const int l = n - 1;
  out[l] =
      detail::heat_update(mid[l], up[l], dn[l], mid[l - 1], right_edge ? mid[l] : mid[l + 1], dt);
}

// The same step with missing data (NonFinite::kMissing): a non-finite neighbour reads as the
// centre (detail::ghost, zero flux into the hole) and a non-finite centre is copied. Only used
// when the image has such samples, so finite images keep the loop above.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__ELF__)
__attribute__((target_clones("avx512f", "avx2", "default")))
#endif
void heat_row_missing(const float* __restrict up, const float* __restrict mid,
                      const float* __restrict dn, float* __restrict out, int n, bool left_edge,
                      bool right_edge, float dt) {
  for (int i = 0; i < n; ++i) {
    const float c = mid[i];
    const float w = i == 0 && left_edge ? c : mid[i - 1];
    const float e = i == n - 1 && right_edge ? c : mid[i + 1];
    const float u = detail::heat_update(c, detail::ghost(up[i], c), detail::ghost(dn[i], c),
                                        detail::ghost(w, c), detail::ghost(e, c), dt);
    out[i] = detail::is_finite(c) ? u : c;
  }
}

struct HeatRowOp {
  int channels;
  float dt;
  bool missing;
  void operator()(const float* const* up, const float* const* mid, const float* const* dn,
                  float* const* out, int n, bool left_edge, bool right_edge) const {
    for (int c = 0; c < channels; ++c) {
      (missing ? heat_row_missing : heat_row)(up[c], mid[c], dn[c], out[c], n, left_edge,
                                              right_edge, dt);
    }
  }
};

/// Fast explicit diffusion: the same rows, each step its own size (one cycle, repeated).
struct FedHeatRowOp {
  HeatRowOp row;
  const float* sizes;
  int cycle;
  void operator()(const float* const* up, const float* const* mid, const float* const* dn,
                  float* const* out, int n, bool left_edge, bool right_edge,
                  const RowAt& at) const {
    HeatRowOp op = row;
    op.dt = sizes[at.step % cycle];
    op(up, mid, dn, out, n, left_edge, right_edge);
  }
};

}  // namespace

void heat_smooth(const ImageView& src, const ImageView& dst, const detail::HeatPlan& plan,
                 Context& ctx) {
  const int nc = plan.channels;
  const HeatRowOp op{nc, plan.dt, plan.missing};
  if (plan.step_sizes.empty()) {
    fused_steps(src, dst, nc, plan.steps, plan.max_fused, op, ctx, "heat_smooth");
  } else {
    fused_steps(src, dst, nc, plan.steps, plan.max_fused,
                FedHeatRowOp{op, plan.step_sizes.data(), static_cast<int>(plan.step_sizes.size())},
                ctx, "heat_smooth");
  }
  if (nc < src.channels && !(src.data == dst.data && src.type == dst.type)) {
    copy_channel(src, dst, src.channels - 1, ctx.impl().workers());
  }
}

}  // namespace cpu
}  // namespace pdeimg
