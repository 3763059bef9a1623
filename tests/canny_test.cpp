// canny() and hysteresis_threshold(): known edges of synthetic shapes, exactness of hysteresis
// against a naive flood fill, border behaviour, masks, types, and CPU/CUDA identity.
#include "pdeimg/canny.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "pdeimg/error.hpp"
#include "pdeimg/gradient.hpp"
#include "tests/test_util.hpp"

#if defined(PDEIMG_TEST_HAVE_IO)
#include "pdeimg/io.hpp"
#endif

namespace pdeimg {
namespace {

using test::at;

constexpr double kPi = 3.14159265358979323846;

long long count_edges(const ImageView& e) {
  long long n = 0;
  for (int y = 0; y < e.height; ++y)
    for (int x = 0; x < e.width; ++x) n += at(e, x, y) != 0;
  return n;
}

/// Every edge pixel is 0 or 255.
bool binary(const ImageView& e) {
  for (int y = 0; y < e.height; ++y)
    for (int x = 0; x < e.width; ++x)
      if (at(e, x, y) != 0 && at(e, x, y) != 255) return false;
  return true;
}

HostImage edges_like(const ImageView& v) {
  return HostImage(v.width, v.height, 1, PixelType::kU8);
}

/// A filled disc of `value` on 0, radius r, centred in a w x h image; optional Gaussian noise.
HostImage disc(int w, int h, double r, PixelType type, float value, double noise = 0.0,
               unsigned seed = 1) {
  HostImage img(w, h, 1, type);
  std::mt19937 rng(seed);
  std::normal_distribution<double> n(0.0, noise > 0 ? noise : 1.0);
  const double cx = (w - 1) / 2.0, cy = (h - 1) / 2.0;
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      double v = std::hypot(x - cx, y - cy) <= r ? value : 0.0;
      if (noise > 0) v += n(rng);
      if (type != PixelType::kF32)
        v = std::clamp(std::round(v), 0.0, type == PixelType::kU8 ? 255.0 : 65535.0);
      test::set(img, x, y, 0, float(v));
    }
  return img;
}

/// A photo-like 8-bit test picture: a shaded background, overlapping discs and rectangles of
/// different grey levels, a thin line, mild noise. Deterministic.
HostImage picture(int w, int h, int channels = 1, unsigned seed = 7) {
  HostImage img(w, h, channels, PixelType::kU8);
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  struct Shape {
    bool round;
    double x, y, a, b;
    double v[4];
  };
  std::vector<Shape> shapes;
  for (int i = 0; i < 12; ++i) {
    Shape s{u(rng) < 0.5, u(rng) * w, u(rng) * h, 5 + u(rng) * w / 4, 5 + u(rng) * h / 4, {}};
    for (double& v : s.v) v = 20 + 215 * u(rng);
    shapes.push_back(s);
  }
  std::normal_distribution<double> noise(0.0, 3.0);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < channels; ++c) {
        double v = 60 + 80.0 * x / w + 30.0 * y / h + 10 * c;
        for (const Shape& s : shapes) {
          const bool in = s.round ? std::hypot(x - s.x, y - s.y) <= s.a
                                  : std::fabs(x - s.x) <= s.a && std::fabs(y - s.y) <= s.b;
          if (in) v = s.v[c];
        }
        if (std::abs(x - y - w / 5) <= 0) v = 250;
        v += noise(rng);
        test::set(img, x, y, c, float(std::clamp(std::round(v), 0.0, 255.0)));
      }
  return img;
}

CannyParams absolute(double sigma, double low, double high) {
  CannyParams p;
  p.sigma = sigma;
  p.low = low;
  p.high = high;
  return p;
}

class CannyTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override { PDEIMG_SKIP_IF_UNAVAILABLE(GetParam()); }
  Context ctx() { return Context(GetParam()); }
};

TEST_P(CannyTest, BlankImageHasNoEdges) {
  for (PixelType type : {PixelType::kU8, PixelType::kU16, PixelType::kF32})
    for (int nc : {1, 3}) {
      HostImage img(64, 48, nc, type);
      for (int y = 0; y < 48; ++y)
        for (int x = 0; x < 64; ++x)
          for (int c = 0; c < nc; ++c) test::set(img, x, y, c, 77.0f);
      HostImage e = edges_like(img);
      Context cx = ctx();
      canny(img, e, absolute(1.0, 0.0, 0.0), cx);  // even with zero thresholds
      EXPECT_EQ(count_edges(e), 0) << to_string(type);
      CannyParams q;
      q.thresholds = ThresholdMode::kQuantile;
      canny(img, e, q, cx);
      EXPECT_EQ(count_edges(e), 0) << "quantiles, " << to_string(type);
    }
}

// A disc of radius 100 smoothed with sigma 4: edges lie within 3 pixels of the circle and their
// count is close to the circumference 2 pi r = 628 (within -15 % / +20 %): a thin 8-connected
// digital circle has 8 r / sqrt 2 = 566 pixels, and suppression keeps a few 4-connected corner
// pixels on top (measured 724; cv::Canny with L2gradient gives 732 on the same blurred disc).
// The same with Gaussian noise of deviation 20 added.
TEST_P(CannyTest, DiscEdgesFollowTheCircle) {
  const double r = 100;
  for (double noise : {0.0, 20.0}) {
    HostImage img = disc(300, 300, r, PixelType::kF32, 255.0f, noise, 3);
    HostImage e = edges_like(img);
    Context cx = ctx();
    const CannyReport rep = canny(img, e, absolute(4.0, 40.0, 80.0), cx);
    EXPECT_EQ(rep.smoothing_steps, heat_steps_for(8.0));  // T = sigma² / 2
    long long n = 0, off = 0;
    for (int y = 0; y < 300; ++y)
      for (int x = 0; x < 300; ++x) {
        if (at(e, x, y) == 0) continue;
        ++n;
        const double d = std::fabs(std::hypot(x - 149.5, y - 149.5) - r);
        off += d > 3.0;
      }
    std::printf("noise %.0f: %lld edge pixels, %lld off the circle\n", noise, n, off);
    EXPECT_EQ(off, 0) << "noise " << noise;
    EXPECT_GE(n, 0.85 * 2 * kPi * r) << "noise " << noise;
    EXPECT_LE(n, 1.20 * 2 * kPi * r) << "noise " << noise;
    EXPECT_TRUE(binary(e));
  }
}

TEST_P(CannyTest, FullyMaskedImageHasNoEdgesAndAMaskLimitsThem) {
  HostImage img = disc(120, 100, 30, PixelType::kU8, 200.0f);
  HostImage e = edges_like(img), mask(120, 100, 1, PixelType::kU8);
  Context cx = ctx();
  CannyImages extra;
  extra.mask = mask;
  canny(img, e, extra, absolute(1.5, 20, 60), cx);
  EXPECT_EQ(count_edges(e), 0);
  CannyParams q = absolute(1.5, 0.5, 0.9);
  q.thresholds = ThresholdMode::kQuantile;
  canny(img, e, extra, q, cx);
  EXPECT_EQ(count_edges(e), 0) << "quantiles over an empty mask";
  // Only the left half allowed: edges there, none on the right.
  for (int y = 0; y < 100; ++y)
    for (int x = 0; x < 60; ++x) test::set(mask, x, y, 0, 1.0f);
  HostImage full = edges_like(img);
  canny(img, full, absolute(1.5, 20, 60), cx);
  canny(img, e, extra, absolute(1.5, 20, 60), cx);
  long long left = 0;
  for (int y = 0; y < 100; ++y)
    for (int x = 0; x < 120; ++x) {
      if (x >= 60)
        ASSERT_EQ(at(e, x, y), 0.0f);
      else
        left += at(e, x, y) != 0;
    }
  EXPECT_GT(left, 50);
}

TEST_P(CannyTest, Uint8Uint16AndFloatOfTheSamePictureGiveTheSameEdges) {
  HostImage u8 = picture(211, 157);
  HostImage u16(211, 157, 1, PixelType::kU16), f32(211, 157, 1, PixelType::kF32);
  for (int y = 0; y < 157; ++y)
    for (int x = 0; x < 211; ++x) {
      test::set(f32, x, y, 0, at(u8, x, y));
      test::set(u16, x, y, 0, at(u8, x, y));
    }
  for (double sigma : {0.0, 1.5}) {
    HostImage e8 = edges_like(u8), e16 = edges_like(u8), ef = edges_like(u8);
    Context cx = ctx();
    const CannyParams p = absolute(sigma, 30, 90);
    canny(u8, e8, p, cx);
    canny(u16, e16, p, cx);
    canny(f32, ef, p, cx);
    EXPECT_GT(count_edges(e8), 500);
    EXPECT_TRUE(test::identical(e8, ef)) << "sigma " << sigma;
    EXPECT_TRUE(test::identical(e8, e16)) << "sigma " << sigma;
  }
}

// A vertical step reaching the top and bottom borders is an edge on every row, border rows
// included. A horizontal step between the first two rows is one edge along the whole top: on row
// 0 without smoothing; smoothing blurs the one-row strip with its mirror image across the border
// (reflecting boundary), which moves the steepest slope down to row 1 (sigma 1) or 2 (sigma 2).
TEST_P(CannyTest, StepEdgesAreDetectedUpToTheBorder) {
  for (double sigma : {0.0, 1.0, 2.0}) {
    HostImage v(60, 40, 1, PixelType::kU8), hz(60, 40, 1, PixelType::kU8);
    for (int y = 0; y < 40; ++y)
      for (int x = 0; x < 60; ++x) {
        test::set(v, x, y, 0, x >= 25 ? 200.0f : 10.0f);
        test::set(hz, x, y, 0, y >= 1 ? 200.0f : 10.0f);
      }
    HostImage ev = edges_like(v), eh = edges_like(hz);
    Context cx = ctx();
    canny(v, ev, absolute(sigma, 20, 50), cx);
    canny(hz, eh, absolute(sigma, 20, 50), cx);
    for (int y = 0; y < 40; ++y) {
      int n = 0;
      for (int x = 0; x < 60; ++x) n += at(ev, x, y) != 0;
      ASSERT_EQ(n, 1) << "row " << y << " sigma " << sigma;
      ASSERT_TRUE(at(ev, 24, y) != 0 || at(ev, 25, y) != 0) << "row " << y;
    }
    EXPECT_EQ(count_edges(ev), 40);
    const int row = sigma == 0.0 ? 0 : sigma == 1.0 ? 1 : 2;
    for (int x = 0; x < 60; ++x)
      ASSERT_NE(at(eh, x, row), 0.0f) << "column " << x << " sigma " << sigma;
    EXPECT_EQ(count_edges(eh), 60) << "sigma " << sigma;
  }
}

// Exactness of hysteresis: a naive breadth-first flood fill from every strong pixel is the
// reference. Uniform random maps with low = 0.45 make candidates percolate into huge, tangled
// 8-connected clusters; low = 0.8 gives many small ones.
std::vector<std::uint8_t> reference_hysteresis(const ImageView& v, float low, float high) {
  const int w = v.width, h = v.height;
  std::vector<std::uint8_t> out(static_cast<std::size_t>(w) * h, 0);
  std::vector<int> queue;
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      if (at(v, x, y) > high) {
        out[static_cast<std::size_t>(y) * w + x] = 255;
        queue.push_back(y * w + x);
      }
  for (std::size_t i = 0; i < queue.size(); ++i) {
    const int x = queue[i] % w, y = queue[i] / w;
    for (int dy = -1; dy <= 1; ++dy)
      for (int dx = -1; dx <= 1; ++dx) {
        const int nx = x + dx, ny = y + dy;
        if (nx < 0 || ny < 0 || nx >= w || ny >= h) continue;
        std::uint8_t& o = out[static_cast<std::size_t>(ny) * w + nx];
        if (o == 0 && at(v, nx, ny) > low) {
          o = 255;
          queue.push_back(ny * w + nx);
        }
      }
  }
  return out;
}

TEST_P(CannyTest, HysteresisEqualsNaiveFloodFill) {
  const int sizes[][2] = {{1, 1}, {13, 7}, {1, 300}, {300, 1}, {321, 257}, {1000, 37}};
  for (const auto& s : sizes)
    for (float low : {0.3f, 0.45f, 0.6f, 0.8f})
      for (unsigned seed : {1u, 2u}) {
        HostImage v = test::random_image(s[0], s[1], 1, PixelType::kF32, 0.0f, 1.0f, seed);
        const float high = 0.97f;
        HostImage e = edges_like(v);
        Context cx = ctx();
        hysteresis_threshold(v, e, low, high, cx);
        const auto ref = reference_hysteresis(v, low, high);
        long long mismatch = 0, edges = 0;
        for (int y = 0; y < s[1]; ++y)
          for (int x = 0; x < s[0]; ++x) {
            mismatch += at(e, x, y) != ref[static_cast<std::size_t>(y) * s[0] + x];
            edges += ref[static_cast<std::size_t>(y) * s[0] + x] != 0;
          }
        EXPECT_EQ(mismatch, 0) << s[0] << "x" << s[1] << " low " << low << " seed " << seed << " ("
                               << edges << " edge pixels)";
      }
}

// A single serpentine path of candidates about n²/2 pixels long, strong only at its far end.
// Iterative schemes that stop after a fixed number of passes would cut it; exact hysteresis keeps
// all of it.
TEST_P(CannyTest, HysteresisFollowsAVeryLongPath) {
  const int n = 255;
  HostImage v(n, n, 1, PixelType::kF32);
  for (int y = 0; y < n; y += 2) {
    for (int x = 0; x < n; ++x) test::set(v, x, y, 0, 0.5f);
    if (y + 1 < n) test::set(v, (y / 2) % 2 == 0 ? n - 1 : 0, y + 1, 0, 0.5f);
  }
  test::set(v, (n / 2) % 2 == 0 ? n - 1 : 0, n - 1, 0, 1.0f);  // the far end of the last row
  HostImage e = edges_like(v);
  Context cx = ctx();
  hysteresis_threshold(v, e, 0.25f, 0.75f, cx);
  const auto ref = reference_hysteresis(v, 0.25f, 0.75f);
  long long mismatch = 0;
  for (int yy = 0; yy < n; ++yy)
    for (int xx = 0; xx < n; ++xx) mismatch += at(e, xx, yy) != ref[std::size_t(yy) * n + xx];
  EXPECT_EQ(mismatch, 0);
  EXPECT_EQ(count_edges(e), 128LL * n + 127);
}

TEST_P(CannyTest, TwoRunsAreIdentical) {
  HostImage img = picture(300, 211, 3);
  for (ThresholdMode mode : {ThresholdMode::kAbsolute, ThresholdMode::kQuantile}) {
    CannyParams p;
    p.sigma = 1.2;
    p.thresholds = mode;
    if (mode == ThresholdMode::kAbsolute) p.low = 20, p.high = 60;
    HostImage a = edges_like(img), b = edges_like(img);
    Context c1 = ctx();
    canny(img, a, p, c1);
    Context c2 = ctx();
    canny(img, b, p, c2);
    EXPECT_TRUE(test::identical(a, b));
    canny(img, b, p, c2);  // a reused context (scratch kept) too
    EXPECT_TRUE(test::identical(a, b));
    EXPECT_GT(count_edges(a), 300);
  }
}

// Quantile thresholds are the quantiles of the magnitude canny thresholds, interpolated like numpy.
TEST_P(CannyTest, QuantileThresholdsAreQuantilesOfTheMagnitude) {
  HostImage img = picture(101, 77);
  HostImage e = edges_like(img), mag(101, 77, 1, PixelType::kF32);
  CannyParams p;
  p.sigma = 1.0;
  p.thresholds = ThresholdMode::kQuantile;
  p.low = 0.7;
  p.high = 0.95;
  CannyImages extra;
  extra.magnitude = mag;
  Context cx = ctx();
  const CannyReport r = canny(img, e, extra, p, cx);
  std::vector<double> v;
  for (int y = 0; y < 77; ++y)
    for (int x = 0; x < 101; ++x) v.push_back(at(mag, x, y));
  std::sort(v.begin(), v.end());
  auto q = [&](double f) {
    const double pos = f * (v.size() - 1);
    const std::size_t lo = std::size_t(std::floor(pos));
    const double hi = lo + 1 < v.size() ? v[lo + 1] : v[lo];
    return v[lo] + (hi - v[lo]) * (pos - lo);
  };
  EXPECT_NEAR(r.low, q(0.7), 1e-4 * q(0.7));
  EXPECT_NEAR(r.high, q(0.95), 1e-4 * q(0.95));
  // The same edges as absolute thresholds of those values.
  HostImage e2 = edges_like(img);
  canny(img, e2, absolute(1.0, r.low, r.high), cx);
  EXPECT_TRUE(test::identical(e, e2));
}

// Operators are rescaled to the Sobel scale, so one pair of thresholds fits all three.
TEST_P(CannyTest, OperatorsShareTheSobelScale) {
  HostImage img = disc(160, 160, 50, PixelType::kU8, 200.0f);
  for (GradientOperator op :
       {GradientOperator::kCentral, GradientOperator::kSobel, GradientOperator::kScharr}) {
    HostImage e = edges_like(img), mag(160, 160, 1, PixelType::kF32);
    CannyParams p = absolute(2.0, 30, 80);
    p.op = op;
    CannyImages extra;
    extra.magnitude = mag;
    Context cx = ctx();
    canny(img, e, extra, p, cx);
    long long n = 0, off = 0;
    float peak = 0;
    for (int y = 0; y < 160; ++y)
      for (int x = 0; x < 160; ++x) {
        peak = std::max(peak, at(mag, x, y));
        if (at(e, x, y) == 0) continue;
        ++n;
        off += std::fabs(std::hypot(x - 79.5, y - 79.5) - 50) > 2.5;
      }
    EXPECT_EQ(off, 0) << to_string(op);
    EXPECT_GT(n, 0.85 * 2 * kPi * 50) << to_string(op);
    EXPECT_LT(n, 1.20 * 2 * kPi * 50) << to_string(op);
    // A 200 step blurred by sigma 2: Sobel peak about 8 * 200 / (sqrt(2 pi) * 2.2) = 290.
    EXPECT_GT(peak, 200) << to_string(op);
    EXPECT_LT(peak, 400) << to_string(op);
  }
}

// Colour: an edge between two colours of equal grey level is found by the vector gradient.
TEST_P(CannyTest, IsoluminantColourEdgeIsFound) {
  HostImage img(80, 50, 3, PixelType::kU8);
  for (int y = 0; y < 50; ++y)
    for (int x = 0; x < 80; ++x) {
      test::set(img, x, y, 0, x < 40 ? 200.0f : 50.0f);
      test::set(img, x, y, 1, x < 40 ? 50.0f : 200.0f);
      test::set(img, x, y, 2, 100.0f);
    }
  HostImage e = edges_like(img);
  Context cx = ctx();
  canny(img, e, absolute(1.0, 20, 60), cx);
  for (int y = 0; y < 50; ++y) ASSERT_TRUE(at(e, 39, y) != 0 || at(e, 40, y) != 0) << y;
  EXPECT_EQ(count_edges(e), 50);
}

TEST_P(CannyTest, PeronaMalikSmoothingFindsTheDisc) {
  HostImage img = disc(120, 120, 40, PixelType::kF32, 200.0f, 10.0, 5);
  HostImage e = edges_like(img);
  CannyParams p = absolute(0, 60, 150);
  p.smoothing = CannySmoothing::kPeronaMalik;
  Context cx = ctx();
  const CannyReport r = canny(img, e, p, cx);
  EXPECT_GT(r.smoothing_steps, 0);
  long long n = 0, off = 0;
  for (int y = 0; y < 120; ++y)
    for (int x = 0; x < 120; ++x) {
      if (at(e, x, y) == 0) continue;
      ++n;
      off += std::fabs(std::hypot(x - 59.5, y - 59.5) - 40) > 3;
    }
  EXPECT_GT(n, 200);
  EXPECT_LT(off, n / 20) << n;
}

INSTANTIATE_TEST_SUITE_P(Backends, CannyTest, ::testing::Values(Backend::kCpu, Backend::kCuda),
                         test::backend_name);

// --- CPU specifics -----------------------------------------------------------------------------

TEST(CannyCpu, ResultDoesNotDependOnThreads) {
  HostImage img = picture(640, 480, 1, 11);
  HostImage a = edges_like(img), b = edges_like(img);
  Context many(Backend::kCpu), one(Backend::kCpu);
  many.set_threads(7);  // more bands than cores, uneven
  one.set_threads(1);
  const CannyParams p = absolute(1.0, 15, 40);
  canny(img, a, p, many);
  canny(img, b, p, one);
  EXPECT_TRUE(test::identical(a, b));
  HostImage v = test::random_image(333, 444, 1, PixelType::kF32, 0.0f, 1.0f, 3);
  hysteresis_threshold(v, a.view().roi(0, 0, 333, 444), 0.4f, 0.95f, many);
  HostImage c(333, 444, 1, PixelType::kU8);
  hysteresis_threshold(v, c, 0.4f, 0.95f, one);
  EXPECT_TRUE(test::identical(HostImage::copy_of(a.view().roi(0, 0, 333, 444)), c));
}

TEST(CannyCpu, MagnitudeOutputIsTheGradientMagnitude) {
  HostImage img = picture(97, 61, 3);
  HostImage e = edges_like(img), mag(97, 61, 1, PixelType::kF32), ref(97, 61, 1, PixelType::kF32);
  Context cx(Backend::kCpu);
  CannyImages extra;
  extra.magnitude = mag;
  canny(img, e, extra, absolute(0, 20, 50), cx);
  GradientImages g;
  g.magnitude = ref;
  gradient(img, g, GradientParams{}, cx);
  EXPECT_TRUE(test::identical(mag, ref));
}

// --- CPU and CUDA give the same edges -----------------------------------------------------------

void expect_backends_agree(const ImageView& img, const CannyParams& p, const std::string& what) {
  HostImage a = edges_like(img), b = edges_like(img);
  Context cpu(Backend::kCpu), gpu(Backend::kCuda);
  const CannyReport ra = canny(img, a, p, cpu);
  const CannyReport rb = canny(img, b, p, gpu);
  EXPECT_EQ(ra.low, rb.low) << what;
  EXPECT_EQ(ra.high, rb.high) << what;
  long long diff = 0;
  for (int y = 0; y < img.height; ++y)
    for (int x = 0; x < img.width; ++x) diff += at(a, x, y) != at(b, x, y);
  EXPECT_EQ(diff, 0) << what << ": " << diff << " of " << count_edges(a) << " edge pixels differ";
}

TEST(CannyCuda, EdgeMapsAreIdenticalToTheCpuOnSyntheticPictures) {
  PDEIMG_SKIP_IF_UNAVAILABLE(Backend::kCuda);
  for (int nc : {1, 3}) {
    HostImage img = picture(517, 389, nc, 13);
    for (GradientOperator op :
         {GradientOperator::kCentral, GradientOperator::kSobel, GradientOperator::kScharr})
      for (double sigma : {0.0, 1.4}) {
        CannyParams p = absolute(sigma, 20, 60);
        p.op = op;
        expect_backends_agree(img, p, std::to_string(nc) + "ch " + to_string(op));
        p.thresholds = ThresholdMode::kQuantile;
        p.low = 0.8;
        p.high = 0.95;
        expect_backends_agree(img, p, std::to_string(nc) + "ch quantiles " + to_string(op));
      }
  }
}

TEST(CannyCuda, EdgeMapsAreIdenticalToTheCpuOnTheSampleImages) {
  PDEIMG_SKIP_IF_UNAVAILABLE(Backend::kCuda);
#if defined(PDEIMG_TEST_HAVE_IO)
  int tested = 0;
  for (const char* name : {"camera.png", "coins.png", "astronaut.png", "chelsea.png", "text.png"}) {
    const std::string path = std::string(PDEIMG_TEST_DATA_DIR) + "/images/" + name;
    HostImage img;
    try {
      img = io::read_image(path);
    } catch (const Error&) {
      continue;
    }
    ++tested;
    expect_backends_agree(img, absolute(1.4, 40, 100), name);
    CannyParams q;
    q.thresholds = ThresholdMode::kQuantile;
    expect_backends_agree(img, q, std::string(name) + " quantiles");
  }
  if (tested == 0) GTEST_SKIP() << "no sample images in " << PDEIMG_TEST_DATA_DIR << "/images";
#else
  GTEST_SKIP() << "built without pdeimg::io (OpenCV): cannot read the sample images";
#endif
}

TEST(CannyCuda, DeviceViewsMatchHostViews) {
  PDEIMG_SKIP_IF_UNAVAILABLE(Backend::kCuda);
  HostImage img = picture(400, 300);
  HostImage via_host = edges_like(img), via_device = edges_like(img);
  Context gpu(Backend::kCuda);
  CannyParams p;
  p.thresholds = ThresholdMode::kQuantile;
  canny(img, via_host, p, gpu);
  DeviceImage d_img(400, 300, 1, PixelType::kU8), d_edges(400, 300, 1, PixelType::kU8);
  d_img.upload(img);
  const CannyReport r = canny(d_img, d_edges, p, gpu);
  EXPECT_TRUE(std::isnan(r.low)) << "device quantiles stay on the device";
  gpu.synchronize();
  d_edges.download(via_device);
  EXPECT_TRUE(test::identical(via_host, via_device));
}

// --- parameters and errors
// ------------------------------------------------------------------------

using test::expect_error;

TEST(CannyParams, DefaultsAndBadArguments) {
  HostImage img = picture(50, 40);
  HostImage e = edges_like(img), e16(50, 40, 1, PixelType::kU16), small(49, 40, 1, PixelType::kU8);
  Context cx(Backend::kCpu);
  const CannyReport r = canny(img, e, CannyParams{}, cx);
  EXPECT_FLOAT_EQ(r.low, 25.5f);  // 10 % and 20 % of 255
  EXPECT_FLOAT_EQ(r.high, 51.0f);
  EXPECT_EQ(r.smoothing_steps, heat_steps_for(0.5));  // sigma 1: T = 0.5
  EXPECT_DOUBLE_EQ(r.smoothing_time, 0.5);
  expect_error([&] { canny(img, e16, CannyParams{}, cx); }, ErrorCode::kInvalidArgument, "edges");
  expect_error([&] { canny(img, small, CannyParams{}, cx); }, ErrorCode::kInvalidArgument, "49x40");
  expect_error([&] { canny(img, e, absolute(1, 50, 20), cx); }, ErrorCode::kInvalidArgument,
               "must not exceed");
  expect_error([&] { canny(img, e, absolute(1, -1, 20), cx); }, ErrorCode::kInvalidArgument, "-1");
  expect_error([&] { canny(img, e, absolute(-2, 1, 20), cx); }, ErrorCode::kInvalidArgument,
               "sigma");
  CannyParams q = absolute(1, 0.5, 1.5);
  q.thresholds = ThresholdMode::kQuantile;
  expect_error([&] { canny(img, e, q, cx); }, ErrorCode::kInvalidArgument, "[0, 1]");
  HostImage mask(50, 40, 1, PixelType::kF32);
  CannyImages extra;
  extra.mask = mask;
  expect_error([&] { canny(img, e, extra, CannyParams{}, cx); }, ErrorCode::kInvalidArgument,
               "mask");
  expect_error([&] { hysteresis_threshold(img, e, 0.1f, 0.2f, cx); }, ErrorCode::kInvalidArgument,
               "float32");
  EXPECT_EQ(parse_canny_smoothing("Perona-Malik"), CannySmoothing::kPeronaMalik);
  expect_error([&] { parse_canny_smoothing("gauss"); }, ErrorCode::kInvalidArgument, "gauss");
}

// Smoothing takes explicit steps (identical edge maps on both backends) up to
// kCannyMaxExplicitSteps, then heat_smooth's cheaper schemes: sigma 1e4 was 4e8 explicit steps,
// minutes on a 64x64 image; now it is the spectral solution, a flat image without edges.
TEST(CannyParams, LongSmoothingLeavesExplicitSteps) {
  const HostImage img = picture(64, 48);
  HostImage e = edges_like(img);
  Context cx(Backend::kCpu);
  const double at_limit = std::sqrt(2.0 * kCannyMaxExplicitSteps * 0.125);  // sigma 16
  CannyReport r = canny(img, e, absolute(at_limit, 10, 20), cx);
  EXPECT_EQ(r.smoothing_scheme, HeatScheme::kExplicit);
  EXPECT_EQ(r.smoothing_steps, kCannyMaxExplicitSteps);
  r = canny(img, e, absolute(at_limit * 1.01, 10, 20), cx);
  EXPECT_NE(r.smoothing_scheme, HeatScheme::kExplicit);
  EXPECT_LT(r.smoothing_steps, kCannyMaxExplicitSteps / 4);
  for (const double sigma : {1e4, 1e8}) {
    r = canny(img, e, absolute(sigma, 1e-3, 2e-3), cx);
    EXPECT_EQ(r.smoothing_scheme, HeatScheme::kSpectral) << sigma;
    EXPECT_DOUBLE_EQ(r.smoothing_time, 0.5 * sigma * sigma);
    long long edges = 0;
    for (int y = 0; y < e.height(); ++y)
      for (int x = 0; x < e.width(); ++x) edges += e.row<const std::uint8_t>(y)[x] != 0;
    EXPECT_EQ(edges, 0) << "sigma " << sigma;
  }
}

// validate(CannyParams) refuses, without an image, every parameter canny() would refuse for any
// image; an app checks its command line with it before reading any file.
TEST(CannyParams, ValidateRefusesWhatCannyRefusesForEveryImage) {
  EXPECT_NO_THROW(validate(CannyParams{}));
  EXPECT_NO_THROW(validate(absolute(0, 60, std::nan(""))));  // the default high depends on the type
  const auto bad = [](CannyParams p, const std::string& needle) {
    SCOPED_TRACE(needle);
    expect_error([&] { validate(p); }, ErrorCode::kInvalidArgument, needle);
  };
  bad(absolute(std::nan(""), 1, 2), "sigma");
  bad(absolute(INFINITY, 1, 2), "sigma");
  bad(absolute(1e-200, 1, 2), "too small");  // sigma^2 / 2 underflows
  bad(absolute(1e308, 1, 2), "too large");
  EXPECT_NO_THROW(validate(absolute(3e4, 1, 2)));  // past 1e9 explicit steps: FED or spectral
  bad(absolute(1, 50, 20), "must not exceed");
  bad(absolute(1, -1, 20), "-1");
  bad(absolute(1, 1, INFINITY), "finite");
  bad(absolute(1, 2e4, std::nan("")), "every sample type");   // above 13107, uint16's default high
  bad(absolute(1, std::nan(""), 0.05), "every sample type");  // below 0.1, float's default low
  CannyParams q;
  q.thresholds = ThresholdMode::kQuantile;
  q.low = 0.95;  // above the default high quantile 0.9
  bad(q, "the default");
  q.low = std::nan("");
  q.high = 0.5;  // below the default low quantile 0.8
  bad(q, "the default");
  q.high = 1.5;
  bad(q, "[0, 1]");
  CannyParams pm;
  pm.smoothing = CannySmoothing::kPeronaMalik;
  pm.perona_malik.time = INFINITY;
  bad(pm, "time");
  CannyParams unknown;
  unknown.smoothing = static_cast<CannySmoothing>(7);
  bad(unknown, "smoothing");
  // canny() refuses the same before touching the image.
  HostImage img = picture(20, 16), e = edges_like(img);
  Context cx(Backend::kCpu);
  expect_error([&] { canny(img, e, absolute(1e-200, 1, 2), cx); }, ErrorCode::kInvalidArgument,
               "too small");
}

}  // namespace
}  // namespace pdeimg
