// Non-finite samples and float32 range, for every operation (include/pdeimg/image.hpp,
// NonFinite): the scan of a float input, the refusal of non-finite samples, and the exact
// power-of-two scaling that keeps huge finite inputs from overflowing. Internal header.
#pragma once

#include "pdeimg/context.hpp"
#include "pdeimg/image.hpp"

namespace pdeimg {
namespace detail {

/// What a scan of a float image found over its first `channels` channels.
struct SampleScan {
  NonFiniteCount non_finite;
  float max_abs = 0.0f;  ///< the largest finite magnitude
};

/// Scans the first `channels` channels of `image` (float32; other types: nothing to find). Host
/// views on the CPU, device views with a CUDA kernel (waits for ctx's stream).
SampleScan scan_samples(const ImageView& image, int channels, Context& ctx);

/// With NonFinite::kRefuse, throws Error(kInvalidArgument) when the scan found non-finite samples:
/// "<op>: <what> has N non-finite samples (NaN or infinity), the first at x, y, channel; ...".
void check_non_finite(const SampleScan& scan, NonFinite mode, const char* op, const char* what);

/// How far an input must be scaled (by 2^-e) for an operation whose float32 arithmetic is exact
/// for magnitudes in [2^-kTinyLog2 .. 2^limit_log2] (squares neither overflow nor underflow): 0
/// when max_abs lies in that range (or is 0), else e with max_abs 2^-e in [2^(limit-1), 2^limit).
int scale_exponent(float max_abs, int limit_log2);

/// dst = src * 2^exponent, sample by sample over the first `channels` channels (all when <= 0;
/// further ones, alpha, are copied), converted to dst's type (rounded, saturated): exact for
/// float results that stay normal; a finite product beyond the float range saturates to
/// +-FLT_MAX, non-finite samples are copied. Same shape; dst may be src. Runs where the views are
/// (host: CPU workers; device: queued on ctx's stream).
void scale_samples(const ImageView& src, const ImageView& dst, int exponent, Context& ctx,
                   int channels = 0);

/// Magnitude limits (log2) below which each operation's float32 arithmetic cannot overflow.
constexpr int kHeatRangeLog2 = 124;  ///< |sum of 4 neighbours - 4 u| <= 8 max
/// The colour gradient squares the structure tensor's entries, themselves sums of squared
/// derivatives (Scharr: up to 32 max): fourth powers, finite below about 2^25.
constexpr int kGradientRangeLog2 = 24;
constexpr int kStatisticRangeLog2 = 60;  ///< the noise estimate's squared gradients and sums
/// Below this magnitude (2^-kTinyLog2) squares come near float's subnormals: operations that
/// square values scale such inputs up (heat, which does not, is exact at any scale).
constexpr int kTinyLog2 = 40;

/// Scratch slots (host and device) of the scaled copies: an operation's input and output, and the
/// inputs of the statistics an operation computes on the side (noise estimate, K quantile), so
/// that one copy is never overwritten by another while in use.
constexpr int kScaledInputSlot = 40;
constexpr int kScaledOutputSlot = 41;
constexpr int kScaledQuantileSlot = 43;
constexpr int kScaledNoiseSlot = 44;
constexpr int kScaledCannySlot = 45;

/// The input an operation computes on: `src` itself, or a copy scaled by 2^-exponent.
struct GuardedInput {
  ImageView view;
  int exponent = 0;  ///< results scale back by 2^exponent
  int channels = 0;  ///< the channels scanned and scaled (further ones, alpha, are copied)
  SampleScan scan;
};

/// For a float32 src: scans its first `channels` channels, refuses non-finite samples unless
/// `mode` is kMissing, and when its largest magnitude exceeds 2^limit_log2 makes a copy scaled by
/// 2^-e into scratch slot `slot`, where src lives. Integer inputs pass as they are.
GuardedInput guard_input(const ImageView& src, int channels, NonFinite mode, int limit_log2,
                         const char* op, Context& ctx, int slot = kScaledInputSlot);

/// The scan and refusal of guard_input without any scaling (exponent 0): for an operation that
/// chooses its scale later (perona_malik, from K), with scale_input.
GuardedInput scan_input(const ImageView& src, int channels, NonFinite mode, const char* op,
                        Context& ctx);

/// The largest magnitude an input of `type` holds over the scanned channels: the scan's for float
/// (guard_input and scan_input scan only float inputs), the type's range for integer types.
double magnitude_bound(PixelType type, const SampleScan& scan);

/// Makes `in` compute on src * 2^-exponent (exponent may be negative: scaled up), a copy in
/// scratch slot `slot` where src lives; exponent 0 leaves it on src.
void scale_input(GuardedInput& in, const ImageView& src, int exponent, Context& ctx,
                 int slot = kScaledInputSlot);

/// Runs compute(input, output) on the guarded input and brings the result back to dst's scale:
/// directly into dst when nothing was scaled; else into dst (float32) or a float scratch image
/// (other types), then dst = output * 2^exponent.
template <class Compute>
void compute_scaled(const GuardedInput& in, const ImageView& dst, Context& ctx,
                    const Compute& compute);

/// A float32 image shaped like `like`, in scratch slot `slot` where `like` lives.
ImageView float_scratch_like(const ImageView& like, int slot, Context& ctx);

template <class Compute>
void compute_scaled(const GuardedInput& in, const ImageView& dst, Context& ctx,
                    const Compute& compute) {
  if (in.exponent == 0) {
    compute(in.view, dst);
    return;
  }
  const ImageView out =
      dst.type == PixelType::kF32 ? dst : float_scratch_like(dst, kScaledOutputSlot, ctx);
  compute(in.view, out);
  scale_samples(out, dst, in.exponent, ctx, in.channels);
}

}  // namespace detail
}  // namespace pdeimg
