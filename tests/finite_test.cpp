// Non-finite samples and the float range (NonFinite, include/pdeimg/image.hpp): refused by
// default with a count and a position; as missing data left out of every stencil and statistic
// and written back as they were; and finite inputs of any magnitude never give non-finite
// results (the exact power-of-two scaling of src/finite.hpp).
#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "pdeimg/canny.hpp"
#include "pdeimg/context.hpp"
#include "pdeimg/error.hpp"
#include "pdeimg/gradient.hpp"
#include "pdeimg/heat.hpp"
#include "pdeimg/image.hpp"
#include "pdeimg/noise.hpp"
#include "pdeimg/perona_malik.hpp"
#include "tests/test_util.hpp"

namespace pdeimg {
namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

float& px(const ImageView& v, int x, int y, int c = 0) {
  return v.row<float>(y)[static_cast<std::ptrdiff_t>(x) * v.channels + c];
}

bool same_bits(float a, float b) {
  return std::memcmp(&a, &b, sizeof a) == 0;
}

/// Every sample of `v` is finite.
bool all_finite(const ImageView& v) {
  for (int y = 0; y < v.height; ++y)
    for (int x = 0; x < v.width; ++x)
      for (int c = 0; c < v.channels; ++c)
        if (!std::isfinite(test::at(v, x, y, c))) return false;
  return true;
}

/// The sub-image [x0, x0 + w) x [0, h) of a float image, copied.
HostImage crop(const ImageView& v, int x0, int w) {
  return HostImage::copy_of(v.roi(x0, 0, w, v.height));
}

/// A smooth picture with noise: values about 40..220.
HostImage picture(int w, int h, int c, unsigned seed) {
  HostImage img(w, h, c, PixelType::kF32);
  std::mt19937 rng(seed);
  std::normal_distribution<float> noise(0.0f, 8.0f);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int k = 0; k < c; ++k)
        px(img, x, y, k) = 40.0f + 150.0f * x / w + 20.0f * k + (x > w / 2 ? 30.0f : 0.0f) +
                           10.0f * std::sin(0.2f * y) + noise(rng);
  return img;
}

class FiniteTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override { PDEIMG_SKIP_IF_UNAVAILABLE(GetParam()); }
  Context ctx() { return Context(GetParam()); }
};

TEST(CountNonFinite, CountsAndFindsTheFirstInRowMajorOrder) {
  HostImage img = picture(13, 7, 3, 1);
  px(img, 1, 4, 0) = kInf;
  px(img, 5, 2, 1) = kNaN;
  px(img, 12, 6, 2) = -kInf;
  const NonFiniteCount n = count_non_finite(img);
  EXPECT_EQ(n.count, 3);
  EXPECT_EQ(n.x, 5);
  EXPECT_EQ(n.y, 2);
  EXPECT_EQ(n.channel, 1);
  const NonFiniteCount first_channel = count_non_finite(img, 1);
  EXPECT_EQ(first_channel.count, 1);
  EXPECT_EQ(first_channel.x, 1);
  EXPECT_EQ(first_channel.y, 4);
  EXPECT_EQ(count_non_finite(HostImage(5, 5, 1, PixelType::kU8)).count, 0);
  EXPECT_EQ(parse_non_finite("Missing"), NonFinite::kMissing);
  EXPECT_STREQ(to_string(NonFinite::kRefuse), "refuse");
  EXPECT_THROW(parse_non_finite("zero"), Error);
}

// Every operation refuses non-finite input by default, saying how many and where the first is.
TEST_P(FiniteTest, EveryOperationRefusesNonFiniteInputByDefault) {
  HostImage img = picture(40, 30, 3, 2);
  px(img, 5, 2, 1) = kNaN;
  px(img, 9, 20, 0) = kInf;
  px(img, 39, 29, 2) = -kInf;
  HostImage out(40, 30, 3, PixelType::kF32), mag(40, 30, 1, PixelType::kF32),
      edges(40, 30, 1, PixelType::kU8);
  Context cx = ctx();
  const std::string where =
      "3 non-finite samples (NaN or infinity), the first at x 5, y 2, channel 1";
  HeatParams hp;
  hp.sigma = 1.0;
  test::expect_error([&] { heat_smooth(img, out, hp, cx); }, ErrorCode::kInvalidArgument, where);
  test::expect_error([&] { perona_malik(img, out, PeronaMalikParams{}, cx); },
                     ErrorCode::kInvalidArgument, where);
  test::expect_error([&] { estimate_noise(img, cx); }, ErrorCode::kInvalidArgument, where);
  GradientImages g;
  g.magnitude = mag;
  test::expect_error([&] { gradient(img, g, GradientParams{}, cx); }, ErrorCode::kInvalidArgument,
                     where);
  test::expect_error([&] { canny(img, edges, CannyParams{}, cx); }, ErrorCode::kInvalidArgument,
                     where);
  // Alpha that is only copied may hold anything.
  HostImage rgba = picture(20, 10, 4, 3);
  px(rgba, 3, 3, 3) = kNaN;
  HostImage rgba_out(20, 10, 4, PixelType::kF32);
  heat_smooth(rgba, rgba_out, hp, cx);
  EXPECT_TRUE(std::isnan(px(rgba_out, 3, 3, 3)));
}

// A hole across the whole image: with missing data each side evolves exactly as the side alone
// would with its reflecting border (4-neighbour stencils read the centre's value across both),
// and the hole is written back bit for bit (NaN, +inf and -inf alike).
TEST_P(FiniteTest, MissingColumnSplitsTheImageIntoIndependentHalves) {
  const int w = 41, h = 23, hole = 17;
  for (const int channels : {1, 3}) {
    HostImage img = picture(w, h, channels, 4);
    for (int y = 0; y < h; ++y)
      for (int c = 0; c < channels; ++c)
        px(img, hole, y, c) = y % 3 == 0 ? kNaN : (y % 3 == 1 ? kInf : -kInf);
    Context cx = ctx();
    HeatParams hp;
    hp.time = 3.0;
    hp.non_finite = NonFinite::kMissing;
    PeronaMalikParams pp;
    pp.contrast = ContrastMode::kAbsolute;
    pp.k = 12.0;
    pp.steps = 20;
    pp.non_finite = NonFinite::kMissing;
    for (int op = 0; op < 3; ++op) {
      if (op == 2) pp.colour = ColourMode::kPerChannel;
      const auto run = [&](const ImageView& in, const ImageView& out) {
        if (op == 0) {
          heat_smooth(in, out, hp, cx);
        } else {
          perona_malik(in, out, pp, cx);
        }
      };
      HostImage out(w, h, channels, PixelType::kF32);
      run(img, out);
      HostImage left = crop(img, 0, hole), right = crop(img, hole + 1, w - hole - 1);
      HostImage left_out(left.width(), h, channels, PixelType::kF32),
          right_out(right.width(), h, channels, PixelType::kF32);
      run(left, left_out);
      run(right, right_out);
      EXPECT_TRUE(test::identical(crop(out, 0, hole), left_out)) << "op " << op << " c" << channels;
      EXPECT_TRUE(test::identical(crop(out, hole + 1, w - hole - 1), right_out))
          << "op " << op << " c" << channels;
      for (int y = 0; y < h; ++y)
        for (int c = 0; c < channels; ++c)
          EXPECT_TRUE(same_bits(px(out, hole, y, c), px(img, hole, y, c))) << y;
    }
  }
}

// Scattered holes: the rest stays finite, the mean of the finite samples is conserved (the flux
// into a hole is 0), a constant image with holes stays exactly constant, and 8-neighbour
// Perona–Malik and every diffusivity keep these properties too.
TEST_P(FiniteTest, ScatteredHolesConserveTheMeanAndKeepConstantsConstant) {
  const int w = 64, h = 48;
  HostImage img = picture(w, h, 3, 5);
  HostImage flat(w, h, 3, PixelType::kF32);
  std::mt19937 rng(9);
  std::vector<std::pair<int, int>> holes;
  for (int i = 0; i < 300; ++i) holes.emplace_back(rng() % w, rng() % h);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < 3; ++c) px(flat, x, y, c) = 77.25f;
  for (const auto& p : holes)
    for (int c = 0; c < 3; ++c)
      px(img, p.first, p.second, c) = px(flat, p.first, p.second, c) = kNaN;
  const auto finite_mean = [&](const ImageView& v, int c) {
    double s = 0;
    long n = 0;
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x)
        if (std::isfinite(px(v, x, y, c))) {
          s += px(v, x, y, c);
          ++n;
        }
    return s / n;
  };
  Context cx = ctx();
  for (int variant = 0; variant < 5; ++variant) {
    HostImage out(w, h, 3, PixelType::kF32), flat_out(w, h, 3, PixelType::kF32);
    if (variant == 0) {
      HeatParams hp;
      hp.sigma = 3.0;
      hp.non_finite = NonFinite::kMissing;
      heat_smooth(img, out, hp, cx);
      heat_smooth(flat, flat_out, hp, cx);
    } else {
      PeronaMalikParams pp;  // blind: the noise estimate and K leave the holes out too
      pp.non_finite = NonFinite::kMissing;
      pp.neighbourhood = variant == 2 ? Neighbourhood::k8 : Neighbourhood::k4;
      pp.diffusivity = variant == 3   ? Diffusivity::kExponential
                       : variant == 4 ? Diffusivity::kTukey
                                      : Diffusivity::kRational;
      if (variant == 4) {
        pp.contrast = ContrastMode::kQuantile;
        pp.k_quantile = 0.9;
      }
      const PeronaMalikReport r = perona_malik(img, out, pp, cx);
      EXPECT_GT(r.steps, 0) << variant;
      EXPECT_TRUE(std::isfinite(r.k) && r.k > 0) << variant;
      pp.contrast = ContrastMode::kAbsolute;
      pp.k = 5.0;
      pp.steps = 10;
      perona_malik(flat, flat_out, pp, cx);
    }
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x)
        for (int c = 0; c < 3; ++c) {
          const bool hole = std::isnan(px(img, x, y, c));
          ASSERT_EQ(std::isnan(px(out, x, y, c)), hole) << variant << " at " << x << "," << y;
          ASSERT_TRUE(hole || std::isfinite(px(out, x, y, c)));
          if (!hole) ASSERT_EQ(px(flat_out, x, y, c), 77.25f) << variant;
        }
    for (int c = 0; c < 3; ++c) {
      EXPECT_NEAR(finite_mean(out, c), finite_mean(img, c), 1e-3) << variant << " channel " << c;
    }
  }
}

// Holes are left out of the noise estimate: an image of pure noise of deviation 10 with a fifth
// of its pixels missing is estimated like the whole one; and holes in a flat image make no
// gradient, no edges, and NaN magnitudes exactly where they are.
TEST_P(FiniteTest, HolesLeaveStatisticsGradientsAndEdgesAlone) {
  const int w = 200, h = 150;
  HostImage noisy(w, h, 1, PixelType::kF32), holed(w, h, 1, PixelType::kF32),
      flat(w, h, 1, PixelType::kF32);
  std::mt19937 rng(11);
  std::normal_distribution<float> noise(0.0f, 10.0f);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      px(noisy, x, y) = px(holed, x, y) = 100.0f + noise(rng);
      const bool hole = (rng() % 5) == 0 || (x > 50 && x < 80 && y > 40 && y < 90);
      if (hole) px(holed, x, y) = kNaN;
      px(flat, x, y) = hole ? kNaN : 50.0f;
    }
  Context cx = ctx();
  const NoiseEstimate whole = estimate_noise(noisy, cx);
  const NoiseEstimate missing =
      estimate_noise(holed, cx, AlphaMode::kPreserve, NonFinite::kMissing);
  EXPECT_NEAR(whole.sigma, 10.0, 1.5);
  EXPECT_NEAR(missing.sigma, whole.sigma, 0.1 * whole.sigma);
  EXPECT_LT(missing.samples, whole.samples);

  HostImage mag(w, h, 1, PixelType::kF32), dx(w, h, 1, PixelType::kF32),
      edges(w, h, 1, PixelType::kU8), canny_mag(w, h, 1, PixelType::kF32);
  GradientImages g;
  g.magnitude = mag;
  g.dx = dx;
  GradientParams gp;
  gp.non_finite = NonFinite::kMissing;
  gradient(flat, g, gp, cx);
  CannyParams cp;
  cp.non_finite = NonFinite::kMissing;
  cp.low = 0.5;
  cp.high = 1.0;
  CannyImages ci;
  ci.magnitude = canny_mag;
  canny(flat, edges, ci, cp, cx);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const bool hole = std::isnan(px(flat, x, y));
      ASSERT_EQ(std::isnan(px(mag, x, y)), hole) << x << "," << y;
      ASSERT_EQ(std::isnan(px(canny_mag, x, y)), hole) << x << "," << y;
      if (!hole) ASSERT_EQ(px(mag, x, y), 0.0f) << x << "," << y;
      if (!hole) ASSERT_EQ(px(dx, x, y), 0.0f) << x << "," << y;
      ASSERT_EQ(edges.row<std::uint8_t>(y)[x], 0) << x << "," << y;
    }
}

// A vertical step with a hole beside it: the step is found, the hole's edge is not.
TEST_P(FiniteTest, CannyFindsTheStepAndNotTheHole) {
  const int w = 60, h = 40;
  HostImage img(w, h, 1, PixelType::kF32);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      px(img, x, y) = x < 30 ? 20.0f : 120.0f;
      if (x >= 40 && x < 50 && y >= 10 && y < 30) px(img, x, y) = kNaN;
    }
  HostImage edges(w, h, 1, PixelType::kU8);
  CannyParams cp;
  cp.sigma = 1.0;
  cp.low = 50;
  cp.high = 100;
  cp.non_finite = NonFinite::kMissing;
  Context cx = ctx();
  canny(img, edges, cp, cx);
  int on_step = 0, elsewhere = 0;
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      if (edges.row<std::uint8_t>(y)[x] == 0) continue;
      (x == 29 || x == 30 ? on_step : elsewhere)++;
    }
  EXPECT_EQ(on_step, h);
  EXPECT_EQ(elsewhere, 0);
}

TEST_P(FiniteTest, MissingDataWithRegularisationIsRefused) {
  HostImage img = picture(30, 20, 1, 6);
  px(img, 3, 3) = kNaN;
  HostImage out(30, 20, 1, PixelType::kF32);
  PeronaMalikParams pp;
  pp.non_finite = NonFinite::kMissing;
  pp.regularization = 1.0;
  Context cx = ctx();
  test::expect_error([&] { perona_malik(img, out, pp, cx); }, ErrorCode::kUnsupported,
                     "regularization");
}

// Finite inputs of any range give finite results: GDAL's NoData value -3.4e38, a 1e38 pixel, and
// +-FLT_MAX side by side, in every operation (values saturate at the largest float where the
// true result is larger, e.g. a gradient magnitude).
TEST_P(FiniteTest, HugeFiniteValuesNeverGiveNonFiniteResults) {
  const int w = 48, h = 36;
  HostImage img = picture(w, h, 3, 7);
  for (int c = 0; c < 3; ++c) {
    px(img, 10, 10, c) = 1e38f;
    px(img, 11, 10, c) = -3.4e38f;
    px(img, 30, 20, c) = FLT_MAX;
    px(img, 31, 20, c) = -FLT_MAX;
    px(img, 30, 21, c) = -FLT_MAX;
  }
  Context cx = ctx();
  HostImage out(w, h, 3, PixelType::kF32), out8(w, h, 3, PixelType::kU8),
      mag(w, h, 1, PixelType::kF32), dx(w, h, 3, PixelType::kF32), edges(w, h, 1, PixelType::kU8);
  HeatParams hp;
  hp.sigma = 2.0;
  heat_smooth(img, out, hp, cx);
  EXPECT_TRUE(all_finite(out));
  heat_smooth(img, out8, hp, cx);  // to 8 bits through the scaled path: saturated, no crash
  for (const ContrastMode contrast :
       {ContrastMode::kNoise, ContrastMode::kQuantile, ContrastMode::kAbsolute}) {
    PeronaMalikParams pp;
    pp.contrast = contrast;
    if (contrast == ContrastMode::kQuantile) pp.k_quantile = 0.9;
    if (contrast == ContrastMode::kAbsolute) pp.k = 10.0;
    if (contrast != ContrastMode::kNoise) pp.steps = 10;
    const PeronaMalikReport r = perona_malik(img, out, pp, cx);
    EXPECT_TRUE(all_finite(out)) << to_string(contrast);
    EXPECT_TRUE(std::isfinite(r.k)) << to_string(contrast);
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x)
        for (int c = 0; c < 3; ++c) ASSERT_LE(std::fabs(px(out, x, y, c)), FLT_MAX);
  }
  const NoiseEstimate n = estimate_noise(img, cx);
  EXPECT_TRUE(std::isfinite(n.sigma));
  GradientImages g;
  g.magnitude = mag;
  g.dx = dx;
  gradient(img, g, GradientParams{}, cx);
  EXPECT_TRUE(all_finite(mag));
  EXPECT_TRUE(all_finite(dx));
  EXPECT_EQ(px(mag, 30, 20), FLT_MAX);  // saturated
  CannyParams cp;
  cp.low = 30;
  cp.high = 60;
  CannyImages ci;
  ci.magnitude = mag;
  const CannyReport cr = canny(img, edges, ci, cp, cx);
  EXPECT_TRUE(all_finite(mag));
  EXPECT_EQ(cr.low, 30.0);
  EXPECT_EQ(cr.high, 60.0);

  // Alpha is only copied: a tiny alpha beside huge colours comes out bit for bit, not rounded to
  // a subnormal by the scaling of the colours.
  HostImage rgba = picture(w, h, 4, 9), rgba_out(w, h, 4, PixelType::kF32);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) px(rgba, x, y, 3) = 1.3e-38f * (1 + 0.37f * x);
  px(rgba, 5, 5, 0) = 3e38f;
  heat_smooth(rgba, rgba_out, hp, cx);
  perona_malik(rgba, rgba_out, PeronaMalikParams{}, cx);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) ASSERT_TRUE(same_bits(px(rgba_out, x, y, 3), px(rgba, x, y, 3)));
  EXPECT_TRUE(all_finite(rgba_out));
}

// The scaling is exact: an image multiplied by 2^70 (squared derivatives would overflow float)
// or by 2^-100 (Perona–Malik's squared differences would underflow to 0) gives the results of the
// image itself multiplied likewise, bit for bit, in every operation.
TEST_P(FiniteTest, ScalingByPowersOfTwoCommutesExactlyWithEveryOperation) {
  const int w = 57, h = 43;
  HostImage u = picture(w, h, 3, 8);
  Context cx = ctx();
  for (const int e : {70, -100}) {
    HostImage big(w, h, 3, PixelType::kF32);
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x)
        for (int c = 0; c < 3; ++c) px(big, x, y, c) = std::ldexp(px(u, x, y, c), e);
    const auto expect_scaled = [&](const ImageView& small_out, const ImageView& big_out,
                                   const char* what) {
      for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x)
          for (int c = 0; c < small_out.channels; ++c) {
            const float want = std::ldexp(px(small_out, x, y, c), e);
            ASSERT_TRUE(same_bits(px(big_out, x, y, c), want))
                << what << " 2^" << e << " at " << x << "," << y << "," << c << ": "
                << px(big_out, x, y, c) << " vs " << want;
          }
    };
    HostImage a(w, h, 3, PixelType::kF32), b(w, h, 3, PixelType::kF32);
    HeatParams hp;
    hp.sigma = 2.0;
    heat_smooth(u, a, hp, cx);
    heat_smooth(big, b, hp, cx);
    expect_scaled(a, b, "heat");

    const PeronaMalikReport ra = perona_malik(u, a, PeronaMalikParams{}, cx);
    const PeronaMalikReport rb = perona_malik(big, b, PeronaMalikParams{}, cx);
    EXPECT_EQ(rb.noise_sigma, std::ldexp(ra.noise_sigma, e));
    EXPECT_EQ(rb.k, std::ldexp(ra.k, e));
    EXPECT_EQ(rb.steps, ra.steps);
    expect_scaled(a, b, "perona_malik");

    EXPECT_EQ(estimate_noise(big, cx).sigma, std::ldexp(estimate_noise(u, cx).sigma, e));

    HostImage ma(w, h, 1, PixelType::kF32), mb(w, h, 1, PixelType::kF32);
    GradientImages ga, gb;
    ga.magnitude = ma;
    ga.dx = a;
    gb.magnitude = mb;
    gb.dx = b;
    gradient(u, ga, GradientParams{}, cx);
    gradient(big, gb, GradientParams{}, cx);
    expect_scaled(ma, mb, "gradient magnitude");
    expect_scaled(a, b, "gradient dx");

    HostImage ea(w, h, 1, PixelType::kU8), eb(w, h, 1, PixelType::kU8);
    CannyParams cp;
    cp.low = 20;
    cp.high = 40;
    canny(u, ea, cp, cx);
    cp.low = std::ldexp(20.0, e);
    cp.high = std::ldexp(40.0, e);
    canny(big, eb, cp, cx);
    EXPECT_TRUE(test::identical(ea, eb)) << "canny 2^" << e;
  }
}

// The CUDA kernels leave missing data out as the CPU does: heat, gradient magnitudes and Canny's
// edge maps bit for bit (they share the per-pixel arithmetic, never contracted), Perona–Malik to
// float rounding; and both scale huge inputs alike.
TEST(FiniteCuda, MissingDataAndHugeValuesAgreeWithTheCpu) {
  PDEIMG_SKIP_IF_UNAVAILABLE(Backend::kCuda);
  const int w = 97, h = 61;
  HostImage img = picture(w, h, 3, 12);
  std::mt19937 rng(3);
  for (int i = 0; i < 200; ++i) px(img, rng() % w, rng() % h, rng() % 3) = i % 2 ? kNaN : -kInf;
  HostImage huge = picture(w, h, 3, 13);
  px(huge, 20, 20, 0) = 3e38f;
  Context cpu(Backend::kCpu), gpu(Backend::kCuda);
  for (const HostImage* in : {&img, &huge}) {
    HostImage a(w, h, 3, PixelType::kF32), b(w, h, 3, PixelType::kF32);
    HeatParams hp;
    hp.sigma = 2.0;
    hp.non_finite = NonFinite::kMissing;
    heat_smooth(*in, a, hp, cpu);
    heat_smooth(*in, b, hp, gpu);
    EXPECT_TRUE(test::identical(a, b)) << "heat";
    PeronaMalikParams pp;
    pp.non_finite = NonFinite::kMissing;
    perona_malik(*in, a, pp, cpu);
    perona_malik(*in, b, pp, gpu);
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x)
        for (int c = 0; c < 3; ++c) {
          const float va = px(a, x, y, c), vb = px(b, x, y, c);
          if (std::isfinite(va)) {
            ASSERT_NEAR(va, vb, 1e-4 * std::max(1.0f, std::fabs(va)));
          } else {
            ASSERT_TRUE(same_bits(va, vb));
          }
        }
    HostImage ma(w, h, 1, PixelType::kF32), mb(w, h, 1, PixelType::kF32);
    GradientImages ga, gb;
    ga.magnitude = ma;
    gb.magnitude = mb;
    GradientParams gp;
    gp.non_finite = NonFinite::kMissing;
    gradient(*in, ga, gp, cpu);
    gradient(*in, gb, gp, gpu);
    EXPECT_TRUE(test::identical(ma, mb)) << "gradient";
    HostImage ea(w, h, 1, PixelType::kU8), eb(w, h, 1, PixelType::kU8);
    CannyParams cp;
    cp.non_finite = NonFinite::kMissing;
    canny(*in, ea, cp, cpu);
    canny(*in, eb, cp, gpu);
    EXPECT_TRUE(test::identical(ea, eb)) << "canny";
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, FiniteTest, ::testing::Values(Backend::kCpu, Backend::kCuda),
                         test::backend_name);

}  // namespace
}  // namespace pdeimg
