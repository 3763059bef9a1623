// heat_smooth: validation and scheme selection above the backends.
#include "pdeimg/heat.hpp"

#include <cmath>
#include <cstdio>
#include <string>

#include "kernels/heat.cuh"
#include "pdeimg/error.hpp"
#include "src/backend.hpp"
#include "src/context_impl.hpp"
#include "src/finite.hpp"
#include "src/validate.hpp"

namespace pdeimg {

namespace {

std::string num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

}  // namespace

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
                                                 std::to_string(params.time) + ") and sigma (" +
                                                 std::to_string(params.sigma) + ")");
  }
  if (has_sigma && !(params.sigma > 0.0 && std::isfinite(params.sigma))) {
    throw Error(ErrorCode::kInvalidArgument,
                "sigma: must be positive and finite, got " + std::to_string(params.sigma));
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
  heat_steps_for(time, params.max_dt);  // max_dt's range, a finite time, at most 1e9 steps
}

HeatReport heat_smooth(const ImageView& src, const ImageView& dst, const HeatParams& params,
                       Context& ctx) {
  detail::check_src_dst(src, dst, "heat_smooth");
  validate(params);
  const double time = params.sigma != 0.0 ? 0.5 * params.sigma * params.sigma : params.time;
  detail::HeatPlan plan;
  plan.steps = heat_steps_for(time, params.max_dt);
  plan.dt = static_cast<float>(time / plan.steps);
  plan.channels = detail::processed_channels(src.channels, params.alpha == AlphaMode::kPreserve);
  plan.max_fused = detail::test_max_fused();

  detail::check_location(src, dst, ctx, "heat_smooth");
  const detail::DeviceScope device_scope(ctx);
  const detail::GuardedInput in = detail::guard_input(src, plan.channels, params.non_finite,
                                                      detail::kHeatRangeLog2, "heat_smooth", ctx);
  plan.missing = in.scan.non_finite.count > 0;
  detail::compute_scaled(in, dst, ctx, [&](const ImageView& s, const ImageView& d) {
    if (ctx.backend() == Backend::kCuda) {
      cuda::heat_smooth(s, d, plan, ctx);
    } else {
      cpu::heat_smooth(s, d, plan, ctx);
    }
  });
  HeatReport report;
  report.backend = ctx.backend();
  report.steps = plan.steps;
  report.dt = time / plan.steps;
  report.time = time;
  return report;
}

}  // namespace pdeimg
