// CUDA backend of the spectral heat solver: convert to float planes, the transforms
// (kernels/heat_spectral.cu), convert back.
#include "src/backend.hpp"
#include "src/context_impl.hpp"
#include "src/cuda/launch.hpp"
#include "src/cuda/staging.hpp"

namespace pdeimg {
namespace cuda {

void heat_spectral(const ImageView& src, const ImageView& dst, const detail::HeatSpectralPlan& plan,
                   Context& ctx) {
  const Staged st = stage(src, dst, ctx);
  const detail::Planes a = scratch_planes(ctx, 2, src.width, src.height, plan.channels);
  launch_load_planes(st.src, a, ctx.stream());
  launch_heat_spectral(a, a, plan.time, ctx);
  report_queued(ctx, 1, 1, "heat_smooth");
  launch_store_planes(a, st.src, st.dst, ctx.stream());
  finish(st, ctx);
}

}  // namespace cuda
}  // namespace pdeimg
