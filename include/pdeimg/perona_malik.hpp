// Perona–Malik nonlinear diffusion: u_t = div(g(|∇u|²) ∇u), edge-preserving smoothing/denoising.
#pragma once

#include <string>

#include "pdeimg/context.hpp"
#include "pdeimg/heat.hpp"  // AlphaMode
#include "pdeimg/image.hpp"

namespace pdeimg {

/// The diffusivity g(s²) of the squared gradient s², with contrast parameter K. Gradients weaker
/// than K are smoothed, stronger ones are kept (even sharpened): the flux s·g(s²) peaks at s = K
/// for kRational and kTukey and at s = K/√2 for kExponential.
enum class Diffusivity {
  kExponential,  ///< g = exp(-s²/K²)                      (Perona & Malik 1990)
  kRational,     ///< g = 1 / (1 + s²/K²)                  (Perona & Malik 1990)
  kTukey,        ///< g = (1 - s²/(5K²))² for s² < 5K², else 0: Tukey's biweight, which stops
                 ///< all diffusion across edges stronger than √5 K (Black et al. 1998)
};

/// Which neighbours exchange flux.
enum class Neighbourhood {
  k4,  ///< the 4 axial neighbours; stable for dt <= 1/4
  k8,  ///< axial (weight 1/2) and diagonal (weight 1/4, gradient |Δu|/√2) neighbours, a more
       ///< isotropic discretisation of the same equation; stable for dt <= 1/3
};

/// How the contrast parameter K is chosen.
enum class ContrastMode {
  kNoise,     ///< K = k_noise_factor x the noise deviation of the differences g sees (default)
  kQuantile,  ///< K = the k_quantile quantile of the gradient magnitudes (Perona & Malik used 0.9)
  kAbsolute,  ///< K = k, in sample units
};

/// How the equation is stepped in time.
enum class PeronaMalikScheme {
  kExplicit,  ///< explicit Euler steps of dt, g from every step's state (default)
  /// Fast explicit diffusion (Grewenig, Weickert & Bruhn 2010): cycles of steps of varying size
  /// (4 neighbours, bound 1/4 per cycle), g computed at the start of each cycle and held for it,
  /// cycles of at most kFedCycleTime pixel² each. In this version slower than kExplicit (about
  /// 5x on 2048² grey) and up to 0.1 dB worse on Set12 at the blind default time (see
  /// docs/architecture.md). 4 neighbours and finite data only, CPU only.
  kFed,
};

/// How colour channels share the diffusivity.
enum class ColourMode {
  kCoupled,     ///< one g for all colour channels, from their summed squared differences (default)
  kPerChannel,  ///< each channel diffuses with its own g
};

/// Parameters of perona_malik. All defaults together are the blind denoiser of the `denoise` app:
/// the noise is estimated, and K and the diffusion time follow from it.
///
/// Units: intensities (k, noise_sigma) are in the image's sample units: 0..255 for uint8,
/// 0..65535 for uint16 (an 8-bit sigma of 10 is about 2570), the stored values for float32 (10/255
/// = 0.039 for float data scaled to [0, 1]). Lengths in pixels, times in pixel².
struct PeronaMalikParams {
  Diffusivity diffusivity = Diffusivity::kRational;
  Neighbourhood neighbourhood = Neighbourhood::k4;

  ContrastMode contrast = ContrastMode::kNoise;
  /// K for ContrastMode::kAbsolute (> 0, sample units); must stay 0 for the other modes.
  double k = 0.0;
  /// For ContrastMode::kQuantile: the quantile in (0, 1) of the gradient magnitudes (one per pair
  /// of axially neighbouring pixels, |u_q - u_p| or, coupled, the root of its sum over colour
  /// channels; taken on the smoothed copy when regularising).
  double k_quantile = 0.9;
  /// For ContrastMode::kNoise: K = k_noise_factor x s_d, where s_d is the standard deviation that
  /// the noise gives the axial differences g sees (√2 sigma, times √(colour channels) when coupled,
  /// reduced by the Gaussian when regularising). 0 picks the tuned default of the diffusivity
  /// (see default_k_noise_factor).
  double k_noise_factor = 0.0;
  /// Known noise deviation (sample units), used by ContrastMode::kNoise and the automatic time;
  /// 0 estimates it with estimate_noise. Must be >= 0.
  double noise_sigma = 0.0;

  /// Stopping: give at most one of `steps` (> 0) and `time` (> 0, pixel²). With neither, the time
  /// follows the noise: default_time(diffusivity, coupled channels) when the noise deviation is
  /// positive, 0 (the
  /// image is returned unchanged) when it is 0. With K = k_noise_factor x s_d, the result is then
  /// invariant to the intensity scale, and on Set12 the best time at a fixed K factor varies
  /// little with the noise level (rational, factor 0.6: 1.8, 2.0, 2.4 pixel² at sigma 15, 25, 50
  /// of 255), so one time per diffusivity serves all noise levels.
  int steps = 0;
  double time = 0.0;
  /// Time step; 0 picks default_dt(neighbourhood). A value above the stability bound
  /// (max_dt(neighbourhood): 1/4 for k4, 1/3 for k8) is an error. With `time`, the library takes
  /// n = ceil(time / dt) equal steps of time / n.
  double dt = 0.0;

  /// Regularisation (Catté, Lions, Morel & Coll 1992): when > 0, g is computed from the gradient
  /// of a copy smoothed by a Gaussian of this standard deviation (pixels), recomputed every step.
  /// Makes the problem well posed and the result less sensitive to noise; slower. 0: off.
  double regularization = 0.0;

  ColourMode colour = ColourMode::kCoupled;
  AlphaMode alpha = AlphaMode::kPreserve;
  /// The time stepping. With kFed, `steps` (if given) means the time steps x dt, and dt only
  /// sets that time.
  PeronaMalikScheme scheme = PeronaMalikScheme::kExplicit;
  /// Non-finite samples of a float input: refused (default) or missing data (see NonFinite): left
  /// out of the noise estimate, the K quantile and every flux. Missing data cannot be combined
  /// with regularization (a Gaussian would spread the holes): that is Error(kUnsupported).
  NonFinite non_finite = NonFinite::kRefuse;
};

/// What perona_malik used: every value needed to reproduce the result.
struct PeronaMalikReport {
  Backend backend = Backend::kCpu;
  Diffusivity diffusivity = Diffusivity::kRational;
  Neighbourhood neighbourhood = Neighbourhood::k4;
  ContrastMode contrast = ContrastMode::kNoise;
  double k = 0.0;            ///< the contrast parameter actually used (sample units)
  double noise_sigma = 0.0;  ///< the noise deviation used (given or estimated); 0 if not needed
  bool noise_estimated = false;
  int steps = 0;      ///< explicit steps taken (0: copied unchanged, e.g. no noise, K = 0)
  double dt = 0.0;    ///< their size
  double time = 0.0;  ///< total diffusion time steps x dt
  bool time_from_noise = false;
  double regularization = 0.0;
  ColourMode colour = ColourMode::kCoupled;
  int channels = 0;  ///< channels diffused (alpha excluded unless AlphaMode::kProcess)
  PeronaMalikScheme scheme = PeronaMalikScheme::kExplicit;
  int cycles = 0;  ///< kFed: the cycles the steps were taken in (g computed once per cycle)
};

/// Diffuses `src` into `dst` by Perona–Malik's equation u_t = div(g(|∇u|²) ∇u), in flux form: each
/// explicit Euler step moves dt·w·g·(u_q - u_p) between every pixel p and neighbour q, with g
/// evaluated on that pair's difference (Perona & Malik 1990, eq. 8) or on the smoothed copy's
/// (regularisation). Grid spacing 1 pixel, reflecting (zero-flux) boundaries. For dt within the
/// bound every step is a convex combination of neighbours: the mean is conserved, values stay
/// within the input's range, and a constant image is unchanged. Computes in float32; converts to
/// dst's type once at the end. Deterministic: two runs on the same backend give identical bits.
///
/// src and dst must have the same size and channel count; their types may differ. dst may alias
/// src exactly. Host views run synchronously; device views need the CUDA backend and are queued
/// on ctx's stream, except that automatic K or time waits for the stream to read its statistic
/// back: the noise estimate and the quantile select by radix on the device, reading back a few
/// histograms (two for the quantile, six per channel for the noise).
///
///   pdeimg::PeronaMalikParams p;                      // blind: estimate noise, choose K and T
///   pdeimg::PeronaMalikReport r = pdeimg::perona_malik(noisy, out, p, ctx);
///   p.contrast = pdeimg::ContrastMode::kAbsolute;  p.k = 12;  p.steps = 20;  // or explicit
PeronaMalikReport perona_malik(const ImageView& src, const ImageView& dst,
                               const PeronaMalikParams& params, Context& ctx);

/// Throws Error(kInvalidArgument) naming the parameter and its value when `params` are out of
/// their documented ranges (what perona_malik checks before looking at the images). Lets an app
/// refuse a bad command line before reading any file.
void validate(const PeronaMalikParams& params);

/// The stability bound of the explicit scheme: 1/4 for k4, 1/3 for k8.
double max_dt(Neighbourhood neighbourhood) noexcept;
/// The time step used when PeronaMalikParams::dt is 0.
double default_dt(Neighbourhood neighbourhood) noexcept;
/// The K / s_d of ContrastMode::kNoise when k_noise_factor is 0. One channel (gray, or colour
/// per channel), tuned on Set12 (noise sigma 15, 25, 50) together with default_time: rational
/// 0.6, exponential 1.6, Tukey 1.4. Two or more coupled channels (colour): rational 0.25, tuned
/// on Kodak24 (the noise of a sum of squared differences over channels is more concentrated, so
/// K can sit closer to it); the others scaled by the same 0.25/0.6 (not tuned separately).
double default_k_noise_factor(Diffusivity diffusivity, int coupled_channels = 1) noexcept;
/// The automatic diffusion time in pixel² (see PeronaMalikParams::steps). One channel: rational
/// 2.0, exponential 1.0, Tukey 0.8 (faster-decaying diffusivities need less time at their K).
/// Two or more coupled channels: rational 5.0 (Kodak24), the others scaled by the same 2.5.
double default_time(Diffusivity diffusivity, int coupled_channels = 1) noexcept;

/// The longest time of one FED cycle (pixel²). Blind denoising of Set12 with cycles of 1.0 lost
/// 0.04 / 0.30 / 0.81 dB against kExplicit (sigma 15 / 25 / 50), with 0.5 +0.03 / -0.06 dB
/// (sigma 15 / 25), with 0.34 +0.03 / -0.02 / -0.14 dB.
constexpr double kFedCycleTime = 0.5;

const char* to_string(PeronaMalikScheme s) noexcept;  ///< "explicit", "fed"
/// Parses "explicit" or "fed"; throws Error(kInvalidArgument) otherwise.
PeronaMalikScheme parse_perona_malik_scheme(const std::string& name);
const char* to_string(Diffusivity d) noexcept;
const char* to_string(Neighbourhood n) noexcept;
const char* to_string(ContrastMode m) noexcept;
const char* to_string(ColourMode m) noexcept;
/// Parses "exponential", "rational" or "tukey"; throws Error(kInvalidArgument) otherwise.
Diffusivity parse_diffusivity(const std::string& name);

}  // namespace pdeimg
