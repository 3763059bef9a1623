// The stage kernels of reaction_diffusion's CUDA backend (numerics in
// kernels/reaction_diffusion.cuh, shared with the CPU), in a header so that
// tests/rd_stage_kernel_test.cpp can run their own source on the CPU:
// - rd_forward_kernel + rd_backward_kernel: one thread per pixel; the forward kernel writes the N
//   planes y_i = φ_i(k_i ⋆ u) to global memory, the backward one reads them for
//   r = Σ_i k̄_i ⋆ y_i and the update. N planes written and read per stage: memory-bound.
// - rd_stage_kernel: the whole stage in one launch. A block loads its tile of u with a halo of
//   2c (c = m / 2) into shared memory, computes y_i of every filter on the tile with a halo of c
//   into shared memory, and then r and the update of its output pixels: only u, f and the result
//   touch global memory. The same functions in the same order as the two kernels, so the same
//   bits (tested on the CPU; on a device, against the two-kernel path).
// Reflecting boundaries through detail::Reflect::map (period 2W for images narrower than m).
#pragma once

#include "kernels/reaction_diffusion.cuh"
#include "src/cuda/launch.hpp"  // RdDeviceNet

// The fused kernel's dynamic shared memory; tests/rd_stage_kernel_test.cpp defines its own.
#ifndef PDEIMG_RD_STAGE_SHARED
#define PDEIMG_RD_STAGE_SHARED extern __shared__ float rd_stage_smem[];
#endif

namespace pdeimg {
namespace cuda {

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
        z = detail::rd_fma(detail::rn_sub(__ldg(ur + xs[b]), uc), __ldg(k + a * m + b), z);
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

/// Output tile of rd_stage_kernel; the block is kRdStageTileX x kRdStageTileY threads.
constexpr int kRdStageTileX = 32;
constexpr int kRdStageTileY = 8;

/// Floats of shared memory rd_stage_kernel needs for `filters` filters of size m: the u tile
/// (halo 2c) and the N y tiles (halo c).
inline std::size_t rd_stage_shared_floats(int filters, int m) {
  const int c = m / 2;
  return static_cast<std::size_t>(kRdStageTileY + 4 * c) * (kRdStageTileX + 4 * c) +
         static_cast<std::size_t>(filters) * (kRdStageTileY + 2 * c) * (kRdStageTileX + 2 * c);
}

/// One whole stage t of `net` on plane u_plane of u (f the input planes): out plane out_plane =
/// u − Σ_i k̄_i ⋆ φ_i(k_i ⋆ u) − λ (u − f), equal bit for bit to rd_forward_kernel followed by
/// rd_backward_kernel.
__global__ void __launch_bounds__(kRdStageTileX* kRdStageTileY)
    rd_stage_kernel(detail::Planes u, int u_plane, detail::Planes f, int f_plane,
                    detail::Planes out, int out_plane, RdDeviceNet net, int t, float lambda) {
  PDEIMG_RD_STAGE_SHARED
  const int w = u.width, h = u.height;
  const int m = net.size, c = m / 2, mm = m * m, n = net.filters;
  const int x0 = static_cast<int>(blockIdx.x) * kRdStageTileX;
  const int y0 = static_cast<int>(blockIdx.y) * kRdStageTileY;
  const int tid = static_cast<int>(threadIdx.y * blockDim.x + threadIdx.x);
  const int nthreads = static_cast<int>(blockDim.x * blockDim.y);

  // The u tile: image pixels [ux0, ux1) x [uy0, uy1), stride uw. Every u the y tiles read lies in
  // it: y is needed at the pixels q = map(p) of the positions p within c of an output pixel, so q
  // lies in [x0 - c, min(x0 + tile, W) + c) or, reflected at a border, within c of it; q's
  // window lies within c of q again, reflected into the image.
  const int uw = kRdStageTileX + 4 * c;
  const int ux0 = x0 - 2 * c > 0 ? x0 - 2 * c : 0;
  const int uy0 = y0 - 2 * c > 0 ? y0 - 2 * c : 0;
  const int ux1 = x0 + kRdStageTileX + 2 * c < w ? x0 + kRdStageTileX + 2 * c : w;
  const int uy1 = y0 + kRdStageTileY + 2 * c < h ? y0 + kRdStageTileY + 2 * c : h;
  float* us = rd_stage_smem;
  for (int k = tid; k < (uy1 - uy0) * (ux1 - ux0); k += nthreads) {
    const int yy = uy0 + k / (ux1 - ux0), xx = ux0 + k % (ux1 - ux0);
    us[(yy - uy0) * uw + (xx - ux0)] = __ldg(u.row(u_plane, yy) + xx);
  }
  // The y tiles: positions (y0 - c + j, x0 - c + i), j < th, i < tw; y there is y at the
  // reflected pixel. Only positions within c of an output pixel inside the image are computed.
  const int tw = kRdStageTileX + 2 * c, th = kRdStageTileY + 2 * c;
  float* ys = us + static_cast<std::size_t>(kRdStageTileY + 4 * c) * uw;
  const int xe = (x0 + kRdStageTileX < w ? x0 + kRdStageTileX : w) + c;  // positions < xe
  const int ye = (y0 + kRdStageTileY < h ? y0 + kRdStageTileY : h) + c;
  __syncthreads();

  const detail::RdKnots knots{net.lo, net.inv_h, net.s_max, net.knots - 2};
  for (int k = tid; k < th * tw; k += nthreads) {
    const int j = k / tw, i = k % tw;
    const int py = y0 - c + j, px = x0 - c + i;
    if (py >= ye || px >= xe) continue;
    const int qy = detail::Reflect::map(py, h), qx = detail::Reflect::map(px, w);
    int xs[15], rows[15];
    for (int a = 0; a < m; ++a) {
      xs[a] = detail::Reflect::map(qx + a - c, w) - ux0;
      rows[a] = (detail::Reflect::map(qy + a - c, h) - uy0) * uw;
    }
    const float uc = us[(qy - uy0) * uw + (qx - ux0)];
    for (int f_i = 0; f_i < n; ++f_i) {
      const std::size_t fi = static_cast<std::size_t>(t) * n + f_i;
      const float* kk = net.taps + fi * mm;
      float z = 0.0f;
      for (int a = 0; a < m; ++a) {
        const float* ur = us + rows[a];
        for (int b = 0; b < m; ++b) {
          z = detail::rd_fma(detail::rn_sub(ur[xs[b]], uc), __ldg(kk + a * m + b), z);
        }
      }
      z = detail::rd_fma(__ldg(net.sums + fi), uc, z);
      ys[(static_cast<std::size_t>(f_i) * th + j) * tw + i] =
          detail::rd_phi(z, knots, net.values + fi * net.knots, net.slopes + fi * (net.knots - 1));
    }
  }
  __syncthreads();

  // r and the update of each output pixel: position (y + a - c, x + b - c) is tile (j + a, i + b).
  for (int k = tid; k < kRdStageTileY * kRdStageTileX; k += nthreads) {
    const int j = k / kRdStageTileX, i = k % kRdStageTileX;
    const int y = y0 + j, x = x0 + i;
    if (y >= h || x >= w) continue;
    float r = 0.0f;
    for (int f_i = 0; f_i < n; ++f_i) {
      const float* kk = net.taps_flipped + (static_cast<std::size_t>(t) * n + f_i) * mm;
      const float* yt = ys + (static_cast<std::size_t>(f_i) * th + j) * tw + i;
      for (int a = 0; a < m; ++a) {
        for (int b = 0; b < m; ++b) r = detail::rd_fma(yt[a * tw + b], __ldg(kk + a * m + b), r);
      }
    }
    out.row(out_plane, y)[x] =
        detail::rd_update(us[(y - uy0) * uw + (x - ux0)], r, f.row(f_plane, y)[x], lambda);
  }
}

}  // namespace cuda
}  // namespace pdeimg
