// The parsed form of a learned reaction–diffusion model (docs/rd-model-format.md), shared by the
// parser (src/reaction_diffusion.cpp) and the backends. Internal header.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace pdeimg {
namespace detail {

/// Table entries of the CPU's in-register influence-function lookup (AVX-512 permutes over four
/// registers): networks with at most this many knots use it, others a gather.
constexpr int kRdTableSize = 64;

/// One network: T stages of N filters of m×m taps, their influence functions on K uniform knots
/// and the reaction weights. Everything the backends need is precomputed here, at parse time.
struct RdNetwork {
  int stages = 0;             ///< T
  int filters = 0;            ///< N
  int size = 0;               ///< m (odd)
  int knots = 0;              ///< K
  double lo = 0.0;            ///< first knot
  double hi = 0.0;            ///< last knot
  float flo = 0.0f;           ///< lo as float
  float inv_h = 0.0f;         ///< (K − 1) / (hi − lo): s = (z − lo) · inv_h
  float s_max = 0.0f;         ///< K − 1 (the clamp of s)
  std::vector<float> lambda;  ///< [t]
  /// [t][i][a·m + b]: k_i as stored (correlation taps, rows a, columns b).
  std::vector<float> taps;
  /// [t][i][a·m + b]: k̄_i = k_i turned by 180° (the transposed operator of r).
  std::vector<float> taps_flipped;
  /// [t][i][j]: knot values v_j (K per filter).
  std::vector<float> values;
  /// [t][i][j]: v_{j+1} − v_j, computed in float (K − 1 per filter).
  std::vector<float> slopes;
  /// [t][i]: Σ k_i, or exactly 0 when |Σ k_i| ≤ 1e-6 Σ |k_i| (zero-mean to the file's precision).
  /// The backends compute z_i = Σ k_i(q)·(u(q) − u(p)) + (Σ k_i)·u(p), the same sum as k_i ⋆ u,
  /// which is exactly 0 on a flat patch for zero-mean filters.
  std::vector<float> sums;
  bool zero_mean = true;  ///< every entry of sums is 0
  /// When K ≤ kRdTableSize: [t][i][kRdTableSize] copies of values and slopes padded with their
  /// last entry, for the CPU's permute lookup. Empty otherwise.
  std::vector<float> values64, slopes64;

  std::size_t filter_index(int t, int i) const { return static_cast<std::size_t>(t) * filters + i; }
  const float* k(int t, int i) const { return taps.data() + filter_index(t, i) * size * size; }
  const float* kf(int t, int i) const {
    return taps_flipped.data() + filter_index(t, i) * size * size;
  }
  const float* v(int t, int i) const { return values.data() + filter_index(t, i) * knots; }
  float sum(int t, int i) const { return sums[filter_index(t, i)]; }
  const float* d(int t, int i) const { return slopes.data() + filter_index(t, i) * (knots - 1); }
  /// Fills the derived fields (flo, inv_h, s_max, taps_flipped, slopes, the 64-entry tables)
  /// from stages..hi, lambda, taps and values.
  void finish();
};

struct RdModelData {
  std::string name;
  std::string hash;    ///< FNV-1a 64 of the file's bytes, 16 hex digits
  std::string source;  ///< the file's name (for messages)
  double noise = 0.0;
  std::shared_ptr<const RdNetwork> gray, luma, chroma;  ///< may share one network
};

}  // namespace detail
}  // namespace pdeimg
