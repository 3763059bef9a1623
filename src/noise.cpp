// estimate_noise: validation and dispatch (algorithm: include/pdeimg/noise.hpp).
#include "pdeimg/noise.hpp"

#include <cmath>

#include "pdeimg/error.hpp"
#include "src/backend.hpp"
#include "src/context_impl.hpp"
#include "src/finite.hpp"
#include "src/validate.hpp"

namespace pdeimg {

NoiseEstimate estimate_noise(const ImageView& image, Context& ctx, AlphaMode alpha,
                             NonFinite non_finite) {
  validate(image, "estimate_noise: image");
  if (image.location == Location::kDevice && ctx.backend() != Backend::kCuda) {
    throw Error(
        ErrorCode::kInvalidArgument,
        std::string(
            "estimate_noise: device views need a context with the cuda backend (this one is ") +
            to_string(ctx.backend()) + ")");
  }
  detail::check_device(image, ctx, "estimate_noise", "image");
  detail::check_cuda_extent(image, ctx, "estimate_noise");
  if (image.width > 2 && image.height > 2) {
    detail::check_cuda_items(static_cast<unsigned long long>(image.width - 2) * (image.height - 2),
                             ctx, "estimate_noise", "the noise statistic");
  }
  const detail::DeviceScope device_scope(ctx);
  NoiseEstimate e;
  e.channels = detail::processed_channels(image.channels, alpha == AlphaMode::kPreserve);
  // Squared gradients must not overflow: on a copy scaled below 2^60 when needed (the estimate
  // scales exactly with the image).
  const detail::GuardedInput in =
      detail::guard_input(image, e.channels, non_finite, detail::kStatisticRangeLog2,
                          "estimate_noise", ctx, detail::kScaledNoiseSlot);
  if (ctx.backend() == Backend::kCuda) {
    cuda::estimate_noise(in.view, e.channels, e.channel_sigma, &e.samples, ctx);
  } else {
    cpu::estimate_noise(in.view, e.channels, e.channel_sigma, &e.samples, ctx);
  }
  for (int c = 0; c < e.channels; ++c) {
    e.channel_sigma[c] = std::ldexp(e.channel_sigma[c], in.exponent);
  }
  double sum = 0.0;
  for (int c = 0; c < e.channels; ++c) sum += e.channel_sigma[c] * e.channel_sigma[c];
  e.sigma = std::sqrt(sum / e.channels);
  return e;
}

}  // namespace pdeimg
