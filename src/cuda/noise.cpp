// CUDA backend of estimate_noise (algorithm: include/pdeimg/noise.hpp): per channel, the
// gradient and high-pass of every interior pixel and a count of the informative (non-flat) ones,
// then the same rank selection by radix as the CPU (src/cpu/noise.cpp), with CUB's histograms:
// the keep-th smallest gradient (two passes of 65536 bins over its bits), the indices of the
// pixels equal to it (the first of them in pixel order complete the kept set, as a stable sort by
// (gradient, index) would), and the lower median of the kept pixels' high-passes (two more
// passes). The same set and the same median as the CPU, without sorting the image. Device scratch
// slots 2 and 6-11 (0-1 when staging a host view).
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "kernels/noise.cuh"
#include "src/backend.hpp"
#include "src/context_impl.hpp"
#include "src/cuda/launch.hpp"
#include "src/cuda/runtime.hpp"
#include "src/cuda/staging.hpp"

namespace pdeimg {
namespace cuda {
namespace {

constexpr std::size_t kBins = 1u << 16;

/// The key of rank k (0-based) among the accepted keys, and how many accepted keys are smaller.
struct Rank {
  std::uint32_t value = 0;
  std::size_t less = 0;
};

class Selector {
 public:
  Selector(Context& ctx, std::size_t n) : ctx_(ctx), n_(n), hist_(kBins) {
    d_hist_ = static_cast<int*>(ctx.impl().device_scratch(10, sizeof(int) * kBins));
    d_count_ = static_cast<int*>(ctx.impl().device_scratch(11, sizeof(int) * 2));
  }

  /// Rank selection by radix among the elements `args` accepts (keys, gate, cut, last_equal).
  Rank select(RadixBinArgs args, std::size_t k) {
    Rank r;
    for (int pass = 0; pass < 2; ++pass) {
      args.pass = pass;
      args.hi = r.value >> 16;
      void* t = temp(radix_histogram(args, n_, d_hist_, nullptr, 0, s()));
      radix_histogram(args, n_, d_hist_, t, temp_bytes_, s());
      read(d_hist_, hist_.data(), sizeof(int) * kBins);
      std::size_t below = 0, b = 0;
      const std::size_t target = k - r.less;  // rank within this pass's candidates
      while (below + static_cast<std::size_t>(hist_[b]) <= target) below += hist_[b++];
      r.less += below;
      r.value = pass == 0 ? static_cast<std::uint32_t>(b) << 16
                          : (r.value | static_cast<std::uint32_t>(b));
    }
    return r;
  }

  /// The index of the `nth` (0-based, in pixel order) key equal to `value`.
  std::size_t nth_equal(const unsigned* keys, unsigned value, std::size_t nth, int* d_indices) {
    void* t = temp(select_equal_indices(keys, value, n_, d_indices, d_count_, nullptr, 0, s()));
    select_equal_indices(keys, value, n_, d_indices, d_count_, t, temp_bytes_, s());
    int index = 0;
    read(d_indices + nth, &index, sizeof index);
    return static_cast<std::size_t>(index);
  }

  /// The number of informative pixels (CUB's sum of the 0/1 flags).
  int count_valid(const int* d_valid) {
    void* t = temp(sum_ints(d_valid, d_count_ + 1, n_, nullptr, 0, s()));
    sum_ints(d_valid, d_count_ + 1, n_, t, temp_bytes_, s());
    int n = 0;
    read(d_count_ + 1, &n, sizeof n);
    return n;
  }

 private:
  void* s() const { return ctx_.stream(); }
  /// CUB's temporary storage, at least `bytes` (slot 8; grows in stream order).
  void* temp(std::size_t bytes) {
    temp_bytes_ = std::max<std::size_t>({temp_bytes_, bytes, 1});
    return ctx_.impl().device_scratch(8, temp_bytes_);
  }
  void read(const void* d, void* h, std::size_t bytes) {
    copy_2d(h, bytes, d, bytes, bytes, 1, CopyKind::kDeviceToHost, s(), true);
  }

  Context& ctx_;
  std::size_t n_;
  std::vector<int> hist_;
  int* d_hist_ = nullptr;
  int* d_count_ = nullptr;
  std::size_t temp_bytes_ = 0;
};

}  // namespace

void estimate_noise(const ImageView& image, int channels, double* sigma, long long* samples,
                    Context& ctx) {
  for (int c = 0; c < channels; ++c) sigma[c] = 0.0;
  *samples = 0;
  const int w = image.width, h = image.height;
  if (w < 3 || h < 3) return;
  const std::size_t n = static_cast<std::size_t>(w - 2) * (h - 2);
  detail::Planes p = scratch_planes(ctx, 2, w, h, channels);
  launch_load_planes(stage_input(image, ctx), p, ctx.stream());
  float* grad = scratch_floats(ctx, 6, n);
  float* hp = scratch_floats(ctx, 7, n);
  int* indices = static_cast<int*>(ctx.impl().device_scratch(9, sizeof(int) * n));
  int* valid = indices;  // the flags are summed before the indices are written
  Selector sel(ctx, n);
  // Non-negative floats order like their bit patterns; flat neighbourhoods have the key +inf,
  // after every real gradient, and are never among the kept.
  const auto* gbits = reinterpret_cast<const unsigned*>(grad);
  const auto* hbits = reinterpret_cast<const unsigned*>(hp);
  long long used = 0;
  for (int c = 0; c < channels; ++c) {
    launch_noise_values(p, c, image.type, grad, hp, valid, ctx.stream());
    const int n_valid = sel.count_valid(valid);
    if (n_valid <= 0) continue;
    const std::size_t keep = detail::noise_keep_count(static_cast<std::size_t>(n_valid));
    used = std::max<long long>(used, static_cast<long long>(keep));
    RadixBinArgs g;
    g.keys = gbits;
    const Rank cut = sel.select(g, keep - 1);
    // The kept pixels: gradient below the cut, and the first keep - less of those equal to it.
    RadixBinArgs m;
    m.keys = hbits;
    m.gate = gbits;
    m.cut = cut.value;
    m.last_equal = sel.nth_equal(gbits, cut.value, keep - cut.less - 1, indices);
    const Rank median = sel.select(m, (keep - 1) / 2);  // the lower median of their high-passes
    float v;
    std::memcpy(&v, &median.value, sizeof v);
    sigma[c] = static_cast<double>(v) / detail::kMadScale;
  }
  *samples = used;
}

}  // namespace cuda
}  // namespace pdeimg
