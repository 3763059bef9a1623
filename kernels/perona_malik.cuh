// Perona–Malik diffusion u_t = div(g(|∇u|²) ∇u) (Perona & Malik, "Scale-space and edge detection
// using anisotropic diffusion", IEEE PAMI 12(7), 1990), explicit Euler in flux form:
//   u'_p = u_p + dt Σ_q w_q g(s_pq²) (u_q - u_p),   s_pq² = Σ_c (u_q,c - u_p,c)² / h_q²
// over the 4 axial neighbours (w = 1, h = 1) or all 8 (axial w = 1/2, h = 1; diagonal w = 1/4,
// h² = 2; both stencils are consistent with div(g ∇u)). g is evaluated on each pair's own
// difference (PM's eq. 8), so the flux from p to q is exactly minus the flux from q to p, the mean
// is conserved and, for 0 <= g <= 1 and dt Σ w <= 1 (dt <= 1/4, resp. 1/3), u'_p is a convex
// combination of its neighbourhood (maximum principle). With regularisation (Catté, Lions, Morel
// & Coll, SIAM J. Numer. Anal. 29(1), 1992) s_pq is taken on a Gaussian-smoothed copy instead.
// Tukey's biweight as an edge-stopping function: Black, Sapiro, Marimont & Heeger, "Robust
// anisotropic diffusion", IEEE TIP 7(3), 1998.
#pragma once

#include <cstdint>
#include <cstring>

#include "common.cuh"

// The per-pixel functions below must inline into the CPU row loops for those to vectorise (GCC's
// heuristics otherwise keep the larger ones as calls); CUDA already force-inlines PDEIMG_HD.
#if !defined(__CUDACC__) && defined(__GNUC__)
#define PDEIMG_PM_HD inline __attribute__((always_inline))
#else
#define PDEIMG_PM_HD PDEIMG_HD
#endif

namespace pdeimg {
namespace detail {

constexpr double kPmMaxDt4 = 0.25;
constexpr double kPmMaxDt8 = 1.0 / 3.0;

/// exp(-x) for x >= 0 in plain float arithmetic (so the CPU loop vectorises and both backends
/// share the formula): x = n ln 2 + r with n = round(x / ln 2), |r| <= ln(2)/2, r computed with
/// ln 2 split in two (Cody & Waite) so it stays exact; e^-r by its Taylor series to degree 7
/// (truncation below 1e-8); 2^-n through the exponent bits. Relative error below 3e-7 for all
/// x; returns 0 for x > 87 (exp(-87) = 1.6e-38, the edge of the normal floats).
/// No float-to-int conversion and no branch: n is rounded by adding 1.5·2^23, whose low mantissa
/// bits then hold n (GCC will not vectorise a conversion or a computation behind a condition).
PDEIMG_PM_HD float exp_neg(float x) {
  const float xc = x < 87.0f ? x : 87.0f;  // also keeps inf and huge values finite
  const float shifted = xc * 1.44269504088896341f + 12582912.0f;  // 1.5·2^23 + round(x / ln 2)
  const float n = shifted - 12582912.0f;
  // ln 2 = 0.693145751953125 (exact in 16 bits, so n ln2_hi is exact) + 1.42860677e-6.
  const float y = (n * 0.693145751953125f - xc) + n * 1.428606765330187e-6f;  // -r
  float p = 1.0f / 5040.0f;
  p = p * y + 1.0f / 720.0f;
  p = p * y + 1.0f / 120.0f;
  p = p * y + 1.0f / 24.0f;
  p = p * y + 1.0f / 6.0f;
  p = p * y + 0.5f;
  p = p * y + 1.0f;
  p = p * y + 1.0f;
  std::int32_t nbits;
#if defined(__CUDA_ARCH__)
  nbits = __float_as_int(shifted);
#else
  std::memcpy(&nbits, &shifted, sizeof nbits);
#endif
  const std::int32_t ni = nbits - 0x4B400000;       // n, 0..126
  const std::int32_t e = x > 87.0f ? 0 : 127 - ni;  // 0: the scale is +0
  const std::int32_t bits = e << 23;
#if defined(__CUDA_ARCH__)
  const float scale = __int_as_float(bits);
#else
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
#endif
  return p * scale;
}

/// The diffusivities as functors of the squared gradient s², built from K.
struct ExponentialG {
  float inv_k2;  // 1 / K²
  PDEIMG_PM_HD float operator()(float s2) const { return exp_neg(s2 * inv_k2); }
};
struct RationalG {
  float inv_k2;  // 1 / K²
  PDEIMG_PM_HD float operator()(float s2) const { return 1.0f / (1.0f + s2 * inv_k2); }
};
struct TukeyG {
  float inv_k2;  // 1 / (5 K²)
  PDEIMG_PM_HD float operator()(float s2) const {
    const float t = 1.0f - s2 * inv_k2;
    const float t2 = t * t;
    return t > 0.0f ? t2 : 0.0f;
  }
};

/// Σ_c (b_c - a_c)² over C channels (the coupled squared difference).
template <int C>
PDEIMG_PM_HD float sq_diff(const float* a, const float* b) {
  float s = 0.0f;
  for (int c = 0; c < C; ++c) {
    const float d = b[c] - a[c];
    s += d * d;
  }
  return s;
}

/// The values of a pixel's 3x3 neighbourhood, C channels each: m = centre; n, s, w, e axial;
/// nw, ne, sw, se diagonal (used by the 8-neighbour stencil only).
template <int C>
struct Neighbours {
  float m[C], n[C], s[C], w[C], e[C], nw[C], ne[C], sw[C], se[C];
};

/// True when all C channels of a pixel are finite (NonFinite::kMissing: else it is missing).
template <int C>
PDEIMG_PM_HD bool finite_pixel(const float* v) {
  bool ok = true;
  for (int c = 0; c < C; ++c) ok = ok && is_finite(v[c]);
  return ok;
}

/// Missing data: every neighbour with a non-finite channel takes the centre pixel's values, so
/// its difference, and the flux across the hole's edge, is 0 (the zero-flux ghost of the image
/// border). The centre must be finite. Changes nothing in a finite neighbourhood.
template <int C>
PDEIMG_PM_HD void ghost_neighbours(Neighbours<C>& u) {
  float* q[8] = {u.n, u.s, u.w, u.e, u.nw, u.ne, u.sw, u.se};
  for (int k = 0; k < 8; ++k) {
    if (finite_pixel<C>(q[k])) continue;
    for (int c = 0; c < C; ++c) q[k][c] = u.m[c];
  }
}

/// The diffusivities of the pairs (centre, neighbour) from the squared differences of `v`, which
/// is the image itself or, regularised, its smoothed copy. g8[0..3] = N, S, W, E; g8[4..7] =
/// NW, NE, SW, SE (only with kEight).
template <int C, bool kEight, class G>
PDEIMG_PM_HD void pm_diffusivities(const Neighbours<C>& v, const G& g, float* g8) {
  g8[0] = g(sq_diff<C>(v.m, v.n));
  g8[1] = g(sq_diff<C>(v.m, v.s));
  g8[2] = g(sq_diff<C>(v.m, v.w));
  g8[3] = g(sq_diff<C>(v.m, v.e));
  if (kEight) {
    g8[4] = g(0.5f * sq_diff<C>(v.m, v.nw));
    g8[5] = g(0.5f * sq_diff<C>(v.m, v.ne));
    g8[6] = g(0.5f * sq_diff<C>(v.m, v.sw));
    g8[7] = g(0.5f * sq_diff<C>(v.m, v.se));
  }
}

/// One explicit step for the centre pixel given the pair diffusivities: out[c] = u'_c.
/// Sums are grouped ((N + S) + (W + E)) so mirror images of the input give mirrored results.
template <int C, bool kEight>
PDEIMG_PM_HD void pm_flux_update(const Neighbours<C>& u, const float* g8, float dt, float* out) {
  for (int c = 0; c < C; ++c) {
    const float m = u.m[c];
    const float axial = (g8[0] * (u.n[c] - m) + g8[1] * (u.s[c] - m)) +
                        (g8[2] * (u.w[c] - m) + g8[3] * (u.e[c] - m));
    if (kEight) {
      const float diag = (g8[4] * (u.nw[c] - m) + g8[7] * (u.se[c] - m)) +
                         (g8[5] * (u.ne[c] - m) + g8[6] * (u.sw[c] - m));
      out[c] = m + dt * (0.5f * axial + 0.25f * diag);
    } else {
      out[c] = m + dt * axial;
    }
  }
}

/// One unregularised step: diffusivities from u itself.
template <int C, bool kEight, class G>
PDEIMG_PM_HD void pm_update(const Neighbours<C>& u, const G& g, float dt, float* out) {
  float g8[8];
  pm_diffusivities<C, kEight>(u, g, g8);
  pm_flux_update<C, kEight>(u, g8, dt, out);
}

/// Largest radius of the regularisation Gaussian (sigma up to 21 pixels).
constexpr int kMaxGaussRadius = 64;

/// Radius of the sampled regularisation Gaussian: ceil(3 sigma), at least 1.
inline int gauss_radius(double sigma) {
  int r = static_cast<int>(sigma * 3.0);
  if (r < sigma * 3.0) ++r;
  return r < 1 ? 1 : r;
}

/// The sampled Gaussian of standard deviation sigma, normalised to sum 1: w[i] for offsets ±i,
/// i = 0..gauss_radius(sigma). The regularisation kernel of both backends (host code).
inline int gauss_taps(double sigma, float* w) {
  const int r = gauss_radius(sigma);
  double t[kMaxGaussRadius + 1];
  double sum = 0.0;
  for (int i = 0; i <= r; ++i) {
    t[i] = __builtin_exp(-0.5 * i * i / (sigma * sigma));
    sum += i == 0 ? t[i] : 2.0 * t[i];
  }
  for (int i = 0; i <= r; ++i) w[i] = static_cast<float>(t[i] / sum);
  return r;
}

/// One tap-weighted sum of a symmetric filter along a line: Σ_i w[|i|] v(i), i = -r..r, with
/// the reflecting boundary applied by the caller's accessor. Sums pairs (-i, +i) first.
template <class At>
PDEIMG_HD float gauss_sum(const float* w, int r, const At& at) {
  float s = w[0] * at(0);
  for (int i = 1; i <= r; ++i) s += w[i] * (at(-i) + at(i));
  return s;
}

}  // namespace detail
}  // namespace pdeimg
