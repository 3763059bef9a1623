// CUDA kernel of the heat equation: one explicit step per launch, one thread per pixel.
// Discretisation: kernels/heat.cuh (5-point Laplacian, reflecting boundaries).
#include "kernels/heat.cuh"
#include "src/cuda/check.hpp"
#include "src/cuda/launch.hpp"

namespace pdeimg {
namespace cuda {
namespace {

// 32x8 threads: a warp reads one 128-byte row segment; the vertical neighbours of a block come
// from L1/L2, so each step moves close to 8 bytes of DRAM traffic per pixel.
constexpr int kBlockX = 32;
constexpr int kBlockY = 8;

__global__ void heat_step_kernel(detail::Planes in, detail::Planes out, float dt) {
  const int x = blockIdx.x * blockDim.x + threadIdx.x;
  const int y = blockIdx.y * blockDim.y + threadIdx.y;
  const int c = blockIdx.z;
  if (x >= in.width || y >= in.height) return;
  const float* row = in.row(c, y);
  const float* up = in.row(c, detail::Reflect::prev(y));
  const float* dn = in.row(c, detail::Reflect::next(y, in.height));
  const float w = __ldg(row + detail::Reflect::prev(x));
  const float e = __ldg(row + detail::Reflect::next(x, in.width));
  out.row(c, y)[x] = detail::heat_update(__ldg(row + x), __ldg(up + x), __ldg(dn + x), w, e, dt);
}

}  // namespace

void launch_heat_step(const detail::Planes& in, const detail::Planes& out, float dt, void* stream) {
  const dim3 block(kBlockX, kBlockY);
  const dim3 grid((in.width + kBlockX - 1) / kBlockX, (in.height + kBlockY - 1) / kBlockY,
                  in.count);
  heat_step_kernel<<<grid, block, 0, static_cast<cudaStream_t>(stream)>>>(in, out, dt);
  PDEIMG_LAUNCH_CHECK("heat_step_kernel");
}

}  // namespace cuda
}  // namespace pdeimg
