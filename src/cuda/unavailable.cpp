// Backend entry points for builds without CUDA: each says so with Error(kBackendUnavailable).
#include <string>

#include "pdeimg/error.hpp"
#include "src/backend.hpp"

namespace pdeimg {
namespace cuda {
namespace {
[[noreturn]] void unavailable(const char* op) {
  throw Error(ErrorCode::kBackendUnavailable,
              std::string(op) + ": CUDA backend unavailable: pdeimg was built without CUDA");
}
}  // namespace

void heat_smooth(const ImageView&, const ImageView&, const detail::HeatPlan&, Context&) {
  unavailable("heat_smooth");
}
void heat_spectral(const ImageView&, const ImageView&, const detail::HeatSpectralPlan&, Context&) {
  unavailable("heat_smooth");
}

void perona_malik(const ImageView&, const ImageView&, const detail::PeronaMalikPlan&, Context&) {
  unavailable("perona_malik");
}
double gradient_quantile_sq(const ImageView&, const detail::GradientStatPlan&, double, Context&) {
  unavailable("perona_malik");
}
void estimate_noise(const ImageView&, int, double*, long long*, Context&) {
  unavailable("estimate_noise");
}

void gradient(const ImageView&, const GradientImages&, const detail::GradientPlan&, Context&) {
  unavailable("gradient");
}
detail::CannyThresholds canny_quantiles(const ImageView&, const ImageView&, double, double,
                                        Context&) {
  unavailable("canny");
}
void canny_candidates(const ImageView&, const ImageView&, const detail::CannyThresholds&,
                      const detail::GradientPlan&, const ImageView&, const ImageView&, Context&) {
  unavailable("canny");
}
void threshold_labels(const ImageView&, const ImageView&, float, float, Context&) {
  unavailable("hysteresis_threshold");
}
void hysteresis(const ImageView&, Context&) {
  unavailable("hysteresis_threshold");
}

detail::SampleScan scan_samples(const ImageView&, int, Context&) {
  unavailable("scan_samples");
}
void scale_samples(const ImageView&, const ImageView&, int, int, Context&) {
  unavailable("scale_samples");
}

void reaction_diffusion(const ImageView&, const ImageView&, const detail::RdPlan&, Context&) {
  unavailable("reaction_diffusion");
}

}  // namespace cuda
}  // namespace pdeimg

// --- morphology (src/morphology_backend.hpp)
#include "src/morphology_backend.hpp"

namespace pdeimg {
namespace cuda {
void morph_steps(const ImageView&, const ImageView&, const detail::MorphPlan&, Context&) {
  throw Error(ErrorCode::kBackendUnavailable,
              "morphology: CUDA backend unavailable: pdeimg was built without CUDA");
}
void morph_difference(const ImageView&, const ImageView&, const ImageView&, int, int, Context&) {
  throw Error(ErrorCode::kBackendUnavailable,
              "morphology: CUDA backend unavailable: pdeimg was built without CUDA");
}
void shock_step(const ImageView&, const ImageView&, const ImageView&, int, float, Context&) {
  throw Error(ErrorCode::kBackendUnavailable,
              "shock_filter: CUDA backend unavailable: pdeimg was built without CUDA");
}
}  // namespace cuda
}  // namespace pdeimg
