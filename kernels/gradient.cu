// CUDA kernel of gradient(): one thread per pixel reads its 3x3 neighbourhood of every channel
// (reflected at the borders) and writes the requested derivatives, magnitude and direction.
// Numerics: kernels/gradient.cuh, shared with the CPU backend.
#include <cstdint>

#include "kernels/gradient.cuh"
#include "src/cuda/check.hpp"
#include "src/cuda/launch.hpp"

namespace pdeimg {
namespace cuda {
namespace {

// 32x8 threads: a warp reads one row segment; the rows above and below come from L1/L2.
constexpr int kBlockX = 32;
constexpr int kBlockY = 8;

template <typename T, GradientOperator Op>
__global__ void gradient_kernel(ImageView src, GradientImages out, int np, float scale,
                                bool missing) {
  const int x = blockIdx.x * blockDim.x + threadIdx.x;
  const int y = blockIdx.y * blockDim.y + threadIdx.y;
  if (x >= src.width || y >= src.height) return;
  const int nc = src.channels;
  const int xs[3] = {detail::Reflect::prev(x), x, detail::Reflect::next(x, src.width)};
  const T* rows[3] = {detail::view_row<const T>(src, detail::Reflect::prev(y)),
                      detail::view_row<const T>(src, y),
                      detail::view_row<const T>(src, detail::Reflect::next(y, src.height))};
  detail::Tensor t;
  float gx0 = 0.0f, gy0 = 0.0f;
  for (int c = 0; c < nc; ++c) {
    float u[3][3];
    for (int r = 0; r < 3; ++r)
      for (int k = 0; k < 3; ++k)
        u[r][k] =
            detail::SampleTraits<T>::to_float(rows[r][static_cast<std::ptrdiff_t>(xs[k]) * nc + c]);
    if (missing) detail::ghost3x3(u);
    float gx, gy;
    detail::derivatives<Op>(u, &gx, &gy);
    if (out.dx.data)
      detail::view_row<float>(out.dx, y)[static_cast<std::ptrdiff_t>(x) * nc + c] = gx;
    if (out.dy.data)
      detail::view_row<float>(out.dy, y)[static_cast<std::ptrdiff_t>(x) * nc + c] = gy;
    if (c == 0) {
      gx0 = gx;
      gy0 = gy;
    }
    if (c < np) detail::accumulate(&t, gx, gy);
  }
  if (!out.magnitude.data && !out.direction.data) return;
  float m, dir;
  if (np == 1) {
    m = detail::gray_edge(gx0, gy0).m;
    dir = detail::gray_direction(gx0, gy0);
  } else {
    m = detail::colour_edge(t, np).m;
    dir = detail::colour_direction(t);
  }
  if (scale != 1.0f) m = detail::rn_mul(m, scale);
  if (out.magnitude.data) detail::view_row<float>(out.magnitude, y)[x] = m;
  if (out.direction.data) detail::view_row<float>(out.direction, y)[x] = dir;
}

template <typename T, GradientOperator Op>
void launch_typed(const ImageView& src, const GradientImages& out, int np, float scale,
                  bool missing, cudaStream_t stream) {
  const dim3 block(kBlockX, kBlockY);
  const dim3 grid((src.width + kBlockX - 1) / kBlockX, (src.height + kBlockY - 1) / kBlockY);
  gradient_kernel<T, Op><<<grid, block, 0, stream>>>(src, out, np, scale, missing);
}

template <typename T>
void launch_op(GradientOperator op, const ImageView& src, const GradientImages& out, int np,
               float scale, bool missing, cudaStream_t stream) {
  switch (op) {
    case GradientOperator::kCentral:
      launch_typed<T, GradientOperator::kCentral>(src, out, np, scale, missing, stream);
      break;
    case GradientOperator::kScharr:
      launch_typed<T, GradientOperator::kScharr>(src, out, np, scale, missing, stream);
      break;
    default:
      launch_typed<T, GradientOperator::kSobel>(src, out, np, scale, missing, stream);
      break;
  }
}

}  // namespace

void launch_gradient(const ImageView& src, const GradientImages& out, GradientOperator op,
                     int channels, float scale, bool missing, void* stream) {
  auto s = static_cast<cudaStream_t>(stream);
  switch (src.type) {
    case PixelType::kU8:
      launch_op<std::uint8_t>(op, src, out, channels, scale, false, s);
      break;
    case PixelType::kU16:
      launch_op<std::uint16_t>(op, src, out, channels, scale, false, s);
      break;
    default:
      launch_op<float>(op, src, out, channels, scale, missing, s);
      break;
  }
  PDEIMG_LAUNCH_CHECK("gradient_kernel");
}

}  // namespace cuda
}  // namespace pdeimg
