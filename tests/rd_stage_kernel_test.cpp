// The stage kernels of reaction_diffusion's CUDA backend (kernels/reaction_diffusion_kernels.cuh)
// run on the CPU: their own source, compiled for the host with the CUDA keywords defined away.
// The one-launch stage kernel (shared-memory tiles of u and of the y_i) is run block by block
// with one "thread" (its loops stride by the block's thread count), with its shared memory filled
// with NaN before each block; the forward and backward kernels thread by thread. Both paths must
// give the same bits on every size around the tile, narrow images (reflection of period 2W), and
// filter sizes 3, 5 and 7. What remains for a device (ReactionDiffusionCuda.*) is the parallel
// execution itself.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "tests/kernel_on_cpu.hpp"

namespace {
std::vector<float> rd_stage_shared;
float* rd_stage_smem = nullptr;
}  // namespace
#define PDEIMG_RD_STAGE_SHARED

#include "kernels/reaction_diffusion_kernels.cuh"

namespace pdeimg {
namespace {

using detail::Planes;

using test::PlaneBuffer;

/// A random network of `stages` stages of n filters m×m and k knots, in RdDeviceNet's layout.
struct Net {
  std::vector<float> taps, flipped, sums, values, slopes;
  cuda::RdDeviceNet d;
  Net(int stages, int n, int m, int k, unsigned seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> g(0.0f, 0.3f);
    const int mm = m * m;
    taps.resize(static_cast<std::size_t>(stages) * n * mm);
    flipped.resize(taps.size());
    for (auto& v : taps) v = g(rng);
    sums.assign(static_cast<std::size_t>(stages) * n, 0.0f);
    for (int fi = 0; fi < stages * n; ++fi) {
      for (int q = 0; q < mm; ++q) {
        flipped[fi * mm + q] = taps[fi * mm + (mm - 1 - q)];
        sums[fi] += taps[fi * mm + q];
      }
    }
    values.resize(static_cast<std::size_t>(stages) * n * k);
    for (auto& v : values) v = 8.0f * g(rng);
    slopes.resize(static_cast<std::size_t>(stages) * n * (k - 1));
    for (int fi = 0; fi < stages * n; ++fi)
      for (int j = 0; j + 1 < k; ++j)
        slopes[fi * (k - 1) + j] = values[fi * k + j + 1] - values[fi * k + j];
    d.taps = taps.data();
    d.taps_flipped = flipped.data();
    d.sums = sums.data();
    d.values = values.data();
    d.slopes = slopes.data();
    d.filters = n;
    d.size = m;
    d.knots = k;
    d.lo = -40.0f;
    d.inv_h = (k - 1) / 80.0f;
    d.s_max = static_cast<float>(k - 1);
  }
};

/// rd_forward_kernel then rd_backward_kernel over their grids, thread by thread.
void two_kernels(const Planes& u, const Planes& f, const Planes& out, const Planes& ys,
                 const cuda::RdDeviceNet& net, int t, float lambda) {
  blockDim = FakeDim3{32, 8, 1};
  const unsigned gx = (u.width + 31) / 32, gy = (u.height + 7) / 8;
  for (int pass = 0; pass < 2; ++pass)
    for (unsigned by = 0; by < gy; ++by)
      for (unsigned bx = 0; bx < gx; ++bx)
        for (unsigned ty = 0; ty < 8; ++ty)
          for (unsigned tx = 0; tx < 32; ++tx) {
            blockIdx = FakeDim3{bx, by, 0};
            threadIdx = FakeDim3{tx, ty, 0};
            if (pass == 0) {
              cuda::rd_forward_kernel(u, 0, net, t, ys);
            } else {
              cuda::rd_backward_kernel(ys, u, 0, f, 0, out, 0, net, t, lambda);
            }
          }
}

/// rd_stage_kernel over its grid, block by block with one thread, shared memory poisoned.
void one_kernel(const Planes& u, const Planes& f, const Planes& out, const cuda::RdDeviceNet& net,
                int t, float lambda) {
  blockDim = FakeDim3{1, 1, 1};
  threadIdx = FakeDim3{0, 0, 0};
  rd_stage_shared.assign(cuda::rd_stage_shared_floats(net.filters, net.size), std::nanf(""));
  rd_stage_smem = rd_stage_shared.data();
  const unsigned gx = (u.width + cuda::kRdStageTileX - 1) / cuda::kRdStageTileX;
  const unsigned gy = (u.height + cuda::kRdStageTileY - 1) / cuda::kRdStageTileY;
  for (unsigned by = 0; by < gy; ++by)
    for (unsigned bx = 0; bx < gx; ++bx) {
      std::fill(rd_stage_shared.begin(), rd_stage_shared.end(), std::nanf(""));
      blockIdx = FakeDim3{bx, by, 0};
      cuda::rd_stage_kernel(u, 0, f, 0, out, 0, net, t, lambda);
    }
}

TEST(RdStageKernel, OneLaunchEqualsForwardAndBackwardBitForBit) {
  struct Shape {
    int n, m, k;
  };
  struct Size {
    int w, h;
  };
  for (const Shape s : {Shape{4, 3, 9}, Shape{24, 5, 63}, Shape{6, 7, 17}}) {
    const Net net(2, s.n, s.m, s.k, 100u + s.m);
    for (const Size sz : {Size{1, 1}, Size{2, 7}, Size{7, 2}, Size{3, 3}, Size{33, 9}, Size{32, 8},
                          Size{70, 41}, Size{5, 100}, Size{100, 3}, Size{40, 17}}) {
      PlaneBuffer u(sz.w, sz.h, 1), f(sz.w, sz.h, 1), a(sz.w, sz.h, 1), b(sz.w, sz.h, 1),
          ys(sz.w, sz.h, s.n);
      std::mt19937 rng(sz.w * 131 + sz.h);
      std::uniform_real_distribution<float> d(0.0f, 60.0f);
      for (int y = 0; y < sz.h; ++y)
        for (int x = 0; x < sz.w; ++x) {
          u.p.row(0, y)[x] = d(rng);
          f.p.row(0, y)[x] = d(rng);
        }
      for (int t = 0; t < 2; ++t) {
        two_kernels(u.p, f.p, a.p, ys.p, net.d, t, 0.05f);
        one_kernel(u.p, f.p, b.p, net.d, t, 0.05f);
        for (int y = 0; y < sz.h; ++y) {
          ASSERT_EQ(std::memcmp(a.p.row(0, y), b.p.row(0, y), sizeof(float) * sz.w), 0)
              << "m " << s.m << ", " << sz.w << "x" << sz.h << ", stage " << t << ", row " << y;
          for (int x = 0; x < sz.w; ++x) ASSERT_TRUE(std::isfinite(b.p.row(0, y)[x]));
        }
        // Nothing outside the image is written: the row padding keeps its value.
        for (int y = 0; y < sz.h; ++y) EXPECT_EQ(b.p.row(0, y)[sz.w], -777.0f);
      }
    }
  }
}

// The default model's tiles fit the shared memory of one launch; 7×7 with 48 filters does not
// (the backend then takes the two kernels).
TEST(RdStageKernel, SharedMemoryOfTheTiles) {
  EXPECT_EQ(cuda::rd_stage_shared_floats(24, 5), 16u * 40 + 24u * 12 * 36);
  EXPECT_LE(cuda::rd_stage_shared_floats(24, 5) * sizeof(float), cuda::kRdStageMaxSharedBytes);
  EXPECT_GT(cuda::rd_stage_shared_floats(48, 7) * sizeof(float), cuda::kRdStageMaxSharedBytes);
}

}  // namespace
}  // namespace pdeimg
