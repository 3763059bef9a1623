// Shared per-pixel building blocks, compiled for both the CPU backend and the CUDA kernels.
// Everything here is a pure function of its arguments: no threads, no memory management.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>

#include "pdeimg/image.hpp"

// PDEIMG_HD marks functions callable from host and device code. Keyed on __CUDACC__ (not
// __CUDA_ARCH__) so that nvcc's host and device passes see the same declarations.
#if defined(__CUDACC__)
#define PDEIMG_HD __host__ __device__ __forceinline__
#else
#define PDEIMG_HD inline
#endif

namespace pdeimg {
namespace detail {

// --- float arithmetic without contraction -------------------------------------------------------
// nvcc fuses a * b + c into one FMA by default; the host is built with -ffp-contract=off. Formulas
// whose CPU and GPU results must agree bit for bit spell their operations with these.

PDEIMG_HD float rn_add(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fadd_rn(a, b);
#else
  return a + b;
#endif
}
PDEIMG_HD float rn_sub(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fsub_rn(a, b);
#else
  return a - b;
#endif
}
PDEIMG_HD float rn_mul(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fmul_rn(a, b);
#else
  return a * b;
#endif
}
PDEIMG_HD float rn_div(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fdiv_rn(a, b);
#else
  return a / b;
#endif
}
PDEIMG_HD float rn_sqrt(float a) {
#if defined(__CUDA_ARCH__)
  return __fsqrt_rn(a);
#else
  return std::sqrt(a);
#endif
}
PDEIMG_HD double rn_add(double a, double b) {
#if defined(__CUDA_ARCH__)
  return __dadd_rn(a, b);
#else
  return a + b;
#endif
}
PDEIMG_HD double rn_sub(double a, double b) {
#if defined(__CUDA_ARCH__)
  return __dsub_rn(a, b);
#else
  return a - b;
#endif
}
PDEIMG_HD double rn_mul(double a, double b) {
#if defined(__CUDA_ARCH__)
  return __dmul_rn(a, b);
#else
  return a * b;
#endif
}
/// Calls f(T{}) with T the C++ type of `type` (host code: the CPU loops and the CUDA launchers).
template <typename F>
decltype(auto) dispatch_type(PixelType type, F&& f) {
  switch (type) {
    case PixelType::kU8:
      return f(std::uint8_t{});
    case PixelType::kU16:
      return f(std::uint16_t{});
    default:
      return f(float{});
  }
}

// --- missing data (NonFinite::kMissing)
// -----------------------------------------------------------

/// True when `v` is neither NaN nor infinite, from its exponent bits (a compare the CPU loops
/// vectorise, the same on the device).
PDEIMG_HD bool is_finite(float v) {
  std::uint32_t bits;
#if defined(__CUDA_ARCH__)
  bits = __float_as_uint(v);
#else
  __builtin_memcpy(&bits, &v, sizeof bits);
#endif
  return (bits & 0x7f800000u) != 0x7f800000u;
}

/// The NaN a derivative or magnitude at a missing pixel holds: 0x7fffffff, the canonical NaN a
/// GPU gives any single-precision operation with a NaN operand; x86 passes a NaN operand through
/// unchanged, so both backends write the same bits.
PDEIMG_HD float quiet_nan() {
#if defined(__CUDA_ARCH__)
  return __int_as_float(0x7fffffff);
#else
  const std::uint32_t bits = 0x7fffffffu;
  float f;
  __builtin_memcpy(&f, &bits, sizeof f);
  return f;
#endif
}

/// The value a stencil centred on `centre` reads for the neighbour `v`: v itself, or, when v is
/// missing (not finite), the centre's own value, the zero-flux ghost of the image border. Exact:
/// for finite images every stencil reads what it read before.
PDEIMG_HD float ghost(float v, float centre) {
  return is_finite(v) ? v : centre;
}

/// `count` float planes of equal size stacked `plane_stride` floats apart: the internal layout
/// every operation computes in (one plane per processed channel).
struct Planes {
  float* data;
  int width;
  int height;
  int count;
  std::ptrdiff_t stride;        // floats between rows
  std::ptrdiff_t plane_stride;  // floats between planes
  PDEIMG_HD float* row(int c, int y) const {
    return data + c * plane_stride + static_cast<std::ptrdiff_t>(y) * stride;
  }
};

/// Reflecting (half-sample symmetric) boundary: index -1 maps to 0, n to n-1, -2 to 1, ...
/// For a one-pixel halo this is the ghost cell u[-1] = u[0] of the zero-flux (Neumann) condition,
/// so every stencil that uses it conserves the mean. Periodic in 2n, so any offset is valid even
/// when the stencil is wider than the image.
struct Reflect {
  PDEIMG_HD static int map(int i, int n) {
    if (i >= 0 && i < n) return i;
    const int period = 2 * n;
    int m = i % period;
    if (m < 0) m += period;
    return m < n ? m : period - 1 - m;
  }
  /// The common one-pixel case, cheaper than map().
  PDEIMG_HD static int prev(int i) { return i > 0 ? i - 1 : 0; }
  PDEIMG_HD static int next(int i, int n) { return i + 1 < n ? i + 1 : n - 1; }
};

/// Sample conversion. To float: exact. From float: rounded to nearest (halves up), saturated to
/// the type's range; NaN becomes 0. Identical on host and device.
/// Rounds a non-negative float below 2^23 to the nearest integer, halves up. Exact: v - trunc(v)
/// has no rounding error in that range (adding 0.5f first would round 0.49999997f up to 1).
PDEIMG_HD int round_half_up(float v) {
  const int t = static_cast<int>(v);
  return t + (v - static_cast<float>(t) >= 0.5f ? 1 : 0);
}

template <typename T>
struct SampleTraits;

template <>
struct SampleTraits<std::uint8_t> {
  PDEIMG_HD static float to_float(std::uint8_t v) { return static_cast<float>(v); }
  PDEIMG_HD static std::uint8_t from_float(float v) {
    v = v > 0.0f ? v : 0.0f;  // also maps NaN to 0; selects, not branches, so loops vectorise
    v = v < 255.0f ? v : 255.0f;
    return static_cast<std::uint8_t>(round_half_up(v));
  }
};

template <>
struct SampleTraits<std::uint16_t> {
  PDEIMG_HD static float to_float(std::uint16_t v) { return static_cast<float>(v); }
  PDEIMG_HD static std::uint16_t from_float(float v) {
    v = v > 0.0f ? v : 0.0f;  // also maps NaN to 0; selects, not branches, so loops vectorise
    v = v < 65535.0f ? v : 65535.0f;
    return static_cast<std::uint16_t>(round_half_up(v));
  }
};

template <>
struct SampleTraits<float> {
  PDEIMG_HD static float to_float(float v) { return v; }
  PDEIMG_HD static float from_float(float v) { return v; }
};

}  // namespace detail
}  // namespace pdeimg
