// CUDA kernels of the float range scan and the power-of-two scaling (src/finite.hpp): one thread
// per pixel, all its channels.
#include <cfloat>
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
__device__ __forceinline__ T* row_of(const ImageView& v, int y) {
  return reinterpret_cast<T*>(static_cast<char*>(v.data) + static_cast<std::size_t>(y) * v.pitch);
}

dim3 grid_for(int w, int h) {
  return dim3((w + kBlockX - 1) / kBlockX, (h + kBlockY - 1) / kBlockY);
}

__global__ void scan_samples_kernel(ImageView image, int channels, ScanResult* out) {
  const int x = blockIdx.x * blockDim.x + threadIdx.x;
  const int y = blockIdx.y * blockDim.y + threadIdx.y;
  const bool inside = x < image.width && y < image.height;  // no early return: the warp shuffles
  const int nc = image.channels;
  unsigned long long count = 0;
  unsigned int max_bits = 0;  // |v| >= 0: its bits order like its value
  unsigned long long first = ~0ull;
  if (inside) {
    const float* row = row_of<const float>(image, y) + static_cast<std::ptrdiff_t>(x) * nc;
    for (int c = 0; c < channels; ++c) {
      const float v = row[c];
      if (detail::is_finite(v)) {
        max_bits = max(max_bits, __float_as_uint(fabsf(v)));
      } else {
        if (count == 0) {
          first = (static_cast<unsigned long long>(y) * image.width + x) * nc + c;
        }
        ++count;
      }
    }
  }
  // The maximum within the warp first (blockDim.x is 32: one warp per row segment), so that one
  // atomic per warp, not per pixel, meets the single address.
  for (int o = 16; o > 0; o >>= 1)
    max_bits = max(max_bits, __shfl_xor_sync(0xffffffffu, max_bits, o));
  if (threadIdx.x == 0 && max_bits != 0) atomicMax(&out->max_abs_bits, max_bits);
  if (count != 0) {  // rare: refused inputs and images with holes
    atomicAdd(&out->count, count);
    atomicMin(&out->first, first);
  }
}

template <typename Ts, typename Td>
__global__ void scale_samples_kernel(ImageView src, ImageView dst, int exponent, int channels) {
  const int x = blockIdx.x * blockDim.x + threadIdx.x;
  const int y = blockIdx.y * blockDim.y + threadIdx.y;
  if (x >= src.width || y >= src.height) return;
  const int nc = src.channels;
  const Ts* in = row_of<const Ts>(src, y) + static_cast<std::ptrdiff_t>(x) * nc;
  Td* out = row_of<Td>(dst, y) + static_cast<std::ptrdiff_t>(x) * nc;
  for (int c = 0; c < nc; ++c) {
    const float v = detail::SampleTraits<Ts>::to_float(in[c]);
    float r = v;
    if (c < channels && detail::is_finite(v)) {
      r = ldexpf(v, exponent);
      if (!detail::is_finite(r)) r = v < 0.0f ? -FLT_MAX : FLT_MAX;
    }
    out[c] = detail::SampleTraits<Td>::from_float(r);
  }
}

}  // namespace

void launch_scan_samples(const ImageView& image, int channels, ScanResult* d_out, void* stream) {
  auto s = static_cast<cudaStream_t>(stream);
  scan_samples_kernel<<<grid_for(image.width, image.height), dim3(kBlockX, kBlockY), 0, s>>>(
      image, channels, d_out);
  PDEIMG_LAUNCH_CHECK("scan_samples_kernel");
}

void launch_scale_samples(const ImageView& src, const ImageView& dst, int exponent, int channels,
                          void* stream) {
  auto s = static_cast<cudaStream_t>(stream);
  detail::dispatch_type(src.type, [&](auto stag) {
    detail::dispatch_type(dst.type, [&](auto dtag) {
      using Ts = decltype(stag);
      using Td = decltype(dtag);
      scale_samples_kernel<Ts, Td>
          <<<grid_for(src.width, src.height), dim3(kBlockX, kBlockY), 0, s>>>(src, dst, exponent,
                                                                              channels);
    });
  });
  PDEIMG_LAUNCH_CHECK("scale_samples_kernel");
}

}  // namespace cuda
}  // namespace pdeimg
