// CUDA kernels of perona_malik and of its statistics. Discretisation: kernels/perona_malik.cuh;
// noise estimator: kernels/noise.cuh. One explicit step per launch, one thread per pixel (all
// coupled channels of a pixel in one thread, so g is computed once per pair and pixel), or
// without regularisation several steps per launch by temporal blocking (kernels/fused_steps.cuh)
// with the same per-pixel update (PmOp).
#include <thrust/iterator/counting_iterator.h>
#include <thrust/iterator/transform_iterator.h>
#include <cub/device/device_histogram.cuh>
#include <cub/device/device_reduce.cuh>
#include <cub/device/device_select.cuh>

#include <climits>

#include <math_constants.h>

#include "kernels/fused_steps.cuh"
#include "kernels/noise.cuh"
#include "kernels/perona_malik.cuh"
#include "pdeimg/error.hpp"
#include "src/cuda/check.hpp"
#include "src/cuda/launch.hpp"

namespace pdeimg {
namespace cuda {
namespace {

// 32x8 threads, as the heat kernel: a warp reads one 128-byte row segment per plane, vertical
// and diagonal neighbours come from L1/L2.
constexpr int kBlockX = 32;
constexpr int kBlockY = 8;

dim3 grid_for(int w, int h, int z = 1) {
  return dim3((w + kBlockX - 1) / kBlockX, (h + kBlockY - 1) / kBlockY, z);
}

template <int C>
__device__ __forceinline__ void gather(const detail::Planes& p, int c0, int x, int y, int xl,
                                       int xr, int yu, int yd, detail::Neighbours<C>& v) {
  for (int c = 0; c < C; ++c) {
    const float* up = p.row(c0 + c, yu);
    const float* mid = p.row(c0 + c, y);
    const float* dn = p.row(c0 + c, yd);
    v.m[c] = __ldg(mid + x);
    v.n[c] = __ldg(up + x);
    v.s[c] = __ldg(dn + x);
    v.w[c] = __ldg(mid + xl);
    v.e[c] = __ldg(mid + xr);
    v.nw[c] = __ldg(up + xl);
    v.ne[c] = __ldg(up + xr);
    v.sw[c] = __ldg(dn + xl);
    v.se[c] = __ldg(dn + xr);
  }
}

/// The unregularised update of one pixel, shared by the one-step and the fused kernels. kMissing:
/// non-finite samples are missing data, as on the CPU (ghost_neighbours).
template <int C, bool kEight, bool kMissing, class G>
struct PmOp {
  static constexpr bool kDiagonals = kEight;
  G g;
  float dt;
  __device__ __forceinline__ void operator()(detail::Neighbours<C>& u, float* r) const {
    if (kMissing && !detail::finite_pixel<C>(u.m)) {
      for (int c = 0; c < C; ++c) r[c] = u.m[c];
      return;
    }
    if (kMissing) detail::ghost_neighbours<C>(u);
    detail::pm_update<C, kEight>(u, g, dt, r);
  }
};

/// One step on channels [c0, c0 + C) with c0 = blockIdx.z * C; g from `gs` when kReg. kMissing
/// (never with kReg): non-finite samples are missing data, as on the CPU (ghost_neighbours).
template <int C, bool kEight, bool kReg, bool kMissing, class G>
__global__ void pm_step_kernel(detail::Planes in, detail::Planes gs, detail::Planes out, G g,
                               float dt) {
  const int x = blockIdx.x * blockDim.x + threadIdx.x;
  const int y = blockIdx.y * blockDim.y + threadIdx.y;
  if (x >= in.width || y >= in.height) return;
  const int c0 = blockIdx.z * C;
  const int xl = detail::Reflect::prev(x), xr = detail::Reflect::next(x, in.width);
  const int yu = detail::Reflect::prev(y), yd = detail::Reflect::next(y, in.height);
  detail::Neighbours<C> u;
  gather<C>(in, c0, x, y, xl, xr, yu, yd, u);
  float r[C];
  if (kReg) {
    detail::Neighbours<C> s;
    gather<C>(gs, c0, x, y, xl, xr, yu, yd, s);
    float g8[8];
    detail::pm_diffusivities<C, kEight>(s, g, g8);
    detail::pm_flux_update<C, kEight>(u, g8, dt, r);
  } else {
    PmOp<C, kEight, kMissing, G>{g, dt}(u, r);
  }
  for (int c = 0; c < C; ++c) out.row(c0 + c, y)[x] = r[c];
}

struct GaussTaps {
  float w[detail::kMaxGaussRadius + 1];
  int r;
};

__global__ void gauss_rows_kernel(detail::Planes in, detail::Planes out, GaussTaps t) {
  const int x = blockIdx.x * blockDim.x + threadIdx.x;
  const int y = blockIdx.y * blockDim.y + threadIdx.y;
  const int c = blockIdx.z;
  if (x >= in.width || y >= in.height) return;
  const float* row = in.row(c, y);
  const int w = in.width;
  out.row(c, y)[x] = detail::gauss_sum(
      t.w, t.r, [&](int i) { return __ldg(row + detail::Reflect::map(x + i, w)); });
}

__global__ void gauss_cols_kernel(detail::Planes in, detail::Planes out, GaussTaps t) {
  const int x = blockIdx.x * blockDim.x + threadIdx.x;
  const int y = blockIdx.y * blockDim.y + threadIdx.y;
  const int c = blockIdx.z;
  if (x >= in.width || y >= in.height) return;
  const int h = in.height;
  out.row(c, y)[x] = detail::gauss_sum(
      t.w, t.r, [&](int i) { return __ldg(in.row(c, detail::Reflect::map(y + i, h)) + x); });
}

/// Squared differences of the axial pairs, group blockIdx.z (layout: gradient_quantile_sq). A
/// pair with a missing (non-finite) sample gets +inf, which sorts after every finite value.
__global__ void gradient_sq_kernel(detail::Planes v, int per_group, float* out) {
  const int x = blockIdx.x * blockDim.x + threadIdx.x;
  const int y = blockIdx.y * blockDim.y + threadIdx.y;
  if (x >= v.width || y >= v.height) return;
  const int gi = blockIdx.z;
  const int w = v.width, h = v.height;
  const std::size_t per =
      static_cast<std::size_t>(w - 1) * h + static_cast<std::size_t>(w) * (h - 1);
  float* o = out + gi * per;
  const int c0 = gi * per_group;
  if (x + 1 < w) {
    float s2 = 0.0f;
    for (int c = c0; c < c0 + per_group; ++c) {
      const float d = v.row(c, y)[x + 1] - v.row(c, y)[x];
      s2 += d * d;
    }
    o[static_cast<std::size_t>(y) * (w - 1) + x] = detail::is_finite(s2) ? s2 : CUDART_INF_F;
  }
  if (y + 1 < h) {
    float s2 = 0.0f;
    for (int c = c0; c < c0 + per_group; ++c) {
      const float d = v.row(c, y + 1)[x] - v.row(c, y)[x];
      s2 += d * d;
    }
    o[static_cast<std::size_t>(w - 1) * h + static_cast<std::size_t>(y) * w + x] =
        detail::is_finite(s2) ? s2 : CUDART_INF_F;
  }
}

/// Per interior pixel of plane c: the Sobel gradient² (sort key; kNoiseSkipKey for a flat
/// neighbourhood), the high-pass (value) and whether the pixel counts (1) or is flat (0).
__global__ void noise_values_kernel(detail::Planes p, int c, detail::NoiseClip clip, float* grad,
                                    float* hp, int* valid) {
  const int x = blockIdx.x * blockDim.x + threadIdx.x;
  const int y = blockIdx.y * blockDim.y + threadIdx.y;
  const int iw = p.width - 2, ih = p.height - 2;
  if (x >= iw || y >= ih) return;
  float v[3][3];
  for (int r = 0; r < 3; ++r)
    for (int k = 0; k < 3; ++k) v[r][k] = p.row(c, y + r)[x + k];
  const std::size_t i = static_cast<std::size_t>(y) * iw + x;
  const bool flat = detail::flat3x3(v) || !detail::finite3x3(v) || detail::clipped3x3(v, clip);
  grad[i] = flat ? detail::kNoiseSkipKey : detail::sobel_sq(v);
  hp[i] = detail::noise_highpass(v);
  valid[i] = flat ? 0 : 1;
}

template <int C, bool kEight, bool kReg, bool kMissing, class G>
void launch_step(const detail::Planes& in, const detail::Planes& gs, const detail::Planes& out,
                 int groups, const G& g, float dt, cudaStream_t s) {
  pm_step_kernel<C, kEight, kReg, kMissing, G>
      <<<grid_for(in.width, in.height, groups), dim3(kBlockX, kBlockY), 0, s>>>(in, gs, out, g, dt);
}

// mode: 0 plain, 1 regularised, 2 missing data.
template <int C, bool kEight, class G>
void launch_step_mode(const detail::Planes& in, const detail::Planes& gs, const detail::Planes& out,
                      int groups, int mode, const G& g, float dt, cudaStream_t s) {
  if (mode == 1) {
    launch_step<C, kEight, true, false>(in, gs, out, groups, g, dt, s);
  } else if (mode == 2) {
    launch_step<C, kEight, false, true>(in, gs, out, groups, g, dt, s);
  } else {
    launch_step<C, kEight, false, false>(in, gs, out, groups, g, dt, s);
  }
}

template <int C, class G>
void launch_step_c(const detail::Planes& in, const detail::Planes& gs, const detail::Planes& out,
                   int groups, bool eight, int mode, const G& g, float dt, cudaStream_t s) {
  if (eight) {
    launch_step_mode<C, true>(in, gs, out, groups, mode, g, dt, s);
  } else {
    launch_step_mode<C, false>(in, gs, out, groups, mode, g, dt, s);
  }
}

template <class G>
void launch_step_g(const detail::Planes& in, const detail::Planes& gs, const detail::Planes& out,
                   bool coupled, bool eight, int mode, const G& g, float dt, cudaStream_t s) {
  if (!coupled) {
    launch_step_c<1>(in, gs, out, in.count, eight, mode, g, dt, s);
    return;
  }
  switch (in.count) {
    case 1:
      launch_step_c<1>(in, gs, out, 1, eight, mode, g, dt, s);
      break;
    case 2:
      launch_step_c<2>(in, gs, out, 1, eight, mode, g, dt, s);
      break;
    case 3:
      launch_step_c<3>(in, gs, out, 1, eight, mode, g, dt, s);
      break;
    default:
      launch_step_c<4>(in, gs, out, 1, eight, mode, g, dt, s);
      break;
  }
}

template <int C, class G>
void launch_fused_c(const detail::Planes& in, const detail::Planes& out, int groups, int steps,
                    bool eight, bool missing, const G& g, float dt, cudaStream_t s) {
  if (eight) {
    if (missing) {
      launch_fused<C>(in, out, groups, steps, PmOp<C, true, true, G>{g, dt}, s);
    } else {
      launch_fused<C>(in, out, groups, steps, PmOp<C, true, false, G>{g, dt}, s);
    }
  } else {
    if (missing) {
      launch_fused<C>(in, out, groups, steps, PmOp<C, false, true, G>{g, dt}, s);
    } else {
      launch_fused<C>(in, out, groups, steps, PmOp<C, false, false, G>{g, dt}, s);
    }
  }
}

template <class G>
void launch_fused_g(const detail::Planes& in, const detail::Planes& out, int steps,
                    const PmStepArgs& a, const G& g, cudaStream_t s) {
  if (!a.coupled) {
    launch_fused_c<1>(in, out, in.count, steps, a.eight, a.missing, g, a.dt, s);
    return;
  }
  switch (in.count) {
    case 1:
      launch_fused_c<1>(in, out, 1, steps, a.eight, a.missing, g, a.dt, s);
      break;
    case 2:
      launch_fused_c<2>(in, out, 1, steps, a.eight, a.missing, g, a.dt, s);
      break;
    case 3:
      launch_fused_c<3>(in, out, 1, steps, a.eight, a.missing, g, a.dt, s);
      break;
    default:
      launch_fused_c<4>(in, out, 1, steps, a.eight, a.missing, g, a.dt, s);
      break;
  }
}

void check_items(std::size_t n) {
  if (n > static_cast<std::size_t>(INT_MAX)) {
    throw Error(ErrorCode::kUnsupported,
                "perona_malik: statistics over more than 2^31 values are not supported on the GPU");
  }
}

}  // namespace

void launch_pm_step(const detail::Planes& in, const detail::Planes& gsrc, const detail::Planes& out,
                    const PmStepArgs& a, void* stream) {
  auto s = static_cast<cudaStream_t>(stream);
  const int mode = a.regularized ? 1 : a.missing ? 2 : 0;
  switch (a.diffusivity) {
    case 0:
      launch_step_g(in, gsrc, out, a.coupled, a.eight, mode, detail::ExponentialG{a.inv_k2}, a.dt,
                    s);
      break;
    case 2:
      launch_step_g(in, gsrc, out, a.coupled, a.eight, mode, detail::TukeyG{a.inv_k2}, a.dt, s);
      break;
    default:
      launch_step_g(in, gsrc, out, a.coupled, a.eight, mode, detail::RationalG{a.inv_k2}, a.dt, s);
      break;
  }
  PDEIMG_LAUNCH_CHECK("pm_step_kernel");
}

int pm_max_fused_steps(const PmStepArgs& args, int channels) {
  if (args.regularized) return 1;  // g comes from a Gaussian of each step's result
  return fused_max_steps(args.coupled ? channels : 1);
}

void launch_pm_steps(const detail::Planes& in, const detail::Planes& out, int steps,
                     const PmStepArgs& a, void* stream) {
  auto s = static_cast<cudaStream_t>(stream);
  switch (a.diffusivity) {
    case 0:
      launch_fused_g(in, out, steps, a, detail::ExponentialG{a.inv_k2}, s);
      break;
    case 2:
      launch_fused_g(in, out, steps, a, detail::TukeyG{a.inv_k2}, s);
      break;
    default:
      launch_fused_g(in, out, steps, a, detail::RationalG{a.inv_k2}, s);
      break;
  }
  PDEIMG_LAUNCH_CHECK("fused_steps_kernel (perona_malik)");
}

void launch_gaussian(const detail::Planes& in, const detail::Planes& tmp, const detail::Planes& out,
                     double sigma, void* stream) {
  auto s = static_cast<cudaStream_t>(stream);
  GaussTaps t{};
  t.r = detail::gauss_taps(sigma, t.w);
  const dim3 grid = grid_for(in.width, in.height, in.count);
  gauss_rows_kernel<<<grid, dim3(kBlockX, kBlockY), 0, s>>>(in, tmp, t);
  PDEIMG_LAUNCH_CHECK("gauss_rows_kernel");
  gauss_cols_kernel<<<grid, dim3(kBlockX, kBlockY), 0, s>>>(tmp, out, t);
  PDEIMG_LAUNCH_CHECK("gauss_cols_kernel");
}

void launch_gradient_sq(const detail::Planes& v, bool coupled, float* d_out, void* stream) {
  const int groups = coupled ? 1 : v.count;
  const int per_group = coupled ? v.count : 1;
  gradient_sq_kernel<<<grid_for(v.width, v.height, groups), dim3(kBlockX, kBlockY), 0,
                       static_cast<cudaStream_t>(stream)>>>(v, per_group, d_out);
  PDEIMG_LAUNCH_CHECK("gradient_sq_kernel");
}

void launch_noise_values(const detail::Planes& p, int channel, PixelType type, float* d_grad,
                         float* d_hp, int* d_valid, void* stream) {
  noise_values_kernel<<<grid_for(p.width - 2, p.height - 2), dim3(kBlockX, kBlockY), 0,
                        static_cast<cudaStream_t>(stream)>>>(p, channel, detail::noise_clip(type),
                                                             d_grad, d_hp, d_valid);
  PDEIMG_LAUNCH_CHECK("noise_values_kernel");
}

namespace {
/// The histogram bin of element i for radix_histogram.
struct RadixBin {
  RadixBinArgs a;
  __host__ __device__ int operator()(std::size_t i) const { return detail::radix_bin(a, i); }
};

/// keys[i] == value, for the indices of the keys equal to the cut.
struct EqualKey {
  const unsigned* keys;
  unsigned value;
  __host__ __device__ bool operator()(int i) const { return keys[i] == value; }
};
}  // namespace

std::size_t radix_histogram(const RadixBinArgs& args, std::size_t n, int* d_hist, void* d_temp,
                            std::size_t temp_bytes, void* stream) {
  check_items(n);
  std::size_t bytes = temp_bytes;
  const auto bins =
      thrust::make_transform_iterator(thrust::counting_iterator<std::size_t>(0), RadixBin{args});
  PDEIMG_CUDA_CHECK(cub::DeviceHistogram::HistogramEven(
      d_temp, bytes, bins, d_hist, detail::kRadixBins + 1, 0, detail::kRadixBins,
      static_cast<int>(n), static_cast<cudaStream_t>(stream)));
  return bytes;
}

std::size_t select_equal_indices(const unsigned* d_keys, unsigned value, std::size_t n, int* d_out,
                                 int* d_count, void* d_temp, std::size_t temp_bytes, void* stream) {
  check_items(n);
  std::size_t bytes = temp_bytes;
  PDEIMG_CUDA_CHECK(cub::DeviceSelect::If(d_temp, bytes, thrust::counting_iterator<int>(0), d_out,
                                          d_count, static_cast<int>(n), EqualKey{d_keys, value},
                                          static_cast<cudaStream_t>(stream)));
  return bytes;
}

std::size_t sum_ints(const int* d_in, int* d_out, std::size_t n, void* d_temp,
                     std::size_t temp_bytes, void* stream) {
  check_items(n);
  std::size_t bytes = temp_bytes;
  PDEIMG_CUDA_CHECK(cub::DeviceReduce::Sum(d_temp, bytes, d_in, d_out, static_cast<int>(n),
                                           static_cast<cudaStream_t>(stream)));
  return bytes;
}

}  // namespace cuda
}  // namespace pdeimg
