// CPU backend of heat_smooth: temporally blocked explicit Euler steps (see stencil_pipeline.hpp).
#include <algorithm>
#include <cstdint>

#include "kernels/heat.cuh"
#include "src/backend.hpp"
#include "src/context_impl.hpp"
#include "src/cpu/stencil_pipeline.hpp"

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
  out[l] = detail::heat_update(mid[l], up[l], dn[l], mid[l - 1], right_edge ? mid[l] : mid[l + 1], dt);
}

struct HeatRowOp {
  int channels;
  float dt;
  void operator()(const float* const* up, const float* const* mid, const float* const* dn,
                  float* const* out, int n, bool left_edge, bool right_edge) const {
    for (int c = 0; c < channels; ++c) heat_row(up[c], mid[c], dn[c], out[c], n, left_edge, right_edge, dt);
  }
};

}  // namespace

void heat_smooth(const ImageView& src, const ImageView& dst, const detail::HeatPlan& plan,
                 Context& ctx) {
  auto& impl = ctx.impl();
  const int w = src.width;
  const int h = src.height;
  const int nc = plan.channels;
  const int threads = std::max(1, impl.threads);
  const int max_fused = plan.max_fused > 0 ? plan.max_fused : kMaxFusedSteps;
  const HeatRowOp op{nc, plan.dt};

  // The first pass may read src directly unless dst aliases it: bands would then overwrite rows
  // that neighbouring bands still read. The last pass writes dst directly.
  const bool aliased = src.data == dst.data;
  const std::ptrdiff_t plane_stride = static_cast<std::ptrdiff_t>(w) * h;
  Planes planes[2];
  bool planes_ready = false;
  auto ensure_planes = [&] {
    if (planes_ready) return;
    float* mem = impl.host_scratch(0, 2 * static_cast<std::size_t>(plane_stride) * nc);
    for (int i = 0; i < 2; ++i) {
      planes[i] = Planes{mem + i * plane_stride * nc, w, h, nc, w, plane_stride};
    }
    planes_ready = true;
  };

  int cur = -1;  // index of the planes holding the current state, -1 while it is still src
  if (aliased) {
    // In place: bands would overwrite rows that neighbouring bands still read, so convert src
    // into scratch first and let every step pass read scratch.
    ensure_planes();
    PassShape copy = choose_pass_shape(w, h, nc, 1, threads, 1);
    copy.fused = 0;
    float* ring = impl.host_scratch(1, copy.ring_floats * static_cast<std::size_t>(threads));
    dispatch_type(src.type, [&](auto tag) {
      using Ts = decltype(tag);
      fused_pass(ViewLoader<Ts>{src, nc}, PlaneStore{planes[0]}, op, w, h, nc, copy, threads, ring);
    });
    cur = 0;
  }
  int done = 0;
  while (done < plan.steps) {
    const int remaining = plan.steps - done;
    const PassShape shape = choose_pass_shape(w, h, nc, remaining, threads, max_fused);
    const bool last = shape.fused == remaining;
    float* ring = impl.host_scratch(1, shape.ring_floats * static_cast<std::size_t>(threads));
    if (!last) ensure_planes();
    const int next = cur < 0 ? 0 : 1 - cur;
    auto run_to = [&](const auto& load) {
      if (last) {
        dispatch_type(dst.type, [&](auto tag) {
          using Td = decltype(tag);
          fused_pass(load, ViewStore<Td>{dst, nc}, op, w, h, nc, shape, threads, ring);
        });
      } else {
        fused_pass(load, PlaneStore{planes[next]}, op, w, h, nc, shape, threads, ring);
      }
    };
    if (cur < 0) {
      dispatch_type(src.type, [&](auto tag) {
        using Ts = decltype(tag);
        run_to(ViewLoader<Ts>{src, nc});
      });
    } else {
      run_to(PlaneLoader{planes[cur]});
    }
    done += shape.fused;
    cur = next;
  }
  if (nc < src.channels && !(aliased && src.type == dst.type)) {
    copy_channel(src, dst, src.channels - 1, threads);
  }
}

}  // namespace cpu
}  // namespace pdeimg
