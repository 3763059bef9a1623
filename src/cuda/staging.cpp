#include "src/cuda/staging.hpp"

#include "src/context_impl.hpp"
#include "src/cuda/runtime.hpp"

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
  copy_2d(s.src.data, s.src.pitch, src.data, src.pitch, src.row_bytes(), src.height,
          CopyKind::kHostToDevice, ctx.stream(), false);
  s.dst = scratch_like(ctx, 1, dst);
  s.host_dst = dst;
  return s;
}

void finish(const Staged& staged, Context& ctx) {
  if (staged.host_dst.data == nullptr) return;
  const ImageView& h = staged.host_dst;
  copy_2d(h.data, h.pitch, staged.dst.data, staged.dst.pitch, h.row_bytes(), h.height,
          CopyKind::kDeviceToHost, ctx.stream(), true);
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
