// The interface between the validated public API (src/*.cpp) and the backends. Internal header.
#pragma once

#include <vector>

#include "pdeimg/context.hpp"
#include "pdeimg/gradient.hpp"
#include "pdeimg/image.hpp"
#include "pdeimg/perona_malik.hpp"

namespace pdeimg {
namespace detail {

/// A validated heat-smoothing request: `steps` explicit steps of size `dt` on the first
/// `channels` channels; any further channel (alpha) is copied from src to dst. Fast explicit
/// diffusion (HeatScheme::kFed) gives each step its own size: `step_sizes` (then `steps` of them).
struct HeatPlan {
  int steps = 0;
  float dt = 0.0f;
  std::vector<float> step_sizes;  // empty: every step is dt
  int channels = 0;
  int max_fused = 0;     // 0: backend's choice (tests set it to prove fusion changes nothing)
  bool missing = false;  // non-finite samples are missing data (NonFinite::kMissing) and present
};

/// A validated spectral heat request (HeatScheme::kSpectral): the exact semi-discrete solution at
/// `time` on the first `channels` channels (finite samples only); alpha is copied.
struct HeatSpectralPlan {
  double time = 0.0;
  int channels = 0;
  /// CPU: per axis, the pruned DCT by matrix products over the live modes instead of the FFT
  /// (spectral_axis_plan; the CUDA backend always uses cuFFT).
  bool matrix_x = false;
  bool matrix_y = false;
};

/// Mode factors exp(-T λ_k) below this are taken as 0 by the spectral solvers: each such
/// coefficient contributes less than 1e-12 of the image's largest magnitude to any output sample,
/// far below float precision.
constexpr double kSpectralCut = 1e-12;

/// The CPU spectral solver's FFT lengths (kissfft): lengths whose largest prime factor is at most
/// kSpectralMaxDirectRadix are transformed directly (its generic butterfly costs O(p) per output);
/// the others by Bluestein's chirp-z convolution of length bluestein_length(n), the least
/// 2,3,5-smooth number >= 2n - 1. Shared by the solver and the auto scheme's cost model.
constexpr int kSpectralMaxDirectRadix = 13;
int largest_prime_factor(int n);
int bluestein_length(int n);

/// The number of leading DCT modes of a length-n axis whose factor exp(-T 4 sin²(π k / 2n)) is at
/// least kSpectralCut (the factors fall with k, so the others are a suffix).
int spectral_live_modes(int n, double time);

/// The CPU spectral solver's cost in explicit steps of the same image and its choice per axis
/// (src/heat.cpp's cost model): FFT or pruned matrix products, the cheaper by the model; fft_only
/// (the CUDA backend, which always uses cuFFT): FFT on both axes.
struct SpectralEstimate {
  double steps = 0.0;
  int live_x = 0, live_y = 0;
  bool matrix_x = false, matrix_y = false;
};
SpectralEstimate spectral_estimate(int width, int height, double time, bool fft_only);

/// Scratch slots of the spectral solver and of fast explicit diffusion, clear of the low slots,
/// of gradient/canny (20-34, held while canny smooths), of the scaled copies (40-45), of
/// reaction-diffusion (50-53) and of morphology (60-68).
constexpr int kSpectralHostSlot = 70;    ///< CPU: coefficient planes; 71: per-worker rows
constexpr int kSpectralDeviceSlot = 70;  ///< CUDA: complex buffers (70, 71) and factors (72)
constexpr int kFedHostSlot = 74;    ///< CPU Perona–Malik FED: the cycle's diffusivities; 75: rows
constexpr int kFedDeviceSlot = 74;  ///< CUDA Perona–Malik FED: the cycle's diffusivities

/// Number of channels an operation diffuses: all, or all but alpha for 2 and 4 channels.
inline int processed_channels(int channels, bool preserve_alpha) {
  return preserve_alpha && (channels == 2 || channels == 4) ? channels - 1 : channels;
}

}  // namespace detail

namespace cpu {
void heat_smooth(const ImageView& src, const ImageView& dst, const detail::HeatPlan& plan,
                 Context& ctx);
void heat_spectral(const ImageView& src, const ImageView& dst, const detail::HeatSpectralPlan& plan,
                   Context& ctx);
}  // namespace cpu

namespace cuda {
/// Host views are staged through device scratch and the call synchronises; device views are
/// queued on ctx's stream. Throws Error(kBackendUnavailable) in builds without CUDA.
void heat_smooth(const ImageView& src, const ImageView& dst, const detail::HeatPlan& plan,
                 Context& ctx);
/// cuFFT, plans cached in the Context (src/cuda/heat_spectral.cpp).
void heat_spectral(const ImageView& src, const ImageView& dst, const detail::HeatSpectralPlan& plan,
                   Context& ctx);
}  // namespace cuda

}  // namespace pdeimg

// --- perona_malik and its statistics
// ---------------------------------------------------------------

namespace pdeimg {
namespace detail {

/// A validated Perona–Malik request: `steps` explicit steps of size `dt` on the first `channels`
/// channels (further channels, alpha, are copied from src).
struct PeronaMalikPlan {
  int steps = 0;
  float dt = 0.0f;
  int channels = 0;
  bool coupled = true;  // one g for all channels (else each channel its own)
  bool eight = false;   // 8-neighbour stencil
  Diffusivity diffusivity = Diffusivity::kRational;
  float inv_k2 = 0.0f;          // the diffusivity's constant: 1/K², or 1/(5K²) for Tukey
  double regularization = 0.0;  // Gaussian sigma for g's gradient (0: none)
  int max_fused = 0;            // 0: backend's choice (tests)
  bool missing = false;         // non-finite samples are missing data and present
  /// Fast explicit diffusion (PeronaMalikScheme::kFed): the step sizes of one cycle, in order;
  /// `steps` / fed_cycle_length cycles, g computed at the start of each and held for it.
  /// Empty: `steps` steps of `dt` with g from every step's own state.
  std::vector<float> fed_steps;
  int fed_cycle_length = 0;
};

/// CUDA with host views: perona_malik's one device copy of src and of dst for the whole call
/// (clear of the slots its backend, the noise estimate and the scaled copies use).
constexpr int kPmStageSrcSlot = 14;
constexpr int kPmStageDstSlot = 15;

/// Which squared differences gradient_quantile_sq ranks.
struct GradientStatPlan {
  int channels = 0;
  bool coupled = true;          // one value Σ_c d_c² per pair; else one per pair and channel
  double regularization = 0.0;  // on the Gaussian-smoothed image when > 0
  bool missing = false;         // pairs with a non-finite sample are left out
};

}  // namespace detail

namespace cpu {
void perona_malik(const ImageView& src, const ImageView& dst, const detail::PeronaMalikPlan& plan,
                  Context& ctx);
/// The q-quantile (element floor(q (n - 1)) of the sorted values) of the squared differences of
/// all axially neighbouring pixel pairs; 0 for a 1x1 image.
double gradient_quantile_sq(const ImageView& src, const detail::GradientStatPlan& plan, double q,
                            Context& ctx);
/// estimate_noise's algorithm (see noise.hpp) on each of the first `channels` channels.
void estimate_noise(const ImageView& image, int channels, double* sigma, long long* samples,
                    Context& ctx);
}  // namespace cpu

namespace cuda {
void perona_malik(const ImageView& src, const ImageView& dst, const detail::PeronaMalikPlan& plan,
                  Context& ctx);
double gradient_quantile_sq(const ImageView& src, const detail::GradientStatPlan& plan, double q,
                            Context& ctx);
void estimate_noise(const ImageView& image, int channels, double* sigma, long long* samples,
                    Context& ctx);
}  // namespace cuda

// --- gradient and canny (src/gradient.cpp, src/canny.cpp)
// -----------------------------------------

namespace detail {

/// Scratch slots of gradient and canny, clear of the low slots heat_smooth and perona_malik use
/// (canny calls both while holding these).
constexpr int kGradientHostSlot = 20;    ///< CPU: per-worker rows of the gradient/candidate passes
constexpr int kQuantileHostSlot = 21;    ///< CPU: magnitudes being selected
constexpr int kCannySmoothedSlot = 22;   ///< the smoothed image (host or device)
constexpr int kCannyMagnitudeSlot = 23;  ///< the magnitude image for quantiles (host or device)
constexpr int kStageSrcSlot = 24;        ///< CUDA with host views: the staged input
constexpr int kStageOut0Slot = 25;       ///< CUDA with host views: staged outputs 0..3
constexpr int kStageMaskSlot = 29;       ///< CUDA with host views: the staged mask
constexpr int kCannyDeviceSlot = 30;     ///< CUDA: labels, sort keys, CUB storage (30..34)

/// A validated gradient request.
struct GradientPlan {
  GradientOperator op = GradientOperator::kSobel;
  int channels = 1;      ///< the first `channels` channels enter magnitude and direction
  float scale = 1.0f;    ///< multiplies the magnitude (a power of two: canny's Sobel scale)
  bool missing = false;  ///< non-finite samples are missing data (detail::ghost3x3) and present
  /// canny_candidates: `magnitude` (or, when empty, the kCannyMagnitudeSlot scratch) already holds
  /// the magnitude of src under this plan (canny's quantile thresholds computed it), so the CUDA
  /// backend does not compute the gradient again. The CPU's fused pass ignores it.
  bool magnitude_ready = false;
};

/// The double threshold on the (Sobel-scale) magnitude. On CUDA, quantile thresholds are computed
/// on the device: `device` then points to {low, high} there, and low/high are NaN.
struct CannyThresholds {
  float low = 0.0f;
  float high = 0.0f;
  const float* device = nullptr;
};

}  // namespace detail

// Both backends implement these with the same per-pixel functions (kernels/gradient.cuh); views
// are where the backend works (host for cpu::, device for cuda::, except cuda::gradient which
// also stages host views).
namespace cpu {
void gradient(const ImageView& src, const GradientImages& out, const detail::GradientPlan& plan,
              Context& ctx);
/// The q_low and q_high quantiles of `magnitude` (float32, 1 channel) over pixels where mask != 0
/// (all pixels without a mask), NaN left out; +inf when no pixel is left.
detail::CannyThresholds canny_quantiles(const ImageView& magnitude, const ImageView& mask,
                                        double q_low, double q_high, Context& ctx);
/// Gradient, non-maximum suppression and double threshold: labels (uint8, 1 channel) receive
/// kNotEdge / kWeak / kStrong; `magnitude` (optional) the magnitude.
void canny_candidates(const ImageView& src, const ImageView& mask,
                      const detail::CannyThresholds& thresholds, const detail::GradientPlan& plan,
                      const ImageView& labels, const ImageView& magnitude, Context& ctx);
/// labels = threshold_label(values): float32 -> kNotEdge / kWeak / kStrong.
void threshold_labels(const ImageView& values, const ImageView& labels, float low, float high,
                      Context& ctx);
/// Exact 8-connected hysteresis in place: kWeak/kStrong labels -> kEdge (255) or kNotEdge.
void hysteresis(const ImageView& labels, Context& ctx);
}  // namespace cpu

namespace cuda {
void gradient(const ImageView& src, const GradientImages& out, const detail::GradientPlan& plan,
              Context& ctx);
detail::CannyThresholds canny_quantiles(const ImageView& magnitude, const ImageView& mask,
                                        double q_low, double q_high, Context& ctx);
void canny_candidates(const ImageView& src, const ImageView& mask,
                      const detail::CannyThresholds& thresholds, const detail::GradientPlan& plan,
                      const ImageView& labels, const ImageView& magnitude, Context& ctx);
void threshold_labels(const ImageView& values, const ImageView& labels, float low, float high,
                      Context& ctx);
/// Union–find connected components on the device, a fixed sequence of kernels: no host wait.
void hysteresis(const ImageView& labels, Context& ctx);
}  // namespace cuda

}  // namespace pdeimg

// --- non-finite samples and range (src/finite.cpp)
// ------------------------------------------------

#include "src/finite.hpp"

namespace pdeimg {
namespace cpu {
/// detail::scan_samples of a float32 host view.
detail::SampleScan scan_samples(const ImageView& image, int channels, Context& ctx);
/// detail::scale_samples of host views: the first `channels` channels scaled, the rest copied.
void scale_samples(const ImageView& src, const ImageView& dst, int exponent, int channels,
                   Context& ctx);
}  // namespace cpu
namespace cuda {
/// detail::scan_samples of a float32 device view (waits for ctx's stream).
detail::SampleScan scan_samples(const ImageView& image, int channels, Context& ctx);
/// detail::scale_samples of device views, queued on ctx's stream.
void scale_samples(const ImageView& src, const ImageView& dst, int exponent, int channels,
                   Context& ctx);
}  // namespace cuda
}  // namespace pdeimg

// --- reaction_diffusion (src/reaction_diffusion.cpp)
// -----------------------------------------------

#include "src/reaction_diffusion_model.hpp"

namespace pdeimg {
namespace detail {

/// A validated learned reaction–diffusion request. The backends load `planes` float planes
/// f = scale·x (planes 0..2 = the opponent transform Y, C1, C2 of channels 0..2 when `colour`,
/// then any further processed channel, e.g. alpha with AlphaMode::kProcess), run net[p]'s first
/// stages[p] stages on plane p, and store dst = x + (inverse transform of u − f) / scale, rounded
/// and saturated. Channels from `channels` on (alpha) are copied from src.
struct RdPlan {
  int planes = 0;
  bool colour = false;
  int channels = 0;
  const RdNetwork* net[4] = {nullptr, nullptr, nullptr, nullptr};
  int stages[4] = {0, 0, 0, 0};
  double scale = 1.0;
};

/// Scratch slots of reaction_diffusion (host and device), clear of every other operation's.
constexpr int kRdInputSlot = 50;  ///< the planes f
constexpr int kRdStateSlot = 51;  ///< the planes u (and one ping-pong plane)
constexpr int kRdWorkSlot = 52;   ///< CPU: the per-worker rings of y rows; CUDA: the y planes
constexpr int kRdModelSlot = 53;  ///< CUDA: the network's taps and tables

}  // namespace detail

namespace cpu {
void reaction_diffusion(const ImageView& src, const ImageView& dst, const detail::RdPlan& plan,
                        Context& ctx);
}  // namespace cpu
namespace cuda {
/// Host views are staged through device scratch and the call synchronises; device views are
/// queued on ctx's stream.
void reaction_diffusion(const ImageView& src, const ImageView& dst, const detail::RdPlan& plan,
                        Context& ctx);
}  // namespace cuda
}  // namespace pdeimg
