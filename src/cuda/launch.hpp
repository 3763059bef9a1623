// Kernel launchers of the CUDA backend, callable from plain C++ (no CUDA headers). Each queues
// work on `stream` and checks the launch. Internal header.
#pragma once

#include <cstddef>

#include "kernels/common.cuh"
#include "kernels/radix_select.cuh"
#include "pdeimg/context.hpp"
#include "pdeimg/gradient.hpp"
#include "pdeimg/image.hpp"

namespace pdeimg {
namespace cuda {

/// planes[c] = float(src channel c) for c < planes.count (src is a device view).
void launch_load_planes(const ImageView& src, const detail::Planes& planes, void* stream);
/// dst channel c = planes[c] (rounded, saturated) for c < planes.count; any further channel of
/// dst (alpha) = src's, converted. src and dst are device views and may be the same.
void launch_store_planes(const detail::Planes& planes, const ImageView& src, const ImageView& dst,
                         void* stream);
/// One explicit heat step on every plane: out = in + dt Δin (reflecting boundaries); with
/// `missing`, non-finite samples are missing data (detail::ghost).
void launch_heat_step(const detail::Planes& in, const detail::Planes& out, float dt, bool missing,
                      void* stream);
/// out = the exact heat solution at `time` of every plane of in (kernels/heat_spectral.cu): cuFFT
/// with plans cached in ctx, scratch in device slots detail::kSpectralDeviceSlot.. +2; queued on
/// ctx's stream. in and out may be the same planes.
void launch_heat_spectral(const detail::Planes& in, const detail::Planes& out, double time,
                          Context& ctx);

/// The most heat steps launch_heat_steps fuses into one launch.
int heat_max_fused_steps();
/// `steps` (1..heat_max_fused_steps()) explicit heat steps in one launch, in -> out (different
/// planes), by temporal blocking in shared memory; bit-identical to as many launch_heat_step.
void launch_heat_steps(const detail::Planes& in, const detail::Planes& out, int steps, float dt,
                       bool missing, void* stream);
/// The most steps of different sizes one launch_heat_cycle_steps takes.
constexpr int kMaxCycleSteps = 8;
/// `steps` (1..min(heat_max_fused_steps(), kMaxCycleSteps)) heat steps of sizes dt[0..steps) in
/// one launch, as launch_heat_steps: bit-identical to as many launch_heat_step with those sizes
/// (fast explicit diffusion cycles).
void launch_heat_cycle_steps(const detail::Planes& in, const detail::Planes& out, int steps,
                             const float* dt, bool missing, void* stream);

// --- perona_malik (kernels/perona_malik.cu)
// --------------------------------------------------------

/// What one Perona–Malik step needs besides its planes.
struct PmStepArgs {
  int diffusivity = 1;  // 0 exponential, 1 rational, 2 tukey (the order of pdeimg::Diffusivity)
  float inv_k2 = 0.0f;  // the diffusivity's constant (see detail::PeronaMalikPlan)
  float dt = 0.0f;
  bool coupled = true;
  bool eight = false;
  bool regularized = false;  // g from `gsrc` (the smoothed planes) instead of `in`
  bool missing = false;      // non-finite samples are missing data (never with regularized)
};
/// One explicit Perona–Malik step on every plane: out = step(in), g from gsrc when regularized.
void launch_pm_step(const detail::Planes& in, const detail::Planes& gsrc, const detail::Planes& out,
                    const PmStepArgs& args, void* stream);
/// The most unregularised Perona–Malik steps launch_pm_steps fuses for `args` and `channels`.
int pm_max_fused_steps(const PmStepArgs& args, int channels);
/// `steps` (1..pm_max_fused_steps) unregularised steps in one launch, in -> out (different planes),
/// by temporal blocking; bit-identical to as many launch_pm_step.
void launch_pm_steps(const detail::Planes& in, const detail::Planes& out, int steps,
                     const PmStepArgs& args, void* stream);
/// out = Gaussian(sigma) * in for every plane, separable through tmp (reflecting boundary).
void launch_gaussian(const detail::Planes& in, const detail::Planes& tmp, const detail::Planes& out,
                     double sigma, void* stream);
/// The squared differences of all axially neighbouring pixel pairs (summed over the planes when
/// coupled, else for each plane): (w-1)h + w(h-1) values per group, into d_out.
void launch_gradient_sq(const detail::Planes& v, bool coupled, float* d_out, void* stream);
/// Per interior pixel of plane `channel` ((w-2)(h-2) values, row-major): the Sobel gradient² into
/// d_grad (kNoiseSkipKey for a flat, clipped or non-finite 3x3 neighbourhood; `type` is the
/// image's, whose range ends count as clipped), Immerkaer's high-pass into d_hp, and 1
/// (informative) or 0 (skipped) into d_valid (kernels/noise.cuh).
void launch_noise_values(const detail::Planes& p, int channel, PixelType type, float* d_grad,
                         float* d_hp, int* d_valid, void* stream);
/// One pass of rank selection by radix (kernels/radix_select.cuh) over keys[0..n): d_hist
/// (kRadixBins ints) counts the accepted keys by the bin radix_bin gives them. CUB's
/// DeviceHistogram; with d_temp == nullptr only returns the temporary bytes needed, otherwise
/// queues the work and returns temp_bytes.
using detail::RadixBinArgs;
std::size_t radix_histogram(const RadixBinArgs& args, std::size_t n, int* d_hist, void* d_temp,
                            std::size_t temp_bytes, void* stream);
/// The indices i (ascending) with d_keys[i] == value into d_out, their number into *d_count (CUB's
/// DeviceSelect). Temporary storage as radix_histogram.
std::size_t select_equal_indices(const unsigned* d_keys, unsigned value, std::size_t n, int* d_out,
                                 int* d_count, void* d_temp, std::size_t temp_bytes, void* stream);
/// *d_out = the sum of n ints (CUB; exact, so deterministic). Temporary storage as radix_histogram.
std::size_t sum_ints(const int* d_in, int* d_out, std::size_t n, void* d_temp,
                     std::size_t temp_bytes, void* stream);

// --- gradient and canny (kernels/gradient.cu, kernels/canny.cu)
// -----------------------------------

/// The derivatives, magnitude (times `scale`) and direction of a device view into the device
/// outputs of `out` that are given (see pdeimg::gradient); `channels` enter magnitude/direction.
/// `missing`: non-finite samples are missing data (detail::ghost3x3).
void launch_gradient(const ImageView& src, const GradientImages& out, GradientOperator op,
                     int channels, float scale, bool missing, void* stream);
/// labels (uint8) = non-maximum suppression of `magnitude` along the direction recomputed from
/// src, then the double threshold: {low, high} from d_thresholds when not null. Mask optional.
/// `missing`: non-finite samples are missing data (ghost3x3, nms_magnitude).
void launch_canny_nms(const ImageView& src, const ImageView& magnitude, const ImageView& mask,
                      float low, float high, const float* d_thresholds, GradientOperator op,
                      int channels, const ImageView& labels, bool missing, void* stream);
/// labels = detail::threshold_label(values).
void launch_threshold_labels(const ImageView& values, const ImageView& labels, float low,
                             float high, void* stream);
/// Exact hysteresis in place (kWeak/kStrong -> 255 or 0) by union–find over d_parent, w*h
/// unsigned integers of scratch.
void launch_hysteresis(const ImageView& labels, unsigned* d_parent, void* stream);
/// d_keys[y w + x] = the sort key of the magnitude (detail::kExcludedKey outside the mask / NaN).
void launch_quantile_keys(const ImageView& magnitude, const ImageView& mask, unsigned* d_keys,
                          void* stream);
/// Ascending radix sort (CUB) of n keys; with d_temp == nullptr only returns the temporary bytes.
std::size_t sort_canny_keys(const unsigned* d_in, unsigned* d_out, std::size_t n, void* d_temp,
                            std::size_t temp_bytes, void* stream);
/// d_out[0..1] = the q_low and q_high quantiles of the kept keys of d_sorted (n keys in all).
void launch_quantile_thresholds(const unsigned* d_sorted, std::size_t n, double q_low,
                                double q_high, float* d_out, void* stream);

// --- non-finite samples and range (kernels/finite.cu)
// ----------------------------------------------

/// What scan_samples_kernel accumulates (atomics): non-finite count, the row-major index of the
/// first, and the bits of the largest finite magnitude. Initialise to {0, ~0, 0}.
struct ScanResult {
  unsigned long long count;
  unsigned long long first;
  unsigned int max_abs_bits;
};
/// Accumulates the scan of the first `channels` channels of a float32 device view into *d_out.
void launch_scan_samples(const ImageView& image, int channels, ScanResult* d_out, void* stream);
/// dst = src * 2^exponent on the first `channels` channels, the rest copied (see
/// detail::scale_samples); device views, any types.
void launch_scale_samples(const ImageView& src, const ImageView& dst, int exponent, int channels,
                          void* stream);

// --- reaction_diffusion (kernels/reaction_diffusion.cu)
// --------------------------------------------

/// One network's parameters in device memory (see detail::RdNetwork), for stage t at
/// taps + t·N·m², sums + t·N, values + t·N·K, slopes + t·N·(K − 1).
struct RdDeviceNet {
  const float* taps = nullptr;
  const float* taps_flipped = nullptr;
  const float* sums = nullptr;
  const float* values = nullptr;
  const float* slopes = nullptr;
  int filters = 0;
  int size = 0;
  int knots = 0;
  float lo = 0.0f, inv_h = 0.0f, s_max = 0.0f;
};
/// f planes (p < count) = scale · channel p of src, or with `colour` planes 0..2 = the opponent
/// transform of channels 0..2 (then channel p for p ≥ 3). src is a device view.
void launch_rd_load(const ImageView& src, const detail::Planes& f, bool colour, double scale,
                    void* stream);
/// y plane i (i < N) = φ_i(z_i) of stage t on plane `u`.
void launch_rd_forward(const detail::Planes& u, int plane, const RdDeviceNet& net, int t,
                       const detail::Planes& y, void* stream);
/// out plane = u − Σ_i k̄_i ⋆ y_i − λ (u − f) for stage t.
void launch_rd_backward(const detail::Planes& y, const detail::Planes& u, int u_plane,
                        const detail::Planes& f, int f_plane, const detail::Planes& out,
                        int out_plane, const RdDeviceNet& net, int t, float lambda, void* stream);
/// Shared memory one rd_stage launch may use (without opting in to more).
constexpr std::size_t kRdStageMaxSharedBytes = 48 * 1024;
/// Whether launch_rd_stage can run this network (its tiles fit kRdStageMaxSharedBytes; 24
/// filters of 5×5: 44 KiB).
bool rd_stage_fits(const RdDeviceNet& net);
/// One whole stage in one launch (shared-memory tiles of u and of the y_i): out plane =
/// u − Σ_i k̄_i ⋆ φ_i(k_i ⋆ u) − λ (u − f), the same bits as launch_rd_forward followed by
/// launch_rd_backward, without the N global planes of y_i. out must be another plane than u's.
void launch_rd_stage(const detail::Planes& u, int u_plane, const detail::Planes& f, int f_plane,
                     const detail::Planes& out, int out_plane, const RdDeviceNet& net, int t,
                     float lambda, void* stream);
/// dst = src + (inverse transform of u − f) / scale for the first `count` planes' channels,
/// further channels of dst copied from src. src and dst are device views and may be the same.
void launch_rd_store(const detail::Planes& f, const detail::Planes& u, bool colour, double scale,
                     const ImageView& src, const ImageView& dst, void* stream);

}  // namespace cuda
}  // namespace pdeimg
