// Morphology as Hamilton–Jacobi equations: dilation u_t = H(∇u), erosion u_t = -H(∇u), where H is
// the support function of the structuring element B (H(p) = max_{b in B} p·b):
//   disc     H = |∇u|                    Rouy & Tourin 1992 / Osher & Sethian 1988 upwind scheme
//   diamond  H = max(|u_x|, |u_y|)       (B = {|x| + |y| <= 1}, the L1 ball)
//   square   H = |u_x| + |u_y|           (B = {max(|x|, |y|) <= 1}, the L∞ ball), split per axis
// Grid spacing 1, reflecting boundaries. With the upwind gains (dilation)
//   g_x = max(u_W - u, u_E - u, 0),  g_y = max(u_N - u, u_S - u, 0)
// one explicit step is u' = u + dt H(g_x, g_y). It is monotone (a convex combination of u and its
// neighbours) for dt <= 1/sqrt(2) on the disc and dt <= 1 on the diamond and per square axis, so
// it obeys the maximum principle and never overshoots. At dt = 1 the diamond and square steps are
// exactly u' = max of the 5-point cross resp. the 3x3 block, so n unit steps are the flat
// dilation by the diamond resp. square of radius n (a (2n+1)² cv::dilate), exactly. Erosion is
// written as the mirror of dilation (c - a for a - c), which makes it bit for bit -D(-u).
// Shock filter (Osher & Rudin 1990; Alvarez & Mazorra 1994): u_t = -sign(Δ(G_σ * u)) |∇u|, each
// pixel a dilation step where the smoothed Laplacian is negative and an erosion step where it is
// positive, with the same upwind disc scheme (so no overshoot either).
#pragma once

#include <cmath>

#include "common.cuh"
#include "pdeimg/morphology.hpp"

namespace pdeimg {
namespace detail {

/// Monotonicity (CFL) bound of the upwind disc scheme in 2-D: dt (|∂H/∂g_x| + |∂H/∂g_y|) <= 1
/// with |∇u| = sqrt(g_x² + g_y²) gives dt <= 1/sqrt(2).
constexpr double kDiscMaxDt = 0.70710678118654752;
/// The default disc step: at dt = 1/2 a bright pixel dilated by r = 5..40 thresholded at 1/2 has
/// an area within 3.1% of pi r² (within 13% at 1/sqrt(2)); see docs/architecture.md.
constexpr double kDiscDefaultDt = 0.5;

PDEIMG_HD float fmax2(float a, float b) {
  return a > b ? a : b;
}
PDEIMG_HD float fmin2(float a, float b) {
  return a < b ? a : b;
}

/// The upwind gain of one axis: how far the larger neighbour lies above the centre (dilation),
/// or the smaller below it (erosion), and 0 when none does.
template <bool kErode>
PDEIMG_HD float upwind_gain(float c, float a, float b) {
  const float da = kErode ? rn_sub(c, a) : rn_sub(a, c);
  const float db = kErode ? rn_sub(c, b) : rn_sub(b, c);
  return fmax2(fmax2(da, db), 0.0f);
}

/// u + dt h (dilation) or u - dt h (erosion).
template <bool kErode>
PDEIMG_HD float advance(float c, float dt, float h) {
  return kErode ? rn_sub(c, rn_mul(dt, h)) : rn_add(c, rn_mul(dt, h));
}

/// The extreme (max for dilation, min for erosion) of two samples.
template <bool kErode>
PDEIMG_HD float extreme(float a, float b) {
  return kErode ? fmin2(a, b) : fmax2(a, b);
}

/// One Rouy–Tourin step of u_t = ±|∇u| at a pixel with value c and neighbours n, s, w, e.
template <bool kErode>
PDEIMG_HD float disc_update(float c, float n, float s, float w, float e, float dt) {
  const float gx = upwind_gain<kErode>(c, w, e);
  const float gy = upwind_gain<kErode>(c, n, s);
  return advance<kErode>(c, dt, rn_sqrt(rn_add(rn_mul(gx, gx), rn_mul(gy, gy))));
}

/// One upwind step of u_t = ±max(|u_x|, |u_y|); at dt = 1 exactly the extreme of the 5-point
/// cross (kUnit spells it so: u + (a - u) is not always a in floating point).
template <bool kErode, bool kUnit>
PDEIMG_HD float diamond_update(float c, float n, float s, float w, float e, float dt) {
  if (kUnit) {
    return extreme<kErode>(extreme<kErode>(extreme<kErode>(c, n), extreme<kErode>(s, w)), e);
  }
  const float gx = upwind_gain<kErode>(c, w, e);
  const float gy = upwind_gain<kErode>(c, n, s);
  return advance<kErode>(c, dt, fmax2(gx, gy));
}

/// One axis step of u_t = ±|u_x| on a row: c advanced towards its neighbours a and b.
template <bool kErode, bool kUnit>
PDEIMG_HD float axis_update(float c, float a, float b, float dt) {
  if (kUnit) return extreme<kErode>(extreme<kErode>(a, c), b);
  return advance<kErode>(c, dt, upwind_gain<kErode>(c, a, b));
}

/// One split step of u_t = ±(|u_x| + |u_y|) at the centre of a 3x3 block (rows up, mid, down;
/// columns 0, 1, 2): a horizontal step on each of the three rows, then a vertical one. At dt = 1
/// exactly the extreme of the 3x3 block.
template <bool kErode, bool kUnit>
PDEIMG_HD float square_update(float nw, float n, float ne, float w, float c, float e, float sw,
                              float s, float se, float dt) {
  const float hu = axis_update<kErode, kUnit>(n, nw, ne, dt);
  const float hc = axis_update<kErode, kUnit>(c, w, e, dt);
  const float hd = axis_update<kErode, kUnit>(s, sw, se, dt);
  return axis_update<kErode, kUnit>(hc, hu, hd, dt);
}

/// Flat (exact) morphology: the max (min) of u over the lattice points of the element,
///   D u(x, y) = max { u(x + i, y + j) : |j| <= R, |i| <= flat_half_width(shape, r, |j|) },
/// pixels outside the image ignored. For the disc this is the Hopf–Lax (Lax–Oleinik) formula of
/// u_t = |∇u|, u(x, r) = max_{|z| <= r} u(x + z), evaluated over the lattice: the digital disc
/// {i² + j² <= r²} of any real radius r. The square and diamond of integer radius n are the
/// (2n+1)² block and the L1 ball {|i| + |j| <= n}, the same sets as n unit upwind steps.
/// R = flat_reach(shape, r): the largest |j| (and |i|) with a point, floor(r) (r >= 0).
PDEIMG_HD int flat_reach(double r) {
  return static_cast<int>(floor(r + 1e-9));
}

/// The half width of row |j| = dy of the flat element (dy in [0, flat_reach(r)]): floor of
/// sqrt(r² - dy²) (disc, computed in double: exact for integer r and perfect squares), R - dy
/// (diamond) or R (square).
PDEIMG_HD int flat_half_width(StructuringElement shape, double r, int dy) {
  const int reach = flat_reach(r);
  if (shape == StructuringElement::kSquare) return reach;
  if (shape == StructuringElement::kDiamond) return reach - dy;
  const double d = static_cast<double>(dy);
  const double rest = r * r - d * d;
  int w = static_cast<int>(floor(sqrt(rest > 0.0 ? rest : 0.0)));
  // sqrt is correctly rounded, so w is exact unless rest is just below a perfect square.
  while (static_cast<double>(w + 1) * (w + 1) <= rest) ++w;
  while (w > 0 && static_cast<double>(w) * w > rest) --w;
  return w;
}

/// The shock filter's step at a pixel: l is the 5-point Laplacian of the smoothed image there;
/// l < 0 (the bright side of an edge) dilates, l > 0 erodes, l = 0 keeps c.
PDEIMG_HD float shock_update(float c, float n, float s, float w, float e, float l, float dt) {
  const float up = disc_update<false>(c, n, s, w, e, dt);
  const float down = disc_update<true>(c, n, s, w, e, dt);
  return l < 0.0f ? up : (l > 0.0f ? down : c);
}

/// The 5-point Laplacian ((n + s) + (w + e)) - 4c, in the same order as heat_update.
PDEIMG_HD float laplacian5(float c, float n, float s, float w, float e) {
  return rn_sub(rn_add(rn_add(n, s), rn_add(w, e)), rn_mul(4.0f, c));
}

}  // namespace detail
}  // namespace pdeimg
