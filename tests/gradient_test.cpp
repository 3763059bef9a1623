// gradient(): known responses of the operators, a naive reference, colour, both backends.
#include "pdeimg/gradient.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "pdeimg/error.hpp"
#include "tests/test_util.hpp"

namespace pdeimg {
namespace {

using test::at;

constexpr double kPi = 3.14159265358979323846;

/// The textbook operators with clamped neighbours, in double: d/dx and d/dy of channel c.
void reference_derivatives(const ImageView& img, int x, int y, int c, GradientOperator op,
                           double* gx, double* gy) {
  auto u = [&](int xx, int yy) {
    return double(at(img, std::clamp(xx, 0, img.width - 1), std::clamp(yy, 0, img.height - 1), c));
  };
  const double w0 = op == GradientOperator::kCentral ? 0 : op == GradientOperator::kSobel ? 1 : 3;
  const double w1 = op == GradientOperator::kCentral ? 1 : op == GradientOperator::kSobel ? 2 : 10;
  *gx = w0 * (u(x + 1, y - 1) - u(x - 1, y - 1)) + w1 * (u(x + 1, y) - u(x - 1, y)) +
        w0 * (u(x + 1, y + 1) - u(x - 1, y + 1));
  *gy = w0 * (u(x - 1, y + 1) - u(x - 1, y - 1)) + w1 * (u(x, y + 1) - u(x, y - 1)) +
        w0 * (u(x + 1, y + 1) - u(x + 1, y - 1));
}

/// Magnitude of the first `np` channels: plain for one, Di Zenzo's (averaged tensor) for more.
double reference_magnitude(const ImageView& img, int x, int y, int np, GradientOperator op) {
  double a = 0, b = 0, c = 0;
  for (int k = 0; k < np; ++k) {
    double gx, gy;
    reference_derivatives(img, x, y, k, op, &gx, &gy);
    a += gx * gx;
    b += gy * gy;
    c += gx * gy;
  }
  a /= np, b /= np, c /= np;
  return std::sqrt(0.5 * ((a + b) + std::sqrt((a - b) * (a - b) + 4 * c * c)));
}

struct Outputs {
  HostImage dx, dy, mag, dir;
  GradientImages images() const {
    GradientImages g;
    g.dx = dx;
    g.dy = dy;
    g.magnitude = mag;
    g.direction = dir;
    return g;
  }
};

Outputs outputs_for(const ImageView& src) {
  return Outputs{HostImage(src.width, src.height, src.channels, PixelType::kF32),
                 HostImage(src.width, src.height, src.channels, PixelType::kF32),
                 HostImage(src.width, src.height, 1, PixelType::kF32),
                 HostImage(src.width, src.height, 1, PixelType::kF32)};
}

GradientParams with_op(GradientOperator op) {
  GradientParams p;
  p.op = op;
  return p;
}

class GradientTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override { PDEIMG_SKIP_IF_UNAVAILABLE(GetParam()); }
  Context ctx() { return Context(GetParam()); }
};

// A unit step gives 1, 4 and 16 on the two pixels beside it (central, Sobel, Scharr), and 0
// everywhere else, on every row including the border rows.
TEST_P(GradientTest, UnitStepHasTheKnownMagnitudeOnTheEdgeAndZeroElsewhere) {
  const int w = 20, h = 9, k = 11;  // step between columns k-1 and k
  for (bool vertical : {false, true}) {
    const int W = vertical ? h : w, H = vertical ? w : h;
    HostImage img(W, H, 1, PixelType::kF32);
    for (int y = 0; y < H; ++y)
      for (int x = 0; x < W; ++x) test::set(img, x, y, 0, (vertical ? y : x) >= k ? 1.0f : 0.0f);
    for (GradientOperator op :
         {GradientOperator::kCentral, GradientOperator::kSobel, GradientOperator::kScharr}) {
      Outputs o = outputs_for(img);
      Context cx = ctx();
      gradient(img, o.images(), with_op(op), cx);
      const float expected = float(gradient_gain(op) / 2.0);
      for (int y = 0; y < H; ++y)
        for (int x = 0; x < W; ++x) {
          const int along = vertical ? y : x;
          const float want = (along == k - 1 || along == k) ? expected : 0.0f;
          ASSERT_EQ(at(o.mag, x, y), want) << to_string(op) << " at " << x << "," << y;
          ASSERT_EQ(at(vertical ? o.dy : o.dx, x, y), want);
          ASSERT_EQ(at(vertical ? o.dx : o.dy, x, y), 0.0f);
          if (want > 0) {
            ASSERT_NEAR(at(o.dir, x, y), vertical ? kPi / 2 : 0.0, 1e-6);
          }
        }
    }
  }
}

// A ramp of slope 1 gives the operator's gain inside and half of it on the border columns, where
// the reflecting boundary halves the central difference.
TEST_P(GradientTest, RampOfSlopeOneGivesTheGain) {
  HostImage img(16, 6, 1, PixelType::kU16);
  for (int y = 0; y < 6; ++y)
    for (int x = 0; x < 16; ++x) test::set(img, x, y, 0, float(100 + x));
  for (GradientOperator op :
       {GradientOperator::kCentral, GradientOperator::kSobel, GradientOperator::kScharr}) {
    Outputs o = outputs_for(img);
    Context cx = ctx();
    gradient(img, o.images(), with_op(op), cx);
    const float g = float(gradient_gain(op));
    for (int y = 0; y < 6; ++y) {
      EXPECT_EQ(at(o.mag, 0, y), g / 2);
      EXPECT_EQ(at(o.mag, 15, y), g / 2);
      for (int x = 1; x < 15; ++x) ASSERT_EQ(at(o.mag, x, y), g) << to_string(op);
    }
  }
}

TEST_P(GradientTest, MatchesNaiveReferenceOnOddSizesAndTypes) {
  const int sizes[][2] = {{1, 1}, {1, 9}, {9, 1}, {2, 2}, {13, 7}, {321, 257}};
  for (const auto& s : sizes)
    for (PixelType type : {PixelType::kU8, PixelType::kU16, PixelType::kF32})
      for (int nc : {1, 3}) {
        const float hi = type == PixelType::kU16 ? 65535.0f : 255.0f;
        HostImage img = test::random_image(s[0], s[1], nc, type, 0.0f, hi, 5 + nc);
        for (GradientOperator op :
             {GradientOperator::kCentral, GradientOperator::kSobel, GradientOperator::kScharr}) {
          Outputs o = outputs_for(img);
          Context cx = ctx();
          gradient(img, o.images(), with_op(op), cx);
          double worst = 0;
          for (int y = 0; y < s[1]; ++y)
            for (int x = 0; x < s[0]; ++x) {
              for (int c = 0; c < nc; ++c) {
                double gx, gy;
                reference_derivatives(img, x, y, c, op, &gx, &gy);
                // Integer samples: every derivative is an exact small integer in float.
                const double tol = type == PixelType::kF32 ? 1e-5 * hi * 32 : 0.0;
                ASSERT_NEAR(at(o.dx, x, y, c), gx, tol) << s[0] << "x" << s[1];
                ASSERT_NEAR(at(o.dy, x, y, c), gy, tol);
              }
              // Relative to the largest magnitude the operator can give on this data.
              const double ref = reference_magnitude(img, x, y, nc, op);
              worst = std::max(worst, std::fabs(at(o.mag, x, y) - ref) / (gradient_gain(op) * hi));
            }
          EXPECT_LT(worst, 2e-6) << s[0] << "x" << s[1] << " " << to_string(type) << " " << nc
                                 << "ch " << to_string(op);
        }
      }
}

// The vector gradient: a grey picture stored as RGB has the grey magnitude; opposite steps in two
// channels do not cancel; alpha stays out unless asked for.
TEST_P(GradientTest, ColourVectorGradient) {
  HostImage grey = test::random_image(40, 30, 1, PixelType::kU8, 0.0f, 255.0f, 3);
  HostImage rgb(40, 30, 3, PixelType::kU8), rgba(40, 30, 4, PixelType::kU8);
  HostImage alpha = test::random_image(40, 30, 1, PixelType::kU8, 0.0f, 255.0f, 4);
  for (int y = 0; y < 30; ++y)
    for (int x = 0; x < 40; ++x)
      for (int c = 0; c < 4; ++c) {
        if (c < 3) test::set(rgb, x, y, c, at(grey, x, y));
        test::set(rgba, x, y, c, c < 3 ? at(grey, x, y) : at(alpha, x, y));
      }
  Outputs og = outputs_for(grey), oc = outputs_for(rgb), oa = outputs_for(rgba),
          oap = outputs_for(rgba);
  Context cx = ctx();
  gradient(grey, og.images(), GradientParams{}, cx);
  gradient(rgb, oc.images(), GradientParams{}, cx);
  gradient(rgba, oa.images(), GradientParams{}, cx);
  GradientParams with_alpha;
  with_alpha.alpha = AlphaMode::kProcess;
  gradient(rgba, oap.images(), with_alpha, cx);
  double d_rgb = 0, d_rgba = 0, d_alpha = 0;
  for (int y = 0; y < 30; ++y)
    for (int x = 0; x < 40; ++x) {
      const double g = at(og.mag, x, y);
      d_rgb = std::max(d_rgb, std::fabs(at(oc.mag, x, y) - g) / std::max(1.0, g));
      d_rgba = std::max(d_rgba, double(std::fabs(at(oa.mag, x, y) - at(oc.mag, x, y))));
      d_alpha = std::max(d_alpha, double(std::fabs(at(oap.mag, x, y) - at(oc.mag, x, y))));
      // The colour direction is the grey one modulo pi.
      const double dg = at(og.dir, x, y), dc = at(oc.dir, x, y);
      if (g > 1) {
        const double diff = std::remainder(dg - dc, kPi);
        ASSERT_NEAR(diff, 0.0, 1e-4) << x << "," << y;
      }
    }
  EXPECT_LT(d_rgb, 2e-6);
  EXPECT_EQ(d_rgba, 0.0) << "alpha must not enter the magnitude by default";
  EXPECT_GT(d_alpha, 1.0) << "AlphaMode::kProcess must let alpha in";

  // Red rises where green falls: a grey-level detector on their sum would see nothing.
  HostImage rg(12, 5, 3, PixelType::kF32);
  for (int y = 0; y < 5; ++y)
    for (int x = 0; x < 12; ++x) {
      test::set(rg, x, y, 0, x >= 6 ? 1.0f : 0.0f);
      test::set(rg, x, y, 1, x >= 6 ? 0.0f : 1.0f);
    }
  Outputs orr = outputs_for(rg);
  gradient(rg, orr.images(), GradientParams{}, cx);
  // mean of gx² over 3 channels: (16 + 16 + 0) / 3.
  EXPECT_NEAR(at(orr.mag, 5, 2), std::sqrt(32.0 / 3.0), 1e-6);
  EXPECT_NEAR(at(orr.dir, 5, 2), 0.0, 1e-6);
  EXPECT_EQ(at(orr.mag, 2, 2), 0.0f);
}

TEST_P(GradientTest, PitchedRegionsOfInterestMatchCompactImages) {
  HostImage big = test::random_image(50, 40, 2, PixelType::kU16, 0.0f, 65535.0f, 8);
  const ImageView roi = big.view().roi(7, 5, 30, 20);
  HostImage compact = HostImage::copy_of(roi);
  HostImage big_out(45, 33, 1, PixelType::kF32);
  const ImageView mag_roi = big_out.view().roi(3, 4, 30, 20);
  HostImage compact_out(30, 20, 1, PixelType::kF32);
  Context cx = ctx();
  GradientImages a, b;
  a.magnitude = mag_roi;
  b.magnitude = compact_out;
  gradient(roi, a, GradientParams{}, cx);
  gradient(compact, b, GradientParams{}, cx);
  EXPECT_TRUE(test::identical(HostImage::copy_of(mag_roi), compact_out));
}

INSTANTIATE_TEST_SUITE_P(Backends, GradientTest, ::testing::Values(Backend::kCpu, Backend::kCuda),
                         test::backend_name);

TEST(GradientCuda, MagnitudesAreBitIdenticalToTheCpu) {
  PDEIMG_SKIP_IF_UNAVAILABLE(Backend::kCuda);
  for (int nc : {1, 3}) {
    HostImage img = test::random_image(321, 257, nc, PixelType::kF32, 0.0f, 1.0f, 31);
    for (GradientOperator op :
         {GradientOperator::kCentral, GradientOperator::kSobel, GradientOperator::kScharr}) {
      Outputs a = outputs_for(img), b = outputs_for(img);
      Context cpu(Backend::kCpu), gpu(Backend::kCuda);
      gradient(img, a.images(), with_op(op), cpu);
      gradient(img, b.images(), with_op(op), gpu);
      EXPECT_TRUE(test::identical(a.mag, b.mag)) << nc << " " << to_string(op);
      EXPECT_TRUE(test::identical(a.dx, b.dx));
      EXPECT_TRUE(test::identical(a.dy, b.dy));
      EXPECT_LE(test::max_abs_diff(a.dir, b.dir), 1e-5);
    }
  }
}

using test::expect_error;

TEST(GradientParams, BadArgumentsAreRejected) {
  HostImage img(10, 8, 3, PixelType::kU8), mag(10, 8, 1, PixelType::kF32),
      small(9, 8, 1, PixelType::kF32), u8(10, 8, 1, PixelType::kU8), dx1(10, 8, 1, PixelType::kF32);
  Context cx(Backend::kCpu);
  expect_error([&] { gradient(img, GradientImages{}, GradientParams{}, cx); },
               ErrorCode::kInvalidArgument, "no output");
  GradientImages g;
  g.magnitude = small;
  expect_error([&] { gradient(img, g, GradientParams{}, cx); }, ErrorCode::kInvalidArgument,
               "9x8x1");
  g.magnitude = u8;
  expect_error([&] { gradient(img, g, GradientParams{}, cx); }, ErrorCode::kInvalidArgument,
               "float32");
  g.magnitude = ImageView{};
  g.dx = dx1;
  expect_error([&] { gradient(img, g, GradientParams{}, cx); }, ErrorCode::kInvalidArgument, "dx");
  g.dx = ImageView{};
  g.magnitude = mag;
  g.direction = mag;
  expect_error([&] { gradient(img, g, GradientParams{}, cx); }, ErrorCode::kInvalidArgument,
               "overlaps");
  EXPECT_EQ(parse_gradient_operator("Scharr"), GradientOperator::kScharr);
  expect_error([&] { parse_gradient_operator("prewitt"); }, ErrorCode::kInvalidArgument, "prewitt");
}

}  // namespace
}  // namespace pdeimg
