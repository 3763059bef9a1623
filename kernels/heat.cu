// CUDA kernels of the heat equation: one explicit step per launch (one thread per pixel), or
// several per launch by temporal blocking in shared memory (kernels/fused_steps.cuh), both with
// the same per-pixel update. Discretisation: kernels/heat.cuh (5-point Laplacian, reflecting
// boundaries).
#include "kernels/fused_steps.cuh"
#include "kernels/heat.cuh"
#include "kernels/heat_ops.cuh"
#include "src/cuda/check.hpp"
#include "src/cuda/launch.hpp"

namespace pdeimg {
namespace cuda {
namespace {

// 32x8 threads: a warp reads one 128-byte row segment; the vertical neighbours of a block come
// from L1/L2, so each step moves close to 8 bytes of DRAM traffic per pixel.
constexpr int kBlockX = 32;
constexpr int kBlockY = 8;

template <bool kMissing>
__global__ void heat_step_kernel(detail::Planes in, detail::Planes out, float dt) {
  const int x = blockIdx.x * blockDim.x + threadIdx.x;
  const int y = blockIdx.y * blockDim.y + threadIdx.y;
  const int c = blockIdx.z;
  if (x >= in.width || y >= in.height) return;
  const float* row = in.row(c, y);
  const float* up = in.row(c, detail::Reflect::prev(y));
  const float* dn = in.row(c, detail::Reflect::next(y, in.height));
  detail::Neighbours<1> u;
  u.m[0] = __ldg(row + x);
  u.w[0] = __ldg(row + detail::Reflect::prev(x));
  u.e[0] = __ldg(row + detail::Reflect::next(x, in.width));
  u.n[0] = __ldg(up + x);
  u.s[0] = __ldg(dn + x);
  float r[1];
  HeatOp<kMissing>{dt}(u, r);
  out.row(c, y)[x] = r[0];
}

}  // namespace

void launch_heat_step(const detail::Planes& in, const detail::Planes& out, float dt, bool missing,
                      void* stream) {
  const dim3 block(kBlockX, kBlockY);
  const dim3 grid((in.width + kBlockX - 1) / kBlockX, (in.height + kBlockY - 1) / kBlockY,
                  in.count);
  const auto s = static_cast<cudaStream_t>(stream);
  if (missing) {
    heat_step_kernel<true><<<grid, block, 0, s>>>(in, out, dt);
  } else {
    heat_step_kernel<false><<<grid, block, 0, s>>>(in, out, dt);
  }
  PDEIMG_LAUNCH_CHECK("heat_step_kernel");
}

int heat_max_fused_steps() {
  return fused_max_steps(1);
}

void launch_heat_steps(const detail::Planes& in, const detail::Planes& out, int steps, float dt,
                       bool missing, void* stream) {
  const auto s = static_cast<cudaStream_t>(stream);
  if (missing) {
    launch_fused<1>(in, out, in.count, steps, HeatOp<true>{dt}, s);
  } else {
    launch_fused<1>(in, out, in.count, steps, HeatOp<false>{dt}, s);
  }
  PDEIMG_LAUNCH_CHECK("fused_steps_kernel (heat)");
}

void launch_heat_cycle_steps(const detail::Planes& in, const detail::Planes& out, int steps,
                             const float* dt, bool missing, void* stream) {
  const auto s = static_cast<cudaStream_t>(stream);
  if (missing) {
    HeatCycleOp<true> op{};
    for (int k = 0; k < steps; ++k) op.dt[k] = dt[k];
    launch_fused<1>(in, out, in.count, steps, op, s);
  } else {
    HeatCycleOp<false> op{};
    for (int k = 0; k < steps; ++k) op.dt[k] = dt[k];
    launch_fused<1>(in, out, in.count, steps, op, s);
  }
  PDEIMG_LAUNCH_CHECK("fused_steps_kernel (heat cycle)");
}

}  // namespace cuda
}  // namespace pdeimg
