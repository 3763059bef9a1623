// CUDA backend of heat_smooth: convert to float planes, ping-pong steps, convert back.
#include "src/backend.hpp"
#include "src/context_impl.hpp"
#include "src/cuda/launch.hpp"
#include "src/cuda/staging.hpp"

namespace pdeimg {
namespace cuda {

void heat_smooth(const ImageView& src, const ImageView& dst, const detail::HeatPlan& plan,
                 Context& ctx) {
  const Staged st = stage(src, dst, ctx);
  detail::Planes a = scratch_planes(ctx, 2, src.width, src.height, plan.channels);
  detail::Planes b = scratch_planes(ctx, 3, src.width, src.height, plan.channels);
  launch_load_planes(st.src, a, ctx.stream());
  for (int i = 0; i < plan.steps; ++i) {
    // Fast explicit diffusion: each step of the cycle its own size.
    const float dt =
        plan.step_sizes.empty() ? plan.dt : plan.step_sizes[i % plan.step_sizes.size()];
    launch_heat_step(a, b, dt, plan.missing, ctx.stream());
    std::swap(a, b);
    if ((i + 1) % kProgressSteps == 0 || i + 1 == plan.steps)
      report_queued(ctx, i + 1, plan.steps, "heat_smooth");
  }
  launch_store_planes(a, st.src, st.dst, ctx.stream());
  finish(st, ctx);
}

}  // namespace cuda
}  // namespace pdeimg
