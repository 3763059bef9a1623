// Scratch images and copies for operations composed above the backends (canny, gradient), and
// the argument checks of their extra images. Internal header.
#pragma once

#include "pdeimg/context.hpp"
#include "pdeimg/image.hpp"

namespace pdeimg {
namespace detail {

/// An image of the given shape in scratch slot `slot` of ctx, where ctx's backend computes: host
/// scratch on the CPU, device scratch (rows padded to 256 bytes) on CUDA. Reused across calls.
ImageView scratch_image(Context& ctx, int slot, int width, int height, int channels,
                        PixelType type);

/// Copies src into dst (same shape and type, any locations). Copies that involve the device are
/// queued on ctx's stream; one into host memory waits for the stream.
void copy_image(const ImageView& src, const ImageView& dst, Context& ctx);

/// Throws Error(kInvalidArgument) "<op>: <what> ..." unless `v` is a valid view of width x height
/// with `channels` channels of `type` at `location`.
void check_image(const ImageView& v, const char* op, const char* what, int width, int height,
                 int channels, PixelType type, Location location);

/// True when the memory spans of two views in the same place overlap.
bool overlaps(const ImageView& a, const ImageView& b);

}  // namespace detail
}  // namespace pdeimg
