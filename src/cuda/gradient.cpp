// CUDA backend of gradient(): host views are staged through device scratch; device views are
// queued on ctx's stream.
#include "src/backend.hpp"
#include "src/cuda/launch.hpp"
#include "src/work_image.hpp"

namespace pdeimg {
namespace cuda {

void gradient(const ImageView& src, const GradientImages& out, const detail::GradientPlan& plan,
              Context& ctx) {
  if (src.location == Location::kDevice) {
    launch_gradient(src, out, plan.op, plan.channels, plan.scale, plan.missing, ctx.stream());
    return;
  }
  const ImageView d_src = detail::scratch_image(ctx, detail::kStageSrcSlot, src.width, src.height,
                                                src.channels, src.type);
  detail::copy_image(src, d_src, ctx);
  const ImageView* host[4] = {&out.dx, &out.dy, &out.magnitude, &out.direction};
  ImageView dev[4];
  for (int k = 0; k < 4; ++k) {
    if (host[k]->data == nullptr) continue;
    dev[k] = detail::scratch_image(ctx, detail::kStageOut0Slot + k, src.width, src.height,
                                   host[k]->channels, PixelType::kF32);
  }
  launch_gradient(d_src, GradientImages{dev[0], dev[1], dev[2], dev[3]}, plan.op, plan.channels,
                  plan.scale, plan.missing, ctx.stream());
  for (int k = 0; k < 4; ++k) {
    if (host[k]->data != nullptr) detail::copy_image(dev[k], *host[k], ctx);
  }
}

}  // namespace cuda
}  // namespace pdeimg
