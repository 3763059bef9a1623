// Backend selection and its messages.
#include "pdeimg/context.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <string>
#include <thread>

#include "pdeimg/error.hpp"
#include "pdeimg/heat.hpp"
#include "pdeimg/version.hpp"
#include "tests/test_util.hpp"

namespace pdeimg {
namespace {

// The version the library reports is the project's, and it says which source it was built from.
TEST(Version, IsTheProjectVersionAndNamesTheSource) {
  EXPECT_STREQ(version(), PDEIMG_TEST_PROJECT_VERSION);
  const std::string source = source_commit();
  EXPECT_TRUE(source == "unknown" ||
              (source.size() >= 12 && source.find_first_not_of("0123456789abcdef") >= 12))
      << source;
}

struct EnvGuard {
  explicit EnvGuard(const char* value) {
    if (value)
      setenv("PDEIMG_BACKEND", value, 1);
    else
      unsetenv("PDEIMG_BACKEND");
  }
  ~EnvGuard() { unsetenv("PDEIMG_BACKEND"); }
};

// A Context is not thread-safe. A second thread's operation while one runs is refused with a
// clear error (it used to wait forever on the worker pool); nested operations of one thread (canny
// smoothing, the denoiser's noise estimate) and later calls from any thread are fine.
TEST(Context, SecondThreadDuringAnOperationIsRefused) {
  Context ctx(Backend::kCpu);
  ctx.set_threads(2);
  const HostImage in = test::random_image(64, 64, 1, PixelType::kF32, 0.0f, 1.0f, 2);
  HostImage a(64, 64, 1, PixelType::kF32), b(64, 64, 1, PixelType::kF32);
  HeatParams p;
  p.time = 40.0;  // 320 steps: progress is reported while the call runs
  p.scheme = HeatScheme::kExplicit;
  std::atomic<bool> tried{false};
  std::string second_error;
  ctx.set_progress([&](double) {
    if (!tried.exchange(true)) {
      std::thread other([&] {
        try {
          heat_smooth(in, b, p, ctx);
        } catch (const Error& e) {
          second_error = e.what();
        }
      });
      other.join();
    }
    return true;
  });
  heat_smooth(in, a, p, ctx);
  ASSERT_TRUE(tried.load());
  EXPECT_NE(second_error.find("two threads at once"), std::string::npos) << second_error;
  ctx.set_progress(nullptr);
  std::thread later([&] { heat_smooth(in, b, p, ctx); });  // free again, from another thread
  later.join();
  EXPECT_TRUE(test::identical(a, b));
}

TEST(Context, ParsesBackendNames) {
  EXPECT_EQ(parse_backend("auto"), Backend::kAuto);
  EXPECT_EQ(parse_backend("CPU"), Backend::kCpu);
  EXPECT_EQ(parse_backend("cuda"), Backend::kCuda);
  EXPECT_THROW(parse_backend("opencl"), Error);
}

TEST(Context, CpuIsAlwaysAvailable) {
  Context ctx(Backend::kCpu);
  EXPECT_EQ(ctx.backend(), Backend::kCpu);
  EXPECT_EQ(ctx.stream(), nullptr);
  EXPECT_GE(ctx.threads(), 1);
  ctx.set_threads(3);
  EXPECT_EQ(ctx.threads(), 3);
  EXPECT_NE(ctx.device_name().find("CPU"), std::string::npos);
  ctx.synchronize();  // a no-op, not an error
}

TEST(Context, AutoPicksCudaOnlyWithADeviceAndSaysWhy) {
  EnvGuard env(nullptr);
  Context ctx;
  EXPECT_EQ(ctx.backend(), test::cuda_available() ? Backend::kCuda : Backend::kCpu);
  EXPECT_FALSE(ctx.selection_note().empty());
}

TEST(Context, EnvironmentOverridesAuto) {
  EnvGuard env("cpu");
  Context ctx;
  EXPECT_EQ(ctx.backend(), Backend::kCpu);
  EXPECT_NE(ctx.selection_note().find("PDEIMG_BACKEND"), std::string::npos);
  Context explicit_cpu(Backend::kCpu);  // explicit requests ignore the variable
  EXPECT_EQ(explicit_cpu.backend(), Backend::kCpu);
}

TEST(Context, BadEnvironmentValueIsAnError) {
  EnvGuard env("fpga");
  try {
    Context ctx;
    FAIL() << "PDEIMG_BACKEND=fpga must be rejected";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("fpga"), std::string::npos);
  }
}

TEST(Context, CudaWithoutDeviceIsBackendUnavailable) {
  if (test::cuda_available()) {
    Context ctx(Backend::kCuda);
    EXPECT_EQ(ctx.backend(), Backend::kCuda);
    EXPECT_NE(ctx.stream(), nullptr);
    EXPECT_FALSE(ctx.device_name().empty());
    return;
  }
  try {
    Context ctx(Backend::kCuda);
    FAIL() << "cuda without a device must throw";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kBackendUnavailable);
    EXPECT_NE(std::string(e.what()).find("cuda"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace pdeimg
