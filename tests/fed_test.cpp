// Fast explicit diffusion step sizes (src/fed.hpp): cycle sums, the κ ordering's rounding bound,
// float32 cycles against double, and the heat schedules' accuracy.
#include "src/fed.hpp"

#include "kernels/heat.cuh"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

namespace pdeimg {
namespace detail {
namespace {

// Times of any size: the cycle count saturates instead of overflowing (it once came out as 1 for
// times around 1e21, from LLONG_MIN), and so does the cycle length.
TEST(Fed, CycleCountsSaturateAtHugeTimes) {
  long long last = 0;
  for (const double t : {1e3, 1e9, 1e18, 1e21, 1e22, 1e300}) {
    const long long c = fed_min_cycles(t, kHeatMaxDt);
    EXPECT_GE(c, last) << "time " << t;
    EXPECT_GE(static_cast<double>(c),
              std::min(t / (kHeatMaxDt * kFedMaxCycle * (kFedMaxCycle + 1) / 3.0), 0x1p62))
        << "time " << t;
    last = c;
  }
  EXPECT_GT(fed_cycle_length(1e30, kHeatMaxDt), kFedMaxCycle);
  EXPECT_GT(fed_cycle_length(1e300, kHeatMaxDt), kFedMaxCycle);
}

TEST(Fed, CyclesReachTheirTimeWithStepsOfTheFedShape) {
  for (int n = 1; n <= kFedMaxCycle; ++n) {
    const double reach = 0.25 * (n * n + n) / 3.0;
    EXPECT_EQ(fed_cycle_length(reach, 0.25), n);
    EXPECT_EQ(fed_cycle_length(reach * 1.001, 0.25), n + 1);
    const std::vector<double> c = fed_cycle(n, reach, 0.25);
    ASSERT_EQ(static_cast<int>(c.size()), n);
    double sum = 0, largest = 0;
    for (double t : c) sum += t, largest = std::max(largest, t);
    EXPECT_NEAR(sum, reach, 1e-12 * reach);
    // The largest step, tau_max / (2 cos²(π (2n - 1) / (4n + 2))), grows like n²: far beyond
    // the bound of a single step.
    if (n > 4) EXPECT_GT(largest, 0.25 * n);
  }
}

// The κ order keeps the rounding bound of every cycle near its length (at most 26 n, 1099 for
// n = 50; 1220 for n = 48), while the natural ascending order grows to 1e24 at n = 50; and each
// table entry is the best κ for its n.
TEST(Fed, KappaOrderBoundsRoundingErrors) {
  for (int n = 1; n <= kFedMaxCycle; ++n) {
    const double reach = 0.25 * (n * n + n) / 3.0;
    const double bound = fed_rounding_bound(fed_cycle(n, reach, 0.25), 0.25);
    EXPECT_LE(bound, 26.0 * n) << n;
    if (n == 50) {
      std::vector<double> natural(n);
      for (int i = 0; i < n; ++i) {
        const double c = std::cos(3.14159265358979323846 * (2 * i + 1) / (4.0 * n + 2.0));
        natural[i] = 0.25 / (2 * c * c);
      }
      const double bad = fed_rounding_bound(natural, 0.25);
      std::printf("n = 50: rounding bound %.4g in the kappa order, %.3g in natural order\n", bound,
                  bad);
      EXPECT_GT(bad, 1e20);
    }
  }
}

// A 1-D diffusion (tau_max 1/2 for the 3-point Laplacian) of random data through one cycle of
// 50 steps, float32 against double: within the stated bound times float's epsilon.
TEST(Fed, LongestCycleIsStableInFloat32) {
  const int n = kFedMaxCycle, len = 257;
  const double reach = 0.5 * (n * n + n) / 3.0;
  const std::vector<double> tau = fed_cycle(n, reach, 0.5);
  std::vector<float> uf(len);
  std::vector<double> ud(len);
  unsigned s = 1;
  for (int i = 0; i < len; ++i) {
    s = s * 1664525u + 1013904223u;
    ud[i] = uf[i] = static_cast<float>((s >> 8) % 256);
  }
  for (double t : tau) {
    std::vector<float> vf(len);
    std::vector<double> vd(len);
    for (int i = 0; i < len; ++i) {
      const int l = i > 0 ? i - 1 : 0, r = i + 1 < len ? i + 1 : len - 1;
      vf[i] = uf[i] + static_cast<float>(t) * ((uf[l] + uf[r]) - 2.0f * uf[i]);
      vd[i] = ud[i] + t * ((ud[l] + ud[r]) - 2.0 * ud[i]);
    }
    uf.swap(vf);
    ud.swap(vd);
  }
  double err = 0;
  for (int i = 0; i < len; ++i) err = std::max(err, std::fabs(uf[i] - ud[i]));
  std::printf("cycle of 50 in float32: largest error %.3g (values 0..255)\n", err);
  EXPECT_LT(err, 1099 * 255 * 6e-8);
}

TEST(Fed, HeatSchedulesKeepEveryModeWithinTolerance) {
  for (double sigma : {0.5, 1.0, 2.0, 4.0, 8.0, 32.0, 64.0, 200.0}) {
    const double t = sigma * sigma / 2;
    const FedSchedule s = fed_heat_schedule(t, 0.25, 0.02);
    ASSERT_FALSE(s.cycle.empty());
    EXPECT_LE(static_cast<int>(s.cycle.size()), kFedMaxCycle);
    double sum = 0;
    for (double x : s.cycle) sum += x;
    EXPECT_NEAR(sum * s.cycles, t, 1e-9 * t);
    const double e = fed_transfer_error(s, t, 0.25);
    std::printf("sigma %g: %lld cycles of %zu steps, transfer error %.3g\n", sigma, s.cycles,
                s.cycle.size(), e);
    EXPECT_LE(e, 0.02);
  }
}

}  // namespace
}  // namespace detail
}  // namespace pdeimg
