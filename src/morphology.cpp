// morphology and shock_filter: validation, step selection and composition above the backends.
//
//   dilate/erode   one exact flat max (disc by default; integer square, diamond), or n upwind
//                  steps (upwind disc; a fractional square/diamond's last step): morph_steps
//   open, close    erode -> float scratch -> dilate (resp. the reverse)
//   gradient       dilate -> A, erode -> B, dst = A - B (morph_difference)
//   top-hats       open -> T, dst = src - T; close -> T, dst = T - src
//   shock filter   per step: heat_smooth(u) -> S, u' = shock_step(u, S)
// Host views on the CUDA backend are copied to device scratch for the whole composition.
#include "pdeimg/morphology.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>

#include "kernels/morphology.cuh"
#include "pdeimg/error.hpp"
#include "src/backend.hpp"
#include "src/context_impl.hpp"
#include "src/finite.hpp"
#include "src/heat_run.hpp"
#include "src/morphology_backend.hpp"
#include "src/validate.hpp"
#include "src/work_image.hpp"

namespace pdeimg {

namespace {

std::string num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

constexpr double kMaxRadius = 1e8;

bool exact_disc(const MorphParams& p) {
  return p.shape == StructuringElement::kDisc && p.scheme == MorphScheme::kExact;
}

/// |gain|² sums overflow float32 above about 2^62 (upwind disc, shock); differences alone above
/// 2^126. The exact disc only takes maxima: no scaling (2^128 is above every finite float) -
/// unless a difference follows (gradient, top-hats), which needs the samples below 2^126.
int range_log2(const MorphParams& p) {
  if (exact_disc(p)) {
    const bool difference =
        p.op == MorphOp::kGradient || p.op == MorphOp::kTopHat || p.op == MorphOp::kBlackHat;
    return difference ? detail::kHeatRangeLog2 : 128;
  }
  return p.shape == StructuringElement::kDisc ? detail::kStatisticRangeLog2
                                              : detail::kHeatRangeLog2;
}

void check_max_dt(double max_dt) {
  if (!(max_dt > 0.0) || max_dt > detail::kDiscMaxDt) {
    throw Error(ErrorCode::kInvalidArgument,
                "max_dt: must lie in (0, 0.7071] (1/sqrt(2), the monotonicity bound of the upwind "
                "scheme), got " +
                    num(max_dt));
  }
}

void check_alpha_and_missing(AlphaMode alpha, NonFinite non_finite, const char* op) {
  if (alpha != AlphaMode::kPreserve && alpha != AlphaMode::kProcess) {
    throw Error(ErrorCode::kInvalidArgument,
                "alpha: unknown value " + std::to_string(static_cast<int>(alpha)));
  }
  if (non_finite == NonFinite::kMissing) {
    throw Error(ErrorCode::kUnsupported,
                std::string(op) +
                    ": non-finite samples as missing data (NonFinite::kMissing) are not supported "
                    "by morphology; use kRefuse");
  }
  if (non_finite != NonFinite::kRefuse) {
    throw Error(ErrorCode::kInvalidArgument,
                "non_finite: unknown value " + std::to_string(static_cast<int>(non_finite)));
  }
}

int steps_for(double length, double max_dt) {
  // The relative tolerance keeps r = 2, max_dt = 0.5 at exactly 4 steps despite rounding.
  return static_cast<int>(std::max(1.0, std::ceil(length / max_dt * (1.0 - 1e-12))));
}

bool on_cuda(const Context& ctx) {
  return ctx.backend() == Backend::kCuda;
}

void run_steps(const ImageView& s, const ImageView& d, const detail::MorphPlan& plan,
               Context& ctx) {
  on_cuda(ctx) ? cuda::morph_steps(s, d, plan, ctx) : cpu::morph_steps(s, d, plan, ctx);
}

/// s into d (same shape), every channel converted to d's type: zero steps.
void convert_all(const ImageView& s, const ImageView& d, Context& ctx) {
  detail::MorphPlan convert;
  convert.channels = s.channels;
  run_steps(s, d, convert, ctx);
}

void run_difference(const ImageView& a, const ImageView& b, const ImageView& d, int channels,
                    int sign, Context& ctx) {
  on_cuda(ctx) ? cuda::morph_difference(a, b, d, channels, sign, ctx)
               : cpu::morph_difference(a, b, d, channels, sign, ctx);
}

constexpr int kMorphFracSlot = 66;  // the unit steps' result before a fractional last step

/// Upwind disc steps run in chunks of this many once there are more than two chunks.
constexpr int kFixedPointChunk = 64;

bool same_samples(const ImageView& a, const ImageView& b) {
  const std::size_t row = static_cast<std::size_t>(a.width) * a.channels * sample_size(a.type);
  for (int y = 0; y < a.height; ++y) {
    if (std::memcmp(a.row<const unsigned char>(y), b.row<const unsigned char>(y), row) != 0)
      return false;
  }
  return true;
}

/// The upwind steps of `plan` (CPU) in chunks on float copies, stopping once a chunk leaves the
/// image as it was: a dilation step never lowers a sample and an erosion step never raises one, so
/// such a chunk changed nothing in any of its steps - a fixed point (a constant image, the global
/// max or min), which every further step keeps. The same result to the bit as every step taken
/// (float between chunks, as between fused steps), without 2e8 steps for a radius of 1e8.
void run_until_fixed(const ImageView& s, const ImageView& d, const detail::MorphPlan& plan,
                     Context& ctx) {
  ImageView a = detail::scratch_image(ctx, detail::kMorphChunkSlot, s.width, s.height, s.channels,
                                      PixelType::kF32);
  ImageView b = detail::scratch_image(ctx, detail::kMorphChunkSlot + 1, s.width, s.height,
                                      s.channels, PixelType::kF32);
  detail::MorphPlan chunk = plan;
  chunk.steps = kFixedPointChunk;
  run_steps(s, a, chunk, ctx);
  for (int left = plan.steps - kFixedPointChunk; left > 0;) {
    chunk.steps = std::min(kFixedPointChunk, left);
    run_steps(a, b, chunk, ctx);
    left -= chunk.steps;
    const bool fixed = same_samples(a, b);
    std::swap(a, b);
    if (fixed) break;
  }
  convert_all(a, d, ctx);
}

/// How one dilation or erosion is computed.
struct Schedule {
  int steps = 0;      // equal steps (disc), or unit steps (diamond, square)
  double dt = 0.0;    // their size
  double frac = 0.0;  // diamond, square: the size of one further step (0: none)
  int total() const { return steps + (frac > 0.0 ? 1 : 0); }
};

Schedule schedule(const MorphParams& p) {
  Schedule s;
  if (exact_disc(p)) {  // one flat max over the digital disc
    s.steps = 1;
    s.dt = p.radius;
    return s;
  }
  if (p.shape == StructuringElement::kDisc) {
    s.steps = steps_for(p.radius, p.max_dt);
    s.dt = p.radius / s.steps;
    return s;
  }
  // Integer radii (to 1e-9) take unit steps only, so that they are exact.
  const double whole = std::floor(p.radius + 1e-9);
  s.steps = static_cast<int>(whole);
  s.dt = 1.0;
  const double frac = p.radius - whole;
  s.frac = frac > 1e-9 ? frac : 0.0;
  return s;
}

/// One dilation (erode false) or erosion of s into d per the schedule.
void dilate_or_erode(const ImageView& s, const ImageView& d, bool erode, const MorphParams& p,
                     const Schedule& sc, int channels, Context& ctx) {
  detail::MorphPlan plan;
  plan.shape = p.shape;
  plan.erode = erode;
  plan.channels = channels;
  plan.max_fused = detail::test_max_fused();
  if (exact_disc(p)) {
    plan.flat = true;
    plan.radius = p.radius;
    run_steps(s, d, plan, ctx);
    return;
  }
  if (p.shape == StructuringElement::kDisc) {
    plan.steps = sc.steps;
    plan.dt = static_cast<float>(sc.dt);
    if (!on_cuda(ctx) && plan.steps > 2 * kFixedPointChunk) {
      run_until_fixed(s, d, plan, ctx);
    } else {
      run_steps(s, d, plan, ctx);
    }
    return;
  }
  detail::MorphPlan frac = plan;
  frac.steps = 1;
  frac.dt = static_cast<float>(sc.frac);
  plan.unit = true;  // floor(r) unit steps: one flat max over their union, the same set
  plan.flat = true;
  plan.radius = sc.steps;
  plan.steps = sc.steps;
  plan.dt = 1.0f;
  if (sc.frac == 0.0) {
    run_steps(s, d, plan, ctx);
  } else if (sc.steps == 0) {
    run_steps(s, d, frac, ctx);
  } else {  // float in between: results are converted to d's type only at the end
    const ImageView t =
        detail::scratch_image(ctx, kMorphFracSlot, s.width, s.height, s.channels, PixelType::kF32);
    run_steps(s, t, plan, ctx);
    run_steps(t, d, frac, ctx);
  }
}

/// Host views on the CUDA backend: device copies for the whole composition.
struct Staging {
  bool active = false;
  ImageView src, dst, host_dst;
};

Staging stage_views(const ImageView& src, const ImageView& dst, Context& ctx) {
  Staging st;
  st.src = src;
  st.dst = dst;
  if (!on_cuda(ctx) || src.location == Location::kDevice) return st;
  st.active = true;
  st.src = detail::scratch_image(ctx, detail::kMorphStageSrcSlot, src.width, src.height,
                                 src.channels, src.type);
  detail::copy_image(src, st.src, ctx);
  st.dst = detail::scratch_image(ctx, detail::kMorphStageDstSlot, dst.width, dst.height,
                                 dst.channels, dst.type);
  st.host_dst = dst;
  return st;
}

void unstage(const Staging& st, Context& ctx) {
  if (st.active) detail::copy_image(st.dst, st.host_dst, ctx);  // waits for the stream
}

ImageView float_like(const ImageView& v, int slot, Context& ctx) {
  return detail::scratch_image(ctx, slot, v.width, v.height, v.channels, PixelType::kF32);
}

}  // namespace

const char* to_string(StructuringElement shape) noexcept {
  switch (shape) {
    case StructuringElement::kDisc:
      return "disc";
    case StructuringElement::kDiamond:
      return "diamond";
    case StructuringElement::kSquare:
      return "square";
  }
  return "unknown";
}

StructuringElement parse_structuring_element(const std::string& name) {
  const std::string n = lower(name);
  if (n == "disc" || n == "disk") return StructuringElement::kDisc;
  if (n == "diamond") return StructuringElement::kDiamond;
  if (n == "square") return StructuringElement::kSquare;
  throw Error(ErrorCode::kInvalidArgument,
              "shape: expected disc, diamond or square, got '" + name + "'");
}

const char* to_string(MorphScheme scheme) noexcept {
  switch (scheme) {
    case MorphScheme::kExact:
      return "exact";
    case MorphScheme::kUpwind:
      return "upwind";
  }
  return "unknown";
}

MorphScheme parse_morph_scheme(const std::string& name) {
  const std::string n = lower(name);
  if (n == "exact") return MorphScheme::kExact;
  if (n == "upwind") return MorphScheme::kUpwind;
  throw Error(ErrorCode::kInvalidArgument, "scheme: expected exact or upwind, got '" + name + "'");
}

const char* to_string(MorphOp op) noexcept {
  switch (op) {
    case MorphOp::kDilate:
      return "dilate";
    case MorphOp::kErode:
      return "erode";
    case MorphOp::kOpen:
      return "open";
    case MorphOp::kClose:
      return "close";
    case MorphOp::kGradient:
      return "gradient";
    case MorphOp::kTopHat:
      return "tophat";
    case MorphOp::kBlackHat:
      return "blackhat";
  }
  return "unknown";
}

MorphOp parse_morph_op(const std::string& name) {
  const std::string n = lower(name);
  for (MorphOp op : {MorphOp::kDilate, MorphOp::kErode, MorphOp::kOpen, MorphOp::kClose,
                     MorphOp::kGradient, MorphOp::kTopHat, MorphOp::kBlackHat}) {
    if (n == to_string(op)) return op;
  }
  throw Error(
      ErrorCode::kInvalidArgument,
      "operation: expected dilate, erode, open, close, gradient, tophat or blackhat, got '" + name +
          "'");
}

void validate(const MorphParams& params) {
  if (static_cast<int>(params.op) < 0 || static_cast<int>(params.op) > 6) {
    throw Error(ErrorCode::kInvalidArgument,
                "op: unknown value " + std::to_string(static_cast<int>(params.op)));
  }
  if (params.shape != StructuringElement::kDisc && params.shape != StructuringElement::kDiamond &&
      params.shape != StructuringElement::kSquare) {
    throw Error(ErrorCode::kInvalidArgument,
                "shape: unknown value " + std::to_string(static_cast<int>(params.shape)));
  }
  if (params.scheme != MorphScheme::kExact && params.scheme != MorphScheme::kUpwind) {
    throw Error(ErrorCode::kInvalidArgument,
                "scheme: unknown value " + std::to_string(static_cast<int>(params.scheme)));
  }
  if (!(params.radius > 0.0) || !(params.radius <= kMaxRadius)) {
    throw Error(
        ErrorCode::kInvalidArgument,
        "radius: must be positive, finite and at most 1e8 pixels, got " + num(params.radius));
  }
  check_max_dt(params.max_dt);
  if (params.shape == StructuringElement::kDisc && params.scheme == MorphScheme::kUpwind &&
      params.radius / params.max_dt > 1e9) {
    throw Error(ErrorCode::kInvalidArgument, "radius: " + num(params.radius) +
                                                 " needs more than 1e9 steps of max_dt " +
                                                 num(params.max_dt));
  }
  check_alpha_and_missing(params.alpha, params.non_finite, "morphology");
}

void validate(const ShockParams& params) {
  if (!(params.sigma >= 0.0) || !std::isfinite(params.sigma)) {
    throw Error(ErrorCode::kInvalidArgument,
                "sigma: must be >= 0 and finite, got " + num(params.sigma));
  }
  if (!(params.time > 0.0) || !(params.time <= kMaxRadius)) {
    throw Error(ErrorCode::kInvalidArgument,
                "time: must be positive, finite and at most 1e8, got " + num(params.time));
  }
  check_max_dt(params.max_dt);
  if (params.time / params.max_dt > 1e9) {
    throw Error(ErrorCode::kInvalidArgument,
                "time: " + num(params.time) + " needs more than 1e9 steps; use a smaller time");
  }
  if (params.sigma > 0.0) {
    HeatParams hp;
    hp.sigma = params.sigma;
    validate(hp);  // a sigma whose smoothing the heat equation cannot take
  }
  check_alpha_and_missing(params.alpha, params.non_finite, "shock_filter");
}

MorphReport morphology(const ImageView& src, const ImageView& dst, const MorphParams& params,
                       Context& ctx) {
  detail::check_src_dst(src, dst, "morphology");
  validate(params);
  const Schedule sc = schedule(params);
  const int nc = detail::processed_channels(src.channels, params.alpha == AlphaMode::kPreserve);

  detail::check_location(src, dst, ctx, "morphology");
  const detail::DeviceScope device_scope(ctx);
  const Staging st = stage_views(src, dst, ctx);
  const detail::GuardedInput in =
      detail::guard_input(st.src, nc, params.non_finite, range_log2(params), "morphology", ctx);
  detail::compute_scaled(in, st.dst, ctx, [&](const ImageView& s, const ImageView& d) {
    auto run = [&](const ImageView& a, const ImageView& b, bool erode) {
      dilate_or_erode(a, b, erode, params, sc, nc, ctx);
    };
    switch (params.op) {
      case MorphOp::kDilate:
      case MorphOp::kErode:
        run(s, d, params.op == MorphOp::kErode);
        break;
      case MorphOp::kOpen:
      case MorphOp::kClose: {
        // Flat maxima only (exact disc, integer square or diamond): the intermediate keeps s's
        // type, which holds every value exactly.
        const bool flat =
            exact_disc(params) || (sc.frac == 0.0 && !(params.shape == StructuringElement::kDisc));
        const ImageView t = flat ? detail::scratch_image(ctx, detail::kMorphTempSlot, s.width,
                                                         s.height, s.channels, s.type)
                                 : float_like(s, detail::kMorphTempSlot, ctx);
        const bool open = params.op == MorphOp::kOpen;
        run(s, t, open);
        run(t, d, !open);
        break;
      }
      case MorphOp::kGradient: {
        const ImageView a = float_like(s, detail::kMorphTempSlot, ctx);
        const ImageView b = float_like(s, detail::kMorphTemp2Slot, ctx);
        run(s, a, false);
        run(s, b, true);
        run_difference(a, b, d, nc, +1, ctx);
        break;
      }
      case MorphOp::kTopHat:
      case MorphOp::kBlackHat: {
        const ImageView a = float_like(s, detail::kMorphTempSlot, ctx);
        const ImageView b = float_like(s, detail::kMorphTemp2Slot, ctx);
        const bool top = params.op == MorphOp::kTopHat;
        run(s, a, top);  // open: erode first; close: dilate first
        run(a, b, !top);
        run_difference(s, b, d, nc, top ? +1 : -1, ctx);  // u - open(u) or close(u) - u
        break;
      }
    }
  });
  unstage(st, ctx);

  MorphReport r;
  r.backend = ctx.backend();
  r.op = params.op;
  r.shape = params.shape;
  r.radius = params.radius;
  r.steps = sc.total();
  r.dt = sc.steps > 0 ? sc.dt : sc.frac;
  r.last_dt = sc.frac > 0.0 ? sc.frac : sc.dt;
  r.scheme = params.shape != StructuringElement::kDisc ? "exact unit steps"
             : exact_disc(params)                      ? "exact flat disc"
                                                       : "rouy-tourin upwind";
  return r;
}

MorphReport dilate(const ImageView& src, const ImageView& dst, double radius,
                   StructuringElement shape, Context& ctx) {
  MorphParams p;
  p.op = MorphOp::kDilate;
  p.shape = shape;
  p.radius = radius;
  return morphology(src, dst, p, ctx);
}

MorphReport erode(const ImageView& src, const ImageView& dst, double radius,
                  StructuringElement shape, Context& ctx) {
  MorphParams p;
  p.op = MorphOp::kErode;
  p.shape = shape;
  p.radius = radius;
  return morphology(src, dst, p, ctx);
}

ShockReport shock_filter(const ImageView& src, const ImageView& dst, const ShockParams& params,
                         Context& ctx) {
  detail::check_src_dst(src, dst, "shock_filter");
  validate(params);
  const int steps = steps_for(params.time, params.max_dt);
  const float dt = static_cast<float>(params.time / steps);
  const int nc = detail::processed_channels(src.channels, params.alpha == AlphaMode::kPreserve);

  detail::check_location(src, dst, ctx, "shock_filter");
  const detail::DeviceScope device_scope(ctx);
  const Staging st = stage_views(src, dst, ctx);
  const detail::GuardedInput in = detail::guard_input(
      st.src, nc, params.non_finite, detail::kStatisticRangeLog2, "shock_filter", ctx);
  ShockReport report;
  detail::compute_scaled(in, st.dst, ctx, [&](const ImageView& s, const ImageView& d) {
    ImageView a = float_like(s, detail::kMorphTempSlot, ctx);
    ImageView b = float_like(s, detail::kMorphTemp2Slot, ctx);
    const ImageView smoothed = float_like(s, detail::kShockSmoothSlot, ctx);
    convert_all(s, a, ctx);
    // The pre-smoothing is heat_smooth's, planned once: the evolving image keeps the size, stays
    // finite and within the input's range (the upwind step keeps the maximum principle), so each
    // step's scan and scaling by heat_smooth would find nothing to do - and on CUDA would wait for
    // the device on every step.
    HeatParams hp;
    hp.sigma = params.sigma;
    hp.alpha = params.alpha;
    const bool smooth = params.sigma > 0.0;
    static_assert(detail::kStatisticRangeLog2 <= detail::kHeatRangeLog2 - 8,
                  "the guarded input must need no further scaling by the pre-smoothing");
    detail::HeatRun heat;
    if (smooth) {
      heat = detail::plan_heat(hp, s.width, s.height, nc, /*missing=*/false, ctx.backend());
      report.smoothing_steps = heat.report.steps;
      report.smoothing_scheme = heat.report.scheme;
    }
    for (int i = 0; i < steps; ++i) {
      ImageView g = a;
      if (smooth) {
        detail::run_heat(heat, a, smoothed, ctx);
        g = smoothed;
      }
      on_cuda(ctx) ? cuda::shock_step(a, g, b, nc, dt, ctx) : cpu::shock_step(a, g, b, nc, dt, ctx);
      std::swap(a, b);
      ctx.impl().report_progress(i + 1, steps, "shock_filter");
    }
    convert_all(a, d, ctx);
  });
  unstage(st, ctx);
  report.backend = ctx.backend();
  report.steps = steps;
  report.dt = params.time / steps;
  report.time = params.time;
  report.sigma = params.sigma;
  return report;
}

}  // namespace pdeimg
