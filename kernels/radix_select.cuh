// Rank selection by radix over 32-bit keys (non-negative floats order like their bit patterns):
// the key of rank k in two histogram passes of 65536 bins - the high 16 bits, then the low 16 bits
// among the keys that share the chosen high half - instead of a sort. The bin of an element is
// defined here for the device histograms (CUB's DeviceHistogram over radix_bin, kernels/
// perona_malik.cu) and the walk over the bins is host code, so tests run both on the CPU. Used
// by the CUDA noise estimate (its kept set and median) and the Perona-Malik K quantile.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "kernels/common.cuh"

namespace pdeimg {
namespace detail {

constexpr int kRadixBins = 1 << 16;  ///< per pass; bin kRadixBins counts the rejected elements

/// One pass over keys[0..n): pass 0 bins the accepted keys by their high 16 bits; pass 1 bins
/// those whose high 16 bits are `hi` by their low 16 bits. With `gate`, only the elements i with
/// gate[i] < cut, or gate[i] == cut and i <= last_equal, are accepted (the noise estimate's kept
/// set: the first of the keys equal to the cut, in index order, as a stable sort would keep).
struct RadixBinArgs {
  const unsigned* keys = nullptr;
  const unsigned* gate = nullptr;
  unsigned cut = 0;
  std::size_t last_equal = 0;
  int pass = 0;
  unsigned hi = 0;
};

/// The bin of element i: [0, kRadixBins), or kRadixBins when it is not counted.
PDEIMG_HD int radix_bin(const RadixBinArgs& a, std::size_t i) {
  if (a.gate != nullptr) {
    const unsigned g = a.gate[i];
    if (g > a.cut || (g == a.cut && i > a.last_equal)) return kRadixBins;
  }
  const unsigned b = a.keys[i];
  if (a.pass == 0) return static_cast<int>(b >> 16);
  return (b >> 16) == a.hi ? static_cast<int>(b & 0xffffu) : kRadixBins;
}

/// The key of rank k (0-based) among the accepted keys, and how many accepted keys are smaller.
struct RadixRank {
  std::uint32_t value = 0;
  std::size_t less = 0;
};

/// Rank selection among the keys `args` accepts (args.pass and args.hi are set here). `histogram`
/// (args, hist) fills hist[0..kRadixBins) for one pass; k must be below the number accepted.
/// pass0_ready: hist already holds the first pass's histogram of the same args (as
/// radix_count_below leaves it), which is then not counted again.
template <class Histogram>
RadixRank radix_select(RadixBinArgs args, std::size_t k, std::vector<int>& hist,
                       const Histogram& histogram, bool pass0_ready = false) {
  if (hist.size() != static_cast<std::size_t>(kRadixBins)) {
    hist.assign(kRadixBins, 0);
    pass0_ready = false;
  }
  RadixRank r;
  for (int pass = 0; pass < 2; ++pass) {
    args.pass = pass;
    args.hi = r.value >> 16;
    if (pass > 0 || !pass0_ready) histogram(args, hist.data());
    std::size_t below = 0;
    int b = 0;
    const std::size_t target = k - r.less;  // the rank among this pass's candidates
    while (b + 1 < kRadixBins && below + static_cast<std::size_t>(hist[b]) <= target)
      below += static_cast<std::size_t>(hist[b++]);
    r.less += below;
    r.value =
        pass == 0 ? static_cast<std::uint32_t>(b) << 16 : (r.value | static_cast<std::uint32_t>(b));
  }
  return r;
}

/// How many of the keys `args` accepts have high 16 bits below `hi16` (one pass-0 histogram, left
/// in hist for radix_select's pass0_ready): with hi16 = 0x7f80, the finite ones among
/// non-negative floats and +inf.
template <class Histogram>
std::size_t radix_count_below(RadixBinArgs args, unsigned hi16, std::vector<int>& hist,
                              const Histogram& histogram) {
  hist.resize(kRadixBins);
  args.pass = 0;
  args.hi = 0;
  histogram(args, hist.data());
  std::size_t n = 0;
  for (unsigned b = 0; b < hi16 && b < static_cast<unsigned>(kRadixBins); ++b)
    n += static_cast<std::size_t>(hist[b]);
  return n;
}

}  // namespace detail
}  // namespace pdeimg
