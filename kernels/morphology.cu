// CUDA kernels of morphology and the shock filter: one explicit upwind step per launch, one
// thread per pixel. Discretisation: kernels/morphology.cuh (Rouy–Tourin upwind, reflecting
// boundaries), the same functions as the CPU rows, spelled with rn_* so the results agree bit for
// bit (square roots are correctly rounded on both).
#include <cstdint>
#include <type_traits>

#include "kernels/fused_steps.cuh"
#include "kernels/morphology.cuh"
#include "kernels/morphology_ops.cuh"
#include "src/cuda/check.hpp"
#include "src/cuda/morphology_launch.hpp"

namespace pdeimg {
namespace cuda {
namespace {

// 32x8 threads, as heat's step: a warp reads one 128-byte row segment.
constexpr int kBlockX = 32;
constexpr int kBlockY = 8;

constexpr int kDisc = kMorphDisc, kDiamond = kMorphDiamond, kSquare = kMorphSquare;

// Row y of a device view (ImageView::row is host code).
template <typename T>
__device__ __forceinline__ T* row_of(const ImageView& v, int y) {
  using Byte = typename std::conditional<std::is_const<T>::value, const char, char>::type;
  return reinterpret_cast<T*>(static_cast<Byte*>(v.data) + static_cast<std::size_t>(y) * v.pitch);
}

template <int kShape, bool kErode, bool kUnit>
__global__ void morph_step_kernel(detail::Planes in, detail::Planes out, float dt) {
  const int x = blockIdx.x * blockDim.x + threadIdx.x;
  const int y = blockIdx.y * blockDim.y + threadIdx.y;
  const int c = blockIdx.z;
  if (x >= in.width || y >= in.height) return;
  const int xl = detail::Reflect::prev(x);
  const int xr = detail::Reflect::next(x, in.width);
  const float* row = in.row(c, y);
  const float* up = in.row(c, detail::Reflect::prev(y));
  const float* dn = in.row(c, detail::Reflect::next(y, in.height));
  detail::Neighbours<1> u;
  u.m[0] = __ldg(row + x);
  u.w[0] = __ldg(row + xl);
  u.e[0] = __ldg(row + xr);
  u.n[0] = __ldg(up + x);
  u.s[0] = __ldg(dn + x);
  if (kShape == kSquare) {
    u.nw[0] = __ldg(up + xl);
    u.ne[0] = __ldg(up + xr);
    u.sw[0] = __ldg(dn + xl);
    u.se[0] = __ldg(dn + xr);
  }
  float r[1];
  MorphUpwindOp<kShape, kErode, kUnit>{dt}(u, r);
  out.row(c, y)[x] = r[0];
}

// The exact flat max (min) over the element's rows (kernels/morphology.cuh: flat_half_width),
// outside pixels ignored: one thread per pixel, O(r²) reads from L1/L2 (a direct sum; the CPU
// uses the O(r) row widening, the same set and so the same values).
template <bool kErode>
__global__ void flat_kernel(detail::Planes in, detail::Planes out, StructuringElement shape,
                            double radius, int reach) {
  const int x = blockIdx.x * blockDim.x + threadIdx.x;
  const int y = blockIdx.y * blockDim.y + threadIdx.y;
  const int c = blockIdx.z;
  if (x >= in.width || y >= in.height) return;
  float v = __ldg(in.row(c, y) + x);
  const int j0 = y - reach < 0 ? -y : -reach;
  const int j1 = y + reach >= in.height ? in.height - 1 - y : reach;
  for (int j = j0; j <= j1; ++j) {
    const int hw = detail::flat_half_width(shape, radius, j < 0 ? -j : j);
    const int x0 = x - hw < 0 ? 0 : x - hw;
    const int x1 = x + hw >= in.width ? in.width - 1 : x + hw;
    const float* row = in.row(c, y + j);
    for (int xx = x0; xx <= x1; ++xx) v = detail::extreme<kErode>(v, __ldg(row + xx));
  }
  out.row(c, y)[x] = v;
}

template <typename Ta, typename Td>
__global__ void difference_kernel(ImageView a, ImageView b, ImageView dst, int channels, int sign) {
  const int x = blockIdx.x * blockDim.x + threadIdx.x;
  const int y = blockIdx.y * blockDim.y + threadIdx.y;
  if (x >= a.width || y >= a.height) return;
  const Ta* ar = row_of<const Ta>(a, y);
  const float* br = row_of<const float>(b, y);
  Td* out = row_of<Td>(dst, y);
  const int ch = a.channels;
  for (int c = 0; c < ch; ++c) {
    const int i = x * ch + c;
    const float av = detail::SampleTraits<Ta>::to_float(ar[i]);
    const float bv = br[i];
    const float v = c >= channels ? av : sign > 0 ? detail::rn_sub(av, bv) : detail::rn_sub(bv, av);
    out[i] = detail::SampleTraits<Td>::from_float(v);
  }
}

__global__ void shock_step_kernel(ImageView u, ImageView g, ImageView out, int channels, float dt) {
  const int x = blockIdx.x * blockDim.x + threadIdx.x;
  const int y = blockIdx.y * blockDim.y + threadIdx.y;
  if (x >= u.width || y >= u.height) return;
  const int ch = u.channels;
  const int xl = detail::Reflect::prev(x) * ch;
  const int xr = detail::Reflect::next(x, u.width) * ch;
  const int xc = x * ch;
  const int yu = detail::Reflect::prev(y);
  const int yd = detail::Reflect::next(y, u.height);
  const float* um = row_of<const float>(u, y);
  const float* uu = row_of<const float>(u, yu);
  const float* ud = row_of<const float>(u, yd);
  const float* gm = row_of<const float>(g, y);
  const float* gu = row_of<const float>(g, yu);
  const float* gd = row_of<const float>(g, yd);
  float* o = row_of<float>(out, y);
  for (int c = 0; c < ch; ++c) {
    if (c >= channels) {
      o[xc + c] = um[xc + c];
      continue;
    }
    const float lap =
        detail::laplacian5(gm[xc + c], gu[xc + c], gd[xc + c], gm[xl + c], gm[xr + c]);
    o[xc + c] =
        detail::shock_update(um[xc + c], uu[xc + c], ud[xc + c], um[xl + c], um[xr + c], lap, dt);
  }
}

dim3 grid_for(int w, int h, int z = 1) {
  return dim3((w + kBlockX - 1) / kBlockX, (h + kBlockY - 1) / kBlockY, z);
}

/// `steps` upwind steps: one launch of the one-step kernel (steps == 1) or of the fused kernel.
template <int kShape, bool kErode, bool kUnit>
void launch_step(const detail::Planes& in, const detail::Planes& out, int steps, float dt,
                 cudaStream_t s) {
  if (steps == 1) {
    morph_step_kernel<kShape, kErode, kUnit>
        <<<grid_for(in.width, in.height, in.count), dim3(kBlockX, kBlockY), 0, s>>>(in, out, dt);
  } else {
    launch_fused<1>(in, out, in.count, steps, MorphUpwindOp<kShape, kErode, kUnit>{dt}, s);
  }
}

template <int kShape, bool kUnit>
void launch_dir(const detail::Planes& in, const detail::Planes& out, bool erode, int steps,
                float dt, cudaStream_t s) {
  if (erode) {
    launch_step<kShape, true, kUnit>(in, out, steps, dt, s);
  } else {
    launch_step<kShape, false, kUnit>(in, out, steps, dt, s);
  }
}

}  // namespace

int morph_max_fused_steps() {
  return fused_max_steps(1);
}

void launch_morph_steps(const detail::Planes& in, const detail::Planes& out,
                        const detail::MorphPlan& plan, int steps, void* stream) {
  const auto s = static_cast<cudaStream_t>(stream);
  switch (plan.shape) {
    case StructuringElement::kDiamond:
      plan.unit ? launch_dir<kDiamond, true>(in, out, plan.erode, steps, plan.dt, s)
                : launch_dir<kDiamond, false>(in, out, plan.erode, steps, plan.dt, s);
      break;
    case StructuringElement::kSquare:
      plan.unit ? launch_dir<kSquare, true>(in, out, plan.erode, steps, plan.dt, s)
                : launch_dir<kSquare, false>(in, out, plan.erode, steps, plan.dt, s);
      break;
    default:
      launch_dir<kDisc, false>(in, out, plan.erode, steps, plan.dt, s);
      break;
  }
  PDEIMG_LAUNCH_CHECK("morph_step_kernel or fused_steps_kernel (morphology)");
}

void launch_morph_flat(const detail::Planes& in, const detail::Planes& out,
                       const detail::MorphPlan& plan, void* stream) {
  const auto s = static_cast<cudaStream_t>(stream);
  const dim3 grid = grid_for(in.width, in.height, in.count);
  const int reach = detail::flat_reach(plan.radius);
  if (plan.erode) {
    flat_kernel<true>
        <<<grid, dim3(kBlockX, kBlockY), 0, s>>>(in, out, plan.shape, plan.radius, reach);
  } else {
    flat_kernel<false>
        <<<grid, dim3(kBlockX, kBlockY), 0, s>>>(in, out, plan.shape, plan.radius, reach);
  }
  PDEIMG_LAUNCH_CHECK("flat_kernel");
}

void launch_morph_difference(const ImageView& a, const ImageView& b, const ImageView& dst,
                             int channels, int sign, void* stream) {
  const auto s = static_cast<cudaStream_t>(stream);
  detail::dispatch_type(a.type, [&](auto atag) {
    using Ta = decltype(atag);
    detail::dispatch_type(dst.type, [&](auto dtag) {
      using Td = decltype(dtag);
      difference_kernel<Ta, Td><<<grid_for(a.width, a.height), dim3(kBlockX, kBlockY), 0, s>>>(
          a, b, dst, channels, sign);
    });
  });
  PDEIMG_LAUNCH_CHECK("difference_kernel");
}

void launch_shock_step(const ImageView& u, const ImageView& smoothed, const ImageView& out,
                       int channels, float dt, void* stream) {
  const auto s = static_cast<cudaStream_t>(stream);
  shock_step_kernel<<<grid_for(u.width, u.height), dim3(kBlockX, kBlockY), 0, s>>>(u, smoothed, out,
                                                                                   channels, dt);
  PDEIMG_LAUNCH_CHECK("shock_step_kernel");
}

}  // namespace cuda
}  // namespace pdeimg
