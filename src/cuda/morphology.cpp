// CUDA backend of morphology and the shock filter: float planes, ping-pong steps, convert back
// (as heat_smooth); the compositions' difference and shock step on device views.
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
  for (int i = 0; !plan.flat && i < plan.steps; ++i) {
    launch_morph_step(a, b, plan, ctx.stream());
    std::swap(a, b);
    if ((i + 1) % kProgressSteps == 0 || i + 1 == plan.steps)
      report_queued(ctx, i + 1, plan.steps, name);
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
