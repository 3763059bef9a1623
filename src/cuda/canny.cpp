// CUDA backend of Canny's primitives: scratch management and the launch sequence. Everything is
// queued on ctx's stream; nothing here waits for the device (scratch only grows on first use).
#include <algorithm>
#include <limits>
#include <string>

#include "pdeimg/error.hpp"
#include "src/backend.hpp"
#include "src/context_impl.hpp"
#include "src/cuda/launch.hpp"
#include "src/work_image.hpp"

namespace pdeimg {
namespace cuda {
namespace {

// Device scratch slots kCannyDeviceSlot + ...
constexpr int kParentSlot = 0;
constexpr int kKeysInSlot = 1;
constexpr int kKeysOutSlot = 2;
constexpr int kSortTempSlot = 3;
constexpr int kThresholdSlot = 4;

void* scratch(Context& ctx, int slot, std::size_t bytes) {
  return ctx.impl().device_scratch(detail::kCannyDeviceSlot + slot, bytes);
}

/// The union–find indexes pixels in 31 bits (the 32nd marks strong components).
void check_pixel_count(int w, int h, const char* op) {
  if (static_cast<long long>(w) * h > 0x7fffffffLL) {
    throw Error(ErrorCode::kUnsupported,
                std::string(op) +
                    ": the CUDA backend handles images of up to 2^31 - 1 pixels, got " +
                    std::to_string(w) + "x" + std::to_string(h));
  }
}

}  // namespace

detail::CannyThresholds canny_quantiles(const ImageView& magnitude, const ImageView& mask,
                                        double q_low, double q_high, Context& ctx) {
  const int w = magnitude.width, h = magnitude.height;
  check_pixel_count(w, h, "canny");
  const std::size_t n = static_cast<std::size_t>(w) * h;
  auto* keys_in = static_cast<unsigned*>(scratch(ctx, kKeysInSlot, n * sizeof(unsigned)));
  auto* keys_out = static_cast<unsigned*>(scratch(ctx, kKeysOutSlot, n * sizeof(unsigned)));
  const std::size_t temp_bytes = sort_canny_keys(keys_in, keys_out, n, nullptr, 0, ctx.stream());
  void* temp = scratch(ctx, kSortTempSlot, std::max<std::size_t>(temp_bytes, 256));
  auto* thresholds = static_cast<float*>(scratch(ctx, kThresholdSlot, 2 * sizeof(float)));
  launch_quantile_keys(magnitude, mask, keys_in, ctx.stream());
  sort_canny_keys(keys_in, keys_out, n, temp, temp_bytes, ctx.stream());
  launch_quantile_thresholds(keys_out, n, q_low, q_high, thresholds, ctx.stream());
  detail::CannyThresholds t;
  t.low = t.high = std::numeric_limits<float>::quiet_NaN();
  t.device = thresholds;
  return t;
}

void canny_candidates(const ImageView& src, const ImageView& mask,
                      const detail::CannyThresholds& thresholds, const detail::GradientPlan& plan,
                      const ImageView& labels, const ImageView& magnitude, Context& ctx) {
  const ImageView mag = magnitude.empty()
                            ? detail::scratch_image(ctx, detail::kCannyMagnitudeSlot, src.width,
                                                    src.height, 1, PixelType::kF32)
                            : magnitude;
  if (!plan.magnitude_ready) {
    GradientImages g;
    g.magnitude = mag;
    launch_gradient(src, g, plan.op, plan.channels, plan.scale, plan.missing, ctx.stream());
  }
  launch_canny_nms(src, mag, mask, thresholds.low, thresholds.high, thresholds.device, plan.op,
                   plan.channels, labels, plan.missing, ctx.stream());
}

void threshold_labels(const ImageView& values, const ImageView& labels, float low, float high,
                      Context& ctx) {
  launch_threshold_labels(values, labels, low, high, ctx.stream());
}

void hysteresis(const ImageView& labels, Context& ctx) {
  check_pixel_count(labels.width, labels.height, "hysteresis");
  const std::size_t n = static_cast<std::size_t>(labels.width) * labels.height;
  auto* parent = static_cast<unsigned*>(scratch(ctx, kParentSlot, n * sizeof(unsigned)));
  launch_hysteresis(labels, parent, ctx.stream());
}

}  // namespace cuda
}  // namespace pdeimg
