// CUDA backend of heat_smooth: convert to float planes, ping-pong steps (several per launch),
// convert back.
#include <algorithm>

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
  // Up to heat_max_fused_steps() steps per launch (temporal blocking); plan.max_fused == 1 (a
  // test hook) keeps one launch per step, the reference the fused kernel is tested against. Fast
  // explicit diffusion passes the sizes of the launch's steps (each step of a cycle its own).
  const bool fed = !plan.step_sizes.empty();
  const int fuse = std::min(fused_steps(plan.max_fused, heat_max_fused_steps()), kMaxCycleSteps);
  for (int i = 0; i < plan.steps;) {
    const int n = std::min(fuse, plan.steps - i);
    if (fed) {
      float dt[kMaxCycleSteps];
      for (int k = 0; k < n; ++k) dt[k] = plan.step_sizes[(i + k) % plan.step_sizes.size()];
      if (fuse == 1) {
        launch_heat_step(a, b, dt[0], plan.missing, ctx.stream());
      } else {
        launch_heat_cycle_steps(a, b, n, dt, plan.missing, ctx.stream());
      }
    } else if (fuse == 1) {
      launch_heat_step(a, b, plan.dt, plan.missing, ctx.stream());
    } else {
      launch_heat_steps(a, b, n, plan.dt, plan.missing, ctx.stream());
    }
    std::swap(a, b);
    const int before = i;
    i += n;
    if (i / kProgressSteps != before / kProgressSteps || i == plan.steps)
      report_queued(ctx, i, plan.steps, "heat_smooth");
  }
  launch_store_planes(a, st.src, st.dst, ctx.stream());
  finish(st, ctx);
}

}  // namespace cuda
}  // namespace pdeimg
