// The interface between the validated public API (src/*.cpp) and the backends. Internal header.
#pragma once

#include "pdeimg/context.hpp"
#include "pdeimg/image.hpp"

namespace pdeimg {
namespace detail {

/// A validated heat-smoothing request: `steps` explicit steps of size `dt` on the first
/// `channels` channels; any further channel (alpha) is copied from src to dst.
struct HeatPlan {
  int steps = 0;
  float dt = 0.0f;
  int channels = 0;
  int max_fused = 0;  // 0: backend's choice (tests set it to prove fusion changes nothing)
};

/// Number of channels an operation diffuses: all, or all but alpha for 2 and 4 channels.
inline int processed_channels(int channels, bool preserve_alpha) {
  return preserve_alpha && (channels == 2 || channels == 4) ? channels - 1 : channels;
}

}  // namespace detail

namespace cpu {
void heat_smooth(const ImageView& src, const ImageView& dst, const detail::HeatPlan& plan,
                 Context& ctx);
}  // namespace cpu

namespace cuda {
/// Host views are staged through device scratch and the call synchronises; device views are
/// queued on ctx's stream. Throws Error(kBackendUnavailable) in builds without CUDA.
void heat_smooth(const ImageView& src, const ImageView& dst, const detail::HeatPlan& plan,
                 Context& ctx);
}  // namespace cuda

}  // namespace pdeimg
