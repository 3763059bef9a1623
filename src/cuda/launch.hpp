// Kernel launchers of the CUDA backend, callable from plain C++ (no CUDA headers). Each queues
// work on `stream` and checks the launch. Internal header.
#pragma once

#include "kernels/common.cuh"
#include "pdeimg/image.hpp"

namespace pdeimg {
namespace cuda {

/// planes[c] = float(src channel c) for c < planes.count (src is a device view).
void launch_load_planes(const ImageView& src, const detail::Planes& planes, void* stream);
/// dst channel c = planes[c] (rounded, saturated) for c < planes.count; any further channel of
/// dst (alpha) = src's, converted. src and dst are device views and may be the same.
void launch_store_planes(const detail::Planes& planes, const ImageView& src, const ImageView& dst,
                         void* stream);
/// One explicit heat step on every plane: out = in + dt Δin (reflecting boundaries).
void launch_heat_step(const detail::Planes& in, const detail::Planes& out, float dt, void* stream);

}  // namespace cuda
}  // namespace pdeimg
