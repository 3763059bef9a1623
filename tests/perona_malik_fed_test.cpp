// Perona–Malik with fast explicit diffusion (PeronaMalikScheme::kFed): the properties of the
// scheme, its refusals, and its closeness to the explicit scheme at the same time.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "pdeimg/error.hpp"
#include "pdeimg/perona_malik.hpp"
#include "tests/test_util.hpp"

namespace pdeimg {
namespace {

using test::at;

PeronaMalikParams fed_params(double time) {
  PeronaMalikParams p;
  p.scheme = PeronaMalikScheme::kFed;
  p.contrast = ContrastMode::kAbsolute;
  p.k = 10.0;
  p.time = time;
  return p;
}

TEST(PeronaMalikFed, ConservesTheMeanAndKeepsAConstant) {
  HostImage in = test::random_image(83, 61, 3, PixelType::kF32, 0.0f, 255.0f, 4);
  HostImage out(83, 61, 3, PixelType::kF32);
  Context cx(Backend::kCpu);
  for (ColourMode colour : {ColourMode::kCoupled, ColourMode::kPerChannel}) {
    PeronaMalikParams p = fed_params(20.0);
    p.colour = colour;
    const PeronaMalikReport r = perona_malik(in, out, p, cx);
    EXPECT_EQ(r.scheme, PeronaMalikScheme::kFed);
    EXPECT_EQ(r.cycles, 40);  // 20 / kFedCycleTime
    EXPECT_NEAR(r.time, 20.0, 1e-9);
    for (int c = 0; c < 3; ++c) EXPECT_NEAR(test::mean(out, c) / test::mean(in, c), 1.0, 1e-5);
  }
  HostImage flat(40, 30, 1, PixelType::kU8), flat_out(40, 30, 1, PixelType::kU8);
  for (int y = 0; y < 30; ++y)
    for (int x = 0; x < 40; ++x) test::set(flat, x, y, 0, 77.0f);
  perona_malik(flat, flat_out, fed_params(5.0), cx);
  EXPECT_TRUE(test::identical(flat, flat_out));
}

// With g held per cycle the result is close to the explicit scheme's at the same time; a step
// edge much stronger than K stays sharp in both.
TEST(PeronaMalikFed, StaysCloseToExplicitAndKeepsEdges) {
  const int w = 96, h = 64;
  HostImage in = test::random_image(w, h, 1, PixelType::kF32, -8.0f, 8.0f, 9);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) test::set(in, x, y, 0, at(in, x, y) + (x < w / 2 ? 50.0f : 200.0f));
  HostImage fed(w, h, 1, PixelType::kF32), ex(w, h, 1, PixelType::kF32);
  Context cx(Backend::kCpu);
  perona_malik(in, fed, fed_params(4.0), cx);
  PeronaMalikParams e = fed_params(4.0);
  e.scheme = PeronaMalikScheme::kExplicit;
  perona_malik(in, ex, e, cx);
  double d = 0;
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) d += std::fabs(at(fed, x, y) - at(ex, x, y));
  d /= double(w) * h;
  EXPECT_LT(d, 0.5) << "mean |fed - explicit| on noise of deviation 4.6";
  for (int y = 0; y < h; ++y) {
    EXPECT_LT(at(fed, w / 2 - 2, y), 80.0f);
    EXPECT_GT(at(fed, w / 2 + 1, y), 170.0f);
  }
}

TEST(PeronaMalikFed, ResultDoesNotDependOnFusionOrThreads) {
  HostImage in = test::random_image(211, 157, 3, PixelType::kU8, 0.0f, 255.0f, 2);
  HostImage a(211, 157, 3, PixelType::kF32), b(211, 157, 3, PixelType::kF32),
      c(211, 157, 3, PixelType::kF32);
  Context cx(Backend::kCpu);
  PeronaMalikParams p = fed_params(12.0);
  p.regularization = 1.0;
  perona_malik(in, a, p, cx);
  {
    test::ScopedEnv env("PDEIMG_TEST_MAX_FUSED", "1");
    perona_malik(in, b, p, cx);
  }
  cx.set_threads(1);
  perona_malik(in, c, p, cx);
  EXPECT_TRUE(test::identical(a, b));
  EXPECT_TRUE(test::identical(a, c));
}

TEST(PeronaMalikFed, RefusesWhatItDoesNotSupport) {
  PeronaMalikParams p = fed_params(2.0);
  p.neighbourhood = Neighbourhood::k8;
  test::expect_error([&] { validate(p); }, ErrorCode::kUnsupported, "4 neighbours");
  HostImage in = test::random_image(20, 20, 1, PixelType::kF32, 0.0f, 1.0f, 1);
  test::set(in, 3, 3, 0, std::numeric_limits<float>::quiet_NaN());
  HostImage out(20, 20, 1, PixelType::kF32);
  Context cx(Backend::kCpu);
  p = fed_params(2.0);
  p.non_finite = NonFinite::kMissing;
  test::expect_error([&] { perona_malik(in, out, p, cx); }, ErrorCode::kUnsupported,
                     "missing data");
  EXPECT_EQ(parse_perona_malik_scheme("FED"), PeronaMalikScheme::kFed);
  test::expect_error([] { parse_perona_malik_scheme("spectral"); }, ErrorCode::kInvalidArgument,
                     "spectral");
}

}  // namespace
}  // namespace pdeimg
