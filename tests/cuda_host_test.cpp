// The host side of the CUDA backend on a simulated runtime (tests/simulated_cuda_runtime.cpp,
// linked into pdeimg_core_simulated in place of src/cuda/runtime.cpp; the CUDA operations are
// those of src/cuda/unavailable.cpp, which throw kBackendUnavailable once an operation reaches
// them). Runs on every machine, with no GPU: the simulation has as many devices as a test asks
// for, keeps the current device per thread, remembers which device each allocation and stream
// belongs to, counts every call that mixes devices, and runs copies from page-locked memory and
// stream-ordered frees only when the stream is waited for.
//
// What is proved here (issue 13): creating a context leaves the caller's current device alone;
// a DeviceImage allocates, copies and frees on its own device; device views of another device
// are refused with a clear error; size limits are checked before any work is queued; an operation
// that throws after queuing work waits for it; scratch grows in stream order without waiting.
#include <sys/mman.h>

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <thread>

#include "pdeimg/canny.hpp"
#include "pdeimg/context.hpp"
#include "pdeimg/error.hpp"
#include "pdeimg/gradient.hpp"
#include "pdeimg/heat.hpp"
#include "pdeimg/image.hpp"
#include "pdeimg/noise.hpp"
#include "pdeimg/perona_malik.hpp"
#include "src/context_impl.hpp"
#include "src/cuda/runtime.hpp"
#include "tests/simulated_cuda_runtime.hpp"

namespace pdeimg {
namespace {

using simulated::counters;

class CudaHost : public ::testing::Test {
 protected:
  void SetUp() override {
    simulated::reset();
    counters().devices = 2;
  }
  void TearDown() override { simulated::reset(); }
};

/// Runs `f`, expects pdeimg::Error with `code`, returns its message.
template <class F>
std::string error_of(F&& f, ErrorCode code) {
  try {
    f();
  } catch (const Error& e) {
    EXPECT_EQ(static_cast<int>(e.code()), static_cast<int>(code)) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no pdeimg::Error thrown";
  return "";
}

HostImage ramp(int w, int h, int c, PixelType type) {
  HostImage img(w, h, c, type);
  for (int y = 0; y < h; ++y) {
    for (std::size_t i = 0; i < img.view().row_bytes(); ++i) {
      img.row<unsigned char>(y)[i] = static_cast<unsigned char>(3 * y + i);
    }
  }
  return img;
}

bool same_pixels(const ImageView& a, const ImageView& b) {
  for (int y = 0; y < a.height; ++y) {
    if (std::memcmp(a.row<const char>(y), b.row<const char>(y), a.row_bytes()) != 0) return false;
  }
  return true;
}

// Issue 13.1: `Context c0(kCuda, 0), c1(kCuda, 1);` used to leave device 1 current, so the
// caller's next cudaMalloc or DeviceImage landed there.
TEST_F(CudaHost, CreatingContextsLeavesTheCallersDeviceCurrent) {
  cuda::set_device(0);
  {
    Context c0(Backend::kCuda, 0), c1(Backend::kCuda, 1);
    EXPECT_EQ(cuda::current_device(), 0);
    DeviceImage img(8, 4, 1, PixelType::kU8);
    EXPECT_EQ(img.device(), 0);
    EXPECT_EQ(simulated::device_of(img.view().data), 0);
  }
  cuda::set_device(1);
  {
    Context c0(Backend::kCuda, 0);
    EXPECT_EQ(cuda::current_device(), 1);
    void* p = c0.impl().device_scratch(3, 1000);  // the context's scratch is on its own device
    EXPECT_EQ(simulated::device_of(p), 0);
    EXPECT_EQ(cuda::current_device(), 1);
  }
  counters().pools = false;  // without memory pools too (plain cudaMalloc on the current device)
  {
    Context c0(Backend::kCuda, 0);
    void* p = c0.impl().device_scratch(3, 1000);
    EXPECT_EQ(simulated::device_of(p), 0);
    EXPECT_EQ(cuda::current_device(), 1);
  }
  counters().pools = true;
  EXPECT_EQ(cuda::current_device(), 1);  // destroying it left the device alone too
  EXPECT_EQ(counters().wrong_device, 0);
}

// Issue 13.2: a DeviceImage made while device 1 was current, then copied and freed while device
// 0 is current, used device 0's legacy stream (not ordered with device 1's contexts) and freed
// another device's memory.
TEST_F(CudaHost, DeviceImageCopiesAndFreesOnItsOwnDevice) {
  const HostImage src = ramp(13, 7, 3, PixelType::kU8);
  HostImage back(13, 7, 3, PixelType::kU8);
  cuda::set_device(1);
  {
    DeviceImage img(13, 7, 3, PixelType::kU8);
    EXPECT_EQ(img.device(), 1);
    cuda::set_device(0);
    img.upload(src);
    img.download(back);
    EXPECT_EQ(cuda::current_device(), 0);
    EXPECT_TRUE(same_pixels(src.view(), back.view()));
  }  // freed while device 0 is current
  EXPECT_EQ(cuda::current_device(), 0);
  EXPECT_EQ(counters().wrong_device, 0);
}

TEST_F(CudaHost, DeviceImageOfAContextIsOnTheContextsDevice) {
  cuda::set_device(0);
  Context c1(Backend::kCuda, 1);
  DeviceImage img(5, 5, 1, PixelType::kF32, c1);
  EXPECT_EQ(img.device(), 1);
  EXPECT_EQ(simulated::device_of(img.view().data), 1);
  EXPECT_EQ(cuda::current_device(), 0);
  Context cpu(Backend::kCpu);
  error_of([&] { DeviceImage bad(5, 5, 1, PixelType::kF32, cpu); }, ErrorCode::kInvalidArgument);
  EXPECT_EQ(counters().wrong_device, 0);
}

// Device views used with a context of another device are refused before anything is queued; the
// same views with a context of their own device get past the checks (to the simulated backend,
// which is unavailable).
TEST_F(CudaHost, DeviceViewsOfAnotherDeviceAreRefused) {
  Context c0(Backend::kCuda, 0), c1(Backend::kCuda, 1);
  DeviceImage a(16, 9, 1, PixelType::kF32, c0), b(16, 9, 1, PixelType::kF32, c0);
  DeviceImage a1(16, 9, 1, PixelType::kF32, c1);
  DeviceImage edges(16, 9, 1, PixelType::kU8, c0), mask1(16, 9, 1, PixelType::kU8, c1);
  const long long syncs = counters().synchronizations;

  HeatParams hp;
  hp.sigma = 1.0;
  const std::string m = error_of([&] { heat_smooth(a, b, hp, c1); }, ErrorCode::kInvalidArgument);
  EXPECT_NE(m.find("heat_smooth: src is memory of CUDA device 0"), std::string::npos) << m;
  EXPECT_NE(m.find("the context uses device 1"), std::string::npos) << m;
  const std::string md = error_of([&] { heat_smooth(a1, b, hp, c1); }, ErrorCode::kInvalidArgument);
  EXPECT_NE(md.find("dst is memory of CUDA device 0"), std::string::npos) << md;

  PeronaMalikParams pm;
  pm.k = 10.0;
  pm.contrast = ContrastMode::kAbsolute;
  pm.steps = 2;
  error_of([&] { perona_malik(a, b, pm, c1); }, ErrorCode::kInvalidArgument);
  error_of([&] { estimate_noise(a, c1); }, ErrorCode::kInvalidArgument);
  GradientImages g;
  g.magnitude = a1;
  const std::string mg =
      error_of([&] { gradient(b, g, GradientParams{}, c1); }, ErrorCode::kInvalidArgument);
  EXPECT_NE(mg.find("src is memory of CUDA device 0"), std::string::npos) << mg;
  CannyImages ci;
  ci.mask = mask1;
  CannyParams cp;
  cp.smoothing = CannySmoothing::kNone;
  cp.low = 1.0;
  cp.high = 2.0;
  const std::string mm =
      error_of([&] { canny(a, edges, ci, cp, c0); }, ErrorCode::kInvalidArgument);
  EXPECT_NE(mm.find("canny: mask is memory of CUDA device 1"), std::string::npos) << mm;
  EXPECT_EQ(counters().synchronizations, syncs);  // refused before any work

  // The right device passes the checks.
  error_of([&] { heat_smooth(a, b, hp, c0); }, ErrorCode::kBackendUnavailable);
  error_of([&] { canny(a, edges, CannyImages{}, cp, c0); }, ErrorCode::kBackendUnavailable);
  EXPECT_EQ(counters().wrong_device, 0);
}

// Issue 13.4: an operation on a page-locked host image queues its upload; when it then throws, the
// copy engine may still be reading the caller's memory. The operation now waits before the
// exception reaches the caller.
TEST_F(CudaHost, AnOperationThatThrowsWaitsForTheCopiesItQueued) {
  counters().devices = 1;
  Context ctx(Backend::kCuda, 0);
  const int w = 40, h = 30;
  void* pinned = cuda::malloc_host(static_cast<std::size_t>(w) * h);
  ASSERT_NE(pinned, nullptr);
  std::memset(pinned, 7, static_cast<std::size_t>(w) * h);
  const ImageView src{pinned,         w, h, 1, static_cast<std::size_t>(w), PixelType::kU8,
                      Location::kHost};
  HostImage edges(w, h, 1, PixelType::kU8);
  CannyParams cp;
  cp.smoothing = CannySmoothing::kNone;
  cp.low = 1.0;
  cp.high = 2.0;
  const long long uploads = counters().uploads;
  error_of([&] { canny(src, edges, cp, ctx); }, ErrorCode::kBackendUnavailable);
  EXPECT_EQ(counters().uploads, uploads + 1);  // the input was queued for upload ...
  EXPECT_EQ(simulated::pending_ops(), 0);      // ... and that copy is done when the error returns
  cuda::free_host(pinned);
}

// Issue 13.4: the size limits of the CUDA backend (2^31 - 1 pixels for Canny's union–find, 2^31 - 1
// values for the K quantile's and the noise estimate's CUB calls) are checked before an upload
// is queued. The images are address space without memory (PROT_NONE): any read would crash.
TEST_F(CudaHost, SizeLimitsAreCheckedBeforeAnyUpload) {
  counters().devices = 1;
  Context ctx(Backend::kCuda, 0);
  const std::size_t bytes = std::size_t{1} << 31;
  void* space = mmap(nullptr, bytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  ASSERT_NE(space, MAP_FAILED);
  simulated::register_pinned(space);  // a copy from it would be queued, not run
  const long long uploads = counters().uploads;

  // 65536 x 32768 = 2^31 pixels: one more than the union–find indexes.
  void* space2 =
      mmap(nullptr, bytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  ASSERT_NE(space2, MAP_FAILED);
  const ImageView big{space, 65536, 32768, 1, 65536, PixelType::kU8, Location::kHost};
  ImageView edges = big;
  edges.data = space2;
  CannyParams cp;
  cp.smoothing = CannySmoothing::kNone;
  cp.low = 1.0;
  cp.high = 2.0;
  const std::string m = error_of([&] { canny(big, edges, cp, ctx); }, ErrorCode::kUnsupported);
  EXPECT_NE(m.find("2^31 - 1"), std::string::npos) << m;

  // 32768 x 32770 grey: 2^31 + 65535 pixel pairs for the K quantile (32768 x 32769 would be
  // exactly 2^31 - 1, the last size accepted).
  const ImageView square{space, 32768, 32770, 1, 32768, PixelType::kU8, Location::kHost};
  ImageView out = square;
  out.data = space2;
  PeronaMalikParams pm;
  pm.contrast = ContrastMode::kQuantile;
  pm.steps = 1;
  const std::string mq =
      error_of([&] { perona_malik(square, out, pm, ctx); }, ErrorCode::kUnsupported);
  EXPECT_NE(mq.find("K quantile"), std::string::npos) << mq;

  EXPECT_EQ(counters().uploads, uploads);
  EXPECT_EQ(simulated::pending_ops(), 0);
  munmap(space2, bytes);
  munmap(space, bytes);
}

// Scratch that grows is freed and reallocated in stream order: no wait for the stream and no
// cudaFree (which waits for the whole device); the old buffer is released only when the stream
// has passed the work queued before. Without memory pools the old way remains.
TEST_F(CudaHost, ScratchGrowsInStreamOrderWithoutWaiting) {
  counters().devices = 1;
  Context ctx(Backend::kCuda, 0);
  void* small = ctx.impl().device_scratch(4, 100);
  ASSERT_NE(small, nullptr);
  const long long syncs = counters().synchronizations;
  const long long pending = simulated::pending_ops();
  void* large = ctx.impl().device_scratch(4, 100000);
  EXPECT_NE(large, nullptr);
  EXPECT_EQ(counters().synchronizations, syncs);
  EXPECT_EQ(counters().device_frees, 0);
  EXPECT_EQ(counters().async_frees, 1);
  EXPECT_EQ(simulated::pending_ops(), pending + 1);  // the free waits for the stream's work
  EXPECT_EQ(simulated::device_of(small), 0);         // still allocated
  ctx.synchronize();
  EXPECT_EQ(simulated::device_of(small), -1);          // released once the stream got there
  EXPECT_EQ(ctx.impl().device_scratch(4, 50), large);  // no shrinking

  counters().pools = false;
  Context old(Backend::kCuda, 0);
  old.impl().device_scratch(4, 100);
  const long long old_syncs = counters().synchronizations;
  old.impl().device_scratch(4, 100000);
  EXPECT_GT(counters().synchronizations, old_syncs);
  EXPECT_EQ(counters().device_frees, 1);
  EXPECT_EQ(counters().wrong_device, 0);
}

// Perona–Malik on a host image stages it once for the whole call (noise estimate, K quantile and
// steps read the device copy): here the call gets as far as the (unavailable) noise estimate on
// that copy with exactly one upload behind it.
TEST_F(CudaHost, PeronaMalikStagesAHostImageOnceBeforeItsStatistics) {
  counters().devices = 1;
  Context ctx(Backend::kCuda, 0);
  const HostImage img = ramp(30, 20, 3, PixelType::kU8);
  HostImage out(30, 20, 3, PixelType::kU8);
  const long long uploads = counters().uploads;
  error_of([&] { perona_malik(img, out, PeronaMalikParams{}, ctx); },
           ErrorCode::kBackendUnavailable);
  EXPECT_EQ(ctx.impl().host_uploads, 1);
  EXPECT_EQ(counters().uploads, uploads + 1);
  EXPECT_EQ(simulated::pending_ops(), 0);
}

// A context of device 1 used from a thread whose current device is 0 allocates its scratch on
// device 1 and leaves the thread on device 0.
TEST_F(CudaHost, OperationsUseTheContextsDeviceFromAnyThread) {
  Context c1(Backend::kCuda, 1);
  HostImage img = ramp(12, 8, 1, PixelType::kU8);
  HostImage out(12, 8, 1, PixelType::kU8);
  std::thread t([&] {
    cuda::set_device(0);
    HeatParams hp;
    hp.sigma = 1.0;
    error_of([&] { heat_smooth(img, out, hp, c1); }, ErrorCode::kBackendUnavailable);
    EXPECT_EQ(cuda::current_device(), 0);
  });
  t.join();
  EXPECT_EQ(counters().wrong_device, 0);
}

}  // namespace
}  // namespace pdeimg
