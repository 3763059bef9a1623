// CUDA kernels of reaction_diffusion (learned reaction–diffusion; numerics in
// kernels/reaction_diffusion.cuh, shared with the CPU). One thread per pixel: the forward kernel
// computes z_i and y_i = φ_i(z_i) of all N filters into N planes, the backward kernel
// r = Σ_i k̄_i ⋆ y_i and the update. Reflecting boundaries through detail::Reflect (period 2W
// for images narrower than the filter). Kept simple: taps and knot tables are read through the
// read-only cache (every thread of a warp reads the same tap, a broadcast).
#include "kernels/reaction_diffusion.cuh"
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

__global__ void rd_forward_kernel(detail::Planes u, int plane, RdDeviceNet net, int t,
                                  detail::Planes ys) {
  const int x = blockIdx.x * blockDim.x + threadIdx.x;
  const int y = blockIdx.y * blockDim.y + threadIdx.y;
  const int w = u.width, h = u.height;
  if (x >= w || y >= h) return;
  const int m = net.size, c = m / 2, mm = m * m, n = net.filters;
  const float uc = u.row(plane, y)[x];
  // Reflected column and row indices of the m×m window (m ≤ 15).
  int xs[15], rows[15];
  for (int a = 0; a < m; ++a) {
    xs[a] = detail::Reflect::map(x + a - c, w);
    rows[a] = detail::Reflect::map(y + a - c, h);
  }
  const detail::RdKnots knots{net.lo, net.inv_h, net.s_max, net.knots - 2};
  for (int i = 0; i < n; ++i) {
    const std::size_t fi = static_cast<std::size_t>(t) * n + i;
    const float* k = net.taps + fi * mm;
    float z = 0.0f;
    for (int a = 0; a < m; ++a) {
      const float* ur = u.row(plane, rows[a]);
      for (int b = 0; b < m; ++b) {
        z = detail::rd_fma(__fsub_rn(__ldg(ur + xs[b]), uc), __ldg(k + a * m + b), z);
      }
    }
    z = detail::rd_fma(__ldg(net.sums + fi), uc, z);
    ys.row(i, y)[x] =
        detail::rd_phi(z, knots, net.values + fi * net.knots, net.slopes + fi * (net.knots - 1));
  }
}

__global__ void rd_backward_kernel(detail::Planes ys, detail::Planes u, int u_plane,
                                   detail::Planes f, int f_plane, detail::Planes out, int out_plane,
                                   RdDeviceNet net, int t, float lambda) {
  const int x = blockIdx.x * blockDim.x + threadIdx.x;
  const int y = blockIdx.y * blockDim.y + threadIdx.y;
  const int w = u.width, h = u.height;
  if (x >= w || y >= h) return;
  const int m = net.size, c = m / 2, mm = m * m, n = net.filters;
  int xs[15], rows[15];
  for (int a = 0; a < m; ++a) {
    xs[a] = detail::Reflect::map(x + a - c, w);
    rows[a] = detail::Reflect::map(y + a - c, h);
  }
  float r = 0.0f;
  for (int i = 0; i < n; ++i) {
    const float* k = net.taps_flipped + (static_cast<std::size_t>(t) * n + i) * mm;
    for (int a = 0; a < m; ++a) {
      const float* yr = ys.row(i, rows[a]);
      for (int b = 0; b < m; ++b) r = detail::rd_fma(__ldg(yr + xs[b]), __ldg(k + a * m + b), r);
    }
  }
  out.row(out_plane, y)[x] =
      detail::rd_update(u.row(u_plane, y)[x], r, f.row(f_plane, y)[x], lambda);
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
