// CPU backend of the float range scan and the power-of-two scaling (src/finite.hpp).
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <mutex>

#include "kernels/common.cuh"
#include "src/backend.hpp"
#include "src/context_impl.hpp"
#include "src/cpu/row_io.hpp"
#include "src/cpu/thread_pool.hpp"

namespace pdeimg {
namespace cpu {

namespace {

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__ELF__)
#define PDEIMG_SCAN_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define PDEIMG_SCAN_CLONES
#endif

/// The largest |v| over n floats `stride` apart, as bits (a non-negative float's bits order like
/// its value; any non-finite sample makes it >= 0x7f800000). One integer max reduction, which
/// GCC 12 vectorises (a count in the same loop stops it: "unsupported use in stmt").
PDEIMG_SCAN_CLONES
std::int32_t max_abs_bits(const float* __restrict v, std::ptrdiff_t n, std::ptrdiff_t stride) {
  std::int32_t m = 0;
  if (stride == 1) {
    for (std::ptrdiff_t i = 0; i < n; ++i) {
      std::int32_t b;
      std::memcpy(&b, v + i, sizeof b);
      const std::int32_t a = b & 0x7fffffff;
      m = m > a ? m : a;
    }
  } else {
    for (std::ptrdiff_t i = 0; i < n; ++i) {
      std::int32_t b;
      std::memcpy(&b, v + i * stride, sizeof b);
      const std::int32_t a = b & 0x7fffffff;
      m = m > a ? m : a;
    }
  }
  return m;
}

/// The slow path for rows that hold non-finite samples: how many, and the finite maximum.
void scan_with_non_finite(const float* v, std::ptrdiff_t n, std::ptrdiff_t stride, long long* count,
                          std::uint32_t* max_bits) {
  for (std::ptrdiff_t i = 0; i < n; ++i) {
    std::uint32_t b;
    std::memcpy(&b, v + i * stride, sizeof b);
    const std::uint32_t a = b & 0x7fffffffu;
    if (a >= 0x7f800000u) {
      ++*count;
    } else if (a > *max_bits) {
      *max_bits = a;
    }
  }
}

/// Over n floats `stride` apart: how many are not finite, and the largest finite |v| as bits.
void scan_run(const float* v, std::ptrdiff_t n, std::ptrdiff_t stride, long long* count,
              std::uint32_t* max_bits) {
  const auto m = static_cast<std::uint32_t>(max_abs_bits(v, n, stride));
  if (m < 0x7f800000u) {
    *max_bits = std::max(*max_bits, m);
  } else {
    scan_with_non_finite(v, n, stride, count, max_bits);
  }
}

}  // namespace

detail::SampleScan scan_samples(const ImageView& image, int channels, Context& ctx) {
  detail::SampleScan total;
  if (image.type != PixelType::kF32) return total;
  const int w = image.width, nc = image.channels;
  std::mutex merge;
  std::uint32_t max_bits = 0;
  int first_row = -1;  // the first row holding a non-finite sample
  // A vectorised pass costs about a tenth of an ordinary row operation per sample: images below
  // about half a million samples are scanned on the calling thread, sooner than a wake-up.
  parallel_rows(ctx.impl().workers(), image.height,
                std::max<std::size_t>(1, std::size_t(w) * nc / 8), [&](int y0, int y1, int) {
                  long long count = 0;
                  std::uint32_t m = 0;
                  int first = -1;
                  for (int y = y0; y < y1; ++y) {
                    const float* row = image.row<const float>(y);
                    const long long before = count;
                    if (channels == nc) {
                      scan_run(row, static_cast<std::ptrdiff_t>(w) * nc, 1, &count, &m);
                    } else {
                      for (int c = 0; c < channels; ++c) scan_run(row + c, w, nc, &count, &m);
                    }
                    if (first < 0 && count != before) first = y;
                  }
                  std::lock_guard<std::mutex> lock(merge);
                  total.non_finite.count += count;
                  max_bits = std::max(max_bits, m);
                  if (first >= 0 && (first_row < 0 || first < first_row)) first_row = first;
                });
  std::memcpy(&total.max_abs, &max_bits, sizeof total.max_abs);
  if (first_row >= 0) {  // where in that row (rare: the input is refused or has holes)
    const float* row = image.row<const float>(first_row);
    for (int x = 0; x < w && total.non_finite.x < 0; ++x) {
      for (int c = 0; c < channels; ++c) {
        if (!detail::is_finite(row[static_cast<std::ptrdiff_t>(x) * nc + c])) {
          total.non_finite.x = x;
          total.non_finite.y = first_row;
          total.non_finite.channel = c;
          break;
        }
      }
    }
  }
  return total;
}

void scale_samples(const ImageView& src, const ImageView& dst, int exponent, int channels,
                   Context& ctx) {
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
                          if (i % nc < channels && detail::is_finite(v)) {
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
