// reaction_diffusion: validation, the noise level and the scale, the choice of networks, dispatch
// to a backend. The model file parser is src/reaction_diffusion_model.cpp.
#include "pdeimg/reaction_diffusion.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "pdeimg/error.hpp"
#include "pdeimg/noise.hpp"
#include "src/backend.hpp"
#include "src/context_impl.hpp"
#include "src/finite.hpp"
#include "src/validate.hpp"

namespace pdeimg {

namespace {

using detail::num;

[[noreturn]] void invalid(const std::string& message) {
  throw Error(ErrorCode::kInvalidArgument, "reaction_diffusion: " + message);
}

/// The scale's bounds relative to the largest magnitude M: s·M ≤ 2^100 keeps every intermediate
/// finite (|z| ≤ 2·Σ|k|·|u|, and |u| grows by at most T·Σ|k̄|·max|φ| beyond |f|), s·M ≥ 2^-60
/// keeps f above float's subnormals. Below 2^-60 the values lie far inside the knot interval
/// around 0, where φ is linear on each side of 0 and the network exactly scale-equivariant, so
/// raising s there changes nothing but rounding.
constexpr int kMaxScaledLog2 = 100;
constexpr int kMinScaledLog2 = -60;

}  // namespace

void validate(const ReactionDiffusionParams& p) {
  if (!(p.noise_sigma >= 0.0) || !std::isfinite(p.noise_sigma)) {
    invalid("noise_sigma: must be >= 0 and finite (0: estimate), got " + num(p.noise_sigma));
  }
  if (p.stages < 0) invalid("stages: must be >= 0 (0: all), got " + std::to_string(p.stages));
  if (p.alpha != AlphaMode::kPreserve && p.alpha != AlphaMode::kProcess) {
    invalid("alpha: unknown value " + std::to_string(static_cast<int>(p.alpha)));
  }
  if (p.non_finite == NonFinite::kMissing) {
    throw Error(ErrorCode::kUnsupported,
                "reaction_diffusion: NonFinite::kMissing is not supported (a learned filter has "
                "no zero-flux reading of a hole); use NonFinite::kRefuse");
  }
  if (p.non_finite != NonFinite::kRefuse) {
    invalid("non_finite: unknown value " + std::to_string(static_cast<int>(p.non_finite)));
  }
}

ReactionDiffusionReport reaction_diffusion(const ImageView& src, const ImageView& dst,
                                           const ReactionDiffusionParams& p, Context& ctx) {
  detail::check_src_dst(src, dst, "reaction_diffusion");
  validate(p);
  detail::check_location(src, dst, ctx, "reaction_diffusion");
  const detail::DeviceScope device_scope(ctx);
  const bool cuda = ctx.backend() == Backend::kCuda;
  const RdModel& model = p.model != nullptr ? *p.model : RdModel::builtin();
  const detail::RdModelData& md = model.data();

  ReactionDiffusionReport report;
  report.backend = ctx.backend();
  report.model_name = md.name;
  report.model_hash = md.hash;
  const int nc = detail::processed_channels(src.channels, p.alpha == AlphaMode::kPreserve);
  report.channels = nc;

  // The networks: colour (3 colour channels, with or without alpha) or grey per channel.
  detail::RdPlan plan;
  plan.channels = nc;
  const bool colour = src.channels >= 3;
  const std::string model_id = "model '" + md.name + "' (" + md.source + ")";
  if (colour) {
    if (!md.luma || !md.chroma) {
      throw Error(
          ErrorCode::kInvalidArgument,
          "reaction_diffusion: " + model_id + " has no " +
              (!md.luma && !md.chroma ? std::string("luma and chroma networks")
                                      : std::string(!md.luma ? "luma" : "chroma") + " network") +
              ": it cannot denoise colour images (" + std::to_string(src.channels) + " channels)");
    }
    plan.colour = true;
    plan.net[0] = md.luma.get();
    plan.net[1] = plan.net[2] = md.chroma.get();
    plan.planes = 3;
  }
  if (nc > plan.planes) {  // grey channels, or alpha with AlphaMode::kProcess
    if (!md.gray) {
      throw Error(ErrorCode::kInvalidArgument,
                  "reaction_diffusion: " + model_id + " has no gray network: it cannot denoise " +
                      (colour ? std::string("an alpha channel (AlphaMode::kProcess)")
                              : "grey images (" + std::to_string(src.channels) + " channel" +
                                    (src.channels > 1 ? "s" : "") + ")"));
    }
    for (int c = plan.planes; c < nc; ++c) plan.net[c] = md.gray.get();
    plan.planes = nc;
  }
  const detail::RdNetwork& main = *plan.net[0];
  report.colour = plan.colour;
  report.filters = main.filters;
  report.filter_size = main.size;
  for (int c = 0; c < plan.planes; ++c) {
    plan.stages[c] = p.stages > 0 ? std::min(p.stages, plan.net[c]->stages) : plan.net[c]->stages;
  }

  // Non-finite samples are refused; the largest magnitude bounds the scale.
  const detail::GuardedInput in =
      detail::scan_input(src, nc, p.non_finite, "reaction_diffusion", ctx);
  const double max_abs = detail::magnitude_bound(src.type, in.scan);

  double sigma = p.noise_sigma;
  if (!(sigma > 0.0)) {
    sigma = estimate_noise(src, ctx, p.alpha, p.non_finite).sigma;
    report.noise_estimated = true;
  }
  report.noise_sigma = sigma;
  if (!(sigma > 0.0) || max_abs == 0.0) {
    // No noise (or an all-zero image, a fixed point): dst = src.
    if (!(src.data == dst.data && src.type == dst.type)) {
      detail::scale_samples(src, dst, 0, ctx, src.channels);
    }
    report.scale = sigma > 0.0 ? md.noise / sigma : 0.0;
    report.stages = 0;
    return report;
  }
  double scale = md.noise / sigma;
  // Keep s·M within [2^-60, 2^100] (see kMaxScaledLog2): only images whose noise deviation is
  // below 2^-100 of their largest magnitude (far below float32's resolution of it), or above
  // 2^60 of it, are affected.
  scale = std::min(scale, std::ldexp(1.0, kMaxScaledLog2) / max_abs);
  scale = std::max(scale, std::ldexp(1.0, kMinScaledLog2) / max_abs);
  plan.scale = scale;
  report.scale = scale;
  report.stages = *std::max_element(plan.stages, plan.stages + plan.planes);

  if (cuda) {
    cuda::reaction_diffusion(src, dst, plan, ctx);
  } else {
    cpu::reaction_diffusion(src, dst, plan, ctx);
  }
  return report;
}

}  // namespace pdeimg
