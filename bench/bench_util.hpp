// Helpers shared by the host benchmarks: reproducible image content, a clock, and the copy
// baseline every throughput is compared with. Not part of the library.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "pdeimg/image.hpp"

#if defined(_OPENMP)
#include <omp.h>
#endif

namespace pdeimg {
namespace bench {

/// Seconds on a monotonic clock.
inline double now_s() {
  using Clock = std::chrono::steady_clock;
  return std::chrono::duration<double>(Clock::now().time_since_epoch()).count();
}

/// The upper median of `t` (not empty): the value of rank size/2.
inline double median_of(std::vector<double> t) {
  std::nth_element(t.begin(), t.begin() + t.size() / 2, t.end());
  return t[t.size() / 2];
}

/// Marsaglia's 32-bit xorshift generator with a fixed seed, so that every run and every machine
/// benchmarks the same images.
class Xorshift32 {
 public:
  explicit Xorshift32(std::uint32_t seed) : s_(seed ? seed : 1u) {}
  std::uint32_t next() {
    s_ ^= s_ << 13;
    s_ ^= s_ >> 17;
    s_ ^= s_ << 5;
    return s_;
  }
  /// Uniform in [0, 1), 24 bits (exact in float as well as double).
  double uniform() { return (next() >> 8) * (1.0 / 16777216.0); }

 private:
  std::uint32_t s_;
};

/// Fills every sample of a host view with uniform values in [0, 255] from Xorshift32(seed).
inline void fill_random(const ImageView& v, std::uint32_t seed = 12345u) {
  Xorshift32 rng(seed);
  const int n = v.width * v.channels;
  for (int y = 0; y < v.height; ++y) {
    for (int i = 0; i < n; ++i) {
      const float f = static_cast<float>(rng.next() >> 8) * (255.0f / 16777215.0f);  // [0, 255]
      switch (v.type) {
        case PixelType::kU8:
          v.row<std::uint8_t>(y)[i] = static_cast<std::uint8_t>(f + 0.5f);
          break;
        case PixelType::kU16:
          v.row<std::uint16_t>(y)[i] = static_cast<std::uint16_t>(f * 257.0f + 0.5f);
          break;
        case PixelType::kF32:
          v.row<float>(y)[i] = f;
          break;
      }
    }
  }
}

/// memcpy of `bytes` split into `threads` contiguous chunks (OpenMP; one chunk without it).
inline void parallel_copy(void* dst, const void* src, std::size_t bytes, int threads) {
#if defined(_OPENMP)
  if (threads > 1) {
    const std::size_t chunk = (bytes / threads + 63) / 64 * 64;
#pragma omp parallel for schedule(static, 1) num_threads(threads)
    for (int t = 0; t < threads; ++t) {
      const std::size_t begin = std::min(bytes, chunk * t);
      const std::size_t end = std::min(bytes, begin + chunk);
      std::memcpy(static_cast<char*>(dst) + begin, static_cast<const char*>(src) + begin,
                  end - begin);
    }
    return;
  }
#endif
  (void)threads;
  std::memcpy(dst, src, bytes);
}

/// Reads and writes one byte of every 64-byte line of `buf` with `threads` workers, so the lines
/// pass through the caches and push out what was there (memset would not: glibc uses
/// non-temporal stores for large sizes, which bypass the caches).
inline void evict_caches(std::vector<char>& buf, int threads) {
  const std::ptrdiff_t lines = static_cast<std::ptrdiff_t>(buf.size() / 64);
  char* p = buf.data();
#if defined(_OPENMP)
#pragma omp parallel for schedule(static) num_threads(threads)
#endif
  for (std::ptrdiff_t i = 0; i < lines; ++i) p[i * 64] = static_cast<char>(p[i * 64] + 1);
  (void)threads;
}

/// Best copy bandwidth in bytes/s (bytes read + bytes written, as a stencil step is counted)
/// over `reps` copies of `bytes` with `threads` workers, after one warm-up copy.
inline double copy_bandwidth(std::size_t bytes, int threads, int reps = 30) {
  std::vector<char> a(bytes, 1), b(bytes, 2);
  parallel_copy(b.data(), a.data(), bytes, threads);
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    const double t0 = now_s();
    parallel_copy(b.data(), a.data(), bytes, threads);
    best = std::min(best, now_s() - t0);
  }
  return 2.0 * static_cast<double>(bytes) / best;
}

}  // namespace bench
}  // namespace pdeimg
