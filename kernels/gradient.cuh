// Gradient operators, the colour vector gradient, non-maximum suppression and the double threshold
// of Canny's detector (Canny 1986), as per-pixel functions shared by the CPU and CUDA backends.
//
// Derivatives, with d(row) = u(x+1) - u(x-1) taken on the rows y-1, y, y+1 (and the transpose for
// d/dy) and reflecting boundaries (u(-1) = u(0)):
//   d/dx = w0 d(y-1) + w1 d(y) + w0 d(y+1),  (w0, w1) = (0, 1) central, (1, 2) Sobel, (3, 10)
//   Scharr.
//
// Bit-identical backends: every floating-point operation here goes through rn_add / rn_mul / ...,
// which on the device are the round-to-nearest intrinsics that nvcc never contracts into a fused
// multiply-add, and on the host plain operators (the CPU build uses -ffp-contract=off). IEEE
// addition, multiplication, division and square root are correctly rounded on both, so the same
// sequence of operations gives the same bits. Only the direction (atan2) may differ.
#pragma once

#include <cmath>
#include <cstdint>

#include "common.cuh"
#include "pdeimg/gradient.hpp"

namespace pdeimg {
namespace detail {

/// a + w (b - a): linear interpolation from a (w = 0) to b (w = 1).
PDEIMG_HD float rn_lerp(float a, float b, float w) {
  return rn_add(a, rn_mul(w, rn_sub(b, a)));
}

/// Row y of a view, usable in device code (ImageView::row is host-only).
template <typename T>
PDEIMG_HD T* view_row(const ImageView& v, int y) {
  return reinterpret_cast<T*>(static_cast<char*>(v.data) + static_cast<std::size_t>(y) * v.pitch);
}

// --- derivative stencils ------------------------------------------------------------------------

/// The operator's weighting of three parallel differences: the middle one (across the
/// derivative's direction) weighs w1, the outer ones w0.
template <GradientOperator Op>
PDEIMG_HD float weigh3(float outer_a, float middle, float outer_b) {
  if (Op == GradientOperator::kCentral) return middle;
  if (Op == GradientOperator::kSobel) return rn_add(rn_add(outer_a, outer_b), rn_mul(2.0f, middle));
  return rn_add(rn_mul(3.0f, rn_add(outer_a, outer_b)), rn_mul(10.0f, middle));
}

/// Scale that brings `op`'s magnitude to the Sobel scale (a power of two, so scaling is exact).
PDEIMG_HD float sobel_scale(GradientOperator op) {
  return op == GradientOperator::kCentral ? 4.0f : op == GradientOperator::kScharr ? 0.25f : 1.0f;
}

/// d/dx and d/dy at the centre of the 3x3 window u[row][col] (row 0 = y-1, col 0 = x-1; borders
/// already reflected by the caller).
template <GradientOperator Op>
PDEIMG_HD void derivatives(const float (&u)[3][3], float* gx, float* gy) {
  *gx = weigh3<Op>(rn_sub(u[0][2], u[0][0]), rn_sub(u[1][2], u[1][0]), rn_sub(u[2][2], u[2][0]));
  *gy = weigh3<Op>(rn_sub(u[2][0], u[0][0]), rn_sub(u[2][1], u[0][1]), rn_sub(u[2][2], u[0][2]));
}

/// Missing data (NonFinite::kMissing): every non-finite neighbour of the 3x3 window takes the
/// centre's value (detail::ghost: the zero-flux ghost of the image border), and a non-finite
/// centre makes the whole window NaN, so that pixel's derivatives and magnitude are NaN.
PDEIMG_HD void ghost3x3(float (&u)[3][3]) {
  const float c = u[1][1];
  const float fill = is_finite(c) ? c : quiet_nan();
  for (int r = 0; r < 3; ++r)
    for (int k = 0; k < 3; ++k) u[r][k] = is_finite(c) ? ghost(u[r][k], c) : fill;
}

/// The magnitude non-maximum suppression reads for a pixel: a missing pixel's (NaN) reads 0, so
/// it is never an edge and never blocks a neighbour from being one.
PDEIMG_HD float nms_magnitude(float m) {
  return is_finite(m) ? m : 0.0f;
}

// --- magnitude and the direction across the edge ------------------------------------------------

/// An edge element: the gradient magnitude m and a vector (ex, ey) along the direction of fastest
/// change (its length and, for colour, its sign carry no meaning).
struct EdgeVector {
  float m;
  float ex;
  float ey;
};

/// One channel: m = sqrt(gx² + gy²), direction (gx, gy).
PDEIMG_HD EdgeVector gray_edge(float gx, float gy) {
  return EdgeVector{rn_sqrt(rn_add(rn_mul(gx, gx), rn_mul(gy, gy))), gx, gy};
}

/// The colour structure tensor summed over channels, [xx xy; xy yy] (Di Zenzo 1986).
struct Tensor {
  float xx = 0.0f;
  float xy = 0.0f;
  float yy = 0.0f;
};

PDEIMG_HD void accumulate(Tensor* t, float gx, float gy) {
  t->xx = rn_add(t->xx, rn_mul(gx, gx));
  t->xy = rn_add(t->xy, rn_mul(gx, gy));
  t->yy = rn_add(t->yy, rn_mul(gy, gy));
}

/// The vector gradient of `channels` channels from their summed tensor: the tensor is averaged,
/// m = sqrt(λmax) with λmax = ((a + b) + sqrt((a - b)² + 4 c²)) / 2 for [a c; c b], and (ex, ey)
/// λmax's eigenvector, (a - b + r, 2c) or (2c, b - a + r) whichever is better conditioned.
PDEIMG_HD EdgeVector colour_edge(Tensor t, int channels) {
  const float n = static_cast<float>(channels);
  const float a = rn_div(t.xx, n), b = rn_div(t.yy, n), c = rn_div(t.xy, n);
  const float d = rn_sub(a, b);
  const float c2 = rn_add(c, c);
  const float r = rn_sqrt(rn_add(rn_mul(d, d), rn_mul(c2, c2)));
  const float lambda = rn_mul(0.5f, rn_add(rn_add(a, b), r));
  EdgeVector e;
  e.m = rn_sqrt(lambda);
  if (d >= 0.0f) {
    e.ex = rn_add(d, r);
    e.ey = c2;
  } else {
    e.ex = c2;
    e.ey = rn_sub(r, d);
  }
  if (e.ex == 0.0f && e.ey == 0.0f) e.ex = 1.0f;  // isotropic: any direction
  return e;
}

#if defined(__CUDACC__)
/// atan2f, the one operation here that differs between the backends (CUDA's atan2f fuses
/// multiply-adds inside and is not correctly rounded). Kept out of line on the device so that the
/// PTX check (tests/check_ptx.cmake) can tell its FMAs, which it allows by this name, from those of
/// the code that must agree with the CPU bit for bit.
static __device__ __noinline__ float direction_atan2(float y, float x) {
  return atan2f(y, x);
}
#endif
PDEIMG_HD float atan2_direction(float y, float x) {
#if defined(__CUDA_ARCH__)
  return direction_atan2(y, x);
#else
  return std::atan2(y, x);
#endif
}

/// Gradient direction in radians: atan2(gy, gx) for one channel, 0.5 atan2(2c, a - b) for colour.
PDEIMG_HD float gray_direction(float gx, float gy) {
  return atan2_direction(gy, gx);
}
PDEIMG_HD float colour_direction(Tensor t) {
  return rn_mul(0.5f, atan2_direction(rn_add(t.xy, t.xy), rn_sub(t.xx, t.yy)));
}

// --- non-maximum suppression and the double threshold --------------------------------------------

/// 3x3 magnitudes around a pixel: m[row][col], row 0 = y-1, col 0 = x-1, borders reflected.
struct Window3 {
  float m[3][3];
};

/// Non-maximum suppression with linear interpolation along the gradient (Canny 1986, with the
/// usual interpolation between the two neighbours straddling the gradient direction): with
/// (ex, ey) the direction across the edge, the magnitude is sampled one pixel ahead and one behind
/// along it, interpolating between the axial and the diagonal neighbour (weight |ey/ex| or
/// |ex/ey|), and `m` must be >= the sample ahead (on the +x or +y side) and > the one behind. On a
/// plateau two pixels wide the upper/left pixel is kept. At the left or top border the sample
/// behind is the mirror of the pixel's own column or row, so the comparison there is >=: an edge
/// along the border is found. A zero or NaN direction is never a maximum.
///
/// Written with selects and no branches, so the CPU loop vectorises; the device runs the same
/// operations.
PDEIMG_HD bool is_local_maximum(float m, float ex, float ey, const Window3& w, bool has_left,
                                bool has_top) {
  const float ax = fabsf(ex), ay = fabsf(ey);
  const bool across_x = ax >= ay;  // the gradient is closer to the x axis
  const bool same_sign = (ex < 0.0f) == (ey < 0.0f);
  const float t = rn_div(across_x ? ay : ax, across_x ? ax : ay);  // 0/0 = NaN: not a maximum
  // Ahead: the axial neighbour on the + side and the diagonal one towards the gradient.
  const float a0 = across_x ? w.m[1][2] : w.m[2][1];
  const float a1 = same_sign ? w.m[2][2] : (across_x ? w.m[0][2] : w.m[2][0]);
  const float b0 = across_x ? w.m[1][0] : w.m[0][1];
  const float b1 = same_sign ? w.m[0][0] : (across_x ? w.m[2][0] : w.m[0][2]);
  const float ahead = rn_lerp(a0, a1, t);
  const float behind = rn_lerp(b0, b1, t);
  const bool behind_outside = (across_x & !has_left) | (!across_x & !has_top);
  return (m >= ahead) & ((m > behind) | (behind_outside & (m == behind)));
}

/// Labels of the double threshold, before hysteresis.
constexpr std::uint8_t kNotEdge = 0;
constexpr std::uint8_t kWeak = 1;    ///< > low (a candidate)
constexpr std::uint8_t kStrong = 2;  ///< > high
constexpr std::uint8_t kEdge = 255;  ///< the final edge value

PDEIMG_HD std::uint8_t threshold_label(float m, float low, float high) {
  return m > high ? kStrong : (m > low ? kWeak : kNotEdge);
}

/// The label of a pixel: its double-threshold label if it is a local maximum inside the mask.
PDEIMG_HD std::uint8_t candidate_label(float m, float ex, float ey, const Window3& w, bool has_left,
                                       bool has_top, bool in_mask, float low, float high) {
  const bool keep = (m > low) & in_mask & is_local_maximum(m, ex, ey, w, has_left, has_top);
  return keep ? threshold_label(m, low, high) : kNotEdge;
}

// --- quantiles
// ------------------------------------------------------------------------------------

/// Quantile q in [0, 1] of n >= 1 sorted values by linear interpolation between the order
/// statistics lo = floor(q (n - 1)) and lo + 1 (numpy's default): the caller fetches v_lo, v_hi.
PDEIMG_HD long long quantile_index(double q, long long n, double* frac) {
  const double pos = rn_mul(q, static_cast<double>(n - 1));
  double lo = floor(pos);
  if (lo > static_cast<double>(n - 1)) lo = static_cast<double>(n - 1);
  if (lo < 0.0) lo = 0.0;
  *frac = rn_sub(pos, lo);
  return static_cast<long long>(lo);
}

PDEIMG_HD float quantile_value(float v_lo, float v_hi, double frac) {
  if (frac == 0.0) return v_lo;
  const double d = rn_sub(static_cast<double>(v_hi), static_cast<double>(v_lo));
  return static_cast<float>(rn_add(static_cast<double>(v_lo), rn_mul(d, frac)));
}

/// Order-preserving 32-bit key of a magnitude (>= 0 or NaN): its IEEE bits; NaN and excluded
/// pixels sort last as kExcludedKey. Keys <= kInfinityKey are counted.
constexpr std::uint32_t kInfinityKey = 0x7f800000u;
constexpr std::uint32_t kExcludedKey = 0xffffffffu;

}  // namespace detail
}  // namespace pdeimg
