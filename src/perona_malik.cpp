// perona_malik: validation, choice of K and of the time step, dispatch to a backend.
#include "pdeimg/perona_malik.hpp"

#include <algorithm>
#include <cctype>
#include <cfloat>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "kernels/perona_malik.cuh"
#include "pdeimg/error.hpp"
#include "pdeimg/noise.hpp"
#include "src/backend.hpp"
#include "src/context_impl.hpp"
#include "src/fed.hpp"
#include "src/finite.hpp"
#include "src/validate.hpp"
#include "src/work_image.hpp"

namespace pdeimg {

namespace {

using detail::num;

[[noreturn]] void invalid(const std::string& message) {
  throw Error(ErrorCode::kInvalidArgument, "perona_malik: " + message);
}

/// The standard deviation of white unit noise in the axial difference that g sees: √2 without
/// regularisation; with it, the norm of the difference of the separable Gaussian.
double difference_noise_gain(double regularization) {
  if (!(regularization > 0.0)) return std::sqrt(2.0);
  float w[detail::kMaxGaussRadius + 1];
  const int r = detail::gauss_taps(regularization, w);
  auto tap = [&](int i) { return i < -r || i > r ? 0.0 : static_cast<double>(w[i < 0 ? -i : i]); };
  double along = 0.0, across = 0.0;
  for (int i = -r; i <= r + 1; ++i) {
    const double d = tap(i - 1) - tap(i);
    along += d * d;
  }
  for (int i = -r; i <= r; ++i) across += tap(i) * tap(i);
  return std::sqrt(along * across);
}

}  // namespace

double max_dt(Neighbourhood n) noexcept {
  return n == Neighbourhood::k8 ? detail::kPmMaxDt8 : detail::kPmMaxDt4;
}

double default_dt(Neighbourhood n) noexcept {
  return n == Neighbourhood::k8 ? 0.25 : 0.2;
}

namespace {
// Coupled colour against gray, tuned for the rational diffusivity (Kodak24 against Set12).
constexpr double kColourFactorScale = 0.25 / 0.6;
constexpr double kColourTimeScale = 2.5;
}  // namespace

double default_k_noise_factor(Diffusivity d, int coupled_channels) noexcept {
  double f = 0.6;
  if (d == Diffusivity::kExponential) f = 1.6;
  if (d == Diffusivity::kTukey) f = 1.4;
  return coupled_channels > 1 ? f * kColourFactorScale : f;
}

double default_time(Diffusivity d, int coupled_channels) noexcept {
  double t = 2.0;
  if (d == Diffusivity::kExponential) t = 1.0;
  if (d == Diffusivity::kTukey) t = 0.8;
  return coupled_channels > 1 ? t * kColourTimeScale : t;
}

const char* to_string(Diffusivity d) noexcept {
  switch (d) {
    case Diffusivity::kExponential:
      return "exponential";
    case Diffusivity::kRational:
      return "rational";
    case Diffusivity::kTukey:
      return "tukey";
  }
  return "unknown";
}

const char* to_string(Neighbourhood n) noexcept {
  return n == Neighbourhood::k8 ? "8" : "4";
}

const char* to_string(ContrastMode m) noexcept {
  switch (m) {
    case ContrastMode::kNoise:
      return "noise";
    case ContrastMode::kQuantile:
      return "quantile";
    case ContrastMode::kAbsolute:
      return "absolute";
  }
  return "unknown";
}

const char* to_string(ColourMode m) noexcept {
  return m == ColourMode::kPerChannel ? "per-channel" : "coupled";
}

const char* to_string(PeronaMalikScheme s) noexcept {
  return s == PeronaMalikScheme::kFed ? "fed" : "explicit";
}

PeronaMalikScheme parse_perona_malik_scheme(const std::string& name) {
  std::string s = name;
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  if (s == "explicit") return PeronaMalikScheme::kExplicit;
  if (s == "fed") return PeronaMalikScheme::kFed;
  throw Error(ErrorCode::kInvalidArgument, "scheme: expected explicit or fed, got '" + name + "'");
}

Diffusivity parse_diffusivity(const std::string& name) {
  std::string s = name;
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  if (s == "exponential" || s == "exp") return Diffusivity::kExponential;
  if (s == "rational") return Diffusivity::kRational;
  if (s == "tukey") return Diffusivity::kTukey;
  throw Error(ErrorCode::kInvalidArgument,
              "diffusivity: expected exponential, rational or tukey, got '" + name + "'");
}

void validate(const PeronaMalikParams& p) {
  const int diff = static_cast<int>(p.diffusivity);
  if (diff < 0 || diff > 2) invalid("diffusivity: unknown value " + std::to_string(diff));
  if (p.neighbourhood != Neighbourhood::k4 && p.neighbourhood != Neighbourhood::k8) {
    invalid("neighbourhood: unknown value " + std::to_string(static_cast<int>(p.neighbourhood)));
  }
  const int cm = static_cast<int>(p.contrast);
  if (cm < 0 || cm > 2) invalid("contrast: unknown value " + std::to_string(cm));
  if (p.colour != ColourMode::kCoupled && p.colour != ColourMode::kPerChannel) {
    invalid("colour: unknown value " + std::to_string(static_cast<int>(p.colour)));
  }
  if (p.contrast == ContrastMode::kAbsolute) {
    if (!(p.k > 0.0) || !std::isfinite(p.k)) {
      invalid("k: ContrastMode::kAbsolute needs a positive, finite K, got " + num(p.k));
    }
  } else if (p.k != 0.0) {
    invalid("k = " + num(p.k) + " is only used with ContrastMode::kAbsolute (contrast is " +
            to_string(p.contrast) + ")");
  }
  if (p.contrast == ContrastMode::kQuantile && !(p.k_quantile > 0.0 && p.k_quantile < 1.0)) {
    invalid("k_quantile: must lie in (0, 1), got " + num(p.k_quantile));
  }
  if (!(p.k_noise_factor >= 0.0) || !std::isfinite(p.k_noise_factor)) {
    invalid("k_noise_factor: must be >= 0 and finite (0: default), got " + num(p.k_noise_factor));
  }
  if (!(p.noise_sigma >= 0.0) || !std::isfinite(p.noise_sigma)) {
    invalid("noise_sigma: must be >= 0 and finite (0: estimate), got " + num(p.noise_sigma));
  }
  if (p.steps < 0) invalid("steps: must be >= 0, got " + std::to_string(p.steps));
  if (!(p.time >= 0.0) || !std::isfinite(p.time)) {
    invalid("time: must be >= 0 and finite, got " + num(p.time));
  }
  if (p.steps > 0 && p.time > 0.0) {
    invalid("give at most one of steps (" + std::to_string(p.steps) + ") and time (" + num(p.time) +
            ")");
  }
  const double bound = max_dt(p.neighbourhood);
  if (!(p.dt >= 0.0) || p.dt > bound * (1.0 + 1e-12) || !std::isfinite(p.dt)) {
    invalid("dt = " + num(p.dt) + " exceeds the stability bound " + num(bound) +
            " of the explicit " + to_string(p.neighbourhood) +
            "-neighbour scheme (dt must lie in (0, " + num(bound) + "]; 0 picks " +
            num(default_dt(p.neighbourhood)) + ")");
  }
  const double max_reg = detail::kMaxGaussRadius / 3.0;
  if (!(p.regularization >= 0.0) || p.regularization > max_reg) {
    invalid("regularization: the Gaussian's sigma must lie in [0, " + num(max_reg) +
            "] pixels, got " + num(p.regularization));
  }
  const int nf = static_cast<int>(p.non_finite);
  if (nf < 0 || nf > 1) invalid("non_finite: unknown value " + std::to_string(nf));
  const int scheme = static_cast<int>(p.scheme);
  if (scheme < 0 || scheme > 1) invalid("scheme: unknown value " + std::to_string(scheme));
  if (p.scheme == PeronaMalikScheme::kFed && p.neighbourhood == Neighbourhood::k8) {
    throw Error(ErrorCode::kUnsupported,
                "perona_malik: the fed scheme supports 4 neighbours only (the 8-neighbour "
                "diagonals at the border are not held per cycle yet); use scheme explicit");
  }
  // The steps a time needs, as perona_malik counts them: an explicit time, or without time and
  // steps the longest automatic one (coupled colour), over the step taken.
  if (p.steps == 0) {
    const double dt =
        p.dt > 0.0 ? std::min(p.dt, max_dt(p.neighbourhood)) : default_dt(p.neighbourhood);
    const bool automatic = !(p.time > 0.0);
    const double time =
        automatic ? default_time(p.diffusivity, p.colour == ColourMode::kCoupled ? 2 : 1) : p.time;
    const double n = std::ceil(time / dt * (1.0 - 1e-12));
    if (n > 1e9) {
      char steps[32];
      std::snprintf(steps, sizeof steps, "%.3g", n);
      invalid("time: " + num(time) +
              (automatic ? p.colour == ColourMode::kCoupled
                               ? " (the automatic time for colour images)"
                               : " (the automatic time)"
                         : "") +
              " in steps of dt " + num(dt) + " needs " + steps +
              " steps, more than 1e9; give a smaller time or a larger dt");
    }
  }
}

PeronaMalikReport perona_malik(const ImageView& src, const ImageView& dst,
                               const PeronaMalikParams& p, Context& ctx) {
  detail::check_src_dst(src, dst, "perona_malik");
  validate(p);
  detail::check_location(src, dst, ctx, "perona_malik");
  const int nc = detail::processed_channels(src.channels, p.alpha == AlphaMode::kPreserve);
  const bool coupled = p.colour == ColourMode::kCoupled && nc > 1;
  // The statistics' sizes are checked before any work is queued (their CUB calls count in int).
  if (p.contrast == ContrastMode::kQuantile) {
    const unsigned long long w = src.width, h = src.height;
    detail::check_cuda_items(((w - 1) * h + w * (h - 1)) * (coupled ? 1 : nc), ctx, "perona_malik",
                             "the K quantile");
  }
  if ((p.contrast == ContrastMode::kNoise || (p.steps == 0 && p.time == 0.0)) &&
      !(p.noise_sigma > 0.0) && src.width > 2 && src.height > 2) {
    detail::check_cuda_items(static_cast<unsigned long long>(src.width - 2) * (src.height - 2), ctx,
                             "perona_malik", "the noise statistic");
  }
  const detail::DeviceScope device_scope(ctx);
  const bool cuda = ctx.backend() == Backend::kCuda;
  if (cuda && src.location == Location::kHost) {
    // One upload of a host image for the whole call: the noise estimate, the K quantile and the
    // steps all read the device copy (each used to stage the image again), and dst comes back
    // once at the end.
    const ImageView d_src = detail::scratch_image(ctx, detail::kPmStageSrcSlot, src.width,
                                                  src.height, src.channels, src.type);
    detail::copy_image(src, d_src, ctx);
    const ImageView d_dst = src.data == dst.data
                                ? d_src
                                : detail::scratch_image(ctx, detail::kPmStageDstSlot, dst.width,
                                                        dst.height, dst.channels, dst.type);
    const PeronaMalikReport r = perona_malik(d_src, d_dst, p, ctx);
    detail::copy_image(d_dst, dst, ctx);  // waits for the stream
    return r;
  }

  PeronaMalikReport report;
  report.backend = ctx.backend();
  report.diffusivity = p.diffusivity;
  report.neighbourhood = p.neighbourhood;
  report.contrast = p.contrast;
  report.regularization = p.regularization;
  report.colour = p.colour;
  report.channels = nc;
  // Non-finite samples: refused, or missing data. Statistics (noise, K quantile) guard their own
  // range; the steps' scale is chosen from K below.
  detail::GuardedInput in = detail::scan_input(src, nc, p.non_finite, "perona_malik", ctx);
  const bool missing = in.scan.non_finite.count > 0;
  const bool fed = p.scheme == PeronaMalikScheme::kFed;
  if (fed && (missing || cuda)) {
    throw Error(ErrorCode::kUnsupported,
                std::string("perona_malik: the fed scheme ") +
                    (missing ? "does not treat missing data" : "has no CUDA implementation yet") +
                    "; use scheme explicit");
  }
  if (missing && p.regularization > 0.0) {
    throw Error(ErrorCode::kUnsupported,
                "perona_malik: regularization with missing data (" +
                    std::to_string(in.scan.non_finite.count) +
                    " non-finite samples) is not supported: the Gaussian would spread the holes; "
                    "use regularization 0");
  }

  // --- noise, K, time
  // -----------------------------------------------------------------------------
  const bool auto_time = p.steps == 0 && p.time == 0.0;
  double sigma = 0.0;
  if (p.contrast == ContrastMode::kNoise || auto_time) {
    if (p.noise_sigma > 0.0) {
      sigma = p.noise_sigma;
    } else {
      sigma = estimate_noise(src, ctx, p.alpha, p.non_finite).sigma;
      report.noise_estimated = true;
    }
    report.noise_sigma = sigma;
  }
  double k = 0.0;
  switch (p.contrast) {
    case ContrastMode::kAbsolute:
      k = p.k;
      break;
    case ContrastMode::kQuantile: {
      detail::GradientStatPlan sp;
      sp.channels = nc;
      sp.coupled = coupled;
      sp.regularization = p.regularization;
      sp.missing = missing;
      // Squared differences must not overflow: on a copy scaled below 2^60 when needed.
      const detail::GuardedInput qin =
          detail::guard_input(src, nc, NonFinite::kMissing, detail::kStatisticRangeLog2,
                              "perona_malik", ctx, detail::kScaledQuantileSlot);
      const double q2 = cuda ? cuda::gradient_quantile_sq(qin.view, sp, p.k_quantile, ctx)
                             : cpu::gradient_quantile_sq(qin.view, sp, p.k_quantile, ctx);
      k = std::ldexp(std::sqrt(std::max(0.0, q2)), qin.exponent);
      break;
    }
    case ContrastMode::kNoise: {
      const double factor = p.k_noise_factor > 0.0
                                ? p.k_noise_factor
                                : default_k_noise_factor(p.diffusivity, coupled ? nc : 1);
      k = factor * sigma * difference_noise_gain(p.regularization) * std::sqrt(coupled ? nc : 1.0);
      break;
    }
  }
  report.k = k;

  const double dt_req =
      p.dt > 0.0 ? std::min(p.dt, max_dt(p.neighbourhood)) : default_dt(p.neighbourhood);
  int steps = 0;
  double dt = dt_req;
  if (p.steps > 0) {
    steps = p.steps;
  } else {
    const double time =
        p.time > 0.0 ? p.time : (sigma > 0.0 ? default_time(p.diffusivity, coupled ? nc : 1) : 0.0);
    report.time_from_noise = auto_time;
    if (time > 0.0) {
      const double n = std::ceil(time / dt_req * (1.0 - 1e-12));
      if (n > 1e9) invalid("time: " + num(time) + " needs more than 1e9 steps; use a smaller time");
      steps = static_cast<int>(std::max(1.0, n));
      dt = time / steps;
    }
  }
  // K = 0 (a flat or noise-free image with automatic K) leaves nothing to diffuse: g would be 0
  // for every non-zero difference.
  // The scale the steps run at. g depends on (d / K)², computed as d² / K²: with K far from 1 or
  // huge values, d² or 1/K² leave the float range (a field of densities around 1e19 would get
  // d² = inf and no diffusion at all; K = 1e-25 gives subnormal d²). Then the steps run on
  // src 2^-e with K 2^-e, e = K's binary exponent (K's scale near 1, the same g to the bit, as
  // power-of-two scaling is exact), or as much more as keeps |u| 2^-e below 2^126 - but never so
  // much that |u| 2^-e drops below 2^-60, where the data would underflow: K 2^-e then stays far
  // above 1 and 1/K² rounds to 0 in float, g = 1, the heat flow that such a K means. (8- and 16-bit
  // inputs are not scanned: their range bounds |u|.)
  int pm_exponent = 0;
  if (k > 0.0 && steps > 0) {
    int ke = 0, me = 0;
    std::frexp(k, &ke);
    std::frexp(detail::magnitude_bound(src.type, in.scan), &me);
    if (ke > 30 || ke < -30 || me > 62) pm_exponent = std::min(std::max(ke, me - 126), me + 60);
  }
  detail::scale_input(in, src, pm_exponent, ctx);
  const double ks = std::ldexp(k, -in.exponent);
  const double k2 = ks * ks * (p.diffusivity == Diffusivity::kTukey ? 5.0 : 1.0);
  const double inv_k2 = k2 > 0.0 ? 1.0 / k2 : HUGE_VAL;
  if (!(inv_k2 < FLT_MAX)) steps = 0;

  detail::PeronaMalikPlan plan;
  plan.steps = steps;
  plan.dt = static_cast<float>(dt);
  plan.channels = nc;
  plan.coupled = coupled;
  plan.eight = p.neighbourhood == Neighbourhood::k8;
  plan.diffusivity = p.diffusivity;
  plan.inv_k2 = steps > 0 ? static_cast<float>(inv_k2) : 0.0f;
  plan.missing = missing;
  plan.regularization = p.regularization;
  plan.max_fused = detail::test_max_fused();
  report.scheme = p.scheme;
  if (fed && steps > 0) {
    // The same time in cycles of at most kFedCycleTime, each the FED steps of bound 1/4.
    const double time = steps * dt;
    const double tau_max = max_dt(Neighbourhood::k4);
    const long long cycles =
        std::max(detail::fed_min_cycles(time, tau_max),
                 static_cast<long long>(std::ceil(time / kFedCycleTime - 1e-9)));
    const detail::FedSchedule s = detail::fed_schedule(time, tau_max, cycles);
    if (s.steps() > 1000000000LL) invalid("time: " + num(time) + " needs more than 1e9 steps");
    for (double t : s.cycle) plan.fed_steps.push_back(static_cast<float>(t));
    plan.fed_cycle_length = static_cast<int>(s.cycle.size());
    plan.steps = static_cast<int>(s.steps());
    steps = plan.steps;
    dt = time / steps;
    report.cycles = static_cast<int>(s.cycles);
  }
  detail::compute_scaled(in, dst, ctx, [&](const ImageView& s, const ImageView& d) {
    if (cuda) {
      cuda::perona_malik(s, d, plan, ctx);
    } else {
      cpu::perona_malik(s, d, plan, ctx);
    }
  });
  report.steps = steps;
  report.dt = steps > 0 ? dt : 0.0;
  report.time = steps * report.dt;
  return report;
}

}  // namespace pdeimg
