// CUDA backend of the float range scan and the power-of-two scaling (src/finite.hpp).
#include <cstring>

#include "src/backend.hpp"
#include "src/context_impl.hpp"
#include "src/cuda/launch.hpp"
#include "src/cuda/runtime.hpp"

namespace pdeimg {
namespace cuda {

namespace {
constexpr int kScanSlot = 42;  // device scratch of the scan's ScanResult
}  // namespace

detail::SampleScan scan_samples(const ImageView& image, int channels, Context& ctx) {
  auto* d = static_cast<ScanResult*>(ctx.impl().device_scratch(kScanSlot, sizeof(ScanResult)));
  const ScanResult init{0, ~0ull, 0};
  copy_2d(d, sizeof init, &init, sizeof init, sizeof init, 1, CopyKind::kHostToDevice, ctx.stream(),
          false);
  launch_scan_samples(image, channels, d, ctx.stream());
  ScanResult r{};
  copy_2d(&r, sizeof r, d, sizeof r, sizeof r, 1, CopyKind::kDeviceToHost, ctx.stream(), true);
  detail::SampleScan s;
  std::memcpy(&s.max_abs, &r.max_abs_bits, sizeof s.max_abs);
  s.non_finite.count = static_cast<long long>(r.count);
  if (r.count > 0) {
    const unsigned long long nc = static_cast<unsigned long long>(image.channels);
    const unsigned long long w = static_cast<unsigned long long>(image.width);
    s.non_finite.channel = static_cast<int>(r.first % nc);
    s.non_finite.x = static_cast<int>(r.first / nc % w);
    s.non_finite.y = static_cast<int>(r.first / nc / w);
  }
  return s;
}

void scale_samples(const ImageView& src, const ImageView& dst, int exponent, int channels,
                   Context& ctx) {
  launch_scale_samples(src, dst, exponent, channels, ctx.stream());
}

}  // namespace cuda
}  // namespace pdeimg
