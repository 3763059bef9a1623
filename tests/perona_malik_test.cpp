// Perona–Malik diffusion: properties of the mathematics, hand-computed diffusivities, K
// selection, regularisation, a naive reference, both backends.
#include "pdeimg/perona_malik.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "kernels/perona_malik.cuh"
#include "pdeimg/error.hpp"
#include "pdeimg/noise.hpp"
#include "src/context_impl.hpp"
#include "tests/test_util.hpp"

namespace pdeimg {
namespace {

using test::at;
using test::expect_error;
using test::max_abs_diff;
using test::max_diff_to_reference;
using test::ScopedEnv;

PeronaMalikParams explicit_params(double k, int steps, Diffusivity d = Diffusivity::kRational,
                                  Neighbourhood n = Neighbourhood::k4) {
  PeronaMalikParams p;
  p.contrast = ContrastMode::kAbsolute;
  p.k = k;
  p.steps = steps;
  p.diffusivity = d;
  p.neighbourhood = n;
  return p;
}

double g_ref(Diffusivity d, double s2, double k) {
  switch (d) {
    case Diffusivity::kExponential:
      return std::exp(-s2 / (k * k));
    case Diffusivity::kRational:
      return 1.0 / (1.0 + s2 / (k * k));
    case Diffusivity::kTukey: {
      const double t = 1.0 - s2 / (5.0 * k * k);
      return t > 0 ? t * t : 0.0;
    }
  }
  return 0.0;
}

/// The textbook scheme in double precision, straight from the definition (clamped neighbours,
/// optional Gaussian regularisation with its own taps): the reference of the fast paths.
/// Returns samples [c][y][x] of the first `nc` channels.
std::vector<std::vector<double>> reference_pm(const ImageView& src, int nc, int steps, double dt,
                                              Diffusivity d, double k, bool eight, bool coupled,
                                              double reg = 0.0) {
  const int w = src.width, h = src.height;
  std::vector<std::vector<double>> u(nc, std::vector<double>(std::size_t(w) * h));
  for (int c = 0; c < nc; ++c)
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) u[c][std::size_t(y) * w + x] = at(src, x, y, c);
  auto clampi = [](int v, int n) { return std::min(std::max(v, 0), n - 1); };
  std::vector<double> taps;
  if (reg > 0) {
    const int r = std::max(1, int(std::ceil(3 * reg)));
    double sum = 0;
    for (int i = -r; i <= r; ++i)
      taps.push_back(std::exp(-0.5 * i * i / (reg * reg))), sum += taps.back();
    for (double& t : taps) t /= sum;
  }
  auto reflect = [](int i, int n) {
    const int p = 2 * n;
    int m = ((i % p) + p) % p;
    return m < n ? m : p - 1 - m;
  };
  for (int s = 0; s < steps; ++s) {
    std::vector<std::vector<double>> g = u;  // the image g is computed from
    if (reg > 0) {
      const int r = int(taps.size() / 2);
      for (int c = 0; c < nc; ++c) {
        std::vector<double> tmp(u[c].size());
        for (int y = 0; y < h; ++y)
          for (int x = 0; x < w; ++x) {
            double a = 0;
            for (int i = -r; i <= r; ++i)
              a += taps[i + r] * u[c][std::size_t(y) * w + reflect(x + i, w)];
            tmp[std::size_t(y) * w + x] = a;
          }
        for (int y = 0; y < h; ++y)
          for (int x = 0; x < w; ++x) {
            double a = 0;
            for (int i = -r; i <= r; ++i)
              a += taps[i + r] * tmp[std::size_t(reflect(y + i, h)) * w + x];
            g[c][std::size_t(y) * w + x] = a;
          }
      }
    }
    std::vector<std::vector<double>> v = u;
    const int offs[8][2] = {{0, -1}, {0, 1}, {-1, 0}, {1, 0}, {-1, -1}, {1, -1}, {-1, 1}, {1, 1}};
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) {
        const std::size_t i0 = std::size_t(y) * w + x;
        for (int c = 0; c < nc; ++c) {
          double flux = 0;
          for (int q = 0; q < (eight ? 8 : 4); ++q) {
            const std::size_t iq =
                std::size_t(clampi(y + offs[q][1], h)) * w + clampi(x + offs[q][0], w);
            double s2 = 0;
            for (int cc = 0; cc < nc; ++cc) {
              if (!coupled && cc != c) continue;
              const double dd = g[cc][iq] - g[cc][i0];
              s2 += dd * dd;
            }
            const bool diag = q >= 4;
            const double wq = eight ? (diag ? 0.25 : 0.5) : 1.0;
            flux += wq * g_ref(d, diag ? s2 / 2 : s2, k) * (u[c][iq] - u[c][i0]);
          }
          v[c][i0] = u[c][i0] + dt * flux;
        }
      }
    u.swap(v);
  }
  return u;
}

/// Adds N(0, sigma²) noise (fixed seed) to every sample of a float image.
void add_noise(const ImageView& v, double sigma, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> n(0.0, sigma);
  for (int y = 0; y < v.height; ++y)
    for (int x = 0; x < v.width * v.channels; ++x) v.row<float>(y)[x] += float(n(rng));
}

class PeronaMalikTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override { PDEIMG_SKIP_IF_UNAVAILABLE(GetParam()); }
  Context ctx() { return Context(GetParam()); }
  // The CPU reproduces the double-precision reference to float rounding; the GPU may contract
  // multiply-adds into FMAs.
  double tol() const { return GetParam() == Backend::kCuda ? 2e-4 : 2e-5; }
};

TEST_P(PeronaMalikTest, ConstantImageIsUnchanged) {
  for (PixelType type : {PixelType::kU8, PixelType::kU16, PixelType::kF32})
    for (int channels : {1, 3, 4}) {
      HostImage in(37, 23, channels, type), out(37, 23, channels, type);
      for (int y = 0; y < 23; ++y)
        for (int x = 0; x < 37; ++x)
          for (int c = 0; c < channels; ++c) test::set(in, x, y, c, 100.0f + 7 * c);
      Context cx = ctx();
      for (Neighbourhood n : {Neighbourhood::k4, Neighbourhood::k8}) {
        PeronaMalikParams p = explicit_params(5.0, 17, Diffusivity::kExponential, n);
        perona_malik(in, out, p, cx);
        EXPECT_TRUE(test::identical(in, out)) << to_string(type) << " " << channels << "ch";
        p.regularization = 1.5;
        perona_malik(in, out, p, cx);
        EXPECT_TRUE(test::identical(in, out)) << "regularised " << to_string(type);
      }
      // Blind: no noise is found, nothing is done.
      const PeronaMalikReport r = perona_malik(in, out, PeronaMalikParams{}, cx);
      EXPECT_TRUE(test::identical(in, out));
      EXPECT_EQ(r.noise_sigma, 0.0);
      EXPECT_EQ(r.steps, 0);
    }
}

// K far beyond the data is the heat flow (g = 1 to float precision) and K far below it leaves the
// image unchanged (g ~ 0), on every sample type: K 1e100 once scaled 8-bit data by 2^-333 to zero,
// and K 1e-40 on 8-bit data (whose range the scan does not see) scaled it past the float range.
TEST_P(PeronaMalikTest, ExtremeKIsHeatFlowOrNothing) {
  Context cx = ctx();
  for (const PixelType type : {PixelType::kU8, PixelType::kU16, PixelType::kF32}) {
    const float hi = type == PixelType::kU16 ? 65535.0f : 255.0f;
    const HostImage in = test::random_image(23, 17, 3, type, 0.0f, hi, 12);
    auto run = [&](const PeronaMalikParams& p) {
      HostImage out(in.width(), in.height(), in.channels(), type);
      perona_malik(in, out, p, cx);
      return out;
    };
    const HostImage heat = run(explicit_params(1e9, 5));
    const std::string what = to_string(type);
    EXPECT_GT(max_abs_diff(heat, in), 1.0) << what << ": the reference must diffuse";
    for (const double k : {1e12, 1e42, 1e100, 1e300}) {
      EXPECT_TRUE(test::identical(run(explicit_params(k, 5)), heat))
          << what << ", K " << k << ": max |difference| "
          << max_abs_diff(run(explicit_params(k, 5)), heat);
    }
    PeronaMalikParams by_noise = explicit_params(0.0, 5);
    by_noise.contrast = ContrastMode::kNoise;
    by_noise.noise_sigma = 1e300;
    EXPECT_TRUE(test::identical(run(by_noise), heat)) << what << ", noise 1e300";
    if (type != PixelType::kF32) {  // float keeps the tiny changes that rounding hides
      for (const double k : {1e-20, 1e-37, 1e-40, 1e-300}) {
        EXPECT_TRUE(test::identical(run(explicit_params(k, 5)), in)) << what << ", K " << k;
      }
      by_noise.noise_sigma = 1e-38;
      EXPECT_TRUE(test::identical(run(by_noise), in)) << what << ", noise 1e-38";
    }
  }
}

TEST_P(PeronaMalikTest, MeanIsConserved) {
  HostImage in = test::random_image(97, 61, 3, PixelType::kF32, 0.0f, 255.0f, 7);
  HostImage out(97, 61, 3, PixelType::kF32);
  Context cx = ctx();
  for (Diffusivity d : {Diffusivity::kExponential, Diffusivity::kRational, Diffusivity::kTukey})
    for (Neighbourhood n : {Neighbourhood::k4, Neighbourhood::k8})
      for (double reg : {0.0, 1.0}) {
        PeronaMalikParams p = explicit_params(60.0, 100, d, n);
        p.regularization = reg;
        perona_malik(in, out, p, cx);
        for (int c = 0; c < 3; ++c) {
          const double m0 = test::mean(in, c), m1 = test::mean(out, c);
          EXPECT_NEAR(m1 / m0, 1.0, 1e-5) << to_string(d) << " " << to_string(n) << " reg " << reg;
        }
        EXPECT_GT(max_abs_diff(in, out), 10.0) << "the image must have changed";
      }
}

TEST_P(PeronaMalikTest, MaximumPrinciple) {
  HostImage in = test::random_image(64, 50, 3, PixelType::kF32, -3.0f, 11.0f, 3);
  HostImage out(64, 50, 3, PixelType::kF32);
  Context cx = ctx();
  for (Neighbourhood n : {Neighbourhood::k4, Neighbourhood::k8})
    for (ColourMode cm : {ColourMode::kCoupled, ColourMode::kPerChannel}) {
      PeronaMalikParams p = explicit_params(4.0, 30, Diffusivity::kRational, n);
      p.dt = max_dt(n);  // the bound itself is still monotone
      p.colour = cm;
      perona_malik(in, out, p, cx);
      for (int c = 0; c < 3; ++c) {
        float lo = 1e30f, hi = -1e30f, olo = 1e30f, ohi = -1e30f;
        for (int y = 0; y < 50; ++y)
          for (int x = 0; x < 64; ++x) {
            lo = std::min(lo, at(in, x, y, c)), hi = std::max(hi, at(in, x, y, c));
            olo = std::min(olo, at(out, x, y, c)), ohi = std::max(ohi, at(out, x, y, c));
          }
        EXPECT_GE(olo, lo);
        EXPECT_LE(ohi, hi);
        EXPECT_LT(ohi - olo, hi - lo);
      }
    }
}

TEST_P(PeronaMalikTest, StepEdgeKeepsItsContrastWhileNoiseDrops) {
  // A vertical step 50 -> 200 at x = 64 plus noise of sigma 10, denoised blind.
  const int w = 128, h = 96;
  HostImage clean(w, h, 1, PixelType::kF32);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) test::set(clean, x, y, 0, x < 64 ? 50.0f : 200.0f);
  HostImage noisy = HostImage::copy_of(clean), out(w, h, 1, PixelType::kF32);
  add_noise(noisy, 10.0, 5);
  Context cx = ctx();
  const PeronaMalikReport r = perona_malik(noisy, out, PeronaMalikParams{}, cx);
  EXPECT_NEAR(r.noise_sigma, 10.0, 1.5);
  EXPECT_GT(r.steps, 0);
  auto stats = [&](const ImageView& v, int x0, int x1, double* mean, double* sd) {
    double s = 0, s2 = 0, n = 0;
    for (int y = 0; y < h; ++y)
      for (int x = x0; x < x1; ++x) s += at(v, x, y), s2 += double(at(v, x, y)) * at(v, x, y), ++n;
    *mean = s / n;
    *sd = std::sqrt(std::max(0.0, s2 / n - *mean * *mean));
  };
  double ml, sl, mr, sr, nl, nsl, nr, nsr;
  stats(out, 0, 60, &ml, &sl);
  stats(out, 68, w, &mr, &sr);
  stats(noisy, 0, 60, &nl, &nsl);
  stats(noisy, 68, w, &nr, &nsr);
  EXPECT_LT(sl, 0.5 * nsl) << "noise left of the edge must drop by more than half";
  EXPECT_LT(sr, 0.5 * nsr) << "noise right of the edge must drop by more than half";
  // The edge itself: the columns next to it keep at least 90% of the 150 contrast.
  double a, b, unused;
  stats(out, 62, 63, &a, &unused);
  stats(out, 65, 66, &b, &unused);
  EXPECT_GT(b - a, 0.9 * 150.0) << "contrast across the edge " << b - a;
  EXPECT_NEAR(ml, 50.0, 1.5);
  EXPECT_NEAR(mr, 200.0, 1.5);
}

TEST_P(PeronaMalikTest, OneStepOfEachDiffusivityMatchesHandComputedValues) {
  // A 2x1 image [0, 10], K = 10, one step: the pair difference is 10 = K.
  //   rational g = 1/2, exponential g = 1/e, Tukey g = (1 - 1/5)² = 0.64.
  HostImage in(2, 1, 1, PixelType::kF32), out(2, 1, 1, PixelType::kF32);
  test::set(in, 1, 0, 0, 10.0f);
  Context cx = ctx();
  const struct {
    Diffusivity d;
    double g;
  } cases[] = {{Diffusivity::kRational, 0.5},
               {Diffusivity::kExponential, 0.36787944117144233},
               {Diffusivity::kTukey, 0.64}};
  for (const auto& c : cases) {
    PeronaMalikParams p = explicit_params(10.0, 1, c.d);
    p.dt = 0.25;
    perona_malik(in, out, p, cx);
    EXPECT_NEAR(at(out, 0, 0), 0.25 * c.g * 10.0, 1e-5) << to_string(c.d);
    EXPECT_NEAR(at(out, 1, 0), 10.0 - 0.25 * c.g * 10.0, 1e-5) << to_string(c.d);
  }
  // 8 neighbours, dt = 1/3: pixel 0 sees its axial neighbour (weight 1/2, s² = 100, g = 1/2) and,
  // through the reflecting border above and below, two diagonal ones (weight 1/4, s² = 100/2,
  // g = 2/3): u0' = (1/3) (1/2 · 1/2 · 10 + 2 · 1/4 · 2/3 · 10) = 35/18.
  PeronaMalikParams p8 = explicit_params(10.0, 1, Diffusivity::kRational, Neighbourhood::k8);
  p8.dt = 1.0 / 3.0;
  perona_malik(in, out, p8, cx);
  EXPECT_NEAR(at(out, 0, 0), 35.0 / 18.0, 1e-5);
  EXPECT_NEAR(at(out, 1, 0), 10.0 - 35.0 / 18.0, 1e-5);
  // Tukey stops all flux beyond s = √5 K.
  PeronaMalikParams pt = explicit_params(4.4, 1, Diffusivity::kTukey);  // √5 · 4.4 = 9.84 < 10
  perona_malik(in, out, pt, cx);
  EXPECT_EQ(at(out, 0, 0), 0.0f);
  EXPECT_EQ(at(out, 1, 0), 10.0f);
}

TEST_P(PeronaMalikTest, MatchesNaiveReference) {
  const int sizes[][2] = {{1, 1}, {1, 17}, {17, 1}, {2, 2}, {13, 7}, {321, 257}, {3000, 5}};
  Context cx = ctx();
  for (const auto& s : sizes)
    for (Diffusivity d : {Diffusivity::kExponential, Diffusivity::kRational, Diffusivity::kTukey})
      for (Neighbourhood n : {Neighbourhood::k4, Neighbourhood::k8})
        for (ColourMode cm : {ColourMode::kCoupled, ColourMode::kPerChannel}) {
          const int nc = cm == ColourMode::kCoupled ? 3 : 2;
          HostImage in = test::random_image(s[0], s[1], nc, PixelType::kF32, 0.0f, 1.0f, 11);
          HostImage out(s[0], s[1], nc, PixelType::kF32);
          PeronaMalikParams p = explicit_params(0.3, 23, d, n);
          p.colour = cm;
          p.alpha = AlphaMode::kProcess;  // 2 channels: the second is a colour channel here
          const PeronaMalikReport r = perona_malik(in, out, p, cx);
          const auto ref = reference_pm(in, nc, r.steps, r.dt, d, 0.3, n == Neighbourhood::k8,
                                        cm == ColourMode::kCoupled);
          EXPECT_LE(max_diff_to_reference(out, ref), tol())
              << s[0] << "x" << s[1] << " " << to_string(d) << " " << to_string(n) << " "
              << to_string(cm);
        }
}

TEST_P(PeronaMalikTest, RegularisedMatchesNaiveReference) {
  Context cx = ctx();
  for (auto s : {std::make_pair(1, 1), std::make_pair(5, 3), std::make_pair(61, 47)})
    for (Neighbourhood n : {Neighbourhood::k4, Neighbourhood::k8}) {
      HostImage in = test::random_image(s.first, s.second, 3, PixelType::kF32, 0.0f, 1.0f, 12);
      HostImage out(s.first, s.second, 3, PixelType::kF32);
      PeronaMalikParams p = explicit_params(0.1, 9, Diffusivity::kRational, n);
      p.regularization = 1.3;
      perona_malik(in, out, p, cx);
      const auto ref = reference_pm(in, 3, 9, default_dt(n), Diffusivity::kRational, 0.1,
                                    n == Neighbourhood::k8, true, 1.3);
      EXPECT_LE(max_diff_to_reference(out, ref), tol()) << s.first << "x" << s.second;
    }
}

TEST_P(PeronaMalikTest, TwoRunsAreBitIdentical) {
  HostImage in = test::random_image(300, 200, 3, PixelType::kU8, 0.0f, 255.0f, 2);
  HostImage a(300, 200, 3, PixelType::kF32), b(300, 200, 3, PixelType::kF32);
  for (double reg : {0.0, 1.0}) {
    PeronaMalikParams p;  // blind: the noise estimate and K must be deterministic too
    p.regularization = reg;
    Context cx = ctx();
    const PeronaMalikReport ra = perona_malik(in, a, p, cx);
    Context cy = ctx();
    const PeronaMalikReport rb = perona_malik(in, b, p, cy);
    EXPECT_TRUE(test::identical(a, b));
    EXPECT_EQ(ra.k, rb.k);
    EXPECT_EQ(ra.noise_sigma, rb.noise_sigma);
  }
}

// Progress is reported for fused and regularised steps alike, and cancelling stops the call.
TEST_P(PeronaMalikTest, ReportsProgressAndCanBeCancelled) {
  HostImage in = test::random_image(120, 90, 3, PixelType::kU8, 0.0f, 255.0f, 5);
  HostImage out(120, 90, 3, PixelType::kU8);
  for (double reg : {0.0, 1.0}) {
    PeronaMalikParams p;
    p.contrast = ContrastMode::kAbsolute;
    p.k = 10.0;
    p.steps = 40;
    p.regularization = reg;
    Context cx = ctx();
    std::vector<double> seen;
    cx.set_progress([&](double done) {
      seen.push_back(done);
      return true;
    });
    perona_malik(in, out, p, cx);
    ASSERT_GE(seen.size(), 2u) << "regularization " << reg;
    for (std::size_t i = 1; i < seen.size(); ++i) EXPECT_GT(seen[i], seen[i - 1]);
    EXPECT_DOUBLE_EQ(seen.back(), 1.0);
    cx.set_progress([](double) { return false; });
    try {
      perona_malik(in, out, p, cx);
      FAIL() << "expected Error(kCancelled)";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kCancelled) << e.what();
    }
  }
}

TEST_P(PeronaMalikTest, PitchedViewsAndRegionsOfInterest) {
  HostImage big = test::random_image(50, 40, 3, PixelType::kU16, 0.0f, 65535.0f, 21);
  HostImage dst_big = test::random_image(50, 40, 3, PixelType::kU16, 0.0f, 65535.0f, 22);
  const HostImage dst_before = HostImage::copy_of(dst_big);
  const ImageView roi = big.view().roi(7, 5, 30, 20);
  const ImageView droi = dst_big.view().roi(11, 13, 30, 20);
  HostImage compact = HostImage::copy_of(roi), compact_out(30, 20, 3, PixelType::kU16);
  Context cx = ctx();
  for (double reg : {0.0, 0.8}) {
    PeronaMalikParams p = explicit_params(9000.0, 12, Diffusivity::kTukey, Neighbourhood::k8);
    p.regularization = reg;
    perona_malik(roi, droi, p, cx);
    perona_malik(compact, compact_out, p, cx);
    EXPECT_TRUE(test::identical(HostImage::copy_of(droi), compact_out));
    for (int y = 0; y < 40; ++y)
      for (int x = 0; x < 50; ++x) {
        if (x >= 11 && x < 41 && y >= 13 && y < 33) continue;
        for (int c = 0; c < 3; ++c) ASSERT_EQ(at(dst_big, x, y, c), at(dst_before, x, y, c));
      }
  }
}

TEST_P(PeronaMalikTest, InPlaceEqualsOutOfPlaceAndAlphaPassesThrough) {
  for (double reg : {0.0, 1.0}) {
    HostImage in = test::random_image(70, 90, 4, PixelType::kU8, 0.0f, 255.0f, 8);
    HostImage out(70, 90, 4, PixelType::kU8);
    Context cx = ctx();
    PeronaMalikParams p = explicit_params(30.0, 21);
    p.regularization = reg;
    perona_malik(in, out, p, cx);
    for (int y = 0; y < 90; ++y)
      for (int x = 0; x < 70; ++x) ASSERT_EQ(at(out, x, y, 3), at(in, x, y, 3));
    perona_malik(in, in, p, cx);
    EXPECT_TRUE(test::identical(in, out)) << "reg " << reg;
  }
}

TEST_P(PeronaMalikTest, TypeConversionHappensOnceAtTheEnd) {
  HostImage in8 = test::random_image(33, 31, 1, PixelType::kU8, 0.0f, 255.0f, 4);
  HostImage f(33, 31, 1, PixelType::kF32), u8(33, 31, 1, PixelType::kU8),
      u16(33, 31, 1, PixelType::kU16);
  Context cx = ctx();
  const PeronaMalikParams p = explicit_params(40.0, 10);
  perona_malik(in8, f, p, cx);
  perona_malik(in8, u8, p, cx);
  perona_malik(in8, u16, p, cx);
  for (int y = 0; y < 31; ++y)
    for (int x = 0; x < 33; ++x) {
      ASSERT_EQ(at(u8, x, y), std::floor(at(f, x, y) + 0.5f));
      ASSERT_EQ(at(u16, x, y), std::floor(at(f, x, y) + 0.5f));
    }
}

TEST_P(PeronaMalikTest, KFromAGradientQuantile) {
  HostImage in = test::random_image(41, 29, 3, PixelType::kF32, 0.0f, 100.0f, 31);
  HostImage out(41, 29, 3, PixelType::kF32);
  Context cx = ctx();
  for (ColourMode cm : {ColourMode::kCoupled, ColourMode::kPerChannel}) {
    // Expected: the quantile of all axial pair differences, computed here directly.
    std::vector<float> s2;
    for (int g = 0; g < (cm == ColourMode::kCoupled ? 1 : 3); ++g)
      for (int y = 0; y < 29; ++y)
        for (int x = 0; x < 41; ++x)
          for (int dir = 0; dir < 2; ++dir) {
            const int x2 = x + (dir == 0), y2 = y + (dir == 1);
            if (x2 >= 41 || y2 >= 29) continue;
            float s = 0;
            for (int c = 0; c < 3; ++c) {
              if (cm == ColourMode::kPerChannel && c != g) continue;
              const float d = at(in, x2, y2, c) - at(in, x, y, c);
              s += d * d;
            }
            s2.push_back(s);
          }
    std::sort(s2.begin(), s2.end());
    PeronaMalikParams p;
    p.contrast = ContrastMode::kQuantile;
    p.k_quantile = 0.7;
    p.steps = 3;
    p.colour = cm;
    const PeronaMalikReport r = perona_malik(in, out, p, cx);
    const double expect = std::sqrt(double(s2[std::size_t(std::floor(0.7 * (s2.size() - 1)))]));
    EXPECT_NEAR(r.k, expect, 1e-4 * expect) << to_string(cm);
    EXPECT_EQ(r.noise_sigma, 0.0) << "a quantile K with explicit steps needs no noise estimate";
    EXPECT_FALSE(r.noise_estimated);
  }
}

TEST_P(PeronaMalikTest, KFromTheNoiseLevel) {
  HostImage gray = test::random_image(64, 64, 1, PixelType::kF32, 0.0f, 1.0f, 3);
  HostImage colour = test::random_image(64, 64, 4, PixelType::kF32, 0.0f, 1.0f, 3);
  HostImage og(64, 64, 1, PixelType::kF32), oc(64, 64, 4, PixelType::kF32);
  Context cx = ctx();
  PeronaMalikParams p;
  p.noise_sigma = 10.0;
  p.steps = 2;
  // K = factor · √2 σ (the noise in a pair difference), · √3 for three coupled colour channels.
  const double f = default_k_noise_factor(Diffusivity::kRational);
  const double fc = default_k_noise_factor(Diffusivity::kRational, 3);
  EXPECT_DOUBLE_EQ(f, 0.6);
  EXPECT_NEAR(fc, 0.25, 1e-12);
  EXPECT_NEAR(perona_malik(gray, og, p, cx).k, f * std::sqrt(2.0) * 10.0, 1e-9);
  EXPECT_NEAR(perona_malik(colour, oc, p, cx).k, fc * std::sqrt(6.0) * 10.0, 1e-9);
  p.colour = ColourMode::kPerChannel;
  EXPECT_NEAR(perona_malik(colour, oc, p, cx).k, f * std::sqrt(2.0) * 10.0, 1e-9);
  p.colour = ColourMode::kCoupled;
  p.k_noise_factor = 2.0;
  EXPECT_NEAR(perona_malik(gray, og, p, cx).k, 2.0 * std::sqrt(2.0) * 10.0, 1e-9);
  // Regularised: the noise deviation of a difference of the Gaussian-smoothed copy.
  p.regularization = 1.0;
  float w[detail::kMaxGaussRadius + 1];
  const int r = detail::gauss_taps(1.0, w);
  auto tap = [&](int i) { return std::abs(i) > r ? 0.0 : double(w[std::abs(i)]); };
  double along = 0, across = 0;
  for (int i = -r - 1; i <= r + 1; ++i)
    along += (tap(i - 1) - tap(i)) * (tap(i - 1) - tap(i)), across += tap(i) * tap(i);
  EXPECT_NEAR(perona_malik(gray, og, p, cx).k, 2.0 * std::sqrt(along * across) * 10.0, 1e-6);
  // Estimated: K follows the estimate, and the report says so.
  HostImage noisy(128, 128, 1, PixelType::kF32), out(128, 128, 1, PixelType::kF32);
  add_noise(noisy, 8.0, 9);
  const PeronaMalikReport rb = perona_malik(noisy, out, PeronaMalikParams{}, cx);
  EXPECT_TRUE(rb.noise_estimated);
  EXPECT_NEAR(rb.noise_sigma, 8.0, 0.8);
  EXPECT_NEAR(rb.k, f * std::sqrt(2.0) * rb.noise_sigma, 1e-9);
  EXPECT_TRUE(rb.time_from_noise);
  EXPECT_NEAR(rb.time, default_time(Diffusivity::kRational), 1e-9);
  // Scale invariance of the blind denoiser: 3x the image gives 3x the result.
  HostImage noisy3 = HostImage::copy_of(noisy), out3(128, 128, 1, PixelType::kF32);
  for (int y = 0; y < 128; ++y)
    for (int x = 0; x < 128; ++x) noisy3.row<float>(y)[x] *= 3.0f;
  const PeronaMalikReport r3 = perona_malik(noisy3, out3, PeronaMalikParams{}, cx);
  EXPECT_NEAR(r3.k, 3.0 * rb.k, 1e-4 * rb.k);
  double m = 0;
  for (int y = 0; y < 128; ++y)
    for (int x = 0; x < 128; ++x)
      m = std::max(m, std::fabs(double(at(out3, x, y)) - 3.0 * at(out, x, y)));
  EXPECT_LT(m, 1e-3);
}

TEST_P(PeronaMalikTest, RegularisationBehavesAsDocumented) {
  // Pure noise, K below the noise level, Tukey's cut-off (no flux beyond √5 K = 6.7): the
  // unregularised scheme takes most noisy differences for edges and keeps the noise; on the
  // smoothed copy the differences are small and it diffuses (Catté et al.'s point).
  HostImage noisy(96, 96, 1, PixelType::kF32), plain(96, 96, 1, PixelType::kF32),
      reg(96, 96, 1, PixelType::kF32), tiny(96, 96, 1, PixelType::kF32);
  for (int y = 0; y < 96; ++y)
    for (int x = 0; x < 96; ++x) test::set(noisy, x, y, 0, 100.0f);
  add_noise(noisy, 10.0, 4);
  Context cx = ctx();
  PeronaMalikParams p = explicit_params(3.0, 20, Diffusivity::kTukey);
  perona_malik(noisy, plain, p, cx);
  p.regularization = 2.0;
  perona_malik(noisy, reg, p, cx);
  auto sd = [](const ImageView& v) {
    const double m = test::mean(v);
    double s = 0;
    for (int y = 0; y < v.height; ++y)
      for (int x = 0; x < v.width; ++x) s += (at(v, x, y) - m) * (at(v, x, y) - m);
    return std::sqrt(s / (double(v.width) * v.height));
  };
  EXPECT_LT(sd(reg), 0.5 * sd(plain)) << "regularised " << sd(reg) << " vs plain " << sd(plain);
  // A vanishing Gaussian (sigma 0.05: side taps exp(-200)) gives the unregularised result.
  p.regularization = 0.05;
  perona_malik(noisy, tiny, p, cx);
  EXPECT_LE(max_abs_diff(tiny, plain), 1e-3);
}

INSTANTIATE_TEST_SUITE_P(Backends, PeronaMalikTest,
                         ::testing::Values(Backend::kCpu, Backend::kCuda), test::backend_name);

// --- the numerics, directly
// -----------------------------------------------------------------------

TEST(PeronaMalikNumerics, DiffusivitiesAtHandComputedPoints) {
  const detail::RationalG rat{1.0f / 4.0f};    // K = 2
  const detail::ExponentialG ex{1.0f / 4.0f};  // K = 2
  const detail::TukeyG tk{1.0f / 20.0f};       // K = 2: 1 / (5 K²)
  EXPECT_EQ(rat(0.0f), 1.0f);
  EXPECT_EQ(ex(0.0f), 1.0f);
  EXPECT_EQ(tk(0.0f), 1.0f);
  EXPECT_FLOAT_EQ(rat(4.0f), 0.5f);        // s = K
  EXPECT_FLOAT_EQ(rat(12.0f), 0.25f);      // s² = 3 K²
  EXPECT_FLOAT_EQ(ex(4.0f), 0.36787944f);  // e^-1
  EXPECT_FLOAT_EQ(ex(8.0f), 0.13533528f);  // e^-2
  EXPECT_FLOAT_EQ(tk(4.0f), 0.64f);        // (1 - 1/5)²
  EXPECT_FLOAT_EQ(tk(10.0f), 0.25f);       // (1 - 1/2)²
  EXPECT_EQ(tk(20.0f), 0.0f);              // s = √5 K
  EXPECT_EQ(tk(1e30f), 0.0f);
}

TEST(PeronaMalikNumerics, ExpNegIsAccurateEverywhere) {
  double worst = 0;
  for (double xd = 0; xd < 87; xd += 0.0137) {
    const float x = float(xd);
    const double e = std::exp(-double(x));
    worst = std::max(worst, std::fabs(detail::exp_neg(x) - e) / e);
  }
  EXPECT_LT(worst, 3e-7);
  EXPECT_EQ(detail::exp_neg(88.0f), 0.0f);
  EXPECT_EQ(detail::exp_neg(1e30f), 0.0f);
  EXPECT_EQ(detail::exp_neg(INFINITY), 0.0f);
}

// --- CPU specifics: fusion and threads change no bit
// ----------------------------------------------

TEST(PeronaMalikCpu, ResultDoesNotDependOnFusionDepthOrThreads) {
  HostImage in = test::random_image(517, 389, 3, PixelType::kF32, 0.0f, 1.0f, 13);
  Context cx(Backend::kCpu);
  for (Neighbourhood n : {Neighbourhood::k4, Neighbourhood::k8}) {
    HostImage fused(517, 389, 3, PixelType::kF32), single(517, 389, 3, PixelType::kF32),
        one_thread(517, 389, 3, PixelType::kF32);
    const PeronaMalikParams p = explicit_params(0.2, 38, Diffusivity::kExponential, n);
    cx.set_threads(0);
    perona_malik(in, fused, p, cx);
    {
      ScopedEnv env("PDEIMG_TEST_MAX_FUSED", "1");
      perona_malik(in, single, p, cx);
    }
    cx.set_threads(1);
    perona_malik(in, one_thread, p, cx);
    EXPECT_TRUE(test::identical(fused, single)) << to_string(n);
    EXPECT_TRUE(test::identical(fused, one_thread)) << to_string(n);
  }
}

TEST(PeronaMalikCpu, WideImagesUseColumnTilesWithoutSeams) {
  HostImage in = test::random_image(9000, 30, 4, PixelType::kF32, 0.0f, 1.0f, 17);
  HostImage out(9000, 30, 4, PixelType::kF32);
  Context cx(Backend::kCpu);
  PeronaMalikParams p = explicit_params(0.4, 7, Diffusivity::kRational, Neighbourhood::k8);
  p.alpha = AlphaMode::kProcess;
  const PeronaMalikReport r = perona_malik(in, out, p, cx);
  const auto ref = reference_pm(in, 4, r.steps, r.dt, Diffusivity::kRational, 0.4, true, true);
  EXPECT_LE(max_diff_to_reference(out, ref), 2e-5);
}

// --- CUDA specifics
// --------------------------------------------------------------------------------

TEST(PeronaMalikCuda, AgreesWithCpuWithin1e4After100Steps) {
  PDEIMG_SKIP_IF_UNAVAILABLE(Backend::kCuda);
  HostImage in = test::random_image(321, 257, 3, PixelType::kF32, 0.0f, 1.0f, 23);
  Context cpu(Backend::kCpu), gpu(Backend::kCuda);
  for (Diffusivity d : {Diffusivity::kExponential, Diffusivity::kRational, Diffusivity::kTukey})
    for (Neighbourhood n : {Neighbourhood::k4, Neighbourhood::k8})
      for (double reg : {0.0, 1.0}) {
        HostImage a(321, 257, 3, PixelType::kF32), b(321, 257, 3, PixelType::kF32);
        PeronaMalikParams p = explicit_params(0.3, 100, d, n);
        p.regularization = reg;
        perona_malik(in, a, p, cpu);
        perona_malik(in, b, p, gpu);
        EXPECT_LE(max_abs_diff(a, b), 1e-4)
            << to_string(d) << " " << to_string(n) << " reg " << reg;
      }
  // Automatic K (noise estimate and quantile on the device) agrees too.
  HostImage noisy = test::random_image(200, 150, 3, PixelType::kU8, 0.0f, 255.0f, 24);
  for (ContrastMode m : {ContrastMode::kNoise, ContrastMode::kQuantile}) {
    PeronaMalikParams p;
    p.contrast = m;
    HostImage a(200, 150, 3, PixelType::kF32), b(200, 150, 3, PixelType::kF32);
    const PeronaMalikReport ra = perona_malik(noisy, a, p, cpu);
    const PeronaMalikReport rb = perona_malik(noisy, b, p, gpu);
    EXPECT_NEAR(ra.k, rb.k, 1e-4 * ra.k) << to_string(m);
    EXPECT_LE(max_abs_diff(a, b), 1e-3) << to_string(m);
  }
}

TEST(PeronaMalikCuda, DeviceViewsMatchHostViews) {
  PDEIMG_SKIP_IF_UNAVAILABLE(Backend::kCuda);
  HostImage in = test::random_image(1000, 3, 1, PixelType::kU16, 0.0f, 65535.0f, 29);
  HostImage via_host(1000, 3, 1, PixelType::kU16), via_device(1000, 3, 1, PixelType::kU16);
  Context gpu(Backend::kCuda);
  const PeronaMalikParams p;  // blind: statistics on device views too
  const PeronaMalikReport rh = perona_malik(in, via_host, p, gpu);
  DeviceImage d_in(1000, 3, 1, PixelType::kU16), d_out(1000, 3, 1, PixelType::kU16);
  d_in.upload(in);
  const PeronaMalikReport rd = perona_malik(d_in, d_out, p, gpu);
  gpu.synchronize();
  d_out.download(via_device);
  EXPECT_TRUE(test::identical(via_host, via_device));
  EXPECT_EQ(rh.k, rd.k);
}

// Issue 13.3: with -fmad=false the device rounds every product and sum as the CPU does, so
// Perona–Malik (with and without the Gaussian of regularisation), the noise estimate and the K
// quantile are identical to the CPU's, not merely close.
TEST(PeronaMalikCuda, IdenticalToTheCpuBitForBit) {
  PDEIMG_SKIP_IF_UNAVAILABLE(Backend::kCuda);
  HostImage in = test::random_image(67, 45, 3, PixelType::kF32, 0.0f, 1.0f, 31);
  Context cpu(Backend::kCpu), gpu(Backend::kCuda);
  for (Diffusivity d : {Diffusivity::kExponential, Diffusivity::kRational, Diffusivity::kTukey})
    for (Neighbourhood n : {Neighbourhood::k4, Neighbourhood::k8})
      for (double reg : {0.0, 1.0}) {
        HostImage a(67, 45, 3, PixelType::kF32), b(67, 45, 3, PixelType::kF32);
        PeronaMalikParams p = explicit_params(0.3, 20, d, n);
        p.regularization = reg;
        perona_malik(in, a, p, cpu);
        perona_malik(in, b, p, gpu);
        EXPECT_TRUE(test::identical(a, b)) << to_string(d) << " " << to_string(n) << " reg " << reg;
      }
  HostImage noisy = test::random_image(200, 150, 3, PixelType::kU8, 0.0f, 255.0f, 24);
  EXPECT_EQ(estimate_noise(noisy, cpu).sigma, estimate_noise(noisy, gpu).sigma);
  for (ContrastMode m : {ContrastMode::kNoise, ContrastMode::kQuantile}) {
    PeronaMalikParams p;
    p.contrast = m;
    HostImage a(200, 150, 3, PixelType::kU8), b(200, 150, 3, PixelType::kU8);
    EXPECT_EQ(perona_malik(noisy, a, p, cpu).k, perona_malik(noisy, b, p, gpu).k) << to_string(m);
    EXPECT_TRUE(test::identical(a, b)) << to_string(m);
  }
}

// Temporal blocking (kernels/fused_steps.cuh): the default depth, 3, and one step per launch give
// the same bits, and so does the CPU, for every diffusivity and stencil, coupled and per-channel
// colour, with holes of missing data; regularised steps (not fused) too.
TEST(PeronaMalikCuda, FusedStepsAreIdenticalToOneStepPerLaunchAndToTheCpu) {
  PDEIMG_SKIP_IF_UNAVAILABLE(Backend::kCuda);
  Context cpu(Backend::kCpu), gpu(Backend::kCuda);
  struct Size {
    int w, h, c;
  };
  for (const Size sz :
       {Size{1, 1, 1}, Size{13, 7, 3}, Size{33, 17, 4}, Size{150, 97, 3}, Size{2, 300, 2}}) {
    HostImage in = test::random_image(sz.w, sz.h, sz.c, PixelType::kF32, 0.0f, 1.0f, 43);
    HostImage holes = HostImage::copy_of(in);
    if (sz.w * sz.h > 4) {
      for (int y = 0; y < sz.h; y += 4) holes.row<float>(y)[(5 * y) % (sz.w * sz.c)] = NAN;
    }
    for (Diffusivity d : {Diffusivity::kExponential, Diffusivity::kRational, Diffusivity::kTukey})
      for (Neighbourhood n : {Neighbourhood::k4, Neighbourhood::k8})
        for (int variant = 0; variant < 4; ++variant) {  // coupled, per channel, holes, reg.
          PeronaMalikParams p = explicit_params(0.3, 19, d, n);
          p.alpha = AlphaMode::kProcess;
          if (variant == 1) p.colour = ColourMode::kPerChannel;
          if (variant == 2) p.non_finite = NonFinite::kMissing;
          if (variant == 3) p.regularization = 1.0;
          const HostImage& src = variant == 2 ? holes : in;
          HostImage ref(sz.w, sz.h, sz.c, PixelType::kF32);
          perona_malik(src, ref, p, cpu);
          for (const char* depth : {"", "3", "1"}) {
            ScopedEnv env("PDEIMG_TEST_MAX_FUSED", depth);
            HostImage out(sz.w, sz.h, sz.c, PixelType::kF32);
            perona_malik(src, out, p, gpu);
            EXPECT_TRUE(test::identical(out, ref))
                << sz.w << "x" << sz.h << "x" << sz.c << " " << to_string(d) << " " << to_string(n)
                << " variant " << variant << " depth '" << depth << "'";
          }
        }
  }
}

// Issue 13: a host image is uploaded once per call, however many statistics the call computes on
// it (blind denoising used to upload it for the noise estimate, the K quantile and the steps).
TEST(PeronaMalikCuda, AHostImageIsUploadedOncePerCall) {
  PDEIMG_SKIP_IF_UNAVAILABLE(Backend::kCuda);
  HostImage in = test::random_image(300, 200, 3, PixelType::kU8, 0.0f, 255.0f, 37);
  Context gpu(Backend::kCuda);
  DeviceImage d_in(300, 200, 3, PixelType::kU8, gpu), d_out(300, 200, 3, PixelType::kU8, gpu);
  d_in.upload(in);
  for (ContrastMode m : {ContrastMode::kNoise, ContrastMode::kQuantile}) {
    PeronaMalikParams p;  // automatic time: the noise estimate runs in both modes
    p.contrast = m;
    p.regularization = m == ContrastMode::kQuantile ? 1.0 : 0.0;
    HostImage via_host(300, 200, 3, PixelType::kU8), via_device(300, 200, 3, PixelType::kU8);
    const long long before = gpu.impl().host_uploads;
    const PeronaMalikReport rh = perona_malik(in, via_host, p, gpu);
    EXPECT_EQ(gpu.impl().host_uploads - before, 1) << to_string(m);
    const PeronaMalikReport rd = perona_malik(d_in, d_out, p, gpu);
    gpu.synchronize();
    d_out.download(via_device);
    EXPECT_TRUE(test::identical(via_host, via_device)) << to_string(m);
    EXPECT_EQ(rh.k, rd.k);
    EXPECT_EQ(rh.noise_sigma, rd.noise_sigma);
  }
  // In place on a host image: one upload as well, and the same result.
  HostImage inplace = HostImage::copy_of(in), ref(300, 200, 3, PixelType::kU8);
  PeronaMalikParams p;
  perona_malik(in, ref, p, gpu);
  const long long before = gpu.impl().host_uploads;
  perona_malik(inplace, inplace, p, gpu);
  EXPECT_EQ(gpu.impl().host_uploads - before, 1);
  EXPECT_TRUE(test::identical(inplace, ref));
}

// --- parameters and errors
// --------------------------------------------------------------------------

TEST(PeronaMalikParams, StoppingByStepsOrTime) {
  HostImage in = test::random_image(8, 8, 1, PixelType::kF32, 0.0f, 1.0f, 1),
            out(8, 8, 1, PixelType::kF32);
  Context cx(Backend::kCpu);
  PeronaMalikParams p = explicit_params(1.0, 7);
  PeronaMalikReport r = perona_malik(in, out, p, cx);
  EXPECT_EQ(r.steps, 7);
  EXPECT_DOUBLE_EQ(r.dt, 0.2);
  EXPECT_DOUBLE_EQ(r.time, 1.4);
  EXPECT_FALSE(r.time_from_noise);
  p.steps = 0;
  p.time = 1.0;
  r = perona_malik(in, out, p, cx);
  EXPECT_EQ(r.steps, 5);
  EXPECT_DOUBLE_EQ(r.dt, 0.2);
  p.time = 1.1;
  r = perona_malik(in, out, p, cx);
  EXPECT_EQ(r.steps, 6);
  EXPECT_NEAR(r.dt, 1.1 / 6, 1e-15);
  p.time = 1.0;
  p.dt = 0.25;
  EXPECT_EQ(perona_malik(in, out, p, cx).steps, 4);
  p.neighbourhood = Neighbourhood::k8;
  p.dt = 1.0 / 3.0;
  EXPECT_EQ(perona_malik(in, out, p, cx).steps, 3);
  EXPECT_DOUBLE_EQ(max_dt(Neighbourhood::k4), 0.25);
  EXPECT_DOUBLE_EQ(max_dt(Neighbourhood::k8), 1.0 / 3.0);
}

TEST(PeronaMalikParams, BadArgumentsAreRejectedWithTheirValues) {
  HostImage in(10, 10, 1, PixelType::kF32), out(10, 10, 1, PixelType::kF32),
      small(9, 10, 1, PixelType::kF32);
  Context cx(Backend::kCpu);
  auto run = [&](const PeronaMalikParams& p) { return [&, p] { perona_malik(in, out, p, cx); }; };
  PeronaMalikParams p = explicit_params(1.0, 3);
  p.dt = 0.3;
  expect_error(run(p), ErrorCode::kInvalidArgument, "stability bound 0.25");
  p.neighbourhood = Neighbourhood::k8;
  p.dt = 0.34;
  expect_error(run(p), ErrorCode::kInvalidArgument, "stability bound 0.333333");
  p = explicit_params(1.0, 3);
  p.time = 2.0;
  expect_error(run(p), ErrorCode::kInvalidArgument, "at most one of steps");
  p = explicit_params(-1.0, 3);
  expect_error(run(p), ErrorCode::kInvalidArgument, "-1");
  p = PeronaMalikParams{};
  p.k = 5;
  expect_error(run(p), ErrorCode::kInvalidArgument, "only used with ContrastMode::kAbsolute");
  p = PeronaMalikParams{};
  p.contrast = ContrastMode::kQuantile;
  p.k_quantile = 1.0;
  expect_error(run(p), ErrorCode::kInvalidArgument, "k_quantile");
  p = PeronaMalikParams{};
  p.noise_sigma = -2;
  expect_error(run(p), ErrorCode::kInvalidArgument, "noise_sigma");
  p = PeronaMalikParams{};
  p.regularization = 50;
  expect_error(run(p), ErrorCode::kInvalidArgument, "regularization");
  p = PeronaMalikParams{};
  p.steps = -1;
  expect_error(run(p), ErrorCode::kInvalidArgument, "steps");
  p = PeronaMalikParams{};
  p.diffusivity = static_cast<Diffusivity>(7);
  expect_error(run(p), ErrorCode::kInvalidArgument, "diffusivity");
  // Times that need more than 1e9 steps are refused by validate(), before any image is seen:
  // an explicit one, or the automatic one with a tiny dt.
  p = PeronaMalikParams{};
  p.time = 1e308;
  expect_error([&] { validate(p); }, ErrorCode::kInvalidArgument, "more than 1e9");
  p = PeronaMalikParams{};
  p.dt = 1e-300;
  expect_error([&] { validate(p); }, ErrorCode::kInvalidArgument,
               "(the automatic time for colour images) in steps of dt 1e-300");
  p = PeronaMalikParams{};
  p.dt = 0.25000000001;
  expect_error([&] { validate(p); }, ErrorCode::kInvalidArgument,
               "dt = 0.25000000001 exceeds the stability bound 0.25");
  expect_error([&] { perona_malik(in, small, explicit_params(1, 1), cx); },
               ErrorCode::kInvalidArgument, "9x10x1");
  expect_error([&] { parse_diffusivity("gauss"); }, ErrorCode::kInvalidArgument, "gauss");
  EXPECT_EQ(parse_diffusivity("Tukey"), Diffusivity::kTukey);
  ImageView dev = out.view(), dev_src = in.view();
  dev.location = dev_src.location = Location::kDevice;
  expect_error([&] { perona_malik(dev_src, dev, explicit_params(1, 1), cx); },
               ErrorCode::kInvalidArgument, "cuda backend");
}

}  // namespace
}  // namespace pdeimg
