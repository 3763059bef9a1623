// Kernel launchers of morphology and the shock filter (kernels/morphology.cu), callable from plain
// C++ (no CUDA headers); kept beside launch.hpp so that morphology's additions stay in its own
// files. Each queues work on `stream` and checks the launch. Internal header.
#pragma once

#include "kernels/common.cuh"
#include "pdeimg/image.hpp"
#include "src/morphology_backend.hpp"

namespace pdeimg {
namespace cuda {

/// The most upwind steps launch_morph_steps fuses into one launch.
int morph_max_fused_steps();
/// `steps` (1..morph_max_fused_steps()) upwind steps (kernels/morphology.cuh) of plan.shape,
/// plan.erode, plan.unit with plan.dt on every plane, in -> out (different planes), reflecting
/// boundaries: one launch, several steps by temporal blocking in shared memory
/// (kernels/fused_steps.cuh), bit-identical to as many single steps.
void launch_morph_steps(const detail::Planes& in, const detail::Planes& out,
                        const detail::MorphPlan& plan, int steps, void* stream);
/// The exact flat max (min) of plan.shape, plan.radius on every plane (plan.flat).
void launch_morph_flat(const detail::Planes& in, const detail::Planes& out,
                       const detail::MorphPlan& plan, void* stream);
/// dst channel c = sign (a_c - b_c) for c < channels, a's channel c for the others (device
/// views; b float32; any a and dst types).
void launch_morph_difference(const ImageView& a, const ImageView& b, const ImageView& dst,
                             int channels, int sign, void* stream);
/// out = detail::shock_update of u with the sign of smoothed's Laplacian (float32 device views),
/// channels >= `channels` copied from u.
void launch_shock_step(const ImageView& u, const ImageView& smoothed, const ImageView& out,
                       int channels, float dt, void* stream);

}  // namespace cuda
}  // namespace pdeimg
