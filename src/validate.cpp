#include "src/validate.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "pdeimg/error.hpp"
#include "src/cuda/runtime.hpp"

namespace pdeimg {
namespace detail {

namespace {
std::string dims(const ImageView& v) {
  return std::to_string(v.width) + "x" + std::to_string(v.height) + "x" +
         std::to_string(v.channels);
}
}  // namespace

void check_src_dst(const ImageView& src, const ImageView& dst, const char* op) {
  validate(src, (std::string(op) + ": src").c_str());
  validate(dst, (std::string(op) + ": dst").c_str());
  if (src.width != dst.width || src.height != dst.height || src.channels != dst.channels) {
    throw Error(ErrorCode::kInvalidArgument, std::string(op) + ": src is " + dims(src) +
                                                 " but dst is " + dims(dst) + "; they must match");
  }
  if (src.data == dst.data) {
    if (src.pitch != dst.pitch || src.type != dst.type) {
      throw Error(ErrorCode::kInvalidArgument,
                  std::string(op) + ": dst aliases src with a different pitch or type");
    }
    return;
  }
  const auto begin = [](const ImageView& v) { return reinterpret_cast<std::uintptr_t>(v.data); };
  const auto end = [](const ImageView& v) {
    return reinterpret_cast<std::uintptr_t>(v.data) + v.pitch * (v.height - 1) + v.row_bytes();
  };
  if (src.location == dst.location && begin(src) < end(dst) && begin(dst) < end(src)) {
    throw Error(ErrorCode::kInvalidArgument,
                std::string(op) +
                    ": dst partially overlaps src; use separate buffers or exactly the same view");
  }
}

void check_cuda_extent(const ImageView& v, const Context& ctx, const char* op) {
  if (ctx.backend() != Backend::kCuda || v.height <= kCudaMaxHeight) return;
  throw Error(ErrorCode::kUnsupported,
              std::string(op) + ": the CUDA backend handles images of up to " +
                  std::to_string(kCudaMaxHeight) + " rows, got " + std::to_string(v.height) +
                  " (use the CPU backend, or process the image in bands)");
}

void check_location(const ImageView& src, const ImageView& dst, const Context& ctx,
                    const char* op) {
  check_cuda_extent(src, ctx, op);
  if (src.location != dst.location) {
    throw Error(ErrorCode::kInvalidArgument,
                std::string(op) + ": src and dst must both be host or both be device views");
  }
  if (src.location == Location::kDevice && ctx.backend() != Backend::kCuda) {
    throw Error(ErrorCode::kInvalidArgument,
                std::string(op) +
                    ": device views need a context with the cuda backend (this one is " +
                    to_string(ctx.backend()) + ")");
  }
  check_device(src, ctx, op, "src");
  check_device(dst, ctx, op, "dst");
}

void check_device(const ImageView& v, const Context& ctx, const char* op, const char* what) {
  if (v.location != Location::kDevice || v.data == nullptr || ctx.backend() != Backend::kCuda) {
    return;
  }
  const int device = cuda::pointer_device(v.data);
  if (device < 0 || device == ctx.device()) return;
  throw Error(ErrorCode::kInvalidArgument,
              std::string(op) + ": " + what + " is memory of CUDA device " +
                  std::to_string(device) + " but the context uses device " +
                  std::to_string(ctx.device()) + "; use a Context of device " +
                  std::to_string(device) + " or copy the image to device " +
                  std::to_string(ctx.device()));
}

void check_cuda_items(unsigned long long n, const Context& ctx, const char* op, const char* what) {
  if (ctx.backend() != Backend::kCuda || n <= 0x7fffffffULL) return;
  throw Error(ErrorCode::kUnsupported, std::string(op) + ": " + what + " over " +
                                           std::to_string(n) +
                                           " values; the CUDA backend handles at most 2^31 - 1 "
                                           "(use the CPU backend, or process the image in bands)");
}

void check_cuda_pixels(int width, int height, const Context& ctx, const char* op) {
  if (width <= 0 || height <= 0) return;
  check_cuda_items(
      static_cast<unsigned long long>(width) * static_cast<unsigned long long>(height), ctx, op,
      ("the " + std::to_string(width) + "x" + std::to_string(height) + " image's pixels").c_str());
}

int test_max_fused() noexcept {
  const char* env = std::getenv("PDEIMG_TEST_MAX_FUSED");
  return env ? std::atoi(env) : 0;
}

int test_spectral_path() noexcept {
  const char* env = std::getenv("PDEIMG_TEST_SPECTRAL_PATH");
  if (!env) return 0;
  if (std::strcmp(env, "fft") == 0) return 1;
  if (std::strcmp(env, "matrix") == 0) return 2;
  return 0;
}

std::string num(double v) {
  char buf[64];
  for (int digits = 6; digits <= 17; ++digits) {
    std::snprintf(buf, sizeof buf, "%.*g", digits, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

}  // namespace detail
}  // namespace pdeimg
