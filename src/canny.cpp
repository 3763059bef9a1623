// canny(): Canny's detector composed above the backends (Canny 1986):
//   smoothing (heat_smooth or perona_malik) -> gradient magnitude and direction -> non-maximum
//   suppression with interpolation -> double threshold (absolute, or quantiles of the magnitude)
//   -> exact 8-connected hysteresis.
// Each arrow is a backend primitive (src/backend.hpp); this file validates, picks scratch images
// and stages host views through the device when the backend is CUDA.
#include "pdeimg/canny.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <utility>

#include "kernels/gradient.cuh"
#include "pdeimg/error.hpp"
#include "src/backend.hpp"
#include "src/context_impl.hpp"
#include "src/finite.hpp"
#include "src/validate.hpp"
#include "src/work_image.hpp"

namespace pdeimg {

const char* to_string(CannySmoothing s) noexcept {
  switch (s) {
    case CannySmoothing::kHeat:
      return "heat";
    case CannySmoothing::kPeronaMalik:
      return "perona-malik";
    case CannySmoothing::kNone:
      return "none";
  }
  return "unknown";
}

CannySmoothing parse_canny_smoothing(const std::string& name) {
  std::string s = name;
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  if (s == "heat") return CannySmoothing::kHeat;
  if (s == "perona-malik" || s == "perona_malik") return CannySmoothing::kPeronaMalik;
  if (s == "none") return CannySmoothing::kNone;
  throw Error(ErrorCode::kInvalidArgument,
              "smoothing: expected heat, perona-malik or none, got '" + name + "'");
}

namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

std::string num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

/// Full range of a sample type, for the default absolute thresholds.
double type_range(PixelType t) {
  return t == PixelType::kU8 ? 255.0 : t == PixelType::kU16 ? 65535.0 : 1.0;
}

/// The thresholds params ask for, defaults filled in and checked.
void resolve_thresholds(const CannyParams& p, PixelType type, double* low, double* high) {
  const bool quantile = p.thresholds == ThresholdMode::kQuantile;
  const double scale = quantile ? 1.0 : type_range(type);
  *low = std::isnan(p.low) ? (quantile ? 0.8 : 0.1 * scale) : p.low;
  *high = std::isnan(p.high) ? (quantile ? 0.9 : 0.2 * scale) : p.high;
  if (quantile) {
    if (!(*low >= 0.0 && *low <= 1.0) || !(*high >= 0.0 && *high <= 1.0)) {
      throw Error(ErrorCode::kInvalidArgument,
                  "canny: quantile thresholds must lie in [0, 1], got low " + num(*low) +
                      " and high " + num(*high));
    }
  } else if (!(*low >= 0.0) || !std::isfinite(*low) || !std::isfinite(*high)) {
    throw Error(ErrorCode::kInvalidArgument,
                "canny: absolute thresholds must be finite and >= 0, got low " + num(*low) +
                    " and high " + num(*high));
  }
  if (*low > *high) {
    throw Error(ErrorCode::kInvalidArgument,
                "canny: low (" + num(*low) + ") must not exceed high (" + num(*high) + ")");
  }
}

// The backend primitives of the context's backend.
bool on_cuda(const Context& ctx) {
  return ctx.backend() == Backend::kCuda;
}

void run_gradient(const ImageView& src, const GradientImages& out, const detail::GradientPlan& plan,
                  Context& ctx) {
  on_cuda(ctx) ? cuda::gradient(src, out, plan, ctx) : cpu::gradient(src, out, plan, ctx);
}

/// Host views on the CUDA backend are copied to device scratch for the whole pipeline and the
/// results copied back at the end; otherwise the views are used as they are.
struct Staging {
  bool active = false;
  ImageView src, edges, mask, magnitude;  // where the pipeline works
  ImageView host_edges, host_magnitude;   // where results go back to
};

Staging stage_views(const ImageView& src, const ImageView& edges, const ImageView& mask,
                    const ImageView& magnitude, Context& ctx) {
  Staging s;
  s.src = src;
  s.edges = edges;
  s.mask = mask;
  s.magnitude = magnitude;
  if (!on_cuda(ctx) || src.location == Location::kDevice) return s;
  s.active = true;
  s.src = detail::scratch_image(ctx, detail::kStageSrcSlot, src.width, src.height, src.channels,
                                src.type);
  detail::copy_image(src, s.src, ctx);
  s.edges =
      detail::scratch_image(ctx, detail::kStageOut0Slot, src.width, src.height, 1, PixelType::kU8);
  s.host_edges = edges;
  if (!mask.empty()) {
    s.mask = detail::scratch_image(ctx, detail::kStageMaskSlot, src.width, src.height, 1,
                                   PixelType::kU8);
    detail::copy_image(mask, s.mask, ctx);
  }
  if (!magnitude.empty()) {
    s.magnitude = detail::scratch_image(ctx, detail::kStageOut0Slot + 1, src.width, src.height, 1,
                                        PixelType::kF32);
    s.host_magnitude = magnitude;
  }
  return s;
}

void unstage(const Staging& s, Context& ctx) {
  if (!s.active) return;
  if (!s.host_magnitude.empty()) detail::copy_image(s.magnitude, s.host_magnitude, ctx);
  detail::copy_image(s.edges, s.host_edges, ctx);  // waits for the stream
}

}  // namespace

void validate(const CannyParams& p) {
  const auto invalid = [](const std::string& message) {
    throw Error(ErrorCode::kInvalidArgument, "canny: " + message);
  };
  if (p.smoothing != CannySmoothing::kHeat && p.smoothing != CannySmoothing::kPeronaMalik &&
      p.smoothing != CannySmoothing::kNone) {
    invalid("smoothing: unknown value " + std::to_string(static_cast<int>(p.smoothing)));
  }
  if (p.op != GradientOperator::kCentral && p.op != GradientOperator::kSobel &&
      p.op != GradientOperator::kScharr) {
    invalid("op: unknown value " + std::to_string(static_cast<int>(p.op)));
  }
  if (p.thresholds != ThresholdMode::kAbsolute && p.thresholds != ThresholdMode::kQuantile) {
    invalid("thresholds: unknown value " + std::to_string(static_cast<int>(p.thresholds)));
  }
  if (p.alpha != AlphaMode::kPreserve && p.alpha != AlphaMode::kProcess) {
    invalid("alpha: unknown value " + std::to_string(static_cast<int>(p.alpha)));
  }
  if (p.smoothing == CannySmoothing::kHeat) {
    if (!(p.sigma >= 0.0 && std::isfinite(p.sigma))) {
      invalid("sigma must be >= 0 and finite, got " + num(p.sigma));
    }
    if (p.sigma > 0.0) {
      HeatParams hp;
      hp.sigma = p.sigma;
      hp.alpha = p.alpha;
      hp.scheme = HeatScheme::kAuto;  // explicit steps are checked by count where they run
      try {
        validate(hp);
      } catch (const Error& e) {
        invalid(e.what());
      }
    }
  } else if (p.smoothing == CannySmoothing::kPeronaMalik) {
    validate(p.perona_malik);
  }
  const bool quantile = p.thresholds == ThresholdMode::kQuantile;
  for (const auto& t : {std::make_pair("low", p.low), std::make_pair("high", p.high)}) {
    const double v = t.second;
    if (std::isnan(v)) continue;
    if (quantile && !(v >= 0.0 && v <= 1.0)) {
      invalid(std::string("quantile thresholds must lie in [0, 1], got ") + t.first + " " + num(v));
    }
    if (!quantile && !(v >= 0.0 && std::isfinite(v))) {
      invalid(std::string("absolute thresholds must be finite and >= 0, got ") + t.first + " " +
              num(v));
    }
  }
  // Quantile defaults are known without the image; absolute ones follow its sample type.
  const double low = std::isnan(p.low) && quantile ? 0.8 : p.low;
  const double high = std::isnan(p.high) && quantile ? 0.9 : p.high;
  if (low > high) {  // false when either is NaN
    invalid("low (" + num(low) + (std::isnan(p.low) ? ", the default" : "") +
            ") must not exceed high (" + num(high) + (std::isnan(p.high) ? ", the default" : "") +
            ")");
  }
  // One absolute threshold against a default that no sample type makes compatible: the high
  // default is at most 20 % of 65535, the low one at least 10 % of 1 (float).
  if (!quantile && std::isnan(p.high) && p.low > 0.2 * type_range(PixelType::kU16)) {
    invalid("low (" + num(p.low) + ") exceeds the default high of every sample type (at most " +
            num(0.2 * type_range(PixelType::kU16)) + ", for uint16); give high too");
  }
  if (!quantile && std::isnan(p.low) && p.high < 0.1 * type_range(PixelType::kF32)) {
    invalid("high (" + num(p.high) + ") is below the default low of every sample type (at least " +
            num(0.1 * type_range(PixelType::kF32)) + ", for float32); give low too");
  }
}

CannyReport canny(const ImageView& src, const ImageView& edges, const CannyParams& params,
                  Context& ctx) {
  return canny(src, edges, CannyImages{}, params, ctx);
}

CannyReport canny(const ImageView& src, const ImageView& edges, const CannyImages& images,
                  const CannyParams& params, Context& ctx) {
  // --- validation -------------------------------------------------------------------------------
  validate(src, "canny: src");
  const int w = src.width, h = src.height;
  detail::check_image(edges, "canny", "edges", w, h, 1, PixelType::kU8, src.location);
  if (detail::overlaps(edges, src)) {
    throw Error(ErrorCode::kInvalidArgument, "canny: edges overlaps src; use a separate buffer");
  }
  if (images.mask.data != nullptr) {
    detail::check_image(images.mask, "canny", "mask", w, h, 1, PixelType::kU8, src.location);
    if (detail::overlaps(images.mask, edges)) {
      throw Error(ErrorCode::kInvalidArgument, "canny: mask overlaps edges; use a separate buffer");
    }
  }
  if (images.magnitude.data != nullptr) {
    detail::check_image(images.magnitude, "canny", "magnitude", w, h, 1, PixelType::kF32,
                        src.location);
    for (const ImageView* other : {&src, &edges, &images.mask}) {
      if (detail::overlaps(images.magnitude, *other)) {
        throw Error(ErrorCode::kInvalidArgument,
                    "canny: magnitude overlaps another image; use a separate buffer");
      }
    }
  }
  validate(params);
  double low = 0.0, high = 0.0;
  resolve_thresholds(params, src.type, &low, &high);
  detail::check_location(src, edges, ctx, "canny");
  detail::check_device(images.mask, ctx, "canny", "mask");
  detail::check_device(images.magnitude, ctx, "canny", "magnitude");
  detail::check_cuda_pixels(w, h, ctx, "canny");
  const detail::DeviceScope device_scope(ctx);

  CannyReport report;
  report.backend = ctx.backend();
  report.smoothing = params.smoothing;
  const Staging st = stage_views(src, edges, images.mask, images.magnitude, ctx);
  const int np = detail::processed_channels(src.channels, params.alpha == AlphaMode::kPreserve);
  // Non-finite samples: refused, or missing data. Huge inputs are processed scaled by 2^-e so
  // that squared derivatives stay finite; thresholds are scaled with them and the reported
  // values and the magnitude scaled back (src/finite.hpp).
  const detail::GuardedInput guarded =
      detail::guard_input(st.src, np, params.non_finite, detail::kGradientRangeLog2, "canny", ctx,
                          detail::kScaledCannySlot);
  const int e = guarded.exponent;
  const bool missing = guarded.scan.non_finite.count > 0;
  ImageView in = guarded.view;

  // --- smoothing
  // ----------------------------------------------------------------------------------
  if (params.smoothing == CannySmoothing::kHeat && params.sigma > 0.0) {
    const ImageView smoothed =
        detail::scratch_image(ctx, detail::kCannySmoothedSlot, w, h, src.channels, PixelType::kF32);
    HeatParams hp;
    hp.sigma = params.sigma;
    hp.alpha = params.alpha;
    hp.non_finite = NonFinite::kMissing;  // refused above unless params.non_finite allows
    // Explicit steps: bit-identical on both backends, so are the edge maps (CannyReport's steps).
    // Past kCannyMaxExplicitSteps their cost (growing with sigma²) is not worth that: heat_smooth
    // chooses (sigma 1e4 was 4e8 explicit steps, minutes on any image).
    const double explicit_steps =
        std::ceil(0.5 * params.sigma * params.sigma / hp.max_dt * (1.0 - 1e-12));
    hp.scheme =
        explicit_steps <= kCannyMaxExplicitSteps ? HeatScheme::kExplicit : HeatScheme::kAuto;
    const HeatReport hr = heat_smooth(in, smoothed, hp, ctx);
    report.smoothing_steps = hr.steps;
    report.smoothing_time = hr.time;
    report.smoothing_scheme = hr.scheme;
    in = smoothed;
  } else if (params.smoothing == CannySmoothing::kPeronaMalik) {
    const ImageView smoothed =
        detail::scratch_image(ctx, detail::kCannySmoothedSlot, w, h, src.channels, PixelType::kF32);
    PeronaMalikParams pm = params.perona_malik;
    pm.non_finite = NonFinite::kMissing;  // refused above unless params.non_finite allows
    if (e != 0) {  // K and the noise level given in src's units, on the scaled copy
      pm.k = std::ldexp(pm.k, -e);
      pm.noise_sigma = std::ldexp(pm.noise_sigma, -e);
    }
    report.perona_malik = perona_malik(in, smoothed, pm, ctx);
    report.perona_malik.k = std::ldexp(report.perona_malik.k, e);
    report.perona_malik.noise_sigma = std::ldexp(report.perona_malik.noise_sigma, e);
    report.smoothing_steps = report.perona_malik.steps;
    report.smoothing_time = report.perona_malik.time;
    in = smoothed;
  }

  // --- thresholds
  // ---------------------------------------------------------------------------------
  detail::GradientPlan plan;
  plan.op = params.op;
  plan.channels = np;
  plan.scale = detail::sobel_scale(params.op);
  plan.missing = missing;
  detail::CannyThresholds th;
  if (params.thresholds == ThresholdMode::kQuantile) {
    const ImageView magnitude =
        st.magnitude.empty()
            ? detail::scratch_image(ctx, detail::kCannyMagnitudeSlot, w, h, 1, PixelType::kF32)
            : st.magnitude;
    GradientImages g;
    g.magnitude = magnitude;
    run_gradient(in, g, plan, ctx);
    th = on_cuda(ctx) ? cuda::canny_quantiles(magnitude, st.mask, low, high, ctx)
                      : cpu::canny_quantiles(magnitude, st.mask, low, high, ctx);
    plan.magnitude_ready = true;  // the suppression reads these magnitudes, not new ones
  } else {
    th.low = static_cast<float>(std::ldexp(low, -e));
    th.high = static_cast<float>(std::ldexp(high, -e));
  }

  // --- suppression, double threshold, hysteresis -----------------------------------------------
  if (on_cuda(ctx)) {
    cuda::canny_candidates(in, st.mask, th, plan, st.edges, st.magnitude, ctx);
    cuda::hysteresis(st.edges, ctx);
  } else {
    cpu::canny_candidates(in, st.mask, th, plan, st.edges, st.magnitude, ctx);
    cpu::hysteresis(st.edges, ctx);
  }

  if (e != 0 && !st.magnitude.empty()) detail::scale_samples(st.magnitude, st.magnitude, e, ctx);
  report.low = std::ldexp(static_cast<double>(th.low), e);
  report.high = std::ldexp(static_cast<double>(th.high), e);
  if (th.device != nullptr) {
    report.low = report.high = kNaN;
    if (st.active) {  // host views: the call waits anyway, so the values can be reported
      float values[2];
      const ImageView from{const_cast<float*>(th.device),
                           2,
                           1,
                           1,
                           2 * sizeof(float),
                           PixelType::kF32,
                           Location::kDevice};
      const ImageView to{values, 2, 1, 1, 2 * sizeof(float), PixelType::kF32, Location::kHost};
      detail::copy_image(from, to, ctx);
      report.low = std::ldexp(static_cast<double>(values[0]), e);
      report.high = std::ldexp(static_cast<double>(values[1]), e);
    }
  }
  unstage(st, ctx);
  return report;
}

void hysteresis_threshold(const ImageView& values, const ImageView& edges, float low, float high,
                          Context& ctx) {
  validate(values, "hysteresis_threshold: values");
  if (values.channels != 1 || values.type != PixelType::kF32) {
    throw Error(ErrorCode::kInvalidArgument,
                "hysteresis_threshold: values must be float32 with 1 channel");
  }
  detail::check_image(edges, "hysteresis_threshold", "edges", values.width, values.height, 1,
                      PixelType::kU8, values.location);
  if (!std::isfinite(low) || !std::isfinite(high) || low > high) {
    throw Error(ErrorCode::kInvalidArgument, "hysteresis_threshold: need finite low <= high, got " +
                                                 num(low) + " and " + num(high));
  }
  if (detail::overlaps(values, edges)) {
    throw Error(ErrorCode::kInvalidArgument, "hysteresis_threshold: edges overlaps values");
  }
  detail::check_location(values, edges, ctx, "hysteresis_threshold");
  detail::check_cuda_pixels(values.width, values.height, ctx, "hysteresis_threshold");
  const detail::DeviceScope device_scope(ctx);
  if (!on_cuda(ctx)) {
    cpu::threshold_labels(values, edges, low, high, ctx);
    cpu::hysteresis(edges, ctx);
    return;
  }
  ImageView v = values, e = edges;
  const bool staged = values.location == Location::kHost;
  if (staged) {
    v = detail::scratch_image(ctx, detail::kStageSrcSlot, values.width, values.height, 1,
                              PixelType::kF32);
    detail::copy_image(values, v, ctx);
    e = detail::scratch_image(ctx, detail::kStageOut0Slot, values.width, values.height, 1,
                              PixelType::kU8);
  }
  cuda::threshold_labels(v, e, low, high, ctx);
  cuda::hysteresis(e, ctx);
  if (staged) detail::copy_image(e, edges, ctx);
}

}  // namespace pdeimg
