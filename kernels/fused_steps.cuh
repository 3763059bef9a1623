// Temporal blocking on the GPU: several explicit steps of a 3x3 stencil per launch. A block loads
// its output tile plus a halo of one pixel per step into shared memory, computes step k on the
// tile shrunk by k pixels on each side (where the tile meets the image border it does not shrink:
// neighbours there are reflected into the image, as in the one-step kernels), and writes only
// the output tile of the last step. Every pixel of every step is computed by the same per-pixel
// function from the same neighbour values as one step per launch, so results are bit-identical
// whatever the number of fused steps (and with -fmad=false, to the CPU as well). Included by
// .cu files; tests/fused_steps_test.cpp also runs the kernel on the CPU, one block at a time with
// one thread, to check the tiling without a GPU.
#pragma once

#include <type_traits>

#include "kernels/common.cuh"
#include "kernels/perona_malik.cuh"

// Test hook: tests/fused_steps_test.cpp defines this to fill the shared tile with NaN before
// each block, so that a read of an element no step wrote cannot pass unnoticed.
#ifndef PDEIMG_FUSED_POISON_SHARED
#define PDEIMG_FUSED_POISON_SHARED(buf)
#endif

namespace pdeimg {
namespace cuda {

/// Output tile of a fused launch; the block is kFusedTileX x kFusedBlockY threads.
constexpr int kFusedTileX = 32;
constexpr int kFusedTileY = 16;
constexpr int kFusedBlockY = 8;

/// The most steps one launch fuses for C channels per thread: the halo and the C planes of both
/// levels of the shared tile must fit in 48 KiB (C = 4, 4 steps: 30 KiB).
constexpr int fused_max_steps(int channels) {
  return channels <= 2 ? 8 : 4;
}

/// Whether Op takes the step's index in the launch (`static constexpr bool kPerStep = true` and
/// `operator()(u, r, k)`): steps of different sizes, as in fast explicit diffusion cycles.
template <class Op, class = void>
struct IsPerStepOp : std::false_type {};
template <class Op>
struct IsPerStepOp<Op, std::void_t<decltype(Op::kPerStep)>>
    : std::integral_constant<bool, Op::kPerStep> {};

/// `steps` (1..S) explicit steps of `op` on planes [c0, c0 + C) with c0 = blockIdx.z * C, from
/// `in` into `out` (different planes). Op: `static constexpr bool kDiagonals` (whether it reads
/// nw/ne/sw/se) and `void operator()(detail::Neighbours<C>& u, float* r) const`, the per-pixel
/// update of the one-step kernel (or, with kPerStep, `operator()(u, r, k)` for step k = 0..).
template <int C, int S, class Op>
__global__ void __launch_bounds__(kFusedTileX* kFusedBlockY)
    fused_steps_kernel(detail::Planes in, detail::Planes out, int steps, Op op) {
  constexpr int kW = kFusedTileX + 2 * S;
  constexpr int kH = kFusedTileY + 2 * S;
  __shared__ float buf[2][C][kH][kW];
  PDEIMG_FUSED_POISON_SHARED(buf);
  const int w = in.width, h = in.height;
  const int c0 = blockIdx.z * C;
  // Global coordinates of tile element (0, 0) and the tile's extent for this launch.
  const int x0 = static_cast<int>(blockIdx.x) * kFusedTileX - steps;
  const int y0 = static_cast<int>(blockIdx.y) * kFusedTileY - steps;
  const int tw = kFusedTileX + 2 * steps, th = kFusedTileY + 2 * steps;

  for (int j = threadIdx.y; j < th; j += blockDim.y) {
    const int gy = y0 + j;
    if (gy < 0 || gy >= h) continue;
    for (int i = threadIdx.x; i < tw; i += blockDim.x) {
      const int gx = x0 + i;
      if (gx < 0 || gx >= w) continue;
      for (int c = 0; c < C; ++c) buf[0][c][j][i] = __ldg(in.row(c0 + c, gy) + gx);
    }
  }
  __syncthreads();

  for (int k = 1; k <= steps; ++k) {
    const int from = (k - 1) & 1, to = k & 1;
    for (int j = k + threadIdx.y; j < th - k; j += blockDim.y) {
      const int gy = y0 + j;
      if (gy < 0 || gy >= h) continue;
      const int ju = detail::Reflect::prev(gy) - y0, jd = detail::Reflect::next(gy, h) - y0;
      for (int i = k + threadIdx.x; i < tw - k; i += blockDim.x) {
        const int gx = x0 + i;
        if (gx < 0 || gx >= w) continue;
        const int il = detail::Reflect::prev(gx) - x0, ir = detail::Reflect::next(gx, w) - x0;
        detail::Neighbours<C> u;
        for (int c = 0; c < C; ++c) {
          const float(*p)[kW] = buf[from][c];
          u.m[c] = p[j][i];
          u.n[c] = p[ju][i];
          u.s[c] = p[jd][i];
          u.w[c] = p[j][il];
          u.e[c] = p[j][ir];
          if constexpr (Op::kDiagonals) {
            u.nw[c] = p[ju][il];
            u.ne[c] = p[ju][ir];
            u.sw[c] = p[jd][il];
            u.se[c] = p[jd][ir];
          } else {  // never read by the update; the centre keeps the missing-data rule exact
            u.nw[c] = u.ne[c] = u.sw[c] = u.se[c] = u.m[c];
          }
        }
        float r[C];
        if constexpr (IsPerStepOp<Op>::value) {
          op(u, r, k - 1);
        } else {
          op(u, r);
        }
        for (int c = 0; c < C; ++c) buf[to][c][j][i] = r[c];
      }
    }
    __syncthreads();
  }

  const int last = steps & 1;
  for (int j = threadIdx.y; j < kFusedTileY; j += blockDim.y) {
    const int gy = y0 + steps + j;
    if (gy >= h) break;
    for (int i = threadIdx.x; i < kFusedTileX; i += blockDim.x) {
      const int gx = x0 + steps + i;
      if (gx >= w) break;
      for (int c = 0; c < C; ++c) out.row(c0 + c, gy)[gx] = buf[last][c][j + steps][i + steps];
    }
  }
}

#if defined(__CUDACC__)
/// Launches fused_steps_kernel for `groups` groups of C planes (blockIdx.z).
template <int C, class Op>
void launch_fused(const detail::Planes& in, const detail::Planes& out, int groups, int steps,
                  const Op& op, cudaStream_t s) {
  constexpr int kS = fused_max_steps(C);
  const dim3 grid((in.width + kFusedTileX - 1) / kFusedTileX,
                  (in.height + kFusedTileY - 1) / kFusedTileY, groups);
  fused_steps_kernel<C, kS, Op>
      <<<grid, dim3(kFusedTileX, kFusedBlockY), 0, s>>>(in, out, steps, op);
}
#endif

}  // namespace cuda
}  // namespace pdeimg
