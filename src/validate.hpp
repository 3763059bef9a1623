// Argument checks shared by every operation. Internal header.
#pragma once

#include <string>

#include "pdeimg/context.hpp"
#include "pdeimg/image.hpp"

namespace pdeimg {
namespace detail {

/// src and dst are valid views of equal size and channel count, and either identical or
/// non-overlapping. `op` names the operation in messages.
void check_src_dst(const ImageView& src, const ImageView& dst, const char* op);

/// Both views are where the context's backend can work on them: host views anywhere, device
/// views only with the CUDA backend and its device (and both views in the same place); and
/// check_cuda_extent.
void check_location(const ImageView& src, const ImageView& dst, const Context& ctx, const char* op);

/// A device view `what` used with a CUDA context must be memory of the context's device: kernels
/// on one device cannot read another's memory (without peer access, which pdeimg does not set
/// up), and the context's stream is not ordered with the other device's work. Throws
/// Error(kInvalidArgument) naming both devices otherwise. Host views and CPU contexts pass (the
/// latter refuse device views in check_location).
void check_device(const ImageView& v, const Context& ctx, const char* op, const char* what);

/// With the CUDA backend, `v` has at most kCudaMaxHeight rows: the kernels put rows in the grid's
/// y dimension, at most 65535 blocks of 8 rows. Throws Error(kUnsupported) naming `op` otherwise.
constexpr int kCudaMaxHeight = 65535 * 8;
void check_cuda_extent(const ImageView& v, const Context& ctx, const char* op);

/// With the CUDA backend, a statistic over `n` values (CUB's sorts and sums count in int) or an
/// image of `n` pixels (the union–find indexes pixels in 31 bits) needs n <= 2^31 - 1. Throws
/// Error(kUnsupported) naming `op` and `what` otherwise. Called before an operation queues any
/// work, so the refusal never leaves a copy of the caller's memory in flight.
void check_cuda_items(unsigned long long n, const Context& ctx, const char* op, const char* what);
/// check_cuda_items for the w x h pixels of an image.
void check_cuda_pixels(int width, int height, const Context& ctx, const char* op);

/// `v` with the fewest digits (6 to 17) that read back as `v`, so that two different values in a
/// message never print alike ("dt = 0.25000000001 exceeds the stability bound 0.25").
std::string num(double v);

/// Test hook: PDEIMG_TEST_MAX_FUSED caps the steps the CPU fuses per pass (0 = no cap).
int test_max_fused() noexcept;

/// Test hook: PDEIMG_TEST_SPECTRAL_PATH = "fft" or "matrix" makes the CPU spectral solver use that
/// transform along both axes (0 = the cost model's choice, 1 = FFT, 2 = matrix products).
int test_spectral_path() noexcept;

}  // namespace detail
}  // namespace pdeimg
