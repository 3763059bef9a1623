// The rank selection by radix of the CUDA backend (kernels/radix_select.cuh), run on the CPU: the
// walk over the bins is the backend's host code and the bin of each element the function its
// device histograms count, so only CUB's counting is left to the device. Against std::sort and
// std::nth_element on keys with ties, zeros, subnormals and +inf (missing data), for the two uses:
// the Perona-Malik K quantile and the noise estimate's kept set and median.
#include "kernels/radix_select.cuh"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <numeric>
#include <random>
#include <vector>

namespace pdeimg {
namespace {

using detail::RadixBinArgs;

std::uint32_t bits_of(float v) {
  std::uint32_t b;
  std::memcpy(&b, &v, sizeof b);
  return b;
}

float float_of(std::uint32_t b) {
  float v;
  std::memcpy(&v, &b, sizeof v);
  return v;
}

/// The device histogram's count, on the CPU: hist[radix_bin(args, i)] over all i.
struct CpuHistogram {
  std::size_t n;
  void operator()(const RadixBinArgs& args, int* hist) const {
    std::fill(hist, hist + detail::kRadixBins, 0);
    for (std::size_t i = 0; i < n; ++i) {
      const int b = detail::radix_bin(args, i);
      if (b < detail::kRadixBins) ++hist[b];
    }
  }
};

/// Non-negative floats as the backends make them: squared differences (many exact ties, zeros,
/// a few subnormals and huge values) and, where `missing`, +inf for left-out pairs.
std::vector<std::uint32_t> squared_keys(std::size_t n, bool missing, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> level(0, 40);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  std::vector<std::uint32_t> keys(n);
  for (std::size_t i = 0; i < n; ++i) {
    float v;
    const int kind = static_cast<int>(rng() % 20);
    if (kind == 0) {
      v = 0.0f;
    } else if (kind == 1) {
      v = std::numeric_limits<float>::denorm_min() * static_cast<float>(1 + rng() % 1000);
    } else if (kind == 2) {
      v = 1e30f * u(rng);
    } else if (kind == 3 && missing) {
      v = std::numeric_limits<float>::infinity();
    } else if (kind < 10) {
      const float d = static_cast<float>(level(rng));  // integer differences: many ties
      v = d * d;
    } else {
      const float d = 255.0f * u(rng);
      v = d * d;
    }
    keys[i] = bits_of(v);
  }
  return keys;
}

TEST(RadixSelectTest, EveryRankIsTheSortedKeyWithTheCountBelowIt) {
  for (const std::size_t n : {std::size_t{1}, std::size_t{2}, std::size_t{7}, std::size_t{5000}}) {
    const std::vector<std::uint32_t> keys = squared_keys(n, true, 3 + static_cast<unsigned>(n));
    std::vector<std::uint32_t> sorted = keys;
    std::sort(sorted.begin(), sorted.end());
    RadixBinArgs args;
    args.keys = keys.data();
    std::vector<int> hist;
    for (std::size_t k = 0; k < n; k += (n < 100 ? 1 : 37)) {
      const detail::RadixRank r = detail::radix_select(args, k, hist, CpuHistogram{n});
      ASSERT_EQ(r.value, sorted[k]) << "n " << n << ", rank " << k;
      const auto less = static_cast<std::size_t>(
          std::lower_bound(sorted.begin(), sorted.end(), sorted[k]) - sorted.begin());
      ASSERT_EQ(r.less, less) << "n " << n << ", rank " << k;
    }
    const detail::RadixRank last = detail::radix_select(args, n - 1, hist, CpuHistogram{n});
    EXPECT_EQ(last.value, sorted[n - 1]);
  }
}

// Keys that share their high 16 bits and differ only in the low half (the second pass decides),
// and keys whose high halves are all different (the first pass decides).
TEST(RadixSelectTest, EitherPassAloneDecides) {
  std::vector<std::uint32_t> low, high;
  for (std::uint32_t i = 0; i < 3000; ++i) {
    low.push_back(0x3f800000u | ((i * 7919u) & 0xffffu));
    high.push_back(((i * 104729u) % 0x7f80u) << 16 | 0x1234u);
  }
  for (const auto* keys : {&low, &high}) {
    std::vector<std::uint32_t> sorted = *keys;
    std::sort(sorted.begin(), sorted.end());
    RadixBinArgs args;
    args.keys = keys->data();
    std::vector<int> hist;
    for (std::size_t k = 0; k < sorted.size(); k += 101)
      ASSERT_EQ(detail::radix_select(args, k, hist, CpuHistogram{keys->size()}).value, sorted[k]);
  }
}

// The CUDA Perona-Malik K quantile: count the finite keys (below +inf's high half), then select
// element floor(q (m - 1)); the CPU takes nth_element of the finite values.
TEST(RadixSelectTest, QuantileOfTheFiniteKeysIsTheCpusNthElement) {
  const std::size_t n = 20000;
  for (const bool missing : {false, true}) {
    const std::vector<std::uint32_t> keys = squared_keys(n, missing, missing ? 5 : 6);
    std::vector<float> finite;
    for (std::uint32_t b : keys)
      if (std::isfinite(float_of(b))) finite.push_back(float_of(b));
    RadixBinArgs args;
    args.keys = keys.data();
    std::vector<int> hist;
    const std::size_t m = detail::radix_count_below(args, 0x7f80u, hist, CpuHistogram{n});
    ASSERT_EQ(m, finite.size());
    if (missing) ASSERT_LT(m, n) << "the test needs left-out pairs";
    for (const double q : {0.0, 0.1, 0.5, 0.9, 0.97, 1.0}) {
      const auto k = static_cast<std::size_t>(std::floor(q * static_cast<double>(m - 1)));
      std::vector<float> ref = finite;
      std::nth_element(ref.begin(), ref.begin() + static_cast<std::ptrdiff_t>(k), ref.end());
      const float got = float_of(detail::radix_select(args, k, hist, CpuHistogram{n}).value);
      EXPECT_EQ(bits_of(got), bits_of(ref[k])) << "q " << q << ", missing " << missing;
      // As the CUDA quantile runs it: the count's histogram is the selection's first pass.
      std::vector<int> h2;
      ASSERT_EQ(detail::radix_count_below(args, 0x7f80u, h2, CpuHistogram{n}), m);
      int passes = 0;
      const auto counting = [&](const RadixBinArgs& a, int* hh) {
        ++passes;
        CpuHistogram{n}(a, hh);
      };
      const float reused = float_of(detail::radix_select(args, k, h2, counting, true).value);
      EXPECT_EQ(bits_of(reused), bits_of(ref[k])) << "q " << q << ", after the count";
      EXPECT_EQ(passes, 1);
    }
  }
}

// The CUDA noise estimate: the kept set is the first `keep` pixels by (gradient, index) - a stable
// sort - found as a cut (the gradient of rank keep - 1), the pixels below it and the first of
// those equal to it; then the lower median of the kept pixels' high-passes by a gated selection.
TEST(RadixSelectTest, GatedSelectionIsTheMedianOfTheStablySortedKeptSet) {
  const std::size_t n = 12000;
  const std::vector<std::uint32_t> grad = squared_keys(n, true, 8);
  const std::vector<std::uint32_t> hp = squared_keys(n, false, 9);
  for (const std::size_t keep : {std::size_t{1}, std::size_t{2}, std::size_t{1200}, n / 2, n}) {
    std::vector<std::size_t> order(n);
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return grad[a] < grad[b]; });
    std::vector<std::uint32_t> kept;
    for (std::size_t i = 0; i < keep; ++i) kept.push_back(hp[order[i]]);
    std::sort(kept.begin(), kept.end());
    const std::uint32_t ref = kept[(keep - 1) / 2];

    std::vector<int> hist;
    RadixBinArgs g;
    g.keys = grad.data();
    const detail::RadixRank cut = detail::radix_select(g, keep - 1, hist, CpuHistogram{n});
    std::size_t nth = keep - cut.less - 1, last_equal = 0;  // the device's select_equal_indices
    for (std::size_t i = 0; i < n; ++i) {
      if (grad[i] != cut.value) continue;
      if (nth-- == 0) {
        last_equal = i;
        break;
      }
    }
    RadixBinArgs m;
    m.keys = hp.data();
    m.gate = grad.data();
    m.cut = cut.value;
    m.last_equal = last_equal;
    EXPECT_EQ(detail::radix_select(m, (keep - 1) / 2, hist, CpuHistogram{n}).value, ref)
        << "keep " << keep;
  }
}

}  // namespace
}  // namespace pdeimg
