#include "src/cuda/staging.hpp"

#include <algorithm>

#include "pdeimg/error.hpp"
#include "src/context_impl.hpp"
#include "src/cuda/runtime.hpp"
#include "src/cuda/transfer.hpp"

namespace pdeimg {
namespace cuda {

namespace {
ImageView scratch_like(Context& ctx, int slot, const ImageView& v) {
  ImageView d = v;
  d.location = Location::kDevice;
  d.pitch = (v.row_bytes() + 255) / 256 * 256;
  d.data = ctx.impl().device_scratch(slot, d.pitch * static_cast<std::size_t>(v.height));
  return d;
}
}  // namespace

Staged stage(const ImageView& src, const ImageView& dst, Context& ctx) {
  Staged s{src, dst, ImageView{}};
  if (src.location == Location::kDevice) return s;
  s.src = scratch_like(ctx, 0, src);
  upload(src, s.src, ctx);
  s.dst = scratch_like(ctx, 1, dst);
  s.host_dst = dst;
  return s;
}

ImageView stage_input(const ImageView& src, Context& ctx) {
  if (src.location == Location::kDevice) return src;
  const ImageView d = scratch_like(ctx, 0, src);
  upload(src, d, ctx);
  return d;
}

void finish(const Staged& staged, Context& ctx) {
  if (staged.host_dst.data == nullptr) return;
  download(staged.dst, staged.host_dst, ctx);
}

void report_queued(Context& ctx, long long done, long long total, const char* op) {
  try {
    ctx.impl().report_progress(done, total, op);
  } catch (...) {  // a cancel, or whatever the caller's callback threw
    try {
      synchronize(ctx.stream());  // queued copies may still read the caller's memory
    } catch (...) {               // keep the first exception
    }
    throw;
  }
}

float* scratch_floats(Context& ctx, int slot, std::size_t n) {
  return static_cast<float*>(
      ctx.impl().device_scratch(slot, sizeof(float) * std::max<std::size_t>(n, 1)));
}

detail::Planes scratch_planes(Context& ctx, int slot, int width, int height, int count) {
  // Rows padded to 128 bytes so every row starts aligned for coalesced access.
  const std::ptrdiff_t stride = (width + 31) / 32 * 32;
  const std::ptrdiff_t plane_stride = stride * height;
  auto* data = static_cast<float*>(ctx.impl().device_scratch(
      slot, sizeof(float) * static_cast<std::size_t>(plane_stride) * count));
  return detail::Planes{data, width, height, count, stride, plane_stride};
}

}  // namespace cuda
}  // namespace pdeimg
