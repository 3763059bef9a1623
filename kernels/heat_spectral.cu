// CUDA spectral heat solver (HeatScheme::kSpectral), the same mathematics as the CPU's
// (src/cpu/heat_spectral.cpp):  u(T) = C⁻¹ diag(exp(-T (λx_k + λy_l))) C u(0), C the 2-D DCT-II,
// λ_k = 4 sin²(π k / (2 N)). Each 1-D DCT-II is a complex FFT of length N of the samples in
// Makhoul's order (even samples, then odd ones backwards) and a twiddle (Makhoul 1980); cuFFT's
// batched C2C transforms, plans cached in the Context. The 1/N normalisations are folded into the
// mode factors. Sequence: pack rows -> FFT along x -> twiddle, factor, transpose and pack columns
// -> FFT along y -> twiddle, factor, inverse twiddle -> inverse FFT along y -> unpack, transpose,
// inverse twiddle along x -> inverse FFT along x -> unpack rows.
#include <cufft.h>

#include <cmath>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "kernels/common.cuh"
#include "src/backend.hpp"
#include "src/context_impl.hpp"
#include "src/cuda/check.hpp"
#include "src/cuda/launch.hpp"

namespace pdeimg {
namespace cuda {
namespace {

constexpr int kBlock = 256;

void check_fft(cufftResult status, const char* what) {
  if (status == CUFFT_SUCCESS) return;
  throw Error(
      status == CUFFT_ALLOC_FAILED ? ErrorCode::kOutOfMemory : ErrorCode::kCuda,
      std::string(what) + " failed: cuFFT error " + std::to_string(static_cast<int>(status)));
}

/// Batched C2C plans by (length, batch), destroyed with the context. At most kMaxPlans are kept
/// (each holds its own work area on the device); the oldest goes first.
struct CufftPlans : detail::ContextCache {
  static constexpr std::size_t kMaxPlans = 8;
  std::map<std::pair<int, int>, cufftHandle> plans;
  std::map<std::pair<int, int>, unsigned long long> used;
  unsigned long long clock = 0;
  ~CufftPlans() override {
    for (auto& p : plans) cufftDestroy(p.second);
  }
  cufftHandle get(int n, int batch, cudaStream_t stream) {
    const auto key = std::make_pair(n, batch);
    auto it = plans.find(key);
    if (it == plans.end()) {
      if (plans.size() >= kMaxPlans) {
        auto oldest = used.begin();
        for (auto u = used.begin(); u != used.end(); ++u) {
          if (u->second < oldest->second) oldest = u;
        }
        PDEIMG_CUDA_CHECK(cudaStreamSynchronize(stream));  // the plan may still be queued
        cufftDestroy(plans[oldest->first]);
        plans.erase(oldest->first);
        used.erase(oldest);
      }
      cufftHandle h;
      int len = n;
      check_fft(cufftPlanMany(&h, 1, &len, nullptr, 1, n, nullptr, 1, n, CUFFT_C2C, batch),
                "cufftPlanMany");
      it = plans.emplace(key, h).first;
    }
    used[key] = ++clock;
    check_fft(cufftSetStream(it->second, stream), "cufftSetStream");
    return it->second;
  }
};

/// Position of sample x in Makhoul's order of length n.
__device__ __forceinline__ int makhoul_pos(int x, int n) {
  return (x & 1) == 0 ? x / 2 : n - 1 - (x - 1) / 2;
}

/// f[k] = exp(-T λ_k) / n, 0 below 1e-12 (as on the CPU).
__global__ void mode_factors_kernel(float* f, int n, double time) {
  const int k = blockIdx.x * blockDim.x + threadIdx.x;
  if (k >= n) return;
  const double s = sin(3.14159265358979323846 * k / (2.0 * n));
  const double e = exp(-time * 4.0 * s * s);
  f[k] = e < 1e-12 ? 0.0f : static_cast<float>(e / n);
}

/// z[c h + y][makhoul_pos(x)] = (u_c(x, y), 0).
__global__ void pack_rows_kernel(detail::Planes in, cufftComplex* z) {
  const int x = blockIdx.x * blockDim.x + threadIdx.x;
  const int y = blockIdx.y;
  const int c = blockIdx.z;
  const int w = in.width;
  if (x >= w) return;
  const std::ptrdiff_t r = static_cast<std::ptrdiff_t>(c) * in.height + y;
  z[r * w + makhoul_pos(x, w)] = make_cuFloatComplex(in.row(c, y)[x], 0.0f);
}

/// X_k = Re(Z_k e^{-iπk/2w}) fx[k] along x, written transposed in Makhoul's order along y:
/// t[c w + k][makhoul_pos(y)] = (X, 0).
__global__ void rows_to_columns_kernel(const cufftComplex* z, const float* fx, cufftComplex* t,
                                       int w, int h) {
  const int k = blockIdx.x * blockDim.x + threadIdx.x;
  const int y = blockIdx.y;
  const int c = blockIdx.z;
  if (k >= w) return;
  const cufftComplex v = z[(static_cast<std::ptrdiff_t>(c) * h + y) * w + k];
  double sn, cs;
  sincos(3.14159265358979323846 * k / (2.0 * w), &sn, &cs);
  const float x = (v.x * static_cast<float>(cs) + v.y * static_cast<float>(sn)) * fx[k];
  t[(static_cast<std::ptrdiff_t>(c) * w + k) * h + makhoul_pos(y, h)] =
      make_cuFloatComplex(x, 0.0f);
}

/// Along y: Y_l = Re(T_l e^{-iπl/2h}) fy[l], then the spectrum of its inverse,
/// V_l = e^{iπl/2h} (Y_l - i Y_{h-l}) (Y_h = 0).
__global__ void columns_factor_kernel(const cufftComplex* t, const float* fy, cufftComplex* v,
                                      int h, std::ptrdiff_t columns) {
  const int l = blockIdx.x * blockDim.x + threadIdx.x;
  const std::ptrdiff_t col = blockIdx.y + static_cast<std::ptrdiff_t>(blockIdx.z) * gridDim.y;
  if (l >= h || col >= columns) return;
  const cufftComplex* row = t + col * h;
  auto coef = [&](int m) {
    if (m >= h) return 0.0f;
    double sn, cs;
    sincos(3.14159265358979323846 * m / (2.0 * h), &sn, &cs);
    return (row[m].x * static_cast<float>(cs) + row[m].y * static_cast<float>(sn)) * fy[m];
  };
  const float a = coef(l);
  const float b = l == 0 ? 0.0f : coef(h - l);
  double sn, cs;
  sincos(3.14159265358979323846 * l / (2.0 * h), &sn, &cs);
  // (cs + i sn)(a - i b)
  v[col * h + l] = make_cuFloatComplex(static_cast<float>(cs) * a + static_cast<float>(sn) * b,
                                       static_cast<float>(sn) * a - static_cast<float>(cs) * b);
}

/// Unpacks the inverse along y (x-coefficient k, row y: Re v[c w + k][makhoul_pos(y)]) and forms
/// the spectrum of the inverse along x: V_k = e^{iπk/2w} (X_k - i X_{w-k}), z[c h + y][k].
__global__ void columns_to_rows_kernel(const cufftComplex* v, cufftComplex* z, int w, int h) {
  const int k = blockIdx.x * blockDim.x + threadIdx.x;
  const int y = blockIdx.y;
  const int c = blockIdx.z;
  if (k >= w) return;
  const int py = makhoul_pos(y, h);
  auto coef = [&](int m) {
    return m >= w ? 0.0f : v[(static_cast<std::ptrdiff_t>(c) * w + m) * h + py].x;
  };
  const float a = coef(k);
  const float b = k == 0 ? 0.0f : coef(w - k);
  double sn, cs;
  sincos(3.14159265358979323846 * k / (2.0 * w), &sn, &cs);
  z[(static_cast<std::ptrdiff_t>(c) * h + y) * w + k] =
      make_cuFloatComplex(static_cast<float>(cs) * a + static_cast<float>(sn) * b,
                          static_cast<float>(sn) * a - static_cast<float>(cs) * b);
}

/// u_c(x, y) = Re z[c h + y][makhoul_pos(x)].
__global__ void unpack_rows_kernel(const cufftComplex* z, detail::Planes out) {
  const int x = blockIdx.x * blockDim.x + threadIdx.x;
  const int y = blockIdx.y;
  const int c = blockIdx.z;
  const int w = out.width;
  if (x >= w) return;
  const std::ptrdiff_t r = static_cast<std::ptrdiff_t>(c) * out.height + y;
  out.row(c, y)[x] = z[r * w + makhoul_pos(x, w)].x;
}

dim3 grid_for(int n, int rows, int planes) {
  return dim3((n + kBlock - 1) / kBlock, rows, planes);
}

}  // namespace

void launch_heat_spectral(const detail::Planes& in, const detail::Planes& out, double time,
                          Context& ctx) {
  auto& impl = ctx.impl();
  const auto stream = static_cast<cudaStream_t>(impl.stream);
  const int w = in.width, h = in.height, nc = in.count;
  if (!impl.fft_plans) impl.fft_plans = std::make_unique<CufftPlans>();
  auto* plans = dynamic_cast<CufftPlans*>(impl.fft_plans.get());
  const std::size_t n = static_cast<std::size_t>(w) * h * nc;
  auto* a = static_cast<cufftComplex*>(
      impl.device_scratch(detail::kSpectralDeviceSlot, sizeof(cufftComplex) * n));
  auto* b = static_cast<cufftComplex*>(
      impl.device_scratch(detail::kSpectralDeviceSlot + 1, sizeof(cufftComplex) * n));
  auto* f = static_cast<float*>(
      impl.device_scratch(detail::kSpectralDeviceSlot + 2, sizeof(float) * (w + h)));
  float* fx = f;
  float* fy = f + w;
  mode_factors_kernel<<<(w + kBlock - 1) / kBlock, kBlock, 0, stream>>>(fx, w, time);
  PDEIMG_LAUNCH_CHECK("mode_factors_kernel");
  mode_factors_kernel<<<(h + kBlock - 1) / kBlock, kBlock, 0, stream>>>(fy, h, time);
  PDEIMG_LAUNCH_CHECK("mode_factors_kernel");

  pack_rows_kernel<<<grid_for(w, h, nc), kBlock, 0, stream>>>(in, a);
  PDEIMG_LAUNCH_CHECK("pack_rows_kernel");
  check_fft(cufftExecC2C(plans->get(w, h * nc, stream), a, a, CUFFT_FORWARD), "cufftExecC2C");
  rows_to_columns_kernel<<<grid_for(w, h, nc), kBlock, 0, stream>>>(a, fx, b, w, h);
  PDEIMG_LAUNCH_CHECK("rows_to_columns_kernel");
  check_fft(cufftExecC2C(plans->get(h, w * nc, stream), b, b, CUFFT_FORWARD), "cufftExecC2C");
  // Columns: w nc of them, spread over grid y and z (grid y is limited to 65535).
  const std::ptrdiff_t columns = static_cast<std::ptrdiff_t>(w) * nc;
  const int gy = static_cast<int>(std::min<std::ptrdiff_t>(columns, 65535));
  const int gz = static_cast<int>((columns + gy - 1) / gy);
  columns_factor_kernel<<<dim3((h + kBlock - 1) / kBlock, gy, gz), kBlock, 0, stream>>>(b, fy, a, h,
                                                                                        columns);
  PDEIMG_LAUNCH_CHECK("columns_factor_kernel");
  check_fft(cufftExecC2C(plans->get(h, w * nc, stream), a, a, CUFFT_INVERSE), "cufftExecC2C");
  columns_to_rows_kernel<<<grid_for(w, h, nc), kBlock, 0, stream>>>(a, b, w, h);
  PDEIMG_LAUNCH_CHECK("columns_to_rows_kernel");
  check_fft(cufftExecC2C(plans->get(w, h * nc, stream), b, b, CUFFT_INVERSE), "cufftExecC2C");
  unpack_rows_kernel<<<grid_for(w, h, nc), kBlock, 0, stream>>>(b, out);
  PDEIMG_LAUNCH_CHECK("unpack_rows_kernel");
}

}  // namespace cuda
}  // namespace pdeimg
