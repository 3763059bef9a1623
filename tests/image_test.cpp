// Images and views: shapes, pitches, regions of interest, validation.
#include "pdeimg/image.hpp"

#include <gtest/gtest.h>

#include <climits>

#include "pdeimg/error.hpp"
#include "tests/test_util.hpp"

namespace pdeimg {
namespace {

TEST(HostImage, AllocatesContiguousZeroedRows) {
  HostImage img(13, 7, 3, PixelType::kU16);
  EXPECT_EQ(img.view().pitch, 13u * 3 * 2);
  EXPECT_EQ(img.view().location, Location::kHost);
  for (int y = 0; y < 7; ++y)
    for (int x = 0; x < 13; ++x)
      for (int c = 0; c < 3; ++c) ASSERT_EQ(test::at(img, x, y, c), 0.0f);
}

TEST(HostImage, RejectsBadShapes) {
  EXPECT_THROW(HostImage(0, 5, 1, PixelType::kU8), Error);
  EXPECT_THROW(HostImage(5, -1, 1, PixelType::kU8), Error);
  EXPECT_THROW(HostImage(5, 5, 5, PixelType::kU8), Error);
  EXPECT_THROW(HostImage(5, 5, 0, PixelType::kU8), Error);
}

// A size whose byte count wraps around size_t is refused, not allocated as a few bytes.
TEST(HostImage, RefusesSizesBeyondTheAddressSpace) {
  try {
    HostImage h(1 << 30, 1 << 30, 4, PixelType::kF32);
    FAIL() << "a 2^64-byte image was allocated";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kOutOfMemory) << e.what();
  }
}

TEST(ImageView, RoiSharesMemoryAndPitch) {
  HostImage img = test::random_image(20, 10, 2, PixelType::kF32, 0, 1, 3);
  const ImageView r = img.view().roi(4, 3, 5, 6);
  EXPECT_EQ(r.width, 5);
  EXPECT_EQ(r.height, 6);
  EXPECT_EQ(r.pitch, img.view().pitch);
  for (int y = 0; y < 6; ++y)
    for (int x = 0; x < 5; ++x)
      for (int c = 0; c < 2; ++c) ASSERT_EQ(test::at(r, x, y, c), test::at(img, x + 4, y + 3, c));
  EXPECT_THROW(img.view().roi(16, 0, 5, 1), Error);
  EXPECT_THROW(img.view().roi(0, 0, 0, 1), Error);
  // x + w and y + h must not overflow into a "fitting" region.
  EXPECT_THROW(img.view().roi(1, 0, INT_MAX, 1), Error);
  EXPECT_THROW(img.view().roi(0, 1, 1, INT_MAX), Error);
}

TEST(ImageView, ValidationNamesTheProblem) {
  HostImage img(8, 8, 1, PixelType::kF32);
  ImageView v = img.view();
  v.pitch = 16;
  try {
    validate(v, "src");
    FAIL() << "a pitch smaller than a row must be rejected";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("pitch 16"), std::string::npos) << e.what();
  }
  v = img.view();
  v.data = nullptr;
  EXPECT_THROW(validate(v, "src"), Error);
}

TEST(DeviceImage, UploadDownloadRoundTripOrClearError) {
  if (!test::cuda_available()) {
    try {
      DeviceImage d(4, 4, 1, PixelType::kU8);
      FAIL() << "DeviceImage without a device must throw";
    } catch (const Error& e) {
      EXPECT_TRUE(e.code() == ErrorCode::kBackendUnavailable || e.code() == ErrorCode::kCuda)
          << e.what();
    }
    if (test::cuda_required()) FAIL() << "PDEIMG_REQUIRE_CUDA=1 but no CUDA device";
    GTEST_SKIP() << "no CUDA device: checked only that DeviceImage fails clearly";
  }
  HostImage in = test::random_image(33, 17, 3, PixelType::kU16, 0, 65535, 5),
            back(33, 17, 3, PixelType::kU16);
  DeviceImage d(33, 17, 3, PixelType::kU16);
  EXPECT_GE(d.view().pitch, d.view().row_bytes());
  d.upload(in);
  d.download(back);
  EXPECT_TRUE(test::identical(in, back));
}

}  // namespace
}  // namespace pdeimg
