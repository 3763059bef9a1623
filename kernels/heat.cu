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

// kMissing: non-finite samples are missing data (detail::ghost), as on the CPU.
template <bool kMissing>
__global__ void heat_step_kernel(detail::Planes in, detail::Planes out, float dt) {
  const int x = blockIdx.x * blockDim.x + threadIdx.x;
  const int y = blockIdx.y * blockDim.y + threadIdx.y;
  const int c = blockIdx.z;
  if (x >= in.width || y >= in.height) return;
  const float* row = in.row(c, y);
  const float* up = in.row(c, detail::Reflect::prev(y));
  const float* dn = in.row(c, detail::Reflect::next(y, in.height));
  const float m = __ldg(row + x);
  float w = __ldg(row + detail::Reflect::prev(x));
  float e = __ldg(row + detail::Reflect::next(x, in.width));
  float n = __ldg(up + x);
  float s = __ldg(dn + x);
  if (kMissing) {
    if (!detail::is_finite(m)) {
      out.row(c, y)[x] = m;
      return;
    }
    n = detail::ghost(n, m);
    s = detail::ghost(s, m);
    w = detail::ghost(w, m);
    e = detail::ghost(e, m);
  }
  out.row(c, y)[x] = detail::heat_update(m, n, s, w, e, dt);
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

}  // namespace cuda
}  // namespace pdeimg
