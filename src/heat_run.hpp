// heat_smooth's plan and run, apart from its checks and its scan of the input: for compositions
// that smooth on every step of their own (shock_filter), which plan once for the image size and
// then run on float images they made themselves. Internal header.
#pragma once

#include "pdeimg/heat.hpp"
#include "src/backend.hpp"

namespace pdeimg {
namespace detail {

/// What heat_smooth runs on an image of one size: the scheme (kAuto resolved) and its plan.
struct HeatRun {
  HeatReport report;          ///< backend, time, scheme, note; steps, dt, cycles as it will run
  HeatPlan plan;              ///< explicit and FED steps
  HeatSpectralPlan spectral;  ///< the spectral solution
  /// Inputs with finite magnitudes below 2^range_log2 need no scaling (finite.hpp).
  int range_log2 = 0;
};

/// heat_smooth's choice for `params` (validated) on a width x height image whose first `channels`
/// channels are smoothed; `missing`: the image has missing (non-finite) samples.
HeatRun plan_heat(const HeatParams& params, int width, int height, int channels, bool missing,
                  Backend backend);

/// Runs `run` from src into dst (as the backends: same size, host or device views), without
/// checks, scan or scaling: src's finite magnitudes must lie below 2^run.range_log2.
void run_heat(const HeatRun& run, const ImageView& src, const ImageView& dst, Context& ctx);

}  // namespace detail
}  // namespace pdeimg
