// CPU backend of estimate_noise (algorithm: include/pdeimg/noise.hpp; per-pixel formulas:
// kernels/noise.cuh).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "kernels/noise.cuh"
#include "src/backend.hpp"
#include "src/context_impl.hpp"
#include "src/cpu/row_io.hpp"

namespace pdeimg {
namespace cpu {

void estimate_noise(const ImageView& image, int channels, double* sigma, long long* samples,
                    Context& ctx) {
  auto& impl = ctx.impl();
  const int w = image.width, h = image.height;
  const int threads = std::max(1, impl.threads);
  for (int c = 0; c < channels; ++c) sigma[c] = 0.0;
  *samples = 0;
  if (w < 3 || h < 3) return;
  const int iw = w - 2, ih = h - 2;
  const std::size_t n = static_cast<std::size_t>(iw) * ih;
  // One float plane of the channel, the high-pass values, and (gradient bits, index) keys: the
  // key orders by gradient and breaks ties by pixel index, as the device's stable sort does.
  // Flat neighbourhoods get the largest key (+inf bits) and are not counted.
  float* plane = impl.host_scratch(2, static_cast<std::size_t>(w) * h);
  float* hp = impl.host_scratch(3, n);
  auto* keys = reinterpret_cast<std::uint64_t*>(impl.host_scratch(4, 2 * n));
  long long used = 0;
  for (int c = 0; c < channels; ++c) {
    dispatch_type(image.type, [&](auto tag) {
      using T = decltype(tag);
#if defined(_OPENMP)
#pragma omp parallel for schedule(static) num_threads(threads)
#endif
      for (int y = 0; y < h; ++y) {
        const T* in = image.row<const T>(y);
        float* out = plane + static_cast<std::size_t>(y) * w;
        for (int x = 0; x < w; ++x) {
          out[x] = detail::SampleTraits<T>::to_float(
              in[static_cast<std::ptrdiff_t>(x) * image.channels + c]);
        }
      }
    });
    std::size_t valid = 0;
#if defined(_OPENMP)
#pragma omp parallel for schedule(static) num_threads(threads) reduction(+ : valid)
#endif
    for (int y = 0; y < ih; ++y) {
      for (int x = 0; x < iw; ++x) {
        float v[3][3];
        for (int r = 0; r < 3; ++r)
          for (int k = 0; k < 3; ++k) v[r][k] = plane[static_cast<std::size_t>(y + r) * w + x + k];
        const std::size_t i = static_cast<std::size_t>(y) * iw + x;
        hp[i] = detail::noise_highpass(v);
        const bool flat = detail::flat3x3(v);
        const float g = flat ? detail::kNoiseSkipKey : detail::sobel_sq(v);
        std::uint32_t bits;
        std::memcpy(&bits, &g, sizeof bits);
        keys[i] = (static_cast<std::uint64_t>(bits) << 32) | static_cast<std::uint32_t>(i);
        valid += flat ? 0 : 1;
      }
    }
    sigma[c] = 0.0;
    if (valid == 0) continue;
    const std::size_t keep = detail::noise_keep_count(valid);
    used = std::max<long long>(used, static_cast<long long>(keep));
    std::nth_element(keys, keys + (keep - 1), keys + n);
    // The kept pixels are keys[0 .. keep); their high-pass values, then the lower median.
    float* kept = plane;  // the plane is no longer needed
    for (std::size_t i = 0; i < keep; ++i) kept[i] = hp[static_cast<std::uint32_t>(keys[i])];
    const std::size_t mid = (keep - 1) / 2;
    std::nth_element(kept, kept + mid, kept + keep);
    sigma[c] = static_cast<double>(kept[mid]) / detail::kMadScale;
  }
  *samples = used;
}

}  // namespace cpu
}  // namespace pdeimg
