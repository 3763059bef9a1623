// The temporal-blocking kernel of the CUDA backend (kernels/fused_steps.cuh) run on the CPU: the
// kernel's own source, compiled for the host with the CUDA keywords defined away, executed one
// block at a time by a single "thread" (its loops stride by blockDim, so one thread does the
// whole tile, and __syncthreads separates phases that then simply run in order). This checks the
// tiling without a GPU: the halo of one pixel per step, the tile shrinking by one per step, the
// reflection at the image border, partial tiles, several groups of planes, and that the last
// step's tile is written where it belongs. Each result must equal the same number of single steps
// computed by a plain loop with the same per-pixel update, bit for bit. What remains for a device
// (HeatCuda/PeronaMalikCuda.FusedStepsAreIdentical...) is the parallel execution itself.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "tests/kernel_on_cpu.hpp"
// Every block starts from a tile of NaN (the "shared" tile is a static here and would otherwise
// keep the previous block's values): a read of an element no step wrote shows in the result.
#define PDEIMG_FUSED_POISON_SHARED(buf) \
  std::fill_n(&buf[0][0][0][0], sizeof(buf) / sizeof(float), std::nanf(""))

#include "kernels/fused_steps.cuh"
#include "kernels/heat_ops.cuh"
#include "kernels/morphology_ops.cuh"

namespace pdeimg {
namespace {

using detail::Neighbours;
using detail::Planes;
using detail::Reflect;

using cuda::HeatCycleOp;
using cuda::HeatOp;

/// A Perona–Malik update of C coupled channels (as PmOp in kernels/perona_malik.cu).
template <int C, bool kEight>
struct PmTestOp {
  static constexpr bool kDiagonals = kEight;
  detail::RationalG g;
  float dt;
  void operator()(Neighbours<C>& u, float* r) const { detail::pm_update<C, kEight>(u, g, dt, r); }
};

using test::PlaneBuffer;

void fill(const Planes& p, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(0.0f, 1.0f);
  for (int c = 0; c < p.count; ++c)
    for (int y = 0; y < p.height; ++y)
      for (int x = 0; x < p.width; ++x) p.row(c, y)[x] = d(rng);
}

/// One step of `op` on every pixel, groups of C planes: the one-step kernel's loop (step k of a
/// per-step op).
template <int C, class Op>
void reference_step(const Planes& in, const Planes& out, const Op& op, int k = 0) {
  const int w = in.width, h = in.height;
  for (int c0 = 0; c0 < in.count; c0 += C)
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) {
        const int xl = Reflect::prev(x), xr = Reflect::next(x, w);
        const int yu = Reflect::prev(y), yd = Reflect::next(y, h);
        Neighbours<C> u;
        for (int c = 0; c < C; ++c) {
          u.m[c] = in.row(c0 + c, y)[x];
          u.n[c] = in.row(c0 + c, yu)[x];
          u.s[c] = in.row(c0 + c, yd)[x];
          u.w[c] = in.row(c0 + c, y)[xl];
          u.e[c] = in.row(c0 + c, y)[xr];
          u.nw[c] = in.row(c0 + c, yu)[xl];
          u.ne[c] = in.row(c0 + c, yu)[xr];
          u.sw[c] = in.row(c0 + c, yd)[xl];
          u.se[c] = in.row(c0 + c, yd)[xr];
        }
        float r[C];
        if constexpr (cuda::IsPerStepOp<Op>::value) {
          op(u, r, k);
        } else {
          op(u, r);
        }
        for (int c = 0; c < C; ++c) out.row(c0 + c, y)[x] = r[c];
      }
}

/// The fused kernel's grid, run block by block on the CPU.
template <int C, class Op>
void emulate_fused(const Planes& in, const Planes& out, int steps, const Op& op) {
  constexpr int kS = cuda::fused_max_steps(C);
  const unsigned gx = (in.width + cuda::kFusedTileX - 1) / cuda::kFusedTileX;
  const unsigned gy = (in.height + cuda::kFusedTileY - 1) / cuda::kFusedTileY;
  blockDim = FakeDim3{1, 1, 1};
  threadIdx = FakeDim3{0, 0, 0};
  for (unsigned z = 0; z < static_cast<unsigned>(in.count / C); ++z)
    for (unsigned by = 0; by < gy; ++by)
      for (unsigned bx = 0; bx < gx; ++bx) {
        blockIdx = FakeDim3{bx, by, z};
        cuda::fused_steps_kernel<C, kS, Op>(in, out, steps, op);
      }
}

bool same(const Planes& a, const Planes& b) {
  for (int c = 0; c < a.count; ++c)
    for (int y = 0; y < a.height; ++y)
      if (std::memcmp(a.row(c, y), b.row(c, y), sizeof(float) * a.width) != 0) return false;
  return true;
}

/// Makes every 7th sample NaN (missing data), the rest unchanged.
void punch_holes(const Planes& p) {
  for (int c = 0; c < p.count; ++c)
    for (int y = 0; y < p.height; ++y)
      for (int x = 0; x < p.width; ++x)
        if ((x + 3 * y + 5 * c) % 7 == 0) p.row(c, y)[x] = std::nanf("");
}

/// `steps` fused steps against as many reference steps, on every size given.
template <int C, class Op>
void check(const Op& op, int planes, bool holes = false) {
  struct Size {
    int w, h;
  };
  for (const Size sz : {Size{1, 1}, Size{2, 3}, Size{31, 15}, Size{32, 16}, Size{33, 17},
                        Size{70, 41}, Size{5, 100}, Size{100, 2}}) {
    for (int steps = 1; steps <= cuda::fused_max_steps(C); ++steps) {
      PlaneBuffer in(sz.w, sz.h, planes), fused(sz.w, sz.h, planes);
      PlaneBuffer a(sz.w, sz.h, planes), b(sz.w, sz.h, planes);
      fill(in.p, 7u * sz.w + sz.h);
      if (holes) punch_holes(in.p);
      emulate_fused<C>(in.p, fused.p, steps, op);
      std::memcpy(a.data.data(), in.data.data(), sizeof(float) * in.data.size());
      for (int k = 0; k < steps; ++k) {
        reference_step<C>(a.p, b.p, op, k);
        std::swap(a.data, b.data);
        std::swap(a.p.data, b.p.data);
      }
      EXPECT_TRUE(same(fused.p, a.p)) << sz.w << "x" << sz.h << ", " << steps << " steps";
    }
  }
}

TEST(FusedSteps, HeatEqualsOneStepAtATimeOnEverySizeAndDepth) {
  check<1>(HeatOp<false>{0.125f}, 1);
  check<1>(HeatOp<false>{0.25f}, 3);  // three planes: blockIdx.z groups
}

// Missing data: NaN samples stay, their neighbours see the centre (the ghost rule), through the
// fused tiles as through single steps (memcmp: the NaNs' bits too).
TEST(FusedSteps, HeatWithMissingDataEqualsOneStepAtATime) {
  check<1>(HeatOp<true>{0.2f}, 2, true);
}

// A fast explicit diffusion cycle in one launch: step k of the launch takes dt[k] (sizes far
// apart, one of them above the stability bound as FED's are), equal to single steps of those sizes.
TEST(FusedSteps, HeatCycleStepsTakeTheirOwnSizes) {
  HeatCycleOp<false> op{};
  const float sizes[cuda::kMaxCycleSteps] = {0.02f, 0.9f, 0.05f, 0.4f, 0.11f, 0.25f, 0.7f, 0.01f};
  std::copy(sizes, sizes + cuda::kMaxCycleSteps, op.dt);
  check<1>(op, 1);
  HeatCycleOp<true> missing{};
  std::copy(sizes, sizes + cuda::kMaxCycleSteps, missing.dt);
  check<1>(missing, 3, true);
}

TEST(FusedSteps, CoupledPeronaMalikEqualsOneStepAtATime) {
  check<3>(PmTestOp<3, false>{detail::RationalG{4.0f}, 0.2f}, 3);
  check<2>(PmTestOp<2, true>{detail::RationalG{4.0f}, 0.25f}, 4);  // 8 neighbours, 2 groups
}

// Upwind morphology steps (the disc, the diamond and the square with its diagonals; dilation and
// erosion; the unit and the fractional steps) fused, equal to single steps.
TEST(FusedSteps, MorphologyUpwindEqualsOneStepAtATime) {
  using cuda::MorphUpwindOp;
  check<1>(MorphUpwindOp<cuda::kMorphDisc, false, false>{0.5f}, 1);
  check<1>(MorphUpwindOp<cuda::kMorphDisc, true, false>{0.7f}, 2);
  check<1>(MorphUpwindOp<cuda::kMorphDiamond, false, true>{1.0f}, 1);
  check<1>(MorphUpwindOp<cuda::kMorphDiamond, true, false>{0.3f}, 1);
  check<1>(MorphUpwindOp<cuda::kMorphSquare, false, true>{1.0f}, 1);
  check<1>(MorphUpwindOp<cuda::kMorphSquare, true, false>{0.4f}, 3);
}

// A fused launch changes nothing outside the image: the padding between rows keeps its values.
TEST(FusedSteps, WritesOnlyTheImage) {
  PlaneBuffer in(45, 19, 1), out(45, 19, 1);
  fill(in.p, 3);
  emulate_fused<1>(in.p, out.p, 8, HeatOp<false>{0.125f});
  for (int y = 0; y < 19; ++y)
    for (int x = 45; x < 48; ++x) EXPECT_EQ(out.p.row(0, y)[x], -777.0f) << x << "," << y;
}

}  // namespace
}  // namespace pdeimg
