// CPU backend of the float range scan and the power-of-two scaling (src/finite.hpp).
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <mutex>

#include "kernels/common.cuh"
#include "src/backend.hpp"
#include "src/context_impl.hpp"
#include "src/cpu/row_io.hpp"
#include "src/cpu/thread_pool.hpp"

namespace pdeimg {
namespace cpu {

detail::SampleScan scan_samples(const ImageView& image, int channels, Context& ctx) {
  detail::SampleScan total;
  if (image.type != PixelType::kF32) return total;
  const int w = image.width, nc = image.channels;
  std::mutex merge;
  long long first = -1;  // row-major index (y, x, c) of the first non-finite sample
  parallel_rows(ctx.impl().workers(), image.height, static_cast<std::size_t>(w) * nc,
                [&](int y0, int y1, int) {
                  long long count = 0, mine = -1;
                  float max_abs = 0.0f;
                  for (int y = y0; y < y1; ++y) {
                    const float* row = image.row<const float>(y);
                    for (int x = 0; x < w; ++x) {
                      for (int c = 0; c < channels; ++c) {
                        const float v = row[static_cast<std::ptrdiff_t>(x) * nc + c];
                        if (detail::is_finite(v)) {
                          max_abs = std::max(max_abs, std::fabs(v));
                        } else {
                          if (mine < 0) mine = (static_cast<long long>(y) * w + x) * nc + c;
                          ++count;
                        }
                      }
                    }
                  }
                  std::lock_guard<std::mutex> lock(merge);
                  total.non_finite.count += count;
                  total.max_abs = std::max(total.max_abs, max_abs);
                  if (mine >= 0 && (first < 0 || mine < first)) first = mine;
                });
  if (first >= 0) {
    total.non_finite.channel = static_cast<int>(first % nc);
    total.non_finite.x = static_cast<int>(first / nc % w);
    total.non_finite.y = static_cast<int>(first / nc / w);
  }
  return total;
}

void scale_samples(const ImageView& src, const ImageView& dst, int exponent, Context& ctx) {
  const int w = src.width, nc = src.channels;
  dispatch_type(src.type, [&](auto stag) {
    using Ts = decltype(stag);
    dispatch_type(dst.type, [&](auto dtag) {
      using Td = decltype(dtag);
      parallel_rows(ctx.impl().workers(), src.height, static_cast<std::size_t>(w) * nc,
                    [&](int y0, int y1, int) {
                      for (int y = y0; y < y1; ++y) {
                        const Ts* in = src.row<const Ts>(y);
                        Td* out = dst.row<Td>(y);
                        for (std::ptrdiff_t i = 0; i < static_cast<std::ptrdiff_t>(w) * nc; ++i) {
                          const float v = detail::SampleTraits<Ts>::to_float(in[i]);
                          float r = v;
                          if (detail::is_finite(v)) {
                            r = std::ldexp(v, exponent);
                            if (!detail::is_finite(r)) r = v < 0.0f ? -FLT_MAX : FLT_MAX;
                          }
                          out[i] = detail::SampleTraits<Td>::from_float(r);
                        }
                      }
                    });
    });
  });
}

}  // namespace cpu
}  // namespace pdeimg
