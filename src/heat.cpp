// heat_smooth: validation and scheme selection above the backends.
#include "pdeimg/heat.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <string>

#include "kernels/heat.cuh"
#include "pdeimg/error.hpp"
#include "src/backend.hpp"
#include "src/context_impl.hpp"
#include "src/fed.hpp"
#include "src/finite.hpp"
#include "src/heat_run.hpp"
#include "src/validate.hpp"

namespace pdeimg {

namespace {

std::string num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

/// FED heat: every mode's damping within this of the exact exp(-λT) (src/fed.hpp); about what
/// the explicit scheme's own steps of 1/8 give at sigma 2 (0.017).
constexpr double kFedHeatTolerance = 0.02;
/// FED's states inside a cycle can exceed the input's range: at most 251 times for cycles of up
/// to 50 steps in the κ order (tests/fed_test.cpp), so 8 binary orders below heat's limit.
constexpr int kFedHeatRangeLog2 = detail::kHeatRangeLog2 - 8;

int ceil_log2(int n) {
  int e = 0;
  while ((1LL << e) < n) ++e;
  return e;
}

/// The spectral transforms sum up to max(width, height) values (and Bluestein's chirp
/// convolutions up to 4 times as many) of the scaled input: keep that sum below 2^124.
int spectral_range_log2(int width, int height) {
  return 120 - ceil_log2(std::max(width, height));
}

/// The cost of one 1-D DCT per sample, in units of log2: log2(n), or Bluestein's two transforms of
/// a 2,3,5-smooth length m >= 2n - 1 (src/cpu/heat_spectral.cpp) per sample.
double dct_weight(int n) {
  if (n <= 1) return 0.0;
  if (detail::largest_prime_factor(n) <= detail::kSpectralMaxDirectRadix)
    return std::log2(static_cast<double>(n));
  const int m = detail::bluestein_length(n);
  return 2.0 * m / n * std::log2(static_cast<double>(m));
}

}  // namespace

namespace detail {

int largest_prime_factor(int n) {
  int largest = 1;
  for (int p = 2; p * p <= n; ++p) {
    while (n % p == 0) {
      largest = p;
      n /= p;
    }
  }
  return std::max(largest, n);
}

int bluestein_length(int n) {
  int m = std::max(1, 2 * n - 1);
  while (largest_prime_factor(m) > 5) ++m;
  return m;
}

int spectral_live_modes(int n, double time) {
  int live = 0;
  for (int k = 0; k < n; ++k) {
    const double s = std::sin(3.14159265358979323846 * k / (2.0 * n));
    if (std::exp(-time * 4.0 * s * s) < kSpectralCut) break;
    live = k + 1;
  }
  return live;
}

/// The CPU spectral solver's cost in explicit steps of the same image, per axis and method:
///   FFT along x (both row passes):           kFft dct_weight(w)
///   matrix products along x:                 kMatrixBase + kMatrixPerMode kx
///   FFT along y, on the kx live columns:     kFft dct_weight(h) kx / w
///   matrix products along y, on those:       (kMatrixBase + kMatrixPerMode ky) kx / w
/// (a matrix pass costs kx / 2 multiply-adds per sample each way, on folded lines). Each axis takes
/// the cheaper method; the column pass's cost does not depend on the row pass's method. Fitted to
/// `opencv_compare --sweep` with PDEIMG_TEST_SPECTRAL_PATH=fft and =matrix on 2048² float, 2
/// threads (AMD EPYC, shared; SSE2 build): FFT 141 ms at sigma 1 and 66 ms at sigma 64; matrix
/// 26 ms at sigma 64 (76 live modes), 48 ms at 32 (152), 97 ms at 16 (306); one explicit step
/// 1.06 ms in the same run. Break-even near 225 live modes on a 2048 axis (sigma 22).
SpectralEstimate spectral_estimate(int width, int height, double time, bool fft_only) {
  constexpr double kFft = 5.6;
  constexpr double kMatrixBase = 5.4;
  constexpr double kMatrixPerMode = 0.25;
  SpectralEstimate e;
  e.live_x = spectral_live_modes(width, time);
  e.live_y = spectral_live_modes(height, time);
  const double kx = e.live_x, ky = e.live_y;
  const double x_fft = kFft * dct_weight(width);
  const double x_matrix = kMatrixBase + kMatrixPerMode * kx;
  const double y_fft = kFft * dct_weight(height) * kx / width;
  const double y_matrix = (kMatrixBase + kMatrixPerMode * ky) * kx / width;
  const int forced = fft_only ? 1 : test_spectral_path();
  e.matrix_x = forced ? forced == 2 : x_matrix < x_fft;
  e.matrix_y = forced ? forced == 2 : y_matrix < y_fft;
  e.steps = (e.matrix_x ? x_matrix : x_fft) + (e.matrix_y ? y_matrix : y_fft);
  return e;
}

}  // namespace detail

const char* to_string(HeatScheme scheme) noexcept {
  switch (scheme) {
    case HeatScheme::kAuto:
      return "auto";
    case HeatScheme::kExplicit:
      return "explicit";
    case HeatScheme::kSpectral:
      return "spectral";
    case HeatScheme::kFed:
      return "fed";
  }
  return "unknown";
}

HeatScheme parse_heat_scheme(const std::string& name) {
  std::string s = name;
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  for (HeatScheme h :
       {HeatScheme::kAuto, HeatScheme::kExplicit, HeatScheme::kSpectral, HeatScheme::kFed}) {
    if (s == to_string(h)) return h;
  }
  throw Error(ErrorCode::kInvalidArgument,
              "scheme: expected auto, explicit, spectral or fed, got '" + name + "'");
}

int heat_steps_for(double time, double max_dt) {
  if (!(max_dt > 0.0) || max_dt > detail::kHeatMaxDt) {
    throw Error(
        ErrorCode::kInvalidArgument,
        "max_dt: must lie in (0, 0.25] (stability bound of the explicit 5-point scheme), got " +
            num(max_dt));
  }
  if (!(time > 0.0) || !std::isfinite(time)) {
    throw Error(ErrorCode::kInvalidArgument,
                "time: diffusion time must be positive and finite, got " + num(time));
  }
  // A relative tolerance keeps T = 2.0, max_dt = 0.25 at exactly 8 steps despite rounding.
  const double n = std::ceil(time / max_dt * (1.0 - 1e-12));
  if (n > 1e9) {
    throw Error(ErrorCode::kInvalidArgument,
                "time: " + num(time) + " needs more than 1e9 steps; use a smaller time");
  }
  return static_cast<int>(std::max(1.0, n));
}

void validate(const HeatParams& params) {
  const bool has_time = params.time != 0.0;
  const bool has_sigma = params.sigma != 0.0;
  if (has_time == has_sigma) {
    throw Error(ErrorCode::kInvalidArgument, "heat_smooth: give exactly one of time (" +
                                                 num(params.time) + ") and sigma (" +
                                                 num(params.sigma) + ")");
  }
  if (has_sigma && !(params.sigma > 0.0 && std::isfinite(params.sigma))) {
    throw Error(ErrorCode::kInvalidArgument,
                "sigma: must be positive and finite, got " + num(params.sigma));
  }
  const double time = has_sigma ? 0.5 * params.sigma * params.sigma : params.time;
  if (has_sigma && !(time > 0.0)) {  // sigma below ~1e-162: its square underflows
    throw Error(ErrorCode::kInvalidArgument,
                "sigma: " + num(params.sigma) +
                    " is too small (the time sigma^2 / 2 is 0 in double precision)");
  }
  if (has_sigma && !std::isfinite(time)) {
    throw Error(ErrorCode::kInvalidArgument,
                "sigma: " + num(params.sigma) + " is too large (the time sigma^2 / 2 overflows)");
  }
  if (params.alpha != AlphaMode::kPreserve && params.alpha != AlphaMode::kProcess) {
    throw Error(ErrorCode::kInvalidArgument,
                "alpha: unknown value " + std::to_string(static_cast<int>(params.alpha)));
  }
  const int scheme = static_cast<int>(params.scheme);
  if (scheme < 0 || scheme > 3) {
    throw Error(ErrorCode::kInvalidArgument, "scheme: unknown value " + std::to_string(scheme));
  }
  if (params.scheme == HeatScheme::kExplicit) {
    heat_steps_for(time, params.max_dt);  // max_dt's range, a finite time, at most 1e9 steps
    return;
  }
  heat_steps_for(params.max_dt, params.max_dt);  // max_dt's range only: its one step
  if (!(time > 0.0) || !std::isfinite(time)) {
    throw Error(ErrorCode::kInvalidArgument,
                "time: diffusion time must be positive and finite, got " + num(time));
  }
  if (params.scheme == HeatScheme::kFed &&
      static_cast<double>(detail::fed_min_cycles(time, detail::kHeatMaxDt)) * detail::kFedMaxCycle >
          1e9) {
    throw Error(ErrorCode::kInvalidArgument,
                "time: " + num(time) +
                    " needs more than 1e9 FED steps; use a smaller time or the spectral scheme");
  }
}

namespace {

/// The scheme to run and why, with what it needs: explicit steps, or a FED schedule.
struct SchemeChoice {
  HeatScheme scheme = HeatScheme::kExplicit;
  int explicit_steps = 0;
  detail::FedSchedule fed;
  detail::SpectralEstimate spectral;
  std::string note;
};

/// How the spectral solver transforms each axis, for the note.
std::string spectral_axes(const detail::SpectralEstimate& e, int width, int height) {
  auto axis = [](const char* name, bool matrix, int live, int n) {
    char buf[96];
    if (matrix) {  // CPU only; CUDA always transforms by cuFFT
      std::snprintf(buf, sizeof buf, "%s by matrix products over its %d live modes of %d", name,
                    live, n);
    } else {
      std::snprintf(buf, sizeof buf, "%s by FFT (%d live modes of %d)", name, live, n);
    }
    return std::string(buf);
  };
  return "transforms: " + axis("x", e.matrix_x, e.live_x, width) + ", " +
         axis("y", e.matrix_y, e.live_y, height);
}

SchemeChoice choose_scheme(const HeatParams& params, double time, int width, int height,
                           bool missing, bool cuda) {
  SchemeChoice c;
  c.scheme = params.scheme;
  if (params.scheme == HeatScheme::kExplicit) {
    c.explicit_steps = heat_steps_for(time, params.max_dt);
    c.note = "explicit: as asked";
    return c;
  }
  if (params.scheme == HeatScheme::kFed) {
    c.fed = detail::fed_heat_schedule(time, detail::kHeatMaxDt, kFedHeatTolerance);
    c.note = "fed: as asked";
    return c;
  }
  if (params.scheme == HeatScheme::kSpectral) {
    if (missing) {
      throw Error(ErrorCode::kUnsupported,
                  "heat_smooth: the spectral scheme cannot treat missing data (its transform "
                  "diagonalises diffusion on the whole rectangle, holes are boundaries inside "
                  "it); use scheme fed or explicit");
    }
    c.spectral = detail::spectral_estimate(width, height, time, cuda);
    c.note = "spectral: as asked; " + spectral_axes(c.spectral, width, height);
    return c;
  }
  // Auto: costs in explicit steps of this image (an explicit and a FED step cost the same).
  const double n_explicit = std::ceil(time / params.max_dt * (1.0 - 1e-12));
  const long long fed_min = detail::fed_min_cycles(time, detail::kHeatMaxDt);
  const bool fed_ok = static_cast<double>(fed_min) * detail::kFedMaxCycle <= 1e9;
  if (fed_ok) c.fed = detail::fed_heat_schedule(time, detail::kHeatMaxDt, kFedHeatTolerance);
  const double n_fed = fed_ok ? static_cast<double>(c.fed.steps()) : HUGE_VAL;
  if (!missing) c.spectral = detail::spectral_estimate(width, height, time, cuda);
  const double n_spectral = missing ? HUGE_VAL : c.spectral.steps;
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "estimated cost in explicit steps of this image: explicit %.0f, fed %.0f "
                "(%lld cycles), spectral %s (on %dx%d)",
                n_explicit, n_fed, fed_ok ? c.fed.cycles : 0LL,
                missing ? "not possible with missing data" : num(std::round(n_spectral)).c_str(),
                width, height);
  if (missing && !fed_ok && n_explicit > 1e9) {
    throw Error(
        ErrorCode::kInvalidArgument,
        "heat_smooth: " +
            (params.sigma != 0.0 ? "sigma " + num(params.sigma) + " (time " + num(time) + ")"
                                 : "time " + num(time)) +
            " on an image with missing data needs more than 1e9 steps, explicit or FED "
            "(the spectral scheme, whose cost does not grow with time, cannot treat "
            "missing data); use a smaller sigma or time");
  }
  if (n_explicit <= n_fed && n_explicit <= n_spectral) {
    c.scheme = HeatScheme::kExplicit;
    c.explicit_steps = heat_steps_for(time, params.max_dt);
  } else if (n_fed <= n_spectral) {
    c.scheme = HeatScheme::kFed;
  } else {
    c.scheme = HeatScheme::kSpectral;
  }
  c.note = std::string("auto chose ") + to_string(c.scheme) + ": " + buf;
  if (c.scheme == HeatScheme::kSpectral) c.note += "; " + spectral_axes(c.spectral, width, height);
  return c;
}

}  // namespace

namespace detail {

HeatRun plan_heat(const HeatParams& params, int width, int height, int channels, bool missing,
                  Backend backend) {
  const double time = params.sigma != 0.0 ? 0.5 * params.sigma * params.sigma : params.time;
  const bool cuda = backend == Backend::kCuda;
  const SchemeChoice choice = choose_scheme(params, time, width, height, missing, cuda);
  HeatRun run;
  run.report.backend = backend;
  run.report.time = time;
  run.report.scheme = choice.scheme;
  run.report.note = choice.note;
  if (choice.scheme == HeatScheme::kSpectral) {
    run.spectral.time = time;
    run.spectral.channels = channels;
    run.spectral.matrix_x = choice.spectral.matrix_x;
    run.spectral.matrix_y = choice.spectral.matrix_y;
    run.range_log2 = spectral_range_log2(width, height);
    return run;
  }
  run.plan.channels = channels;
  run.plan.max_fused = test_max_fused();
  run.plan.missing = missing;
  run.range_log2 = kHeatRangeLog2;
  if (choice.scheme == HeatScheme::kFed) {
    run.plan.steps = static_cast<int>(choice.fed.steps());
    for (double t : choice.fed.cycle) run.plan.step_sizes.push_back(static_cast<float>(t));
    run.plan.dt = run.plan.step_sizes[0];
    run.range_log2 = kFedHeatRangeLog2;
    run.report.cycles = static_cast<int>(choice.fed.cycles);
  } else {
    run.plan.steps = choice.explicit_steps;
    run.plan.dt = static_cast<float>(time / run.plan.steps);
  }
  run.report.steps = run.plan.steps;
  run.report.dt = time / run.plan.steps;
  return run;
}

void run_heat(const HeatRun& run, const ImageView& src, const ImageView& dst, Context& ctx) {
  const bool cuda = ctx.backend() == Backend::kCuda;
  if (run.report.scheme == HeatScheme::kSpectral) {
    cuda ? cuda::heat_spectral(src, dst, run.spectral, ctx)
         : cpu::heat_spectral(src, dst, run.spectral, ctx);
  } else {
    cuda ? cuda::heat_smooth(src, dst, run.plan, ctx) : cpu::heat_smooth(src, dst, run.plan, ctx);
  }
}

}  // namespace detail

HeatReport heat_smooth(const ImageView& src, const ImageView& dst, const HeatParams& params,
                       Context& ctx) {
  detail::check_src_dst(src, dst, "heat_smooth");
  validate(params);
  const int channels =
      detail::processed_channels(src.channels, params.alpha == AlphaMode::kPreserve);

  detail::check_location(src, dst, ctx, "heat_smooth");
  const detail::DeviceScope device_scope(ctx);
  detail::GuardedInput in =
      detail::scan_input(src, channels, params.non_finite, "heat_smooth", ctx);
  const bool missing = in.scan.non_finite.count > 0;
  const detail::HeatRun run =
      detail::plan_heat(params, src.width, src.height, channels, missing, ctx.backend());
  detail::scale_input(in, src, detail::scale_exponent(in.scan.max_abs, run.range_log2), ctx);
  detail::compute_scaled(in, dst, ctx, [&](const ImageView& s, const ImageView& d) {
    detail::run_heat(run, s, d, ctx);
  });
  return run.report;
}

}  // namespace pdeimg
