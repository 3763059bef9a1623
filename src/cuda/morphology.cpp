// CUDA backend of morphology and the shock filter: float planes, ping-pong steps, convert back
// (as heat_smooth); the compositions' difference and shock step on device views.
#include <algorithm>
#include <utility>

#include "src/context_impl.hpp"
#include "src/cuda/launch.hpp"
#include "src/cuda/morphology_launch.hpp"
#include "src/cuda/staging.hpp"
#include "src/morphology_backend.hpp"

namespace pdeimg {
namespace cuda {

void morph_steps(const ImageView& src, const ImageView& dst, const detail::MorphPlan& plan,
                 Context& ctx) {
  const Staged st = stage(src, dst, ctx);
  detail::Planes a = scratch_planes(ctx, 2, src.width, src.height, plan.channels);
  detail::Planes b = scratch_planes(ctx, 3, src.width, src.height, plan.channels);
  launch_load_planes(st.src, a, ctx.stream());
  const char* name = plan.erode ? "erode" : "dilate";
  if (plan.flat) {  // one exact flat max; float planes hold 8/16-bit samples exactly
    launch_morph_flat(a, b, plan, ctx.stream());
    std::swap(a, b);
    report_queued(ctx, 1, 1, name);
  }
  // Up to morph_max_fused_steps() steps per launch (temporal blocking); plan.max_fused == 1 (a
  // test hook) keeps one launch per step.
  const int fuse = fused_steps(plan.max_fused, morph_max_fused_steps());
  for (int i = 0; !plan.flat && i < plan.steps;) {
    const int n = std::min(fuse, plan.steps - i);
    launch_morph_steps(a, b, plan, n, ctx.stream());
    std::swap(a, b);
    const int before = i;
    i += n;
    if (i / kProgressSteps != before / kProgressSteps || i == plan.steps)
      report_queued(ctx, i, plan.steps, name);
  }
  launch_store_planes(a, st.src, st.dst, ctx.stream());
  finish(st, ctx);
}

void morph_difference(const ImageView& a, const ImageView& b, const ImageView& dst, int channels,
                      int sign, Context& ctx) {
  launch_morph_difference(a, b, dst, channels, sign, ctx.stream());
}

void shock_step(const ImageView& u, const ImageView& smoothed, const ImageView& out, int channels,
                float dt, Context& ctx) {
  launch_shock_step(u, smoothed, out, channels, dt, ctx.stream());
}

}  // namespace cuda
}  // namespace pdeimg
