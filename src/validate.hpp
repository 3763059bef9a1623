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
/// views only with the CUDA backend (and both views in the same place); and check_cuda_extent.
void check_location(const ImageView& src, const ImageView& dst, const Context& ctx, const char* op);

/// With the CUDA backend, `v` has at most kCudaMaxHeight rows: the kernels put rows in the grid's
/// y dimension, at most 65535 blocks of 8 rows. Throws Error(kUnsupported) naming `op` otherwise.
constexpr int kCudaMaxHeight = 65535 * 8;
void check_cuda_extent(const ImageView& v, const Context& ctx, const char* op);

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
