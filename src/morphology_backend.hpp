// The interface between morphology's API layer (src/morphology.cpp) and its backends, in the
// manner of src/backend.hpp (kept apart so that morphology's additions do not touch that file).
// Internal header.
#pragma once

#include "pdeimg/context.hpp"
#include "pdeimg/image.hpp"
#include "pdeimg/morphology.hpp"

namespace pdeimg {
namespace detail {

/// `steps` equal explicit steps of size `dt` of one dilation (or erosion) on the first `channels`
/// channels; further channels (alpha) are copied from src to dst.
struct MorphPlan {
  StructuringElement shape = StructuringElement::kDisc;
  bool erode = false;
  int steps = 0;
  float dt = 0.0f;
  bool unit = false;  ///< dt == 1 on the diamond or square: the exact max/min form
  int channels = 0;
  int max_fused = 0;  ///< 0: backend's choice (tests set it to prove fusion changes nothing)
  /// Instead of steps: one exact flat max (min) over the element of `shape` and `radius`
  /// (detail::flat_half_width), computed in src's own type and converted to dst's.
  bool flat = false;
  double radius = 0.0;
};

/// Scratch slots of morphology and the shock filter (host and device), clear of heat's (0..3),
/// canny's (20..34) and the scaled copies' (40..45).
constexpr int kMorphTempSlot = 60;      ///< open/close/top-hats: the intermediate image (float)
constexpr int kMorphTemp2Slot = 61;     ///< gradient/top-hats: the second image (float)
constexpr int kMorphStageSrcSlot = 62;  ///< CUDA with host views: the staged input
constexpr int kMorphStageDstSlot = 63;  ///< CUDA with host views: the staged output
constexpr int kShockSmoothSlot = 64;    ///< the shock filter's smoothed image (float)
constexpr int kMorphFlatRowsSlot = 67;  ///< CPU flat max: per-worker rows
constexpr int kMorphFlatCopySlot = 68;  ///< flat max in place: a copy of the input
constexpr int kMorphChunkSlot = 76;     ///< CPU upwind disc in chunks: two float images (76, 77)

}  // namespace detail

namespace cpu {
/// plan.steps steps of plan.shape on host views (any types; dst may alias src exactly).
void morph_steps(const ImageView& src, const ImageView& dst, const detail::MorphPlan& plan,
                 Context& ctx);
/// dst channel c = sign (a_c - b_c) for c < channels (sign +1 or -1; b float32), and a's channel c
/// for the others, converted to dst's type. Same shape; dst may alias a or b exactly.
void morph_difference(const ImageView& a, const ImageView& b, const ImageView& dst, int channels,
                      int sign, Context& ctx);
/// One shock-filter step on float32 views of equal shape: out = detail::shock_update of u, with
/// the sign of the Laplacian of `smoothed`, for c < channels; u's other channels copied. out must
/// not overlap u or smoothed.
void shock_step(const ImageView& u, const ImageView& smoothed, const ImageView& out, int channels,
                float dt, Context& ctx);
}  // namespace cpu

namespace cuda {
/// As cpu::; morph_steps also stages host views, the other two take device views only.
void morph_steps(const ImageView& src, const ImageView& dst, const detail::MorphPlan& plan,
                 Context& ctx);
void morph_difference(const ImageView& a, const ImageView& b, const ImageView& dst, int channels,
                      int sign, Context& ctx);
void shock_step(const ImageView& u, const ImageView& smoothed, const ImageView& out, int channels,
                float dt, Context& ctx);
}  // namespace cuda

}  // namespace pdeimg
