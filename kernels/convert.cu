// Conversion between interleaved typed images and float planes on the device.
#include <cstdint>

#include "kernels/common.cuh"
#include "src/cuda/check.hpp"
#include "src/cuda/launch.hpp"

namespace pdeimg {
namespace cuda {
namespace {

constexpr int kBlockX = 32;
constexpr int kBlockY = 8;

template <typename T>
__global__ void load_planes_kernel(const char* src, std::size_t pitch, int channels,
                                   detail::Planes planes) {
  const int x = blockIdx.x * blockDim.x + threadIdx.x;
  const int y = blockIdx.y * blockDim.y + threadIdx.y;
  if (x >= planes.width || y >= planes.height) return;
  const T* in = reinterpret_cast<const T*>(src + static_cast<std::size_t>(y) * pitch);
  for (int c = 0; c < planes.count; ++c) {
    planes.row(c, y)[x] =
        detail::SampleTraits<T>::to_float(in[static_cast<std::ptrdiff_t>(x) * channels + c]);
  }
}

template <typename Ts, typename Td>
__global__ void store_planes_kernel(detail::Planes planes, const char* src, std::size_t src_pitch,
                                    char* dst, std::size_t dst_pitch, int channels) {
  const int x = blockIdx.x * blockDim.x + threadIdx.x;
  const int y = blockIdx.y * blockDim.y + threadIdx.y;
  if (x >= planes.width || y >= planes.height) return;
  Td* out = reinterpret_cast<Td*>(dst + static_cast<std::size_t>(y) * dst_pitch);
  const std::ptrdiff_t base = static_cast<std::ptrdiff_t>(x) * channels;
  for (int c = 0; c < planes.count; ++c) {
    out[base + c] = detail::SampleTraits<Td>::from_float(planes.row(c, y)[x]);
  }
  for (int c = planes.count; c < channels; ++c) {
    const Ts* in = reinterpret_cast<const Ts*>(src + static_cast<std::size_t>(y) * src_pitch);
    out[base + c] =
        detail::SampleTraits<Td>::from_float(detail::SampleTraits<Ts>::to_float(in[base + c]));
  }
}

dim3 grid_for(int w, int h) {
  return dim3((w + kBlockX - 1) / kBlockX, (h + kBlockY - 1) / kBlockY);
}

}  // namespace

void launch_load_planes(const ImageView& src, const detail::Planes& planes, void* stream) {
  auto s = static_cast<cudaStream_t>(stream);
  detail::dispatch_type(src.type, [&](auto tag) {
    using T = decltype(tag);
    load_planes_kernel<T><<<grid_for(planes.width, planes.height), dim3(kBlockX, kBlockY), 0, s>>>(
        static_cast<const char*>(src.data), src.pitch, src.channels, planes);
  });
  PDEIMG_LAUNCH_CHECK("load_planes_kernel");
}

void launch_store_planes(const detail::Planes& planes, const ImageView& src, const ImageView& dst,
                         void* stream) {
  auto s = static_cast<cudaStream_t>(stream);
  detail::dispatch_type(src.type, [&](auto stag) {
    detail::dispatch_type(dst.type, [&](auto dtag) {
      using Ts = decltype(stag);
      using Td = decltype(dtag);
      store_planes_kernel<Ts, Td>
          <<<grid_for(planes.width, planes.height), dim3(kBlockX, kBlockY), 0, s>>>(
              planes, static_cast<const char*>(src.data), src.pitch, static_cast<char*>(dst.data),
              dst.pitch, dst.channels);
    });
  });
  PDEIMG_LAUNCH_CHECK("store_planes_kernel");
}

}  // namespace cuda
}  // namespace pdeimg
