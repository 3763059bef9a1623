// Linear (isotropic) diffusion: u_t = Δu, equivalent to a Gaussian blur.
#pragma once

#include "pdeimg/context.hpp"
#include "pdeimg/image.hpp"

namespace pdeimg {

/// What to do with the alpha channel of 2- and 4-channel images.
enum class AlphaMode {
  kPreserve,  ///< Copy alpha unchanged (default).
  kProcess,   ///< Treat the last channel like any other.
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
};

/// What heat_smooth did.
struct HeatReport {
  Backend backend = Backend::kCpu;
  int steps = 0;      ///< explicit Euler steps taken
  double dt = 0.0;    ///< their size (T / steps)
  double time = 0.0;  ///< total diffusion time T
};

/// Smooths `src` into `dst` by solving the heat equation u_t = Δu for time T with the 5-point
/// Laplacian (grid spacing 1 pixel), explicit Euler in n equal sub-steps dt = T/n <= max_dt, and
/// reflecting (zero-flux, Neumann) boundaries: the mean is conserved and values stay within the
/// input's range. Computes in float32; converts to dst's type (rounded, saturated) once at the end.
///
/// src and dst must have the same size and channel count; their sample types may differ. dst may
/// alias src exactly (in-place) but must not partially overlap it. Host views run synchronously
/// on either backend (the CUDA backend copies them to and from the device); device views need the
/// CUDA backend and are queued asynchronously on ctx's stream.
///
///   pdeimg::HostImage out(in.width(), in.height(), in.channels(), in.type());
///   pdeimg::HeatParams p;  p.sigma = 2.0;
///   pdeimg::HeatReport r = pdeimg::heat_smooth(in, out, p, ctx);  // r.steps == 16
HeatReport heat_smooth(const ImageView& src, const ImageView& dst, const HeatParams& params,
                       Context& ctx);

/// Number of explicit steps heat_smooth takes for diffusion time `time` with step bound `max_dt`.
/// Throws Error(kInvalidArgument) when max_dt is outside (0, 0.25], the time is not positive and
/// finite, or it needs more than 1e9 steps.
int heat_steps_for(double time, double max_dt = 0.125);

/// Throws Error(kInvalidArgument) naming the parameter and its value when `params` are out of
/// their documented ranges: not exactly one of time and sigma given (non-zero), either not
/// positive and finite, a sigma whose time sigma² / 2 underflows to 0 or overflows, max_dt
/// outside (0, 0.25], a time that needs more than 1e9 steps (heat_steps_for), an unknown alpha
/// mode. heat_smooth checks exactly this before looking at the images; an app calls it to refuse
/// a bad command line before reading any file.
void validate(const HeatParams& params);

}  // namespace pdeimg
