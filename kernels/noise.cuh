// Per-pixel quantities of the noise estimator (see include/pdeimg/noise.hpp), shared by both
// backends: Immerkaer's high-pass and the Sobel gradient that gates it.
#pragma once

#include "common.cuh"

namespace pdeimg {
namespace detail {

/// Φ⁻¹(3/4): median |x| / kMadScale estimates the deviation of zero-mean Gaussian x.
constexpr double kMadScale = 0.674489750196081743;
/// Sort key of a flat (uninformative) neighbourhood: after every real gradient.
constexpr float kNoiseSkipKey = __builtin_huge_valf();

/// How many of `valid` informative interior pixels, flattest first, the estimator keeps:
/// ceil(10%), at least 1.
inline std::size_t noise_keep_count(std::size_t valid) {
  const std::size_t k = (valid + 9) / 10;
  return k < 1 ? 1 : k;
}

/// |M * u| / 6 with M = [1 -2 1]^T [1 -2 1] (Immerkaer 1996): unit gain for white noise (the
/// taps' squares sum to 36), zero on locally linear images. v[r][c] is the 3x3 neighbourhood.
PDEIMG_HD float noise_highpass(const float (&v)[3][3]) {
  const float corners = (v[0][0] + v[0][2]) + (v[2][0] + v[2][2]);
  const float edges = (v[0][1] + v[2][1]) + (v[1][0] + v[1][2]);
  const float r = (corners - 2.0f * edges) + 4.0f * v[1][1];
  const float a = r < 0.0f ? -r : r;
  return a * (1.0f / 6.0f);
}

/// True when all nine values are equal: such a neighbourhood (saturated or synthetic flat areas,
/// e.g. clipped highlights of an 8-bit photo) says nothing about the noise, and the estimator
/// skips it; noisy data is never exactly constant.
PDEIMG_HD bool flat3x3(const float (&v)[3][3]) {
  bool flat = true;
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 3; ++c) flat = flat && v[r][c] == v[1][1];
  return flat;
}

/// The values an image type clips to: [0, 255] for uint8, [0, 65535] for uint16; float has no
/// range (infinite ends, never reached by a finite sample).
struct NoiseClip {
  float lo;
  float hi;
};
inline NoiseClip noise_clip(PixelType type) {
  switch (type) {
    case PixelType::kU8:
      return {0.0f, 255.0f};
    case PixelType::kU16:
      return {0.0f, 65535.0f};
    default:
      return {-__builtin_huge_valf(), __builtin_huge_valf()};
  }
}

/// True when a value of the neighbourhood lies at an end of the type's range: a clipped
/// (saturated) sample, whose noise was cut off, so the neighbourhood understates the deviation.
/// The estimator skips it: clipped highlights and shadows of 8-bit photos otherwise pulled the
/// estimate of noise of deviation 25 down to 22 on Kodak24 (41 for 50).
PDEIMG_HD bool clipped3x3(const float (&v)[3][3], NoiseClip clip) {
  bool clipped = false;
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 3; ++c) clipped = clipped || v[r][c] <= clip.lo || v[r][c] >= clip.hi;
  return clipped;
}

/// True when all nine values are finite. A neighbourhood holding a missing (non-finite) sample
/// (NonFinite::kMissing) is skipped like a flat one. Integer images need not ask.
PDEIMG_HD bool finite3x3(const float (&v)[3][3]) {
  bool finite = true;
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 3; ++c) finite = finite && is_finite(v[r][c]);
  return finite;
}

/// Squared magnitude of the Sobel gradient of the 3x3 neighbourhood v.
PDEIMG_HD float sobel_sq(const float (&v)[3][3]) {
  const float gx = ((v[0][2] + v[2][2]) + 2.0f * v[1][2]) - ((v[0][0] + v[2][0]) + 2.0f * v[1][0]);
  const float gy = ((v[2][0] + v[2][2]) + 2.0f * v[2][1]) - ((v[0][0] + v[0][2]) + 2.0f * v[0][1]);
  return gx * gx + gy * gy;
}

}  // namespace detail
}  // namespace pdeimg
