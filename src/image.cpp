#include "pdeimg/image.hpp"

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

#include "pdeimg/context.hpp"
#include "pdeimg/error.hpp"
#include "src/context_impl.hpp"
#include "src/cuda/runtime.hpp"

namespace pdeimg {

const char* to_string(PixelType type) noexcept {
  switch (type) {
    case PixelType::kU8:
      return "uint8";
    case PixelType::kU16:
      return "uint16";
    case PixelType::kF32:
      return "float32";
  }
  return "unknown";
}

namespace {

std::string shape_of(const ImageView& v) {
  return std::to_string(v.width) + "x" + std::to_string(v.height) + "x" +
         std::to_string(v.channels) + " " + to_string(v.type);
}

void check_shape(int width, int height, int channels, const char* what) {
  if (width <= 0 || height <= 0) {
    throw Error(ErrorCode::kInvalidArgument, std::string(what) + ": size must be positive, got " +
                                                 std::to_string(width) + "x" +
                                                 std::to_string(height));
  }
  if (channels < 1 || channels > 4) {
    throw Error(ErrorCode::kInvalidArgument,
                std::string(what) + ": channels must be 1..4, got " + std::to_string(channels));
  }
}

}  // namespace

void validate(const ImageView& view, const char* what) {
  check_shape(view.width, view.height, view.channels, what);
  if (view.data == nullptr) {
    throw Error(ErrorCode::kInvalidArgument, std::string(what) + ": data pointer is null");
  }
  if (view.pitch < view.row_bytes()) {
    throw Error(ErrorCode::kInvalidArgument,
                std::string(what) + ": pitch " + std::to_string(view.pitch) +
                    " bytes is smaller than a row of " + shape_of(view) + " (" +
                    std::to_string(view.row_bytes()) + " bytes)");
  }
  if (view.pitch % sample_size(view.type) != 0 ||
      reinterpret_cast<std::uintptr_t>(view.data) % sample_size(view.type) != 0) {
    throw Error(ErrorCode::kInvalidArgument,
                std::string(what) + ": data and pitch must be aligned to the sample size (" +
                    std::to_string(sample_size(view.type)) + " bytes)");
  }
}

ImageView ImageView::roi(int x, int y, int w, int h) const {
  if (x < 0 || y < 0 || w <= 0 || h <= 0 || x > width - w || y > height - h) {
    throw Error(ErrorCode::kInvalidArgument,
                "roi: region " + std::to_string(w) + "x" + std::to_string(h) + " at (" +
                    std::to_string(x) + "," + std::to_string(y) + ") is not inside the " +
                    std::to_string(width) + "x" + std::to_string(height) + " view");
  }
  ImageView r = *this;
  r.data = static_cast<char*>(data) + static_cast<std::size_t>(y) * pitch +
           static_cast<std::size_t>(x) * channels * sample_size(type);
  r.width = w;
  r.height = h;
  return r;
}

namespace {
constexpr std::size_t kHostAlignment = 64;
void* align_up(void* p) {
  const auto a = reinterpret_cast<std::uintptr_t>(p);
  return reinterpret_cast<void*>((a + kHostAlignment - 1) / kHostAlignment * kHostAlignment);
}
}  // namespace

HostImage::HostImage(int width, int height, int channels, PixelType type) {
  check_shape(width, height, channels, "HostImage");
  view_.width = width;
  view_.height = height;
  view_.channels = channels;
  view_.type = type;
  view_.location = Location::kHost;
  view_.pitch = view_.row_bytes();
  if (view_.pitch > (SIZE_MAX - 2 * kHostAlignment) / static_cast<std::size_t>(height)) {
    throw Error(ErrorCode::kOutOfMemory, "HostImage: " + std::to_string(width) + "x" +
                                             std::to_string(height) + "x" +
                                             std::to_string(channels) + " " + to_string(type) +
                                             " does not fit in the address space");
  }
  const std::size_t bytes = view_.pitch * static_cast<std::size_t>(height);
  // calloc keeps large allocations lazily zeroed by the OS; the data start is moved up to a
  // cache-line boundary (malloc gives 16 bytes), so full-width SIMD stores never split lines.
  void* p = std::calloc(bytes + kHostAlignment, 1);
  if (p == nullptr) {
    throw Error(ErrorCode::kOutOfMemory, "HostImage: cannot allocate " + std::to_string(bytes) +
                                             " bytes for " + shape_of(view_));
  }
  storage_ = std::shared_ptr<void>(p, [](void* q) { std::free(q); });
  view_.data = align_up(p);
}

HostImage HostImage::copy_of(const ImageView& src) {
  validate(src, "HostImage::copy_of");
  if (src.location != Location::kHost) {
    throw Error(ErrorCode::kInvalidArgument,
                "HostImage::copy_of: source is a device view; use DeviceImage::download");
  }
  HostImage out(src.width, src.height, src.channels, src.type);
  for (int y = 0; y < src.height; ++y)
    std::memcpy(out.row<char>(y), src.row<const char>(y), src.row_bytes());
  return out;
}

DeviceImage::DeviceImage(int width, int height, int channels, PixelType type) {
  check_shape(width, height, channels, "DeviceImage");
  allocate(width, height, channels, type, cuda::current_device());
}

DeviceImage::DeviceImage(int width, int height, int channels, PixelType type, const Context& ctx) {
  check_shape(width, height, channels, "DeviceImage");
  if (ctx.backend() != Backend::kCuda) {
    throw Error(ErrorCode::kInvalidArgument,
                std::string("DeviceImage: needs a context with the cuda backend (this one is ") +
                    to_string(ctx.backend()) + ")");
  }
  allocate(width, height, channels, type, ctx.device());
}

void DeviceImage::allocate(int width, int height, int channels, PixelType type, int device) {
  view_.width = width;
  view_.height = height;
  view_.channels = channels;
  view_.type = type;
  view_.location = Location::kDevice;
  const detail::DeviceScope on(device);
  std::size_t pitch = 0;
  void* p = cuda::malloc_pitch(view_.row_bytes(), height, &pitch);
  storage_ = std::shared_ptr<void>(p, [device](void* q) {
    try {
      const detail::DeviceScope at(device);  // cudaFree of another device's memory
      cuda::free_device(q);
    } catch (...) {  // a deleter must not throw; the memory is lost only if the device is
    }
  });
  view_.data = p;
  view_.pitch = pitch;
  device_ = device;
}

namespace {
void check_same(const ImageView& a, const ImageView& b, const char* what) {
  if (a.width != b.width || a.height != b.height || a.channels != b.channels || a.type != b.type) {
    throw Error(ErrorCode::kInvalidArgument, std::string(what) + ": host view is " + shape_of(b) +
                                                 " but the device image is " + shape_of(a));
  }
}
}  // namespace

void DeviceImage::upload(const ImageView& host) {
  validate(host, "DeviceImage::upload");
  check_same(view_, host, "DeviceImage::upload");
  const detail::DeviceScope on(device_);  // that device's legacy default stream
  cuda::copy_2d(view_.data, view_.pitch, host.data, host.pitch, host.row_bytes(), host.height,
                cuda::CopyKind::kHostToDevice, nullptr, true);
}

void DeviceImage::download(const ImageView& host) const {
  validate(host, "DeviceImage::download");
  check_same(view_, host, "DeviceImage::download");
  const detail::DeviceScope on(device_);
  cuda::copy_2d(host.data, host.pitch, view_.data, view_.pitch, host.row_bytes(), host.height,
                cuda::CopyKind::kDeviceToHost, nullptr, true);
}

}  // namespace pdeimg
