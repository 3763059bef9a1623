// estimate_noise: synthetic cases with known answers, and the Set12 accuracy claim of noise.hpp
// (read from ../shared/data; skipped, with the reason, when it is absent).
#include "pdeimg/noise.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "pdeimg/error.hpp"
#if PDEIMG_TEST_HAVE_IO
#include "pdeimg/io.hpp"
#endif
#include "tests/test_util.hpp"

namespace pdeimg {
namespace {

using test::at;

/// A float copy of channel-interleaved `src` plus N(0, sigma_c²) noise per channel (fixed seed).
HostImage with_noise(const ImageView& src, const std::vector<double>& sigma, unsigned seed) {
  HostImage f(src.width, src.height, src.channels, PixelType::kF32);
  std::mt19937 rng(seed);
  std::normal_distribution<double> n(0.0, 1.0);
  for (int y = 0; y < src.height; ++y)
    for (int x = 0; x < src.width; ++x)
      for (int c = 0; c < src.channels; ++c)
        test::set(
            f, x, y, c,
            float(at(src, x, y, c) + sigma[std::min<std::size_t>(c, sigma.size() - 1)] * n(rng)));
  return f;
}

class NoiseTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override { PDEIMG_SKIP_IF_UNAVAILABLE(GetParam()); }
  Context ctx() { return Context(GetParam()); }
};

TEST_P(NoiseTest, PureNoiseOnAFlatOrLinearImage) {
  Context cx = ctx();
  HostImage flat(256, 256, 1, PixelType::kF32), ramp(256, 256, 1, PixelType::kF32);
  for (int y = 0; y < 256; ++y)
    for (int x = 0; x < 256; ++x) {
      test::set(flat, x, y, 0, 100.0f);
      test::set(ramp, x, y, 0, 0.7f * x + 0.3f * y);  // the high-pass is blind to linear images
    }
  for (double s : {0.5, 7.0, 40.0}) {
    EXPECT_NEAR(estimate_noise(with_noise(flat, {s}, 3), cx).sigma, s, 0.05 * s) << s;
    EXPECT_NEAR(estimate_noise(with_noise(ramp, {s}, 4), cx).sigma, s, 0.05 * s) << s;
  }
  EXPECT_EQ(estimate_noise(flat, cx).sigma, 0.0);
  EXPECT_EQ(estimate_noise(ramp, cx).sigma, 0.0);
}

// An 8-bit or 16-bit photo clips its noise at the ends of the range: where the image is near
// white (or black) the noise is cut off on one side, and those neighbourhoods would read as
// quieter than the rest. Neighbourhoods holding a sample at the type's minimum or maximum are
// skipped, so the estimate of an image that is mostly near-white stays true; a float image (no
// range) is unaffected.
TEST_P(NoiseTest, ClippedSamplesOfIntegerImagesAreLeftOut) {
  Context cx = ctx();
  const int w = 256, h = 256;
  const double sigma = 20.0;
  for (PixelType type : {PixelType::kU8, PixelType::kU16}) {
    const double top = type == PixelType::kU8 ? 255.0 : 65535.0;
    const double scale = top / 255.0;
    HostImage img(w, h, 1, type);
    std::mt19937 rng(5);
    std::normal_distribution<double> n(0.0, sigma * scale);
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) {
        // Three quarters near white (245), a quarter mid-grey; noise clipped and rounded.
        const double v = (x < 3 * w / 4 ? 245.0 : 128.0) * scale + n(rng);
        test::set(img, x, y, 0, float(std::round(std::min(top, std::max(0.0, v)))));
      }
    const NoiseEstimate e = estimate_noise(img, cx);
    EXPECT_NEAR(e.sigma, sigma * scale, 0.08 * sigma * scale) << to_string(type);
  }
}

TEST_P(NoiseTest, ColourChannelsAlphaAndSampleTypes) {
  Context cx = ctx();
  HostImage base(200, 150, 4, PixelType::kU16);
  for (int y = 0; y < 150; ++y)
    for (int x = 0; x < 200; ++x)
      for (int c = 0; c < 4; ++c) test::set(base, x, y, c, 30000.0f);
  const HostImage noisy = with_noise(base, {200.0, 500.0, 1000.0, 3000.0}, 5);
  HostImage u16(200, 150, 4, PixelType::kU16);
  for (int y = 0; y < 150; ++y)
    for (int x = 0; x < 200; ++x)
      for (int c = 0; c < 4; ++c) test::set(u16, x, y, c, std::round(at(noisy, x, y, c)));
  for (const HostImage* img : {&noisy, static_cast<const HostImage*>(&u16)}) {
    const NoiseEstimate e = estimate_noise(*img, cx);  // alpha (3000) is excluded
    ASSERT_EQ(e.channels, 3);
    EXPECT_NEAR(e.channel_sigma[0], 200.0, 20.0);
    EXPECT_NEAR(e.channel_sigma[1], 500.0, 50.0);
    EXPECT_NEAR(e.channel_sigma[2], 1000.0, 100.0);
    const double rms = std::sqrt((e.channel_sigma[0] * e.channel_sigma[0] +
                                  e.channel_sigma[1] * e.channel_sigma[1] +
                                  e.channel_sigma[2] * e.channel_sigma[2]) /
                                 3);
    EXPECT_DOUBLE_EQ(e.sigma, rms);
    EXPECT_EQ(e.samples, (198LL * 148 + 9) / 10);
    const NoiseEstimate all = estimate_noise(*img, cx, AlphaMode::kProcess);
    ASSERT_EQ(all.channels, 4);
    EXPECT_NEAR(all.channel_sigma[3], 3000.0, 300.0);
  }
  // 8-bit: an estimate on the 0..255 scale.
  HostImage u8 = test::random_image(64, 64, 1, PixelType::kU8, 100.0f, 110.0f, 6);
  const double uniform_sd = 10.0 / std::sqrt(12.0);  // a rounded uniform on 100..110: about 3.2
  EXPECT_NEAR(estimate_noise(u8, cx).sigma, uniform_sd, 0.6);
}

TEST_P(NoiseTest, ScaleInvarianceDeterminismAndTinyImages) {
  Context cx = ctx();
  HostImage img = test::random_image(90, 70, 1, PixelType::kF32, 0.0f, 50.0f, 8);
  HostImage scaled = HostImage::copy_of(img);
  for (int y = 0; y < 70; ++y)
    for (int x = 0; x < 90; ++x) scaled.row<float>(y)[x] *= 4.0f;  // exact in binary
  const double a = estimate_noise(img, cx).sigma;
  EXPECT_DOUBLE_EQ(estimate_noise(scaled, cx).sigma, 4.0 * a);
  EXPECT_EQ(estimate_noise(img, cx).sigma, a) << "two runs must agree bit for bit";
  HostImage tiny = test::random_image(2, 9, 1, PixelType::kF32, 0.0f, 1.0f, 1);
  EXPECT_EQ(estimate_noise(tiny, cx).sigma, 0.0);
  EXPECT_EQ(estimate_noise(tiny, cx).samples, 0);
  HostImage three = test::random_image(3, 3, 1, PixelType::kF32, 0.0f, 1.0f, 1);
  EXPECT_EQ(estimate_noise(three, cx).samples, 1);
  // A region of interest is estimated like the compact copy.
  const ImageView roi = img.view().roi(5, 7, 40, 30);
  EXPECT_EQ(estimate_noise(roi, cx).sigma, estimate_noise(HostImage::copy_of(roi), cx).sigma);
}

INSTANTIATE_TEST_SUITE_P(Backends, NoiseTest, ::testing::Values(Backend::kCpu, Backend::kCuda),
                         test::backend_name);

// The CUDA estimator selects by radix histograms (CUB) as the CPU does: the same kept set, ties
// at the cut broken by pixel order, and the same lower median, so the estimates are equal, not
// close. 8-bit images with a small range have many equal gradients at the cut; flat patches and
// holes of missing data are skipped alike; sizes from the smallest with an interior pixel.
TEST(NoiseCuda, SameSelectionAndMedianAsTheCpu) {
  PDEIMG_SKIP_IF_UNAVAILABLE(Backend::kCuda);
  Context cpu(Backend::kCpu), gpu(Backend::kCuda);
  struct Case {
    int w, h, c;
    PixelType type;
    float lo, hi;
  };
  for (const Case k :
       {Case{300, 200, 3, PixelType::kU8, 0.0f, 255.0f},
        Case{257, 131, 1, PixelType::kU8, 100.0f, 104.0f},
        Case{3, 3, 1, PixelType::kU8, 0.0f, 3.0f}, Case{4, 3, 2, PixelType::kU16, 0.0f, 65535.0f},
        Case{513, 77, 4, PixelType::kF32, -1.0f, 1.0f}}) {
    HostImage img = test::random_image(k.w, k.h, k.c, k.type, k.lo, k.hi, 9);
    if (k.type == PixelType::kU8 && k.w > 100) {  // a flat patch (clipped highlight)
      for (int y = 10; y < 40; ++y) std::fill_n(img.row<unsigned char>(y) + 30, 90, 255);
    }
    NonFinite mode = NonFinite::kRefuse;
    if (k.type == PixelType::kF32) {
      for (int y = 0; y < k.h; y += 3) img.row<float>(y)[(11 * y) % (k.w * k.c)] = NAN;
      mode = NonFinite::kMissing;
    }
    const NoiseEstimate a = estimate_noise(img, cpu, AlphaMode::kProcess, mode);
    const NoiseEstimate b = estimate_noise(img, gpu, AlphaMode::kProcess, mode);
    EXPECT_EQ(a.samples, b.samples) << k.w << "x" << k.h;
    for (int c = 0; c < k.c; ++c) EXPECT_EQ(a.channel_sigma[c], b.channel_sigma[c]) << c;
  }
}

// The accuracy stated in noise.hpp, on the standard Set12 images with added float noise (not
// clipped, not quantised: the published protocol). The target is 15% of the added sigma. Set12's
// "boat" (10) carries its own noise of about 3.5 grey levels (every high-pass estimator tried
// sees it, also on the clean image), so at sigma 5 the noise present is sqrt(5² + 3.5²) = 6.1,
// not 5: an image is also accepted within 15% of sqrt(sigma² + own²) when its own noise (the
// estimate on the clean image) exceeds half the added sigma. The mean error over the set must be
// within 15% at every sigma regardless.
TEST(NoiseSet12, EstimatesSigma5To50Within15Percent) {
#if !PDEIMG_TEST_HAVE_IO
  GTEST_SKIP() << "built without OpenCV (pdeimg::io): cannot read Set12";
#else
  const std::string dir = std::string(PDEIMG_TEST_DATA_DIR) + "/set12";
  if (!std::filesystem::is_directory(dir))
    GTEST_SKIP() << "Set12 not found at " << dir << " (../shared/data)";
  Context cx(Backend::kCpu);
  std::vector<HostImage> clean;
  std::vector<double> own;
  for (int i = 1; i <= 12; ++i) {
    char name[16];
    std::snprintf(name, sizeof name, "/%02d.png", i);
    clean.push_back(io::read_image(dir + name));
    own.push_back(estimate_noise(clean.back(), cx).sigma);
  }
  for (double sigma : {5.0, 10.0, 25.0, 50.0}) {
    double mean_rel = 0;
    std::printf("sigma %4.0f:", sigma);
    for (std::size_t i = 0; i < clean.size(); ++i) {
      const double est = estimate_noise(with_noise(clean[i], {sigma}, 100 + unsigned(i)), cx).sigma;
      const double rel = est / sigma - 1;
      mean_rel += rel / clean.size();
      std::printf(" %+.3f", rel);
      if (own[i] > 0.5 * sigma) {
        EXPECT_NEAR(est, std::hypot(sigma, own[i]), 0.15 * sigma)
            << "image " << i + 1 << " (own noise " << own[i] << ")";
      } else {
        EXPECT_NEAR(est, sigma, 0.15 * sigma)
            << "image " << i + 1 << " (own noise " << own[i] << ")";
      }
    }
    std::printf("  mean %+.3f\n", mean_rel);
    EXPECT_LT(std::fabs(mean_rel), 0.15) << "sigma " << sigma;
  }
#endif
}

}  // namespace
}  // namespace pdeimg
