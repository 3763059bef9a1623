// Linear (isotropic) diffusion: u_t = Δu, equivalent to a Gaussian blur.
#pragma once

#include <string>

#include "pdeimg/context.hpp"
#include "pdeimg/image.hpp"

namespace pdeimg {

/// What to do with the alpha channel of 2- and 4-channel images.
enum class AlphaMode {
  kPreserve,  ///< Copy alpha unchanged (default).
  kProcess,   ///< Treat the last channel like any other.
};

/// How heat_smooth solves the equation. All three give a Gaussian-like blur of variance 2T per
/// axis (the discrete kernel's variance is exactly 2T for each); they differ in cost and in how
/// closely each Fourier mode's damping follows the exact exp(-λT).
enum class HeatScheme {
  kAuto,      ///< the one estimated fastest for this time and image (HeatReport says which, why)
  kExplicit,  ///< explicit Euler, ceil(T / max_dt) equal steps: cost grows with T
  /// The exact solution of the semi-discrete equation (the limit of kExplicit as dt -> 0): a 2-D
  /// DCT-II, each mode multiplied by exp(-T (λx + λy)), the inverse DCT. Cost O(N log N) whatever
  /// T, and less at long times: on the CPU an axis with few modes above 1e-12 is transformed by
  /// matrix products over those modes only (HeatReport::note says which per axis). Not for images
  /// with missing data (NonFinite::kMissing with non-finite samples).
  kSpectral,
  /// Fast explicit diffusion (Grewenig, Weickert & Bruhn 2010): cycles of up to 50 explicit steps
  /// of varying size (bound 1/4 per cycle, not per step; max_dt is not used), about
  /// sqrt(3 T / 0.25) steps per cycle, as many cycles as keep every mode's damping within 0.02 of
  /// exp(-λT). Fused like explicit steps.
  kFed,
};

/// Parameters of heat_smooth. Give exactly one of `time` and `sigma` (> 0).
struct HeatParams {
  /// Diffusion time T in pixel² (> 0). Equivalent Gaussian: sigma = sqrt(2 T).
  double time = 0.0;
  /// Equivalent Gaussian standard deviation in pixels (> 0); sets T = sigma² / 2.
  double sigma = 0.0;
  /// Largest explicit time step; the library takes n = ceil(T / max_dt) equal steps.
  /// Must lie in (0, 0.25], the stability bound of the 5-point scheme in 2-D. The default 1/8 is
  /// the largest step whose update damps every Fourier mode monotonically (its symbol
  /// 1 - 4dt(sin²(ωx/2) + sin²(ωy/2)) stays >= 0), so the result behaves like a Gaussian blur. Up
  /// to 0.25 the maximum principle still holds and runs are twice as fast, but the
  /// checkerboard pattern is multiplied by 1 - 8dt (= -1 at 0.25) and survives undamped.
  double max_dt = 0.125;
  AlphaMode alpha = AlphaMode::kPreserve;
  /// Non-finite samples of a float input: refused (default) or missing data (see NonFinite).
  NonFinite non_finite = NonFinite::kRefuse;
  /// The solver; kAuto picks by estimated cost (see heat_smooth).
  HeatScheme scheme = HeatScheme::kAuto;
};

/// What heat_smooth did.
struct HeatReport {
  Backend backend = Backend::kCpu;
  int steps = 0;      ///< explicit steps taken (all cycles for kFed; 0 for kSpectral)
  double dt = 0.0;    ///< their size, T / steps (kFed: the mean size; kSpectral: 0)
  double time = 0.0;  ///< total diffusion time T
  HeatScheme scheme = HeatScheme::kExplicit;  ///< the scheme that ran (never kAuto)
  int cycles = 0;    ///< kFed: cycles of steps.size() / cycles steps each; else 0
  std::string note;  ///< why this scheme ran (kAuto: the estimated costs compared)
};

/// Smooths `src` into `dst` by solving the heat equation u_t = Δu for time T with the 5-point
/// Laplacian (grid spacing 1 pixel) and reflecting (zero-flux, Neumann) boundaries, with the
/// chosen scheme: explicit Euler in n equal sub-steps dt = T/n <= max_dt, fast explicit diffusion
/// cycles, or the exact spectral solution. The mean is conserved; explicit steps keep values within
/// the input's range (FED and spectral may overshoot it by a fraction of a percent of its range
/// near steps). Computes in float32; converts to dst's type (rounded, saturated) once at the end.
///
/// kAuto estimates each scheme's cost on this machine's CPU from the step counts and the image
/// size (an explicit or FED step costs the same; the spectral solver costs a number of steps that
/// grows with log(width) + log(height) for its FFTs, or with the number of modes left above 1e-12
/// at long times for its pruned transforms, measured on 2 cores, see docs/architecture.md), and
/// runs the cheapest; with missing data the spectral solver is not a candidate.
///
/// src and dst must have the same size and channel count; their sample types may differ. dst may
/// alias src exactly (in-place) but must not partially overlap it. Host views run synchronously
/// on either backend (the CUDA backend copies them to and from the device); device views need the
/// CUDA backend and are queued asynchronously on ctx's stream.
///
///   pdeimg::HostImage out(in.width(), in.height(), in.channels(), in.type());
///   pdeimg::HeatParams p;  p.sigma = 2.0;
///   pdeimg::HeatReport r = pdeimg::heat_smooth(in, out, p, ctx);  // r.scheme, r.note: how
HeatReport heat_smooth(const ImageView& src, const ImageView& dst, const HeatParams& params,
                       Context& ctx);

/// "auto", "explicit", "spectral", "fed".
const char* to_string(HeatScheme scheme) noexcept;
/// Parses the names of to_string; throws Error(kInvalidArgument) otherwise.
HeatScheme parse_heat_scheme(const std::string& name);

/// Number of explicit steps heat_smooth takes for diffusion time `time` with step bound `max_dt`.
/// Throws Error(kInvalidArgument) when max_dt is outside (0, 0.25], the time is not positive and
/// finite, or it needs more than 1e9 steps.
int heat_steps_for(double time, double max_dt = 0.125);

/// Throws Error(kInvalidArgument) naming the parameter and its value when `params` are out of
/// their documented ranges: not exactly one of time and sigma given (non-zero), either not
/// positive and finite, a sigma whose time sigma² / 2 underflows to 0 or overflows, max_dt
/// outside (0, 0.25], a time that needs more than 1e9 steps (heat_steps_for; explicit and auto
/// only), an unknown alpha mode or scheme. heat_smooth checks exactly this before looking at the
/// images; an app calls it to refuse a bad command line before reading any file.
void validate(const HeatParams& params);

}  // namespace pdeimg
