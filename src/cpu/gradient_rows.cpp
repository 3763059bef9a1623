// Built with -fno-math-errno and -fno-trapping-math (CMakeLists.txt), which let the compiler
// vectorise sqrt and the selects of the suppression; sqrtps and divps are correctly rounded like
// their scalar forms, so the bits do not change.
#include "src/cpu/gradient_rows.hpp"

#include <algorithm>
#include <cstring>

namespace pdeimg {
namespace cpu {

// The row loops are built for AVX-512, AVX2 and baseline x86-64 where the compiler supports
// function multi-versioning; without FP contraction every clone gives the same bits.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__ELF__)
#define PDEIMG_ROW_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define PDEIMG_ROW_CLONES
#endif
// Row loops are inlined into each clone so that they are compiled for its instruction set.
#if defined(__GNUC__)
#define PDEIMG_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define PDEIMG_ALWAYS_INLINE inline
#endif

namespace {

template <GradientOperator Op>
PDEIMG_ALWAYS_INLINE void derivative_loop(const float* __restrict up, const float* __restrict mid,
                                          const float* __restrict dn, float* __restrict gx,
                                          float* __restrict gy, int w) {
  for (int x = 0; x < w; ++x) {
    const float u[3][3] = {{up[x - 1], up[x], up[x + 1]},
                           {mid[x - 1], mid[x], mid[x + 1]},
                           {dn[x - 1], dn[x], dn[x + 1]}};
    detail::derivatives<Op>(u, gx + x, gy + x);
  }
}

// Missing data: each window ghosted (detail::ghost3x3) before the same derivatives.
template <GradientOperator Op>
PDEIMG_ALWAYS_INLINE void derivative_loop_missing(const float* __restrict up,
                                                  const float* __restrict mid,
                                                  const float* __restrict dn, float* __restrict gx,
                                                  float* __restrict gy, int w) {
  for (int x = 0; x < w; ++x) {
    float u[3][3] = {{up[x - 1], up[x], up[x + 1]},
                     {mid[x - 1], mid[x], mid[x + 1]},
                     {dn[x - 1], dn[x], dn[x + 1]}};
    detail::ghost3x3(u);
    detail::derivatives<Op>(u, gx + x, gy + x);
  }
}

}  // namespace

PDEIMG_ROW_CLONES
void derivative_row(GradientOperator op, const float* up, const float* mid, const float* dn,
                    float* gx, float* gy, int w, bool missing) {
  if (missing) {
    switch (op) {
      case GradientOperator::kCentral:
        derivative_loop_missing<GradientOperator::kCentral>(up, mid, dn, gx, gy, w);
        break;
      case GradientOperator::kScharr:
        derivative_loop_missing<GradientOperator::kScharr>(up, mid, dn, gx, gy, w);
        break;
      default:
        derivative_loop_missing<GradientOperator::kSobel>(up, mid, dn, gx, gy, w);
        break;
    }
    return;
  }
  switch (op) {
    case GradientOperator::kCentral:
      derivative_loop<GradientOperator::kCentral>(up, mid, dn, gx, gy, w);
      break;
    case GradientOperator::kScharr:
      derivative_loop<GradientOperator::kScharr>(up, mid, dn, gx, gy, w);
      break;
    default:
      derivative_loop<GradientOperator::kSobel>(up, mid, dn, gx, gy, w);
      break;
  }
}

PDEIMG_ROW_CLONES
void gray_magnitude_row(const float* __restrict gx, const float* __restrict gy, float* __restrict m,
                        int w, float scale) {
  if (scale == 1.0f) {
    for (int x = 0; x < w; ++x) m[x] = detail::gray_edge(gx[x], gy[x]).m;
  } else {
    for (int x = 0; x < w; ++x) m[x] = detail::rn_mul(detail::gray_edge(gx[x], gy[x]).m, scale);
  }
}

namespace {

PDEIMG_ROW_CLONES
void accumulate_row(const float* __restrict gx, const float* __restrict gy, float* __restrict txx,
                    float* __restrict txy, float* __restrict tyy, int w) {
  for (int x = 0; x < w; ++x) {
    detail::Tensor t{txx[x], txy[x], tyy[x]};
    detail::accumulate(&t, gx[x], gy[x]);
    txx[x] = t.xx;
    txy[x] = t.xy;
    tyy[x] = t.yy;
  }
}

}  // namespace

namespace {

template <bool kMask>
PDEIMG_ALWAYS_INLINE void candidate_loop(const float* __restrict up, const float* __restrict mid,
                                         const float* __restrict dn, const float* __restrict ex,
                                         const float* __restrict ey,
                                         const std::uint8_t* __restrict mask,
                                         std::uint8_t* __restrict out, int w, int x0, bool has_top,
                                         float low, float high) {
  // omp simd: the selects of the suppression form a control flow GCC if-converts only when asked.
#pragma omp simd
  for (int x = 0; x < w; ++x) {
    const detail::Window3 win{{{up[x - 1], up[x], up[x + 1]},
                               {mid[x - 1], mid[x], mid[x + 1]},
                               {dn[x - 1], dn[x], dn[x + 1]}}};
    out[x] = detail::candidate_label(mid[x], ex[x], ey[x], win, x0 + x > 0, has_top,
                                     kMask ? mask[x] != 0 : true, low, high);
  }
}

}  // namespace

/// True when some m[x] > low, x in [0, n).
PDEIMG_ALWAYS_INLINE bool any_above(const float* __restrict m, int n, float low) {
  int any = 0;
  for (int x = 0; x < n; ++x) any |= m[x] > low;
  return any != 0;
}

PDEIMG_ROW_CLONES
void candidate_row(const float* up, const float* mid, const float* dn, const float* ex,
                   const float* ey, const std::uint8_t* mask, std::uint8_t* out, int w,
                   bool has_top, float low, float high) {
  // Most pixels of a photograph are below `low`: blocks without a candidate are cleared at once.
  // The block loop calls candidate_loop on whole blocks, so every pixel gets the same arithmetic.
  constexpr int kBlock = 64;
  for (int x0 = 0; x0 < w; x0 += kBlock) {
    const int n = std::min(kBlock, w - x0);
    if (!any_above(mid + x0, n, low)) {
      std::memset(out + x0, detail::kNotEdge, static_cast<std::size_t>(n));
      continue;
    }
    if (mask) {
      candidate_loop<true>(up + x0, mid + x0, dn + x0, ex + x0, ey + x0, mask + x0, out + x0, n, x0,
                           has_top, low, high);
    } else {
      candidate_loop<false>(up + x0, mid + x0, dn + x0, ex + x0, ey + x0, mask, out + x0, n, x0,
                            has_top, low, high);
    }
  }
}

void edge_row(GradientOperator op, const float* const* up, const float* const* mid,
              const float* const* dn, int nc, int w, float scale, float* m, float* ex, float* ey,
              float* scratch, bool missing) {
  if (nc == 1) {
    derivative_row(op, up[0], mid[0], dn[0], ex, ey, w, missing);
    gray_magnitude_row(ex, ey, m, w, scale);
    return;
  }
  float* gx = scratch;
  float* gy = gx + w;
  float* txx = gy + w;
  float* txy = txx + w;
  float* tyy = txy + w;
  for (int x = 0; x < w; ++x) txx[x] = txy[x] = tyy[x] = 0.0f;
  for (int c = 0; c < nc; ++c) {
    derivative_row(op, up[c], mid[c], dn[c], gx, gy, w, missing);
    accumulate_row(gx, gy, txx, txy, tyy, w);
  }
#pragma omp simd
  for (int x = 0; x < w; ++x) {
    const detail::EdgeVector e = detail::colour_edge(detail::Tensor{txx[x], txy[x], tyy[x]}, nc);
    m[x] = scale == 1.0f ? e.m : detail::rn_mul(e.m, scale);
    ex[x] = e.ex;
    ey[x] = e.ey;
  }
}

}  // namespace cpu
}  // namespace pdeimg
