// Row kernels of the CPU gradient and Canny passes: derivatives and edge elements of whole rows,
// calling the per-pixel functions of kernels/gradient.cuh. Internal header.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/gradient.cuh"
#include "src/cpu/row_io.hpp"

namespace pdeimg {
namespace cpu {

/// Sets the reflected samples row[-1] = row[0] and row[w] = row[w - 1] of a padded row.
inline void pad_row(float* row, int w) {
  row[-1] = row[0];
  row[w] = row[w - 1];
}

/// d/dx and d/dy of one channel for x in [0, w): up, mid, dn are the padded rows y-1, y, y+1
/// (reflected at the image's top and bottom). `missing`: non-finite samples are missing data
/// (detail::ghost3x3; NaN derivatives at a missing pixel).
void derivative_row(GradientOperator op, const float* up, const float* mid, const float* dn,
                    float* gx, float* gy, int w, bool missing = false);

/// m[x] = scale sqrt(gx² + gy²).
void gray_magnitude_row(const float* gx, const float* gy, float* m, int w, float scale);

/// Work rows edge_row needs per thread: 5 rows of w floats.
inline std::size_t edge_row_scratch(int w) {
  return 5 * static_cast<std::size_t>(w);
}

/// The edge elements of row y: magnitude (times `scale`) and a direction across the edge, from
/// the padded channel rows up[c], mid[c], dn[c] (c < nc) of rows y-1, y, y+1. One channel: the
/// gradient (ex, ey) = (gx, gy); several: the vector gradient of the averaged colour structure
/// tensor (detail::colour_edge).
void edge_row(GradientOperator op, const float* const* up, const float* const* mid,
              const float* const* dn, int nc, int w, float scale, float* m, float* ex, float* ey,
              float* scratch, bool missing = false);

/// Canny's labels of one row (detail::candidate_label): `up`, `mid`, `dn` are the padded
/// magnitude rows y-1, y, y+1, (ex, ey) the directions of row y, `mask` null or row y of the mask.
void candidate_row(const float* up, const float* mid, const float* dn, const float* ex,
                   const float* ey, const std::uint8_t* mask, std::uint8_t* out, int w,
                   bool has_top, float low, float high);

/// Three padded float rows per channel sliding down an image: after advance_to(y), up(), mid()
/// and dn() address rows y-1, y, y+1 (reflected at the top and bottom), each with the reflected
/// samples [-1] and [w]. Rows are loaded once each through `load` (a ViewLoader or PlaneLoader)
/// as long as y only grows. Needs window_floats(nc, w) floats of memory.
template <class Load>
class RowWindow {
 public:
  static std::size_t window_floats(int nc, int w) {
    return 3 * static_cast<std::size_t>(nc) * (static_cast<std::size_t>(w) + 2);
  }
  RowWindow(const Load& load, int nc, int w, int h, float* mem)
      : load_(load), nc_(nc), w_(w), h_(h), mem_(mem) {}

  void advance_to(int y) {
    const int first = y > 0 ? y - 1 : 0;
    const int last = y + 1 < h_ ? y + 1 : h_ - 1;
    for (int r = loaded_ > first - 1 ? loaded_ + 1 : first; r <= last; ++r) {
      float* rows[4] = {};
      for (int c = 0; c < nc_; ++c) rows[c] = slot(r, c);
      load_(r, 0, w_, rows);
      for (int c = 0; c < nc_; ++c) pad_row(rows[c], w_);
      loaded_ = r;
    }
    for (int c = 0; c < nc_; ++c) {
      up_[c] = slot(first, c);
      mid_[c] = slot(y, c);
      dn_[c] = slot(last, c);
    }
  }
  const float* const* up() const { return up_; }
  const float* const* mid() const { return mid_; }
  const float* const* dn() const { return dn_; }

 private:
  float* slot(int row, int c) const {
    return mem_ +
           (static_cast<std::size_t>(row % 3) * nc_ + c) * (static_cast<std::size_t>(w_) + 2) + 1;
  }
  Load load_;
  int nc_, w_, h_;
  float* mem_;
  int loaded_ = -1;  // highest row loaded so far
  const float* up_[4] = {};
  const float* mid_[4] = {};
  const float* dn_[4] = {};
};

}  // namespace cpu
}  // namespace pdeimg
