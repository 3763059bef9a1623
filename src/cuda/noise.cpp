// CUDA backend of estimate_noise (algorithm: include/pdeimg/noise.hpp): per channel, the
// gradient and high-pass of every interior pixel and a count of the informative (non-flat) ones,
// then the same rank selection by radix as the CPU (src/cpu/noise.cpp), with CUB's histograms:
// the keep-th smallest gradient (two passes of 65536 bins over its bits), the indices of the
// pixels equal to it (the first of them in pixel order complete the kept set, as a stable sort by
// (gradient, index) would), and the lower median of the kept pixels' high-passes (two more
// passes). The same set and the same median as the CPU, without sorting the image. Device scratch
// slots 2 and 6-11 (0-1 when staging a host view).
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "kernels/noise.cuh"
#include "src/backend.hpp"
#include "src/context_impl.hpp"
#include "src/cuda/launch.hpp"
#include "src/cuda/runtime.hpp"
#include "src/cuda/selector.hpp"
#include "src/cuda/staging.hpp"

namespace pdeimg {
namespace cuda {

void estimate_noise(const ImageView& image, int channels, double* sigma, long long* samples,
                    Context& ctx) {
  for (int c = 0; c < channels; ++c) sigma[c] = 0.0;
  *samples = 0;
  const int w = image.width, h = image.height;
  if (w < 3 || h < 3) return;
  const std::size_t n = static_cast<std::size_t>(w - 2) * (h - 2);
  detail::Planes p = scratch_planes(ctx, 2, w, h, channels);
  launch_load_planes(stage_input(image, ctx), p, ctx.stream());
  float* grad = scratch_floats(ctx, 6, n);
  float* hp = scratch_floats(ctx, 7, n);
  int* indices = static_cast<int*>(ctx.impl().device_scratch(9, sizeof(int) * n));
  int* valid = indices;  // the flags are summed before the indices are written
  DeviceSelector sel(ctx, n);
  // Non-negative floats order like their bit patterns; flat neighbourhoods have the key +inf,
  // after every real gradient, and are never among the kept.
  const auto* gbits = reinterpret_cast<const unsigned*>(grad);
  const auto* hbits = reinterpret_cast<const unsigned*>(hp);
  long long used = 0;
  for (int c = 0; c < channels; ++c) {
    launch_noise_values(p, c, image.type, grad, hp, valid, ctx.stream());
    const int n_valid = sel.count_valid(valid);
    if (n_valid <= 0) continue;
    const std::size_t keep = detail::noise_keep_count(static_cast<std::size_t>(n_valid));
    used = std::max<long long>(used, static_cast<long long>(keep));
    RadixBinArgs g;
    g.keys = gbits;
    const detail::RadixRank cut = sel.select(g, keep - 1);
    // The kept pixels: gradient below the cut, and the first keep - less of those equal to it.
    RadixBinArgs m;
    m.keys = hbits;
    m.gate = gbits;
    m.cut = cut.value;
    m.last_equal = sel.nth_equal(gbits, cut.value, keep - cut.less - 1, indices);
    const detail::RadixRank median =
        sel.select(m, (keep - 1) / 2);  // the lower median of their high-passes
    float v;
    std::memcpy(&v, &median.value, sizeof v);
    sigma[c] = static_cast<double>(v) / detail::kMadScale;
  }
  *samples = used;
}

}  // namespace cuda
}  // namespace pdeimg
