// Row loaders and stores for the CPU pipelines: move one row segment between an interleaved
// typed image (or a float plane set) and per-channel float rows. Internal header.
#pragma once

#include <cstdint>
#include <cstring>
#include <type_traits>

#include "kernels/common.cuh"
#include "pdeimg/image.hpp"

namespace pdeimg {
namespace cpu {

class ThreadPool;

using detail::Planes;

/// Reads columns [xa, xb) of row y, channels [0, n), from an interleaved typed view.
// Loaders and stores may also expose rows in place (direct_row returns non-null): a single-channel
// float view or a float plane needs no conversion, so the pipeline reads and writes it directly
// instead of copying through its ring buffers.

template <typename T>
struct ViewLoader {
  ImageView view;
  int n;  // channels to load (the first n)
  const float* direct_row(int y, int c) const {
    if constexpr (std::is_same_v<T, float>) {
      if (view.channels == 1 && c == 0) return view.row<const float>(y);
    }
    (void)y, (void)c;
    return nullptr;
  }
  void operator()(int y, int xa, int xb, float* const* out) const {
    const T* in = view.row<const T>(y);
    const int c_all = view.channels;
    if (c_all == 1) {
      float* o = out[0];
      for (int x = xa; x < xb; ++x) o[x - xa] = detail::SampleTraits<T>::to_float(in[x]);
      return;
    }
    for (int c = 0; c < n; ++c) {
      float* o = out[c];
      for (int x = xa; x < xb; ++x) {
        o[x - xa] =
            detail::SampleTraits<T>::to_float(in[static_cast<std::ptrdiff_t>(x) * c_all + c]);
      }
    }
  }
};

/// Writes columns [xa, xb) of row y, channels [0, n), into an interleaved typed view
/// (rounded and saturated for integer types). Other channels are left untouched.
template <typename T>
struct ViewStore {
  ImageView view;
  int n;
  float* direct_row(int y, int c) const {
    if constexpr (std::is_same_v<T, float>) {
      if (view.channels == 1 && c == 0) return view.row<float>(y);
    }
    (void)y, (void)c;
    return nullptr;
  }
  void operator()(int y, int xa, int xb, const float* const* in) const {
    T* out = view.row<T>(y);
    const int c_all = view.channels;
    if (c_all == 1) {
      const float* i0 = in[0];
      for (int x = xa; x < xb; ++x) out[x] = detail::SampleTraits<T>::from_float(i0[x - xa]);
      return;
    }
    for (int c = 0; c < n; ++c) {
      const float* ic = in[c];
      for (int x = xa; x < xb; ++x) {
        out[static_cast<std::ptrdiff_t>(x) * c_all + c] =
            detail::SampleTraits<T>::from_float(ic[x - xa]);
      }
    }
  }
};

struct PlaneLoader {
  Planes planes;
  const float* direct_row(int y, int c) const { return planes.row(c, y); }
  void operator()(int y, int xa, int xb, float* const* out) const {
    for (int c = 0; c < planes.count; ++c) {
      std::memcpy(out[c], planes.row(c, y) + xa, sizeof(float) * static_cast<std::size_t>(xb - xa));
    }
  }
};

struct PlaneStore {
  Planes planes;
  float* direct_row(int y, int c) const { return planes.row(c, y); }
  void operator()(int y, int xa, int xb, const float* const* in) const {
    for (int c = 0; c < planes.count; ++c) {
      std::memcpy(planes.row(c, y) + xa, in[c], sizeof(float) * static_cast<std::size_t>(xb - xa));
    }
  }
};

using detail::dispatch_type;

/// dst's channel `channel` = src's channel `channel`, converted between the views' types
/// (value-preserving, saturated), for all pixels. Used to pass alpha through unchanged.
void copy_channel(const ImageView& src, const ImageView& dst, int channel, ThreadPool& pool);

}  // namespace cpu
}  // namespace pdeimg
