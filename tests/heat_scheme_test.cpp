// Heat schemes beyond explicit Euler: the exact spectral solver, fast explicit diffusion (FED)
// and the automatic choice. Both backends; CUDA cases skip with a reason without a device.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

#include "pdeimg/error.hpp"
#include "pdeimg/heat.hpp"
#include "tests/test_util.hpp"

namespace pdeimg {
namespace {

using test::at;
using test::ScopedEnv;

HeatParams params(HeatScheme scheme, double time) {
  HeatParams p;
  p.scheme = scheme;
  p.time = time;
  return p;
}

/// The largest |a - b| over the first `channels` channels, relative to the range of `in` there
/// (the input both were computed from).
double relative_diff(const ImageView& a, const ImageView& b, int channels, const ImageView& in) {
  double lo = HUGE_VAL, hi = -HUGE_VAL, d = 0.0;
  for (int y = 0; y < a.height; ++y)
    for (int x = 0; x < a.width; ++x)
      for (int c = 0; c < channels; ++c) {
        lo = std::min(lo, double(at(in, x, y, c)));
        hi = std::max(hi, double(at(in, x, y, c)));
        d = std::max(d, std::fabs(double(at(a, x, y, c)) - at(b, x, y, c)));
      }
  return hi > lo ? d / (hi - lo) : d;
}

/// Per-axis variance of a non-negative single-channel image about its centroid.
void moments(const ImageView& v, double* var_x, double* var_y) {
  double s = 0, sx = 0, sy = 0, sxx = 0, syy = 0;
  for (int y = 0; y < v.height; ++y)
    for (int x = 0; x < v.width; ++x) {
      const double u = at(v, x, y);
      s += u, sx += u * x, sy += u * y, sxx += u * x * x, syy += u * y * y;
    }
  const double mx = sx / s, my = sy / s;
  *var_x = sxx / s - mx * mx;
  *var_y = syy / s - my * my;
}

HostImage blob(int n, double s0) {
  HostImage in(n, n, 1, PixelType::kF32);
  const double c = (n - 1) / 2.0;
  for (int y = 0; y < n; ++y)
    for (int x = 0; x < n; ++x)
      test::set(in, x, y, 0,
                float(std::exp(-((x - c) * (x - c) + (y - c) * (y - c)) / (2 * s0 * s0))));
  return in;
}

class HeatSchemeTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override { PDEIMG_SKIP_IF_UNAVAILABLE(GetParam()); }
  Context ctx() { return Context(GetParam()); }
};

// --- spectral --------------------------------------------------------------------------------

// The spectral result is the explicit scheme's limit as dt -> 0: with dt = 1/1024 the two differ
// by about 0.3 dt / T of the range (the worst mode's (1 - dt λ)^(T/dt) - exp(-λT)), i.e. 1e-4 at
// T = 3, plus float rounding. Sizes: 1, odd, prime (31, 29: kissfft's generic radix; 97, 61, 1009:
// Bluestein), 2- and 4-channel with alpha, every sample type.
TEST_P(HeatSchemeTest, SpectralEqualsExplicitWithATinyStep) {
  struct Case {
    int w, h, c;
    PixelType type;
  };
  const Case cases[] = {
      {1, 1, 1, PixelType::kF32},  {1, 17, 1, PixelType::kF32},   {17, 1, 3, PixelType::kF32},
      {2, 2, 1, PixelType::kU8},   {13, 7, 2, PixelType::kU16},   {31, 29, 1, PixelType::kF32},
      {97, 61, 4, PixelType::kU8}, {1009, 3, 1, PixelType::kF32}, {64, 48, 3, PixelType::kF32}};
  for (const Case& k : cases) {
    HostImage in = test::random_image(k.w, k.h, k.c, k.type, 0.0f,
                                      k.type == PixelType::kF32 ? 1.0f : 250.0f, 3);
    HostImage exact(k.w, k.h, k.c, PixelType::kF32), stepped(k.w, k.h, k.c, PixelType::kF32);
    Context cx = ctx();
    const HeatReport r = heat_smooth(in, exact, params(HeatScheme::kSpectral, 3.0), cx);
    EXPECT_EQ(r.scheme, HeatScheme::kSpectral);
    EXPECT_EQ(r.steps, 0);
    HeatParams e = params(HeatScheme::kExplicit, 3.0);
    e.max_dt = 1.0 / 1024;
    heat_smooth(in, stepped, e, cx);
    const int nc = k.c == 2 || k.c == 4 ? k.c - 1 : k.c;
    const double d = relative_diff(stepped, exact, nc, in);
    std::printf("%dx%dx%d: spectral vs explicit dt 1/1024: %.3g of the range\n", k.w, k.h, k.c, d);
    EXPECT_LT(d, 3e-4) << k.w << "x" << k.h << "x" << k.c;
    for (int y = 0; y < k.h && nc < k.c; ++y)
      for (int x = 0; x < k.w; ++x) ASSERT_EQ(at(exact, x, y, k.c - 1), at(in, x, y, k.c - 1));
  }
}

// A Gaussian blob of variance s0² becomes one of s0² + 2T (per axis): the semi-discrete heat
// kernel adds exactly 2T of variance, as each scheme's discrete kernel does.
TEST_P(HeatSchemeTest, GaussianBlobGainsVariance2T) {
  const double s0 = 3.0, t = 8.0;
  HostImage in = blob(129, s0);
  double vx0, vy0;
  moments(in, &vx0, &vy0);
  for (HeatScheme s : {HeatScheme::kSpectral, HeatScheme::kFed, HeatScheme::kExplicit}) {
    HostImage out(129, 129, 1, PixelType::kF32);
    Context cx = ctx();
    heat_smooth(in, out, params(s, t), cx);
    double vx, vy;
    moments(out, &vx, &vy);
    std::printf("%s: variance %.6f -> %.6f (x), %.6f (y); 2T = %.1f\n", to_string(s), vx0, vx, vy,
                2 * t);
    EXPECT_NEAR(vx - vx0, 2 * t, 1e-3) << to_string(s);
    EXPECT_NEAR(vy - vy0, 2 * t, 1e-3) << to_string(s);
  }
}

TEST_P(HeatSchemeTest, MeanConservedAndConstantUnchanged) {
  HostImage in = test::random_image(101, 67, 1, PixelType::kF32, 0.0f, 255.0f, 5);
  for (HeatScheme s : {HeatScheme::kSpectral, HeatScheme::kFed}) {
    // FED's float rounding drifts the mean by about 1e-11 per step and sample (2e-5 after the 2.4
    // million steps of T = 1e6, a time auto gives to the spectral solver): checked up to T = 50.
    for (double t : s == HeatScheme::kFed ? std::vector<double>{0.7, 50.0}
                                          : std::vector<double>{0.7, 50.0, 1e6}) {
      HostImage out(101, 67, 1, PixelType::kF32);
      Context cx = ctx();
      heat_smooth(in, out, params(s, t), cx);
      EXPECT_NEAR(test::mean(out) / test::mean(in), 1.0, 1e-6) << to_string(s) << " T " << t;
    }
    HostImage flat(37, 23, 3, PixelType::kU16), out(37, 23, 3, PixelType::kU16);
    for (int y = 0; y < 23; ++y)
      for (int x = 0; x < 37; ++x)
        for (int c = 0; c < 3; ++c) test::set(flat, x, y, c, 1000.0f + 7 * c);
    Context cx = ctx();
    heat_smooth(flat, out, params(s, 12.5), cx);
    EXPECT_TRUE(test::identical(flat, out)) << to_string(s);
  }
}

// A very long time leaves the mean everywhere (only mode 0 survives).
TEST_P(HeatSchemeTest, SpectralAtVeryLongTimesGivesTheMean) {
  HostImage in = test::random_image(53, 41, 1, PixelType::kF32, 0.0f, 1.0f, 8);
  HostImage out(53, 41, 1, PixelType::kF32);
  Context cx = ctx();
  heat_smooth(in, out, params(HeatScheme::kSpectral, 1e12), cx);
  const double m = test::mean(in);
  for (int y = 0; y < 41; ++y)
    for (int x = 0; x < 53; ++x) ASSERT_NEAR(at(out, x, y), m, 1e-6);
}

// The checkerboard is the mode λ = 8: exp(-8T) of it is left (1e-7 at sigma 2).
TEST_P(HeatSchemeTest, CheckerboardDecays) {
  const int n = 64;
  HostImage in(n, n, 1, PixelType::kF32);
  for (int y = 0; y < n; ++y)
    for (int x = 0; x < n; ++x) test::set(in, x, y, 0, ((x + y) & 1) ? 255.0f : 0.0f);
  for (HeatScheme s : {HeatScheme::kSpectral, HeatScheme::kFed}) {
    HostImage out(n, n, 1, PixelType::kF32);
    Context cx = ctx();
    HeatParams p;
    p.sigma = 2.0;
    p.scheme = s;
    heat_smooth(in, out, p, cx);
    double amp = 0;
    for (int y = 0; y < n; ++y)
      for (int x = 0; x < n; ++x) amp += (at(out, x, y) - 127.5) * (((x + y) & 1) ? 1 : -1);
    amp /= double(n) * n;
    std::printf("%s: checkerboard amplitude 127.5 -> %.3g\n", to_string(s), amp);
    EXPECT_LT(std::fabs(amp), 0.05) << to_string(s);
  }
}

TEST_P(HeatSchemeTest, SpectralInPlaceAndRegionsOfInterest) {
  HostImage big = test::random_image(90, 70, 3, PixelType::kU8, 0.0f, 255.0f, 4);
  const ImageView roi = big.view().roi(11, 7, 51, 43);
  HostImage copy(51, 43, 3, PixelType::kU8), expected(51, 43, 3, PixelType::kU8);
  for (int y = 0; y < 43; ++y)
    for (int x = 0; x < 51; ++x)
      for (int c = 0; c < 3; ++c) test::set(copy, x, y, c, at(roi, x, y, c));
  Context cx = ctx();
  const HeatParams p = params(HeatScheme::kSpectral, 6.0);
  heat_smooth(copy, expected, p, cx);
  heat_smooth(roi, roi, p, cx);  // in place, inside a larger image
  EXPECT_TRUE(test::identical(roi, expected));
  // Outside the region nothing changed.
  HostImage fresh = test::random_image(90, 70, 3, PixelType::kU8, 0.0f, 255.0f, 4);
  for (int y = 0; y < 70; ++y)
    for (int x = 0; x < 90; ++x) {
      if (x >= 11 && x < 62 && y >= 7 && y < 50) continue;
      for (int c = 0; c < 3; ++c) ASSERT_EQ(at(big, x, y, c), at(fresh, x, y, c));
    }
}

// Power-of-two scaling commutes with the transforms: huge and tiny float images give the same
// result scaled (src/finite.hpp's rules, with the spectral solver's own range limit).
TEST_P(HeatSchemeTest, HugeAndTinyFloatImagesScaleExactly) {
  HostImage in = test::random_image(45, 38, 1, PixelType::kF32, -1.0f, 1.0f, 12);
  HostImage ref(45, 38, 1, PixelType::kF32);
  for (HeatScheme s : {HeatScheme::kSpectral, HeatScheme::kFed}) {
    Context cx = ctx();
    heat_smooth(in, ref, params(s, 20.0), cx);
    for (int e : {120, -100}) {  // 2^-120 would make the input itself subnormal
      HostImage scaled(45, 38, 1, PixelType::kF32), out(45, 38, 1, PixelType::kF32);
      for (int y = 0; y < 38; ++y)
        for (int x = 0; x < 45; ++x) test::set(scaled, x, y, 0, std::ldexp(at(in, x, y), e));
      heat_smooth(scaled, out, params(s, 20.0), cx);
      for (int y = 0; y < 38; ++y)
        for (int x = 0; x < 45; ++x) {
          ASSERT_TRUE(std::isfinite(at(out, x, y)));
          ASSERT_EQ(std::ldexp(at(out, x, y), -e), at(ref, x, y)) << to_string(s) << " 2^" << e;
        }
    }
  }
}

// --- FED ------------------------------------------------------------------------------------

// FED keeps every mode's damping within 0.02 of exp(-λT) (src/fed.hpp); on a smooth image with
// edges, the result stays within 1% of the range of the exact one, for short and long times
// (cycles of up to 50 steps, which float32 rounding must not spoil).
TEST_P(HeatSchemeTest, FedIsCloseToTheExactSolution) {
  const int w = 160, h = 120;
  HostImage in(w, h, 1, PixelType::kF32);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      test::set(in, x, y, 0, (x > 50 && x < 110 && y > 30 && y < 90 ? 200.0f : 20.0f) + 0.3f * y);
  for (double sigma : {1.0, 2.0, 4.0, 16.0, 64.0}) {
    HostImage fed(w, h, 1, PixelType::kF32), exact(w, h, 1, PixelType::kF32);
    Context cx = ctx();
    HeatParams p;
    p.sigma = sigma;
    p.scheme = HeatScheme::kFed;
    const HeatReport r = heat_smooth(in, fed, p, cx);
    p.scheme = HeatScheme::kSpectral;
    heat_smooth(in, exact, p, cx);
    const double d = relative_diff(exact, fed, 1, in);
    std::printf("sigma %g: fed %d steps in %d cycles, %.3g of the range from exact\n", sigma,
                r.steps, r.cycles, d);
    EXPECT_EQ(r.scheme, HeatScheme::kFed);
    EXPECT_LE(r.steps / r.cycles, 50);
    EXPECT_LT(d, 0.01) << "sigma " << sigma;
  }
}

TEST_P(HeatSchemeTest, FedTreatsMissingDataAndSpectralRefusesIt) {
  HostImage in = test::random_image(40, 30, 1, PixelType::kF32, 0.0f, 1.0f, 2);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (int y = 0; y < 30; ++y) test::set(in, 20, y, 0, nan);  // a wall of holes
  HostImage out(40, 30, 1, PixelType::kF32);
  Context cx = ctx();
  HeatParams p = params(HeatScheme::kFed, 30.0);
  p.non_finite = NonFinite::kMissing;
  heat_smooth(in, out, p, cx);
  // The halves do not mix: each keeps its own mean.
  auto half_mean = [](const ImageView& v, int x0, int x1) {
    double s = 0;
    for (int y = 0; y < v.height; ++y)
      for (int x = x0; x < x1; ++x) s += at(v, x, y);
    return s / (double(x1 - x0) * v.height);
  };
  EXPECT_NEAR(half_mean(out, 0, 20), half_mean(in, 0, 20), 1e-5);
  EXPECT_NEAR(half_mean(out, 21, 40), half_mean(in, 21, 40), 1e-5);
  for (int y = 0; y < 30; ++y) EXPECT_TRUE(std::isnan(at(out, 20, y)));
  p.scheme = HeatScheme::kSpectral;
  test::expect_error([&] { heat_smooth(in, out, p, cx); }, ErrorCode::kUnsupported, "missing data");
  p.scheme = HeatScheme::kAuto;
  p.time = 5000.0;
  const HeatReport r = heat_smooth(in, out, p, cx);
  EXPECT_NE(r.scheme, HeatScheme::kSpectral) << r.note;
}

// --- auto -----------------------------------------------------------------------------------

TEST_P(HeatSchemeTest, AutoSaysWhatRanAndWhy) {
  HostImage in = test::random_image(256, 256, 1, PixelType::kF32, 0.0f, 1.0f, 6);
  HostImage out(256, 256, 1, PixelType::kF32);
  Context cx = ctx();
  HeatParams p;
  p.time = 0.125;  // one explicit step: nothing is cheaper
  HeatReport r = heat_smooth(in, out, p, cx);
  EXPECT_EQ(r.scheme, HeatScheme::kExplicit) << r.note;
  EXPECT_NE(r.note.find("auto chose explicit"), std::string::npos) << r.note;
  p.time = 0.0;
  p.sigma = 64.0;  // 16384 explicit steps, about 500 FED steps; the transforms cost far less
  r = heat_smooth(in, out, p, cx);
  EXPECT_EQ(r.scheme, HeatScheme::kSpectral) << r.note;
  std::printf("%s\n", r.note.c_str());
}

INSTANTIATE_TEST_SUITE_P(Backends, HeatSchemeTest, ::testing::Values(Backend::kCpu, Backend::kCuda),
                         test::backend_name);

// --- CPU specifics --------------------------------------------------------------------------

TEST(HeatSchemeCpu, FedDoesNotDependOnFusionDepthOrThreads) {
  HostImage in = test::random_image(317, 211, 3, PixelType::kF32, 0.0f, 1.0f, 13);
  HostImage fused(317, 211, 3, PixelType::kF32), single(317, 211, 3, PixelType::kF32),
      one_thread(317, 211, 3, PixelType::kF32);
  Context cx(Backend::kCpu);
  const HeatParams p = params(HeatScheme::kFed, 300.0);  // cycles of 30+ steps over several passes
  heat_smooth(in, fused, p, cx);
  {
    ScopedEnv env("PDEIMG_TEST_MAX_FUSED", "1");
    heat_smooth(in, single, p, cx);
  }
  cx.set_threads(1);
  heat_smooth(in, one_thread, p, cx);
  EXPECT_TRUE(test::identical(fused, single));
  EXPECT_TRUE(test::identical(fused, one_thread));
}

// At long times the CPU solver replaces the FFT along an axis by matrix products over that axis's
// live modes (src/cpu/heat_spectral.cpp, PrunedDct). Both compute the same operator in float: on
// sizes 1, odd and prime (kissfft's generic radix and Bluestein on the FFT side), every sample
// type, alpha, and times from all modes live to a handful, they agree within 1e-5 of the range
// (measured at most 1.7e-6; the direct sums have n / 2 terms, the FFTs log n stages).
TEST(HeatSchemeCpu, SpectralMatrixPathEqualsFftPath) {
  struct Case {
    int w, h, c;
    PixelType type;
  };
  const Case cases[] = {
      {1, 1, 1, PixelType::kF32},  {1, 17, 1, PixelType::kF32},   {17, 1, 3, PixelType::kF32},
      {2, 2, 1, PixelType::kF32},  {13, 7, 2, PixelType::kU16},   {31, 29, 1, PixelType::kF32},
      {97, 61, 4, PixelType::kU8}, {1009, 3, 1, PixelType::kF32}, {127, 131, 3, PixelType::kF32}};
  double worst = 0.0;
  for (const Case& k : cases) {
    const bool integer = k.type != PixelType::kF32;
    HostImage in =
        test::random_image(k.w, k.h, k.c, k.type, 0.0f, integer ? 250.0f : 1.0f, 31 + k.w);
    const int nc = k.c == 2 || k.c == 4 ? k.c - 1 : k.c;
    for (double t : {3.0, 50.0, 400.0, 5000.0}) {
      HostImage fft(k.w, k.h, k.c, PixelType::kF32), matrix(k.w, k.h, k.c, PixelType::kF32);
      Context cx(Backend::kCpu);
      HeatReport rf, rm;
      {
        ScopedEnv env("PDEIMG_TEST_SPECTRAL_PATH", "fft");
        rf = heat_smooth(in, fft, params(HeatScheme::kSpectral, t), cx);
      }
      {
        ScopedEnv env("PDEIMG_TEST_SPECTRAL_PATH", "matrix");
        rm = heat_smooth(in, matrix, params(HeatScheme::kSpectral, t), cx);
      }
      EXPECT_NE(rf.note.find("x by FFT"), std::string::npos) << rf.note;
      EXPECT_NE(rm.note.find("x by matrix products"), std::string::npos) << rm.note;
      EXPECT_NE(rm.note.find("y by matrix products"), std::string::npos) << rm.note;
      const double d = relative_diff(fft, matrix, nc, in);
      worst = std::max(worst, d);
      EXPECT_LT(d, 1e-5) << k.w << "x" << k.h << "x" << k.c << " T " << t;
      for (int y = 0; y < k.h && nc < k.c; ++y)
        for (int x = 0; x < k.w; ++x) ASSERT_EQ(at(matrix, x, y, k.c - 1), at(in, x, y, k.c - 1));
    }
  }
  std::printf("matrix vs FFT path: at most %.3g of the range\n", worst);
}

// The matrix path works in blocks of fixed shape, so its result does not depend on the number of
// threads, bit for bit; in place on a region of interest it equals the copy's result.
TEST(HeatSchemeCpu, SpectralMatrixPathDoesNotDependOnThreads) {
  HostImage in = test::random_image(317, 211, 3, PixelType::kF32, 0.0f, 1.0f, 41);
  const HeatParams p = params(HeatScheme::kSpectral, 800.0);
  HostImage ref(317, 211, 3, PixelType::kF32);
  Context cx(Backend::kCpu);
  cx.set_threads(1);
  const HeatReport r = heat_smooth(in, ref, p, cx);
  EXPECT_NE(r.note.find("x by matrix products"), std::string::npos) << r.note;
  EXPECT_NE(r.note.find("y by matrix products"), std::string::npos) << r.note;
  for (int threads : {2, 3, 5}) {
    HostImage out(317, 211, 3, PixelType::kF32);
    cx.set_threads(threads);
    heat_smooth(in, out, p, cx);
    EXPECT_TRUE(test::identical(ref, out)) << threads << " threads";
  }
  HostImage big = test::random_image(400, 300, 3, PixelType::kU8, 0.0f, 255.0f, 42);
  const ImageView roi = big.view().roi(23, 41, 317, 211);
  HostImage copy(317, 211, 3, PixelType::kU8), expected(317, 211, 3, PixelType::kU8);
  for (int y = 0; y < 211; ++y)
    for (int x = 0; x < 317; ++x)
      for (int c = 0; c < 3; ++c) test::set(copy, x, y, c, at(roi, x, y, c));
  heat_smooth(copy, expected, p, cx);
  heat_smooth(roi, roi, p, cx);
  EXPECT_TRUE(test::identical(roi, expected));
}

// The cost model sends long times to the matrix path and short ones to the FFT (on a 512² image:
// 389 of 512 modes live at T = 8, 19 at sigma 64), and auto's note says so.
TEST(HeatSchemeCpu, SpectralTakesTheMatrixPathAtLongTimes) {
  HostImage in = test::random_image(512, 512, 1, PixelType::kF32, 0.0f, 1.0f, 43);
  HostImage out(512, 512, 1, PixelType::kF32);
  Context cx(Backend::kCpu);
  HeatReport r = heat_smooth(in, out, params(HeatScheme::kSpectral, 8.0), cx);
  EXPECT_NE(r.note.find("x by FFT"), std::string::npos) << r.note;
  EXPECT_NE(r.note.find("y by FFT"), std::string::npos) << r.note;
  HeatParams p;
  p.sigma = 64.0;
  r = heat_smooth(in, out, p, cx);
  EXPECT_EQ(r.scheme, HeatScheme::kSpectral) << r.note;
  EXPECT_NE(r.note.find("x by matrix products over its 19 live modes of 512"), std::string::npos)
      << r.note;
  EXPECT_NE(r.note.find("y by matrix products"), std::string::npos) << r.note;
  std::printf("%s\n", r.note.c_str());
}

TEST(HeatSchemeCpu, SchemeNamesAndValidation) {
  for (HeatScheme s :
       {HeatScheme::kAuto, HeatScheme::kExplicit, HeatScheme::kSpectral, HeatScheme::kFed}) {
    EXPECT_EQ(parse_heat_scheme(to_string(s)), s);
  }
  EXPECT_EQ(parse_heat_scheme("FED"), HeatScheme::kFed);
  test::expect_error([] { parse_heat_scheme("implicit"); }, ErrorCode::kInvalidArgument,
                     "implicit");
  HeatParams p;
  p.time = 1.0;
  p.scheme = static_cast<HeatScheme>(9);
  test::expect_error([&] { validate(p); }, ErrorCode::kInvalidArgument, "scheme");
  // Times too long for explicit steps are fine for the spectral solver.
  p.scheme = HeatScheme::kSpectral;
  p.time = 1e15;
  validate(p);
  p.scheme = HeatScheme::kExplicit;
  test::expect_error([&] { validate(p); }, ErrorCode::kInvalidArgument, "1e9");
  // ... and for FED at any size, up to times whose cycle count overflowed a long long (it came
  // out as one cycle: one step of 1e21 and an image of +-inf).
  // The spectral solver and FED do not step by max_dt: only its range is checked for them.
  for (const HeatScheme s : {HeatScheme::kSpectral, HeatScheme::kFed}) {
    HeatParams q;
    q.sigma = 1.0;
    q.max_dt = 1e-12;
    q.scheme = s;
    EXPECT_NO_THROW(validate(q)) << to_string(s);
    q.time = -1.0;
    q.sigma = 0.0;
    test::expect_error([&] { validate(q); }, ErrorCode::kInvalidArgument, "positive");
  }
  p.scheme = HeatScheme::kFed;
  for (const double t : {1e12, 1e15, 1e22, 1e300}) {
    p.time = t;
    test::expect_error([&] { validate(p); }, ErrorCode::kInvalidArgument, "1e9 FED steps");
  }
}

// With missing data auto cannot take the spectral solver; past 1e9 FED steps it says so, naming
// sigma (canny passes its sigma through), instead of an explicit step count's complaint about time.
TEST(HeatSchemeCpu, AutoWithMissingDataAtAbsurdTimesSaysWhy) {
  HostImage in = test::random_image(16, 16, 1, PixelType::kF32, 0.0f, 1.0f, 3);
  test::set(in, 5, 5, 0, std::nanf(""));
  HostImage out(16, 16, 1, PixelType::kF32);
  Context cx(Backend::kCpu);
  HeatParams p;
  p.sigma = 1e5;
  p.non_finite = NonFinite::kMissing;
  test::expect_error([&] { heat_smooth(in, out, p, cx); }, ErrorCode::kInvalidArgument,
                     "sigma 100000 (time 5e+09) on an image with missing data needs more than 1e9");
  p.sigma = 2e3;  // FED: about 5e5 steps
  EXPECT_EQ(heat_smooth(in, out, p, cx).scheme, HeatScheme::kFed);
  EXPECT_TRUE(std::isnan(at(out, 5, 5)));
}

// Diffusion times far past the image's slowest mode give the mean, whatever the magnitude: auto
// must not take FED's overflowed cost (it once chose one FED step at sigma 1e12) nor explicit.
TEST(HeatSchemeCpu, AutoAtAbsurdTimesGivesTheMean) {
  const HostImage in = test::random_image(64, 64, 1, PixelType::kF32, 0.0f, 255.0f, 4);
  const double m = test::mean(in);
  Context cx(Backend::kCpu);
  for (const double sigma : {1e4, 6e10, 7e10, 1e12, 1e150}) {
    HeatParams p;
    p.sigma = sigma;
    HostImage out(64, 64, 1, PixelType::kF32);
    const HeatReport r = heat_smooth(in, out, p, cx);
    EXPECT_EQ(r.scheme, HeatScheme::kSpectral) << "sigma " << sigma << ": " << r.note;
    for (int y = 0; y < 64; ++y)
      for (int x = 0; x < 64; ++x) ASSERT_NEAR(at(out, x, y), m, 1e-3) << "sigma " << sigma;
  }
}

// --- CUDA specifics -------------------------------------------------------------------------

TEST(HeatSchemeCuda, SpectralAgreesWithCpu) {
  PDEIMG_SKIP_IF_UNAVAILABLE(Backend::kCuda);
  for (int w : {1, 31, 97, 256}) {
    HostImage in = test::random_image(w, 45, 3, PixelType::kF32, 0.0f, 1.0f, 23);
    HostImage a(w, 45, 3, PixelType::kF32), b(w, 45, 3, PixelType::kF32);
    Context cpu(Backend::kCpu), gpu(Backend::kCuda);
    const HeatParams p = params(HeatScheme::kSpectral, 7.0);
    heat_smooth(in, a, p, cpu);
    heat_smooth(in, b, p, gpu);
    EXPECT_LT(relative_diff(a, b, 3, in), 1e-5) << w;
  }
}

TEST(HeatSchemeCuda, FedAgreesWithCpu) {
  PDEIMG_SKIP_IF_UNAVAILABLE(Backend::kCuda);
  HostImage in = test::random_image(321, 257, 3, PixelType::kF32, 0.0f, 1.0f, 23);
  HostImage a(321, 257, 3, PixelType::kF32), b(321, 257, 3, PixelType::kF32);
  Context cpu(Backend::kCpu), gpu(Backend::kCuda);
  const HeatParams p = params(HeatScheme::kFed, 200.0);
  heat_smooth(in, a, p, cpu);
  heat_smooth(in, b, p, gpu);
  EXPECT_LT(relative_diff(a, b, 3, in), 1e-5);
}

}  // namespace
}  // namespace pdeimg
