// The host side of the CUDA backend's transfers (src/cuda/transfer.cpp: page-locked staging in
// chunks of rows) against a simulated runtime (tests/simulated_cuda_runtime.cpp) whose copies run
// only when waited for, so that a buffer refilled or read too early shows as wrong pixels. Runs on
// every machine; the same code on a GPU is covered by
// HeatCuda.StagedHostCopiesInChunksChangeNothing.
#include "src/cuda/transfer.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "pdeimg/context.hpp"
#include "src/cuda/runtime.hpp"
#include "tests/simulated_cuda_runtime.hpp"
#include "tests/test_util.hpp"

namespace pdeimg {
namespace {

using test::ScopedEnv;

/// Device memory of the simulated runtime: rows padded to 256 bytes, as the backend's scratch.
struct SimulatedDeviceImage {
  std::vector<char> bytes;
  ImageView view;
  explicit SimulatedDeviceImage(const ImageView& like) {
    view = like;
    view.location = Location::kDevice;
    view.pitch = (like.row_bytes() + 255) / 256 * 256;
    bytes.assign(view.pitch * static_cast<std::size_t>(like.height), '\x5a');
    view.data = bytes.data();
  }
};

/// Every byte of the pixels of two views of one shape are equal.
bool same_bytes(const ImageView& a, const ImageView& b) {
  for (int y = 0; y < a.height; ++y) {
    if (std::memcmp(a.row<const char>(y), b.row<const char>(y), a.row_bytes()) != 0) return false;
  }
  return true;
}

void scribble(const ImageView& v) {
  for (int y = 0; y < v.height; ++y) std::memset(v.row<char>(y), 0xa5, v.row_bytes());
}

struct Shape {
  const char* name;
  int width, height, channels;
  PixelType type;
};

class TransferTest : public ::testing::TestWithParam<const char*> {};  // PDEIMG_STAGING_MB

// Up and down again through a context whose staging buffers are those of the parameter: the
// device copy equals the source even though the source was overwritten as soon as upload()
// returned, and the download fills exactly its region of interest.
TEST_P(TransferTest, RoundTripIsExactAndTheSourceIsFreeOnReturn) {
  const Shape shapes[] = {
      {"9 MB, an odd number of 1 MiB chunks", 1500, 1000, 3, PixelType::kU16},
      {"tiny", 7, 3, 1, PixelType::kU8},
      {"a row wider than a 1 MiB buffer", 400000, 3, 1, PixelType::kF32},
      {"one row", 1000, 1, 4, PixelType::kF32},
  };
  ScopedEnv env("PDEIMG_STAGING_MB", GetParam());
  Context ctx(Backend::kCpu);  // the transfers only use its staging buffers and (null) stream
  for (const Shape& s : shapes) {
    SCOPED_TRACE(s.name);
    const HostImage original =
        test::random_image(s.width + 5, s.height + 2, s.channels, s.type, 0.0f, 200.0f, 41);
    const HostImage source = HostImage::copy_of(original);
    const ImageView in = source.view().roi(3, 1, s.width, s.height);
    SimulatedDeviceImage device(in);
    cuda::upload(in, device.view, ctx);
    scribble(in);  // pageable memory may be reused at once
    cuda::synchronize(ctx.stream());
    EXPECT_TRUE(same_bytes(device.view, original.view().roi(3, 1, s.width, s.height)));

    HostImage frame(s.width + 2, s.height + 2, s.channels, s.type);
    const ImageView out = frame.view().roi(1, 1, s.width, s.height);
    cuda::download(device.view, out, ctx);
    EXPECT_EQ(simulated::pending_ops(), 0) << "download returned before its copies ran";
    EXPECT_TRUE(same_bytes(out, device.view));
    for (int y = 0; y < frame.height(); ++y) {
      for (int x = 0; x < frame.width(); ++x) {
        if (y >= 1 && y <= s.height && x >= 1 && x <= s.width) continue;
        for (int c = 0; c < s.channels; ++c) ASSERT_EQ(test::at(frame, x, y, c), 0.0f);
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(StagingSizes, TransferTest, ::testing::Values("1", "4", "0"),
                         [](const ::testing::TestParamInfo<const char*>& p) {
                           return std::string("mb") + p.param;
                         });

// Chunks and buffers: 1 MiB buffers move a 9 MB image in 9 copies each way, allocate their two
// buffers once and reuse them; staging off copies the image in one call and allocates nothing.
TEST(Transfer, ChunksAndBufferReuse) {
  const HostImage img = test::random_image(1500, 1000, 3, PixelType::kU16, 0, 65535, 43);
  SimulatedDeviceImage device(img);
  HostImage back(1500, 1000, 3, PixelType::kU16);
  simulated::Counters& n = simulated::counters();
  {
    ScopedEnv env("PDEIMG_STAGING_MB", "1");
    Context ctx(Backend::kCpu);
    const simulated::Counters before = n;
    for (int round = 0; round < 2; ++round) {
      cuda::upload(img, device.view, ctx);
      cuda::download(device.view, back, ctx);
    }
    const long long chunks = (1000 + (1 << 20) / 9000 - 1) / ((1 << 20) / 9000);  // 116 rows
    EXPECT_EQ(n.uploads - before.uploads, 2 * chunks);
    EXPECT_EQ(n.downloads - before.downloads, 2 * chunks);
    EXPECT_EQ(n.host_allocations - before.host_allocations, 2);
    EXPECT_TRUE(same_bytes(back, img));
  }
  {
    ScopedEnv env("PDEIMG_STAGING_MB", "0");
    Context ctx(Backend::kCpu);
    const simulated::Counters before = n;
    cuda::upload(img, device.view, ctx);
    cuda::download(device.view, back, ctx);
    EXPECT_EQ(n.uploads - before.uploads, 1);
    EXPECT_EQ(n.downloads - before.downloads, 1);
    EXPECT_EQ(n.host_allocations - before.host_allocations, 0);
    EXPECT_TRUE(same_bytes(back, img));
  }
}

// Without page-locked memory the context copies directly, and correctly; page-locked host images
// are copied directly too, without staging buffers.
TEST(Transfer, DirectCopiesWhenPageLockedMemoryIsMissingOrAlreadyThere) {
  const HostImage img = test::random_image(700, 500, 3, PixelType::kF32, 0, 1, 47);
  SimulatedDeviceImage device(img);
  HostImage back(700, 500, 3, PixelType::kF32);
  simulated::Counters& n = simulated::counters();
  {
    n.fail_host_allocations = true;
    Context ctx(Backend::kCpu);
    const simulated::Counters before = n;
    cuda::upload(img, device.view, ctx);
    cuda::download(device.view, back, ctx);
    n.fail_host_allocations = false;
    EXPECT_EQ(n.uploads - before.uploads, 1);
    EXPECT_TRUE(same_bytes(back, img));
  }
  {
    Context ctx(Backend::kCpu);
    ImageView pinned = img.view();
    pinned.data = cuda::malloc_host(img.view().row_bytes() * 500);
    pinned.pitch = img.view().row_bytes();
    for (int y = 0; y < 500; ++y) std::memcpy(pinned.row<char>(y), img.row<char>(y), pinned.pitch);
    const simulated::Counters before = n;
    cuda::upload(pinned, device.view, ctx);
    EXPECT_EQ(simulated::pending_ops(), 1) << "a copy from page-locked memory is asynchronous";
    cuda::download(device.view, back, ctx);
    EXPECT_EQ(n.uploads - before.uploads, 1);
    EXPECT_EQ(n.host_allocations - before.host_allocations, 2) << "only the download stages";
    EXPECT_TRUE(same_bytes(back, img));
    cuda::free_host(pinned.data);
  }
}

// A malformed setting is an error that names it, not a silent default.
TEST(Transfer, MalformedStagingSizeIsRefusedWithItsValue) {
  const HostImage img = test::random_image(16, 4, 1, PixelType::kU8, 0, 255, 53);
  SimulatedDeviceImage device(img);
  for (const char* bad : {"four", "-1", "4097", "2.5"}) {
    ScopedEnv env("PDEIMG_STAGING_MB", bad);
    Context ctx(Backend::kCpu);
    test::expect_error([&] { cuda::upload(img, device.view, ctx); }, ErrorCode::kInvalidArgument,
                       std::string("PDEIMG_STAGING_MB") +
                           ": expected a whole number of MiB from 0 "
                           "to 4096, got '" +
                           bad + "'");
  }
}

}  // namespace
}  // namespace pdeimg
