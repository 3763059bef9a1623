#include "src/work_image.hpp"

#include <cstdint>
#include <cstring>
#include <string>

#include "pdeimg/error.hpp"
#include "src/context_impl.hpp"
#include "src/cuda/runtime.hpp"
#include "src/cuda/transfer.hpp"

namespace pdeimg {
namespace detail {

ImageView scratch_image(Context& ctx, int slot, int width, int height, int channels,
                        PixelType type) {
  ImageView v;
  v.width = width;
  v.height = height;
  v.channels = channels;
  v.type = type;
  const std::size_t row = v.row_bytes();
  if (ctx.backend() == Backend::kCuda) {
    v.location = Location::kDevice;
    v.pitch = (row + 255) / 256 * 256;
    v.data = ctx.impl().device_scratch(slot, v.pitch * static_cast<std::size_t>(height));
  } else {
    v.location = Location::kHost;
    v.pitch = (row + 63) / 64 * 64;
    const std::size_t bytes = v.pitch * static_cast<std::size_t>(height);
    v.data = ctx.impl().host_scratch(slot, (bytes + sizeof(float) - 1) / sizeof(float));
  }
  return v;
}

void copy_image(const ImageView& src, const ImageView& dst, Context& ctx) {
  const std::size_t row = src.row_bytes();
  if (src.location == Location::kHost && dst.location == Location::kHost) {
    for (int y = 0; y < src.height; ++y) std::memcpy(dst.row<char>(y), src.row<const char>(y), row);
    return;
  }
  if (src.location == Location::kHost) {
    cuda::upload(src, dst, ctx);
  } else if (dst.location == Location::kHost) {
    cuda::download(src, dst, ctx);
  } else {
    cuda::copy_2d(dst.data, dst.pitch, src.data, src.pitch, row, src.height,
                  cuda::CopyKind::kDeviceToDevice, ctx.stream(), false);
  }
}

void check_image(const ImageView& v, const char* op, const char* what, int width, int height,
                 int channels, PixelType type, Location location) {
  const std::string name = std::string(op) + ": " + what;
  validate(v, name.c_str());
  if (v.width != width || v.height != height || v.channels != channels || v.type != type) {
    throw Error(ErrorCode::kInvalidArgument,
                name + " is " + std::to_string(v.width) + "x" + std::to_string(v.height) + "x" +
                    std::to_string(v.channels) + " " + to_string(v.type) + " but must be " +
                    std::to_string(width) + "x" + std::to_string(height) + "x" +
                    std::to_string(channels) + " " + to_string(type));
  }
  if (v.location != location) {
    throw Error(ErrorCode::kInvalidArgument, name + " must be a " +
                                                 (location == Location::kHost ? "host" : "device") +
                                                 " view like src");
  }
}

bool overlaps(const ImageView& a, const ImageView& b) {
  if (a.empty() || b.empty() || a.location != b.location) return false;
  const auto begin = [](const ImageView& v) { return reinterpret_cast<std::uintptr_t>(v.data); };
  const auto end = [](const ImageView& v) {
    return reinterpret_cast<std::uintptr_t>(v.data) + v.pitch * (v.height - 1) + v.row_bytes();
  };
  return begin(a) < end(b) && begin(b) < end(a);
}

}  // namespace detail
}  // namespace pdeimg
