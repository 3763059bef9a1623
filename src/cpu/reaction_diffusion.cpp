// CPU backend of reaction_diffusion (learned reaction–diffusion, kernels/reaction_diffusion.cuh).
//
// Layout: one float plane per processed channel, every row padded by kPad reflected columns on
// each side (half-sample symmetric, period 2W for narrow images), so that the m×m stencils read
// straight from memory without index mapping. A stage runs over horizontal bands of rows, one task
// per band: the worker streams its band through a ring of m rows of y_i = φ_i(k_i ⋆ u) for all N
// filters (recomputing the m − 1 halo rows at the band's edges), and as soon as rows y − c .. y + c
// of every y_i exist computes r = Σ_i k̄_i ⋆ y_i and the update of row y. The ring (N·m rows, 240
// KiB for 24 5×5 filters on a 481-wide image) stays in L2; u, f and the result are one plane each.
//
// Arithmetic: every multiply-add is fused, in the order of kernels/reaction_diffusion.cuh (taps
// row by row, filters in order), so the AVX-512 kernels and the portable loops (built for
// x86-64-v3 and baseline) give identical bits, and so does any split into bands or threads.
// AVX-512 evaluates φ by permutes over its knot table held in registers (K ≤ 64).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "kernels/reaction_diffusion.cuh"
#include "pdeimg/error.hpp"
#include "src/backend.hpp"
#include "src/context_impl.hpp"
#include "src/cpu/row_io.hpp"
#include "src/cpu/thread_pool.hpp"

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#define PDEIMG_RD_AVX512 1
// GCC 12's AVX-512 headers trip -Wmaybe-uninitialized on their own `__Y` (a known false positive).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#else
#define PDEIMG_RD_AVX512 0
#endif

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__ELF__)
#define PDEIMG_RD_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define PDEIMG_RD_CLONES
#endif

namespace pdeimg {
namespace cpu {
namespace {

using detail::RdNetwork;

/// Reflected columns on each side of every row (≥ c = 7, the largest filter's half size), and
/// the alignment of row strides (floats).
constexpr int kPad = 8;
constexpr int kAlign = 16;

struct Plane {
  float* data;  // row y starts at data + y·stride; column 0 at + kPad
  std::ptrdiff_t stride;
  float* row(int y) const { return data + static_cast<std::ptrdiff_t>(y) * stride + kPad; }
};

std::ptrdiff_t padded_stride(int w) {
  return (static_cast<std::ptrdiff_t>(w) + 2 * kPad + kAlign - 1) / kAlign * kAlign;
}

/// Fills the c reflected columns on each side of a row of w samples.
void fill_pads(float* row, int w, int c) {
  for (int k = 1; k <= c; ++k) {
    row[-k] = row[detail::Reflect::map(-k, w)];
    row[w - 1 + k] = row[detail::Reflect::map(w - 1 + k, w)];
  }
}

/// What a stage's row kernels need.
struct StageArgs {
  const RdNetwork* net;
  int t;
  detail::RdKnots knots;
  float lambda;
};

// --- portable kernels ------------------------------------------------------------------------

/// y_i row for every filter: ys[i][x] = φ_i(z_i(x)), from the m rows `us` of u around it.
PDEIMG_RD_CLONES void forward_row_generic(const float* const* us, int w, const StageArgs& a,
                                          float* const* ys) {
  const RdNetwork& n = *a.net;
  const int m = n.size, c = m / 2;
  const float* uc = us[c];
  for (int i = 0; i < n.filters; ++i) {
    float* z = ys[i];
    const float* k = n.k(a.t, i);
    for (int x = 0; x < w; ++x) z[x] = 0.0f;
    for (int r = 0; r < m; ++r) {
      for (int b = 0; b < m; ++b) {
        const float kk = k[r * m + b];
        const float* u = us[r] + b - c;
        for (int x = 0; x < w; ++x) z[x] = std::fma(u[x] - uc[x], kk, z[x]);
      }
    }
    const float sum = n.sum(a.t, i);
    if (sum != 0.0f) {
      for (int x = 0; x < w; ++x) z[x] = std::fma(sum, uc[x], z[x]);
    }
    const float* v = n.v(a.t, i);
    const float* d = n.d(a.t, i);
    for (int x = 0; x < w; ++x) z[x] = detail::rd_phi(z[x], a.knots, v, d);
  }
}

/// r = Σ_i k̄_i ⋆ y_i from the rows ys[i·m + row] and the update out = u − r − λ(u − f).
PDEIMG_RD_CLONES void backward_row_generic(const float* const* ys, const float* u, const float* f,
                                           float* out, int w, const StageArgs& a) {
  const RdNetwork& n = *a.net;
  const int m = n.size, c = m / 2;
  for (int x = 0; x < w; ++x) out[x] = 0.0f;
  for (int i = 0; i < n.filters; ++i) {
    const float* k = n.kf(a.t, i);
    for (int r = 0; r < m; ++r) {
      for (int b = 0; b < m; ++b) {
        const float kk = k[r * m + b];
        const float* y = ys[i * m + r] + b - c;
        for (int x = 0; x < w; ++x) out[x] = std::fma(y[x], kk, out[x]);
      }
    }
  }
  for (int x = 0; x < w; ++x) out[x] = detail::rd_update(u[x], out[x], f[x], a.lambda);
}

// --- AVX-512 kernels -------------------------------------------------------------------------

#if PDEIMG_RD_AVX512
#define PDEIMG_RD_AVX512_FN __attribute__((target("avx512f")))

/// φ of 16 values z by the 64-entry tables (values and slopes) of one filter.
PDEIMG_RD_AVX512_FN inline __m512 phi16(__m512 z, const detail::RdKnots& k, const float* v64,
                                        const float* d64, int knots) {
  __m512 s = _mm512_mul_ps(_mm512_sub_ps(z, _mm512_set1_ps(k.lo)), _mm512_set1_ps(k.inv_h));
  s = _mm512_max_ps(s, _mm512_setzero_ps());
  s = _mm512_min_ps(s, _mm512_set1_ps(k.s_max));
  __m512i j = _mm512_cvttps_epi32(s);
  j = _mm512_min_epi32(j, _mm512_set1_epi32(k.j_max));
  const __m512 w = _mm512_sub_ps(s, _mm512_cvtepi32_ps(j));
  __m512 vj, dj;
  if (knots <= 16) {
    vj = _mm512_permutexvar_ps(j, _mm512_loadu_ps(v64));
    dj = _mm512_permutexvar_ps(j, _mm512_loadu_ps(d64));
  } else if (knots <= 32) {
    vj = _mm512_permutex2var_ps(_mm512_loadu_ps(v64), j, _mm512_loadu_ps(v64 + 16));
    dj = _mm512_permutex2var_ps(_mm512_loadu_ps(d64), j, _mm512_loadu_ps(d64 + 16));
  } else {
    const __mmask16 high = _mm512_test_epi32_mask(j, _mm512_set1_epi32(32));
    vj = _mm512_mask_blend_ps(
        high, _mm512_permutex2var_ps(_mm512_loadu_ps(v64), j, _mm512_loadu_ps(v64 + 16)),
        _mm512_permutex2var_ps(_mm512_loadu_ps(v64 + 32), j, _mm512_loadu_ps(v64 + 48)));
    dj = _mm512_mask_blend_ps(
        high, _mm512_permutex2var_ps(_mm512_loadu_ps(d64), j, _mm512_loadu_ps(d64 + 16)),
        _mm512_permutex2var_ps(_mm512_loadu_ps(d64 + 32), j, _mm512_loadu_ps(d64 + 48)));
  }
  return _mm512_fmadd_ps(w, dj, vj);
}

/// φ by gathers, for networks with more than 64 knots.
PDEIMG_RD_AVX512_FN inline __m512 phi16_gather(__m512 z, const detail::RdKnots& k, const float* v,
                                               const float* d) {
  __m512 s = _mm512_mul_ps(_mm512_sub_ps(z, _mm512_set1_ps(k.lo)), _mm512_set1_ps(k.inv_h));
  s = _mm512_max_ps(s, _mm512_setzero_ps());
  s = _mm512_min_ps(s, _mm512_set1_ps(k.s_max));
  __m512i j = _mm512_cvttps_epi32(s);
  j = _mm512_min_epi32(j, _mm512_set1_epi32(k.j_max));
  const __m512 w = _mm512_sub_ps(s, _mm512_cvtepi32_ps(j));
  return _mm512_fmadd_ps(w, _mm512_i32gather_ps(j, d, 4), _mm512_i32gather_ps(j, v, 4));
}

/// z and φ of G filters (i0 .. i0 + G − 1) for the 16 pixels at x (lanes in `mask`), m = M.
/// M is a template parameter so that the tap loops unroll and the G accumulators stay in
/// registers (with a run-time m, GCC 12 stores them to the stack after every tap).
template <int G, int M>
PDEIMG_RD_AVX512_FN inline void forward_group(const float* const* us, int x, __mmask16 mask,
                                              const StageArgs& a, int i0, float* const* ys) {
  const RdNetwork& n = *a.net;
  constexpr int c = M / 2, mm = M * M;
  __m512 acc[G];
#pragma GCC unroll 8
  for (int g = 0; g < G; ++g) acc[g] = _mm512_setzero_ps();
  const __m512 uc = _mm512_maskz_loadu_ps(mask, us[c] + x);
  const float* k0 = n.k(a.t, i0);
#pragma GCC unroll 15
  for (int r = 0; r < M; ++r) {
    const float* ur = us[r] + x - c;
#pragma GCC unroll 15
    for (int b = 0; b < M; ++b) {
      const __m512 d = _mm512_sub_ps(_mm512_maskz_loadu_ps(mask, ur + b), uc);
#pragma GCC unroll 8
      for (int g = 0; g < G; ++g) {
        acc[g] = _mm512_fmadd_ps(d, _mm512_set1_ps(k0[g * mm + r * M + b]), acc[g]);
      }
    }
  }
  if (!n.zero_mean) {
#pragma GCC unroll 8
    for (int g = 0; g < G; ++g) {
      acc[g] = _mm512_fmadd_ps(_mm512_set1_ps(n.sum(a.t, i0 + g)), uc, acc[g]);
    }
  }
#pragma GCC unroll 8
  for (int g = 0; g < G; ++g) {
    const int i = i0 + g;
    const std::size_t fi = n.filter_index(a.t, i);
    const __m512 y = n.knots <= detail::kRdTableSize
                         ? phi16(acc[g], a.knots, n.values64.data() + fi * detail::kRdTableSize,
                                 n.slopes64.data() + fi * detail::kRdTableSize, n.knots)
                         : phi16_gather(acc[g], a.knots, n.v(a.t, i), n.d(a.t, i));
    _mm512_mask_storeu_ps(ys[i] + x, mask, y);
  }
}

template <int G, int M>
PDEIMG_RD_AVX512_FN void forward_groups(const float* const* us, int x, __mmask16 mask,
                                        const StageArgs& a, int i0, int count, float* const* ys) {
  // Groups of G filters: G accumulators of 16 pixels stay in registers over the m² taps.
  for (; count >= G; count -= G, i0 += G) forward_group<G, M>(us, x, mask, a, i0, ys);
  if constexpr (G > 1) {
    if (count > 0) forward_groups<G / 2, M>(us, x, mask, a, i0, count, ys);
  }
}

template <int M>
PDEIMG_RD_AVX512_FN void forward_row_avx512(const float* const* us, int w, const StageArgs& a,
                                            float* const* ys) {
  for (int x = 0; x < w; x += 16) {
    const int left = w - x;
    const __mmask16 mask =
        left >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << left) - 1);
    forward_groups<8, M>(us, x, mask, a, 0, a.net->filters, ys);
  }
}

/// r and the update for Q·16 pixels at x (the last chunk's lanes in `last`), m = M.
template <int Q, int M>
PDEIMG_RD_AVX512_FN inline void backward_block(const float* const* ys, const float* u,
                                               const float* f, float* out, int x, __mmask16 last,
                                               const StageArgs& a) {
  const RdNetwork& n = *a.net;
  constexpr int c = M / 2;
  __m512 acc[Q];
#pragma GCC unroll 8
  for (int q = 0; q < Q; ++q) acc[q] = _mm512_setzero_ps();
  for (int i = 0; i < n.filters; ++i) {
    const float* k = n.kf(a.t, i);
#pragma GCC unroll 15
    for (int r = 0; r < M; ++r) {
      const float* y = ys[i * M + r] + x - c;
#pragma GCC unroll 15
      for (int b = 0; b < M; ++b) {
        const __m512 kk = _mm512_set1_ps(k[r * M + b]);
#pragma GCC unroll 8
        for (int q = 0; q + 1 < Q; ++q) {
          acc[q] = _mm512_fmadd_ps(_mm512_loadu_ps(y + b + 16 * q), kk, acc[q]);
        }
        acc[Q - 1] =
            _mm512_fmadd_ps(_mm512_maskz_loadu_ps(last, y + b + 16 * (Q - 1)), kk, acc[Q - 1]);
      }
    }
  }
  const __m512 lam = _mm512_set1_ps(a.lambda);
  for (int q = 0; q < Q; ++q) {
    const __mmask16 mk = q + 1 < Q ? static_cast<__mmask16>(0xffff) : last;
    const int xq = x + 16 * q;
    const __m512 uu = _mm512_maskz_loadu_ps(mk, u + xq);
    const __m512 ff = _mm512_maskz_loadu_ps(mk, f + xq);
    const __m512 res = _mm512_fnmadd_ps(lam, _mm512_sub_ps(uu, ff), _mm512_sub_ps(uu, acc[q]));
    _mm512_mask_storeu_ps(out + xq, mk, res);
  }
}

template <int M>
PDEIMG_RD_AVX512_FN void backward_row_avx512(const float* const* ys, const float* u, const float* f,
                                             float* out, int w, const StageArgs& a) {
  constexpr int kQ = 8;  // 128 pixels: 8 accumulators hide the FMA latency
  int x = 0;
  for (; x + 16 * kQ <= w; x += 16 * kQ) {
    backward_block<kQ, M>(ys, u, f, out, x, static_cast<__mmask16>(0xffff), a);
  }
  const int left = w - x;
  if (left <= 0) return;
  const int chunks = (left + 15) / 16;
  const int tail = left - 16 * (chunks - 1);
  const __mmask16 last =
      tail >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << tail) - 1);
  switch (chunks) {
    case 1:
      backward_block<1, M>(ys, u, f, out, x, last, a);
      break;
    case 2:
      backward_block<2, M>(ys, u, f, out, x, last, a);
      break;
    case 3:
      backward_block<3, M>(ys, u, f, out, x, last, a);
      break;
    case 4:
      backward_block<4, M>(ys, u, f, out, x, last, a);
      break;
    case 5:
      backward_block<5, M>(ys, u, f, out, x, last, a);
      break;
    case 6:
      backward_block<6, M>(ys, u, f, out, x, last, a);
      break;
    case 7:
      backward_block<7, M>(ys, u, f, out, x, last, a);
      break;
    default:
      backward_block<8, M>(ys, u, f, out, x, last, a);
      break;
  }
}

/// Two output rows at once (y and y + 1, Q·16 pixels at x): each of the m + 1 rows of y_i they
/// read is loaded once and used by both rows' sums, which halves the loads of the backward sum.
/// ys[i·(M + 1) + r] is row y − c + r of y_i. Per pixel the sum runs in the same order (filters,
/// then the turned filter's rows and columns) as backward_block, so the bits are the same.
template <int Q, int M>
PDEIMG_RD_AVX512_FN inline void backward_block2(const float* const* ys, const float* const* u,
                                                const float* const* f, float* const* out, int x,
                                                __mmask16 last, const StageArgs& a) {
  const RdNetwork& n = *a.net;
  constexpr int c = M / 2;
  __m512 acc0[Q], acc1[Q];
#pragma GCC unroll 8
  for (int q = 0; q < Q; ++q) acc0[q] = acc1[q] = _mm512_setzero_ps();
  for (int i = 0; i < n.filters; ++i) {
    const float* k = n.kf(a.t, i);
#pragma GCC unroll 16
    for (int r = 0; r <= M; ++r) {
      const float* y = ys[i * (M + 1) + r] + x - c;
#pragma GCC unroll 15
      for (int b = 0; b < M; ++b) {
        __m512 v[Q];
#pragma GCC unroll 8
        for (int q = 0; q < Q; ++q) {
          v[q] = q + 1 < Q ? _mm512_loadu_ps(y + b + 16 * q)
                           : _mm512_maskz_loadu_ps(last, y + b + 16 * q);
        }
        if (r < M) {
          const __m512 k0 = _mm512_set1_ps(k[r * M + b]);
#pragma GCC unroll 8
          for (int q = 0; q < Q; ++q) acc0[q] = _mm512_fmadd_ps(v[q], k0, acc0[q]);
        }
        if (r > 0) {
          const __m512 k1 = _mm512_set1_ps(k[(r - 1) * M + b]);
#pragma GCC unroll 8
          for (int q = 0; q < Q; ++q) acc1[q] = _mm512_fmadd_ps(v[q], k1, acc1[q]);
        }
      }
    }
  }
  const __m512 lam = _mm512_set1_ps(a.lambda);
#pragma GCC unroll 8
  for (int q = 0; q < Q; ++q) {
    const __mmask16 mk = q + 1 < Q ? static_cast<__mmask16>(0xffff) : last;
    const int xq = x + 16 * q;
    for (int row = 0; row < 2; ++row) {
      const __m512 uu = _mm512_maskz_loadu_ps(mk, u[row] + xq);
      const __m512 ff = _mm512_maskz_loadu_ps(mk, f[row] + xq);
      const __m512 rr = row == 0 ? acc0[q] : acc1[q];
      _mm512_mask_storeu_ps(out[row] + xq, mk,
                            _mm512_fnmadd_ps(lam, _mm512_sub_ps(uu, ff), _mm512_sub_ps(uu, rr)));
    }
  }
}

template <int M>
PDEIMG_RD_AVX512_FN void backward_rows2_avx512(const float* const* ys, const float* const* u,
                                               const float* const* f, float* const* out, int w,
                                               const StageArgs& a) {
  constexpr int kQ = 4;  // 2 rows x 64 pixels: 8 accumulators
  int x = 0;
  for (; x + 16 * kQ <= w; x += 16 * kQ) {
    backward_block2<kQ, M>(ys, u, f, out, x, static_cast<__mmask16>(0xffff), a);
  }
  const int left = w - x;
  if (left <= 0) return;
  const int chunks = (left + 15) / 16;
  const int tail = left - 16 * (chunks - 1);
  const __mmask16 last =
      tail >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << tail) - 1);
  switch (chunks) {
    case 1:
      backward_block2<1, M>(ys, u, f, out, x, last, a);
      break;
    case 2:
      backward_block2<2, M>(ys, u, f, out, x, last, a);
      break;
    case 3:
      backward_block2<3, M>(ys, u, f, out, x, last, a);
      break;
    default:
      backward_block2<4, M>(ys, u, f, out, x, last, a);
      break;
  }
}
#endif

using ForwardFn = void (*)(const float* const*, int, const StageArgs&, float* const*);
using BackwardFn = void (*)(const float* const*, const float*, const float*, float*, int,
                            const StageArgs&);
using Backward2Fn = void (*)(const float* const*, const float* const*, const float* const*,
                             float* const*, int, const StageArgs&);

struct Kernels {
  ForwardFn forward = forward_row_generic;
  BackwardFn backward = backward_row_generic;
  Backward2Fn backward2 = nullptr;  // two rows at once, when there is such a kernel
};

Kernels pick_kernels(int size) {
  Kernels k;
#if PDEIMG_RD_AVX512
  static const bool avx512 = __builtin_cpu_supports("avx512f") != 0;
  // Test hook: PDEIMG_RD_PORTABLE=1 takes the portable loops (which give the same bits).
  const char* e = std::getenv("PDEIMG_RD_PORTABLE");
  const bool portable = e != nullptr && e[0] == '1';
  if (avx512 && !portable) {
    // The common filter sizes; others take the portable loops (the same bits).
    switch (size) {
      case 3:
        k.forward = forward_row_avx512<3>;
        k.backward = backward_row_avx512<3>;
        k.backward2 = backward_rows2_avx512<3>;
        break;
      case 5:
        k.forward = forward_row_avx512<5>;
        k.backward = backward_row_avx512<5>;
        k.backward2 = backward_rows2_avx512<5>;
        break;
      case 7:
        k.forward = forward_row_avx512<7>;
        k.backward = backward_row_avx512<7>;
        k.backward2 = backward_rows2_avx512<7>;
        break;
      default:
        break;
    }
  }
#endif
  return k;
}

// --- one stage over a band of rows -----------------------------------------------------------

/// Rows [y0, y1) of stage a.t: out = stage(in) with f, through the worker's ring of m + 1 rows
/// of every y_i (pairs of output rows need m + 1 rows of y).
void stage_band(const Plane& in, const Plane& f, const Plane& out, int w, int h, int y0, int y1,
                const StageArgs& a, float* ring, std::ptrdiff_t stride, const Kernels& kern) {
  const RdNetwork& n = *a.net;
  const int m = n.size, c = m / 2, nf = n.filters, slots = m + 1;
  // Ring row of filter i for (unreflected) row yy: slot (yy − y0 + c) mod (m + 1).
  auto ring_row = [&](int i, int yy) {
    const int slot = (yy - y0 + c) % slots;
    return ring + (static_cast<std::ptrdiff_t>(i) * slots + slot) * stride + kPad;
  };
  float* ys[256];
  const float* us[15];
  auto compute_y = [&](int yy) {
    const int yr = detail::Reflect::map(yy, h);
    for (int r = 0; r < m; ++r) us[r] = in.row(detail::Reflect::map(yr + r - c, h));
    for (int i = 0; i < nf; ++i) ys[i] = ring_row(i, yy);
    kern.forward(us, w, a, ys);
    for (int i = 0; i < nf; ++i) fill_pads(ys[i], w, c);
  };
  for (int yy = y0 - c; yy < y0 + c; ++yy) compute_y(yy);
  const float* yrows[256 * 16];
  int y = y0;
  if (kern.backward2 != nullptr) {
    for (; y + 1 < y1; y += 2) {
      compute_y(y + c);
      compute_y(y + 1 + c);
      for (int i = 0; i < nf; ++i) {
        for (int r = 0; r <= m; ++r) yrows[i * slots + r] = ring_row(i, y + r - c);
      }
      const float* u2[2] = {in.row(y), in.row(y + 1)};
      const float* f2[2] = {f.row(y), f.row(y + 1)};
      float* o2[2] = {out.row(y), out.row(y + 1)};
      kern.backward2(yrows, u2, f2, o2, w, a);
      fill_pads(o2[0], w, c);
      fill_pads(o2[1], w, c);
    }
  }
  for (; y < y1; ++y) {
    compute_y(y + c);
    for (int i = 0; i < nf; ++i) {
      for (int r = 0; r < m; ++r) yrows[i * m + r] = ring_row(i, y + r - c);
    }
    float* o = out.row(y);
    kern.backward(yrows, in.row(y), f.row(y), o, w, a);
    fill_pads(o, w, c);
  }
}

// --- conversion in and out -------------------------------------------------------------------

/// f planes of row y from the typed source row (scaled, opponent transform for colour).
template <typename T>
void load_row(const ImageView& src, int y, const detail::RdPlan& plan, const Plane* f, int pad) {
  const T* in = src.row<const T>(y);
  const int w = src.width, nc = src.channels;
  const double s = plan.scale;
  int p0 = 0;
  if (plan.colour) {
    float* py = f[0].row(y);
    float* p1 = f[1].row(y);
    float* p2 = f[2].row(y);
    const double ky = s * detail::kRdInvSqrt3, k1 = s * detail::kRdInvSqrt2,
                 k2 = s * detail::kRdInvSqrt6;
    for (int x = 0; x < w; ++x) {
      const T* px = in + static_cast<std::ptrdiff_t>(x) * nc;
      const double b = detail::SampleTraits<T>::to_float(px[0]);
      const double g = detail::SampleTraits<T>::to_float(px[1]);
      const double r = detail::SampleTraits<T>::to_float(px[2]);
      py[x] = static_cast<float>((r + g + b) * ky);
      p1[x] = static_cast<float>((r - b) * k1);
      p2[x] = static_cast<float>((r - 2.0 * g + b) * k2);
    }
    p0 = 3;
  }
  for (int p = p0; p < plan.planes; ++p) {
    const int ch = plan.colour ? p : p;  // planes past the colour ones are channels p
    float* o = f[p].row(y);
    for (int x = 0; x < w; ++x) {
      o[x] = static_cast<float>(static_cast<double>(detail::SampleTraits<T>::to_float(
                                    in[static_cast<std::ptrdiff_t>(x) * nc + ch])) *
                                s);
    }
  }
  for (int p = 0; p < plan.planes; ++p) fill_pads(f[p].row(y), w, pad);
}

/// dst row y = x + (inverse transform of u − f) / scale; x read from src first (dst may be src).
template <typename Ts, typename Td>
void store_row(const ImageView& src, const ImageView& dst, int y, const detail::RdPlan& plan,
               const Plane* f, const Plane* u) {
  const Ts* in = src.row<const Ts>(y);
  Td* out = dst.row<Td>(y);
  const int w = src.width, nc = src.channels;
  const double inv = 1.0 / plan.scale;
  int p0 = 0;
  if (plan.colour) {
    const float *fy = f[0].row(y), *f1 = f[1].row(y), *f2 = f[2].row(y);
    const float *uy = u[0].row(y), *u1 = u[1].row(y), *u2 = u[2].row(y);
    for (int x = 0; x < w; ++x) {
      const std::ptrdiff_t i = static_cast<std::ptrdiff_t>(x) * nc;
      const double dy = (static_cast<double>(uy[x]) - fy[x]) * inv;
      const double d1 = (static_cast<double>(u1[x]) - f1[x]) * inv;
      const double d2 = (static_cast<double>(u2[x]) - f2[x]) * inv;
      const double b = detail::SampleTraits<Ts>::to_float(in[i]);
      const double g = detail::SampleTraits<Ts>::to_float(in[i + 1]);
      const double r = detail::SampleTraits<Ts>::to_float(in[i + 2]);
      const double ly = dy * detail::kRdInvSqrt3;
      out[i] = detail::SampleTraits<Td>::from_float(
          static_cast<float>(b + ly - d1 * detail::kRdInvSqrt2 + d2 * detail::kRdInvSqrt6));
      out[i + 1] = detail::SampleTraits<Td>::from_float(
          static_cast<float>(g + ly - 2.0 * d2 * detail::kRdInvSqrt6));
      out[i + 2] = detail::SampleTraits<Td>::from_float(
          static_cast<float>(r + ly + d1 * detail::kRdInvSqrt2 + d2 * detail::kRdInvSqrt6));
    }
    p0 = 3;
  }
  for (int p = p0; p < plan.planes; ++p) {
    const float* fp = f[p].row(y);
    const float* up = u[p].row(y);
    for (int x = 0; x < w; ++x) {
      const std::ptrdiff_t i = static_cast<std::ptrdiff_t>(x) * nc + p;
      const double v = detail::SampleTraits<Ts>::to_float(in[i]);
      out[i] = detail::SampleTraits<Td>::from_float(
          static_cast<float>(v + (static_cast<double>(up[x]) - fp[x]) * inv));
    }
  }
}

}  // namespace

void reaction_diffusion(const ImageView& src, const ImageView& dst, const detail::RdPlan& plan,
                        Context& ctx) {
  auto& impl = ctx.impl();
  ThreadPool& pool = impl.workers();
  const int w = src.width, h = src.height, np = plan.planes;
  const std::ptrdiff_t stride = padded_stride(w);
  const std::size_t plane_floats = static_cast<std::size_t>(stride) * h;
  float* fmem = impl.host_scratch(detail::kRdInputSlot, plane_floats * np + kAlign);
  float* umem = impl.host_scratch(detail::kRdStateSlot, plane_floats * (np + 1) + kAlign);
  Plane f[4], u[4];
  for (int p = 0; p < np; ++p) {
    f[p] = Plane{fmem + p * plane_floats, stride};
    u[p] = Plane{umem + p * plane_floats, stride};
  }
  const Plane spare{umem + np * plane_floats, stride};
  int ring_floats = 0;
  for (int p = 0; p < np; ++p) {
    ring_floats = std::max(ring_floats, plan.net[p]->filters * (plan.net[p]->size + 1));
  }
  const int workers = pool.size();
  float* rings = impl.host_scratch(detail::kRdWorkSlot,
                                   static_cast<std::size_t>(ring_floats) * stride * workers);

  // Load: f = scale · (transformed) x, padded.
  const std::size_t row_cost = static_cast<std::size_t>(w) * np;
  dispatch_type(src.type, [&](auto tag) {
    using T = decltype(tag);
    parallel_rows(pool, h, row_cost, [&](int y0, int y1, int) {
      for (int y = y0; y < y1; ++y) load_row<T>(src, y, plan, f, kPad);
    });
  });

  long long total = 0, done = 0;
  for (int p = 0; p < np; ++p) total += plan.stages[p];
  for (int p = 0; p < np; ++p) {
    const RdNetwork& n = *plan.net[p];
    const int T = plan.stages[p];
    const Kernels kern = pick_kernels(n.size);
    // Bands of at least 16 rows, two per worker (balance on a busy machine); one band when the
    // plane is small or there is one worker. The split never changes a result.
    const double cost = static_cast<double>(w) * h * n.filters * n.size * n.size;
    int bands = std::min(h / 16, 2 * workers);
    if (workers == 1 || cost < 4e6) bands = 1;
    bands = std::max(bands, 1);
    const Plane* in = &f[p];
    for (int t = 0; t < T; ++t) {
      // The last stage writes u[p]; earlier ones alternate so that it does.
      const Plane* out = ((T - 1 - t) % 2 == 0) ? &u[p] : &spare;
      StageArgs a;
      a.net = &n;
      a.t = t;
      a.knots = detail::RdKnots{n.flo, n.inv_h, n.s_max, n.knots - 2};
      a.lambda = n.lambda[t];
      auto band = [&](int task, int worker) {
        const int y0 = static_cast<int>(static_cast<long long>(h) * task / bands);
        const int y1 = static_cast<int>(static_cast<long long>(h) * (task + 1) / bands);
        if (y0 < y1) {
          stage_band(*in, f[p], *out, w, h, y0, y1, a,
                     rings + static_cast<std::ptrdiff_t>(worker) * ring_floats * stride, stride,
                     kern);
        }
      };
      if (bands == 1) {
        band(0, 0);
      } else {
        pool.run(bands, band);
      }
      in = out;
      impl.report_progress(++done, total, "reaction_diffusion");
    }
    if (T == 0) {
      for (int y = 0; y < h; ++y) {
        std::memcpy(u[p].row(y), f[p].row(y), sizeof(float) * static_cast<std::size_t>(w));
      }
    }
  }

  // Store: dst = x + (inverse transform of u − f) / scale; alpha copied.
  dispatch_type(src.type, [&](auto stag) {
    using Ts = decltype(stag);
    dispatch_type(dst.type, [&](auto dtag) {
      using Td = decltype(dtag);
      parallel_rows(pool, h, row_cost, [&](int y0, int y1, int) {
        for (int y = y0; y < y1; ++y) store_row<Ts, Td>(src, dst, y, plan, f, u);
      });
    });
  });
  if (plan.channels < src.channels && !(src.data == dst.data && src.type == dst.type)) {
    copy_channel(src, dst, src.channels - 1, pool);
  }
}

}  // namespace cpu
}  // namespace pdeimg
