// estimate_noise: validation and dispatch (algorithm: include/pdeimg/noise.hpp).
#include "pdeimg/noise.hpp"

#include <cmath>

#include "pdeimg/error.hpp"
#include "src/backend.hpp"
#include "src/context_impl.hpp"
#include "src/validate.hpp"

namespace pdeimg {

NoiseEstimate estimate_noise(const ImageView& image, Context& ctx, AlphaMode alpha) {
  validate(image, "estimate_noise: image");
  if (image.location == Location::kDevice && ctx.backend() != Backend::kCuda) {
    throw Error(
        ErrorCode::kInvalidArgument,
        std::string(
            "estimate_noise: device views need a context with the cuda backend (this one is ") +
            to_string(ctx.backend()) + ")");
  }
  detail::check_cuda_extent(image, ctx, "estimate_noise");
  const detail::DeviceScope device_scope(ctx);
  NoiseEstimate e;
  e.channels = detail::processed_channels(image.channels, alpha == AlphaMode::kPreserve);
  if (ctx.backend() == Backend::kCuda) {
    cuda::estimate_noise(image, e.channels, e.channel_sigma, &e.samples, ctx);
  } else {
    cpu::estimate_noise(image, e.channels, e.channel_sigma, &e.samples, ctx);
  }
  double sum = 0.0;
  for (int c = 0; c < e.channels; ++c) sum += e.channel_sigma[c] * e.channel_sigma[c];
  e.sigma = std::sqrt(sum / e.channels);
  return e;
}

}  // namespace pdeimg
