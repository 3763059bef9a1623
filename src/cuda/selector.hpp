// Rank selection by radix on the device (kernels/radix_select.cuh): CUB histograms on ctx's
// stream, each read back to walk its bins on the host. Device scratch slots 8 (CUB's temporary
// storage), 10 (the histogram) and 11 (counts). Internal header of the CUDA backend.
#pragma once

#include <algorithm>
#include <cstddef>
#include <vector>

#include "kernels/radix_select.cuh"
#include "src/context_impl.hpp"
#include "src/cuda/launch.hpp"
#include "src/cuda/runtime.hpp"

namespace pdeimg {
namespace cuda {

class DeviceSelector {
 public:
  DeviceSelector(Context& ctx, std::size_t n) : ctx_(ctx), n_(n) {
    d_hist_ = static_cast<int*>(ctx.impl().device_scratch(10, sizeof(int) * detail::kRadixBins));
    d_count_ = static_cast<int*>(ctx.impl().device_scratch(11, sizeof(int) * 2));
  }

  /// The key of rank k among the elements `args` accepts; after_count: count_below just counted
  /// the same args, and its histogram serves as the first pass.
  detail::RadixRank select(const RadixBinArgs& args, std::size_t k, bool after_count = false) {
    return detail::radix_select(args, k, hist_, Histogram{this}, after_count);
  }

  /// How many accepted keys have high 16 bits below hi16 (radix_count_below).
  std::size_t count_below(const RadixBinArgs& args, unsigned hi16) {
    return detail::radix_count_below(args, hi16, hist_, Histogram{this});
  }

  /// The index of the `nth` (0-based, in index order) key equal to `value`.
  std::size_t nth_equal(const unsigned* keys, unsigned value, std::size_t nth, int* d_indices) {
    void* t = temp(select_equal_indices(keys, value, n_, d_indices, d_count_, nullptr, 0, s()));
    select_equal_indices(keys, value, n_, d_indices, d_count_, t, temp_bytes_, s());
    int index = 0;
    read(d_indices + nth, &index, sizeof index);
    return static_cast<std::size_t>(index);
  }

  /// The sum of n_ 0/1 flags (CUB).
  int count_valid(const int* d_valid) {
    void* t = temp(sum_ints(d_valid, d_count_ + 1, n_, nullptr, 0, s()));
    sum_ints(d_valid, d_count_ + 1, n_, t, temp_bytes_, s());
    int n = 0;
    read(d_count_ + 1, &n, sizeof n);
    return n;
  }

 private:
  /// One pass: the device histogram, read back into hist.
  struct Histogram {
    DeviceSelector* self;
    void operator()(const RadixBinArgs& args, int* hist) const {
      void* t = self->temp(radix_histogram(args, self->n_, self->d_hist_, nullptr, 0, self->s()));
      radix_histogram(args, self->n_, self->d_hist_, t, self->temp_bytes_, self->s());
      self->read(self->d_hist_, hist, sizeof(int) * detail::kRadixBins);
    }
  };
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

}  // namespace cuda
}  // namespace pdeimg
