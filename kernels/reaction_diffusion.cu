// CUDA launchers of reaction_diffusion (learned reaction–diffusion; numerics in
// kernels/reaction_diffusion.cuh, shared with the CPU; the stage kernels in
// kernels/reaction_diffusion_kernels.cuh): loading and storing the planes (with the opponent
// colour transform), and a stage either in one launch with shared-memory tiles (rd_stage_kernel)
// or as a forward and a backward kernel through N global planes of y_i. Taps and knot tables are
// read through the read-only cache (every thread of a warp reads the same tap, a broadcast).
#include "kernels/reaction_diffusion.cuh"
#include "kernels/reaction_diffusion_kernels.cuh"
#include "src/cuda/check.hpp"
#include "src/cuda/launch.hpp"

namespace pdeimg {
namespace cuda {
namespace {

constexpr int kBlockX = 32;
constexpr int kBlockY = 8;

dim3 grid_for(int w, int h) {
  return dim3((w + kBlockX - 1) / kBlockX, (h + kBlockY - 1) / kBlockY);
}

template <typename T>
__global__ void rd_load_kernel(const char* src, std::size_t pitch, int channels, detail::Planes f,
                               bool colour, double scale) {
  const int x = blockIdx.x * blockDim.x + threadIdx.x;
  const int y = blockIdx.y * blockDim.y + threadIdx.y;
  if (x >= f.width || y >= f.height) return;
  const T* in = reinterpret_cast<const T*>(src + static_cast<std::size_t>(y) * pitch) +
                static_cast<std::ptrdiff_t>(x) * channels;
  int p0 = 0;
  if (colour) {
    const double b = detail::SampleTraits<T>::to_float(in[0]);
    const double g = detail::SampleTraits<T>::to_float(in[1]);
    const double r = detail::SampleTraits<T>::to_float(in[2]);
    f.row(0, y)[x] = static_cast<float>((r + g + b) * (scale * detail::kRdInvSqrt3));
    f.row(1, y)[x] = static_cast<float>((r - b) * (scale * detail::kRdInvSqrt2));
    f.row(2, y)[x] = static_cast<float>((r - 2.0 * g + b) * (scale * detail::kRdInvSqrt6));
    p0 = 3;
  }
  for (int p = p0; p < f.count; ++p) {
    f.row(p, y)[x] =
        static_cast<float>(static_cast<double>(detail::SampleTraits<T>::to_float(in[p])) * scale);
  }
}

template <typename Ts, typename Td>
__global__ void rd_store_kernel(detail::Planes f, detail::Planes u, bool colour, double inv,
                                const char* src, std::size_t src_pitch, char* dst,
                                std::size_t dst_pitch, int channels) {
  const int x = blockIdx.x * blockDim.x + threadIdx.x;
  const int y = blockIdx.y * blockDim.y + threadIdx.y;
  if (x >= f.width || y >= f.height) return;
  const std::ptrdiff_t i = static_cast<std::ptrdiff_t>(x) * channels;
  const Ts* in = reinterpret_cast<const Ts*>(src + static_cast<std::size_t>(y) * src_pitch) + i;
  Td* out = reinterpret_cast<Td*>(dst + static_cast<std::size_t>(y) * dst_pitch) + i;
  double v[4];
  for (int c = 0; c < channels; ++c) v[c] = detail::SampleTraits<Ts>::to_float(in[c]);
  auto delta = [&](int p) { return (static_cast<double>(u.row(p, y)[x]) - f.row(p, y)[x]) * inv; };
  int p0 = 0;
  if (colour) {
    const double dy = delta(0), d1 = delta(1), d2 = delta(2);
    const double ly = dy * detail::kRdInvSqrt3;
    v[0] = v[0] + ly - d1 * detail::kRdInvSqrt2 + d2 * detail::kRdInvSqrt6;
    v[1] = v[1] + ly - 2.0 * d2 * detail::kRdInvSqrt6;
    v[2] = v[2] + ly + d1 * detail::kRdInvSqrt2 + d2 * detail::kRdInvSqrt6;
    p0 = 3;
  }
  for (int p = p0; p < f.count; ++p) v[p] = v[p] + delta(p);
  for (int c = 0; c < channels; ++c) {
    out[c] = detail::SampleTraits<Td>::from_float(static_cast<float>(v[c]));
  }
}

}  // namespace

void launch_rd_load(const ImageView& src, const detail::Planes& f, bool colour, double scale,
                    void* stream) {
  auto s = static_cast<cudaStream_t>(stream);
  detail::dispatch_type(src.type, [&](auto tag) {
    using T = decltype(tag);
    rd_load_kernel<T><<<grid_for(f.width, f.height), dim3(kBlockX, kBlockY), 0, s>>>(
        static_cast<const char*>(src.data), src.pitch, src.channels, f, colour, scale);
  });
  PDEIMG_LAUNCH_CHECK("rd_load_kernel");
}

void launch_rd_forward(const detail::Planes& u, int plane, const RdDeviceNet& net, int t,
                       const detail::Planes& y, void* stream) {
  rd_forward_kernel<<<grid_for(u.width, u.height), dim3(kBlockX, kBlockY), 0,
                      static_cast<cudaStream_t>(stream)>>>(u, plane, net, t, y);
  PDEIMG_LAUNCH_CHECK("rd_forward_kernel");
}

void launch_rd_backward(const detail::Planes& y, const detail::Planes& u, int u_plane,
                        const detail::Planes& f, int f_plane, const detail::Planes& out,
                        int out_plane, const RdDeviceNet& net, int t, float lambda, void* stream) {
  rd_backward_kernel<<<grid_for(u.width, u.height), dim3(kBlockX, kBlockY), 0,
                       static_cast<cudaStream_t>(stream)>>>(y, u, u_plane, f, f_plane, out,
                                                            out_plane, net, t, lambda);
  PDEIMG_LAUNCH_CHECK("rd_backward_kernel");
}

bool rd_stage_fits(const RdDeviceNet& net) {
  return net.size <= 15 &&
         rd_stage_shared_floats(net.filters, net.size) * sizeof(float) <= kRdStageMaxSharedBytes;
}

void launch_rd_stage(const detail::Planes& u, int u_plane, const detail::Planes& f, int f_plane,
                     const detail::Planes& out, int out_plane, const RdDeviceNet& net, int t,
                     float lambda, void* stream) {
  const dim3 grid((u.width + kRdStageTileX - 1) / kRdStageTileX,
                  (u.height + kRdStageTileY - 1) / kRdStageTileY);
  const std::size_t bytes = rd_stage_shared_floats(net.filters, net.size) * sizeof(float);
  rd_stage_kernel<<<grid, dim3(kRdStageTileX, kRdStageTileY), bytes,
                    static_cast<cudaStream_t>(stream)>>>(u, u_plane, f, f_plane, out, out_plane,
                                                         net, t, lambda);
  PDEIMG_LAUNCH_CHECK("rd_stage_kernel");
}

void launch_rd_store(const detail::Planes& f, const detail::Planes& u, bool colour, double scale,
                     const ImageView& src, const ImageView& dst, void* stream) {
  auto s = static_cast<cudaStream_t>(stream);
  detail::dispatch_type(src.type, [&](auto stag) {
    detail::dispatch_type(dst.type, [&](auto dtag) {
      using Ts = decltype(stag);
      using Td = decltype(dtag);
      rd_store_kernel<Ts, Td><<<grid_for(f.width, f.height), dim3(kBlockX, kBlockY), 0, s>>>(
          f, u, colour, 1.0 / scale, static_cast<const char*>(src.data), src.pitch,
          static_cast<char*>(dst.data), dst.pitch, dst.channels);
    });
  });
  PDEIMG_LAUNCH_CHECK("rd_store_kernel");
}

}  // namespace cuda
}  // namespace pdeimg
