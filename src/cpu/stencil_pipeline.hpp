// Temporal blocking for explicit 5-point schemes on the CPU. Internal header.
//
// S time steps are fused into one pass over memory: each worker streams a band of rows through
// S+1 small ring buffers (three rows per level, all channels), so level k computes row j as soon
// as level k-1 holds rows j-1, j, j+1. The input is read once and the output written once per S
// steps instead of once per step. Bands overlap by S rows (and tiles by S columns) of redundant
// work; every pixel of every level is computed with the same arithmetic from the same neighbours,
// so the result is bit-identical whatever S, band size or thread count.
#pragma once

#include <algorithm>
#include <cstddef>
#include <type_traits>
#include <vector>

#include "src/cpu/row_io.hpp"
#include "src/cpu/thread_pool.hpp"

namespace pdeimg {
namespace cpu {

constexpr int kMaxFusedSteps = 16;
/// Ring-buffer bytes per worker; sized to stay inside a 1 MiB L2 with room for streaming rows.
constexpr std::size_t kRingBudgetBytes = 512 * 1024;

/// How one pass is split: fused steps, tile width and band height.
struct PassShape {
  int fused = 1;
  int tile_w = 0;
  int band_h = 0;
  std::size_t ring_floats = 0;  // per worker
};

/// Chooses the pass shape for `steps` remaining steps on a width x height image of `channels`
/// processed channels with `threads` workers. `max_fused` caps the steps fused per pass.
PassShape choose_pass_shape(int width, int height, int channels, int steps, int threads,
                            int max_fused = kMaxFusedSteps);

/// Where a row operation is applied: the (0-based) step of the whole run that the level computes,
/// the image row and the first column. Row operations that vary from step to step (fast explicit
/// diffusion's step sizes) or read per-pixel data of their own (its diffusivities, fixed for a
/// cycle) take it as an eighth argument; the others are called without it.
struct RowAt {
  int step;
  int y;
  int x;
};

/// Calls op with or without the RowAt argument, whichever it takes.
template <class RowOp>
inline void apply_row_op(const RowOp& op, const float* const* up, const float* const* mid,
                         const float* const* dn, float* const* out, int n, bool left_edge,
                         bool right_edge, const RowAt& at) {
  if constexpr (std::is_invocable_v<const RowOp&, const float* const*, const float* const*,
                                    const float* const*, float* const*, int, bool, bool,
                                    const RowAt&>) {
    op(up, mid, dn, out, n, left_edge, right_edge, at);
  } else {
    (void)at;
    op(up, mid, dn, out, n, left_edge, right_edge);
  }
}

/// Runs `op.row(...)` S times over the band [y0, y1) x [x0, x1) of a width x height image,
/// reading level 0 through `load` and writing level S through `store`.
///
/// RowOp: void operator()(const float* const* up, const float* const* mid, const float* const* dn,
///                        float* const* out, int n, bool left_edge, bool right_edge) const;
/// where each pointer addresses the first computed column of a channel row, mid[c][-1] and
/// mid[c][n] are valid unless left_edge / right_edge (the image border) is set; so are up[c][-1],
/// up[c][n], dn[c][-1] and dn[c][n] (all three rows of a level span the same columns), which lets
/// 9-point stencils (Perona–Malik's 8-neighbour variant) fuse too. Level k of the band is step
/// `step0` + k - 1 of the whole run (RowAt::step).
template <class Load, class Store, class RowOp>
void fused_band(const Load& load, const Store& store, const RowOp& op, int width, int height,
                int channels, int steps, int y0, int y1, int x0, int x1, float* ring,
                int step0 = 0) {
  const int s = steps;
  const int base = x0 - s;  // global column held at ring index 0
  const std::ptrdiff_t slot_w = (x1 - x0) + 2 * s;
  auto slot = [&](int level, int row, int c) {
    return ring + ((static_cast<std::ptrdiff_t>(level) * 3 + row % 3) * channels + c) * slot_w;
  };
  constexpr int kMaxC = 4;
  float* out_rows[kMaxC];
  const float* up_rows[kMaxC];
  const float* mid_rows[kMaxC];
  const float* dn_rows[kMaxC];

  // Rows that need no conversion are used in place: level 0 is then never copied into the ring,
  // and level S is computed straight into the destination (always for plane-to-plane passes).
  const bool direct_in = s > 0 && load.direct_row(0, 0) != nullptr;
  const bool direct_out = s > 0 && store.direct_row(0, 0) != nullptr;
  const int t_begin = std::max(0, y0 - s);
  const int t_end = y1 + s;  // exclusive
  for (int t = t_begin; t < t_end; ++t) {
    for (int k = direct_in ? 1 : 0; k <= s; ++k) {
      const int j = t - k;
      const int lo = std::max(0, y0 - (s - k));
      const int hi = std::min(height, y1 + (s - k));
      if (j < lo || j >= hi) continue;
      const int xa = std::max(0, x0 - (s - k));
      const int xb = std::min(width, x1 + (s - k));
      const bool to_store = k == s && direct_out;
      for (int c = 0; c < channels; ++c) {
        out_rows[c] = to_store ? store.direct_row(j, c) + xa : slot(k, j, c) + (xa - base);
      }
      if (k == 0) {
        load(j, xa, xb, out_rows);
        if (s == 0) store(j, xa, xb, out_rows);  // a conversion-only pass
        continue;
      }
      const int ju = j > 0 ? j - 1 : 0;
      const int jd = j + 1 < height ? j + 1 : height - 1;
      for (int c = 0; c < channels; ++c) {
        if (k == 1 && direct_in) {
          up_rows[c] = load.direct_row(ju, c) + xa;
          mid_rows[c] = load.direct_row(j, c) + xa;
          dn_rows[c] = load.direct_row(jd, c) + xa;
        } else {
          up_rows[c] = slot(k - 1, ju, c) + (xa - base);
          mid_rows[c] = slot(k - 1, j, c) + (xa - base);
          dn_rows[c] = slot(k - 1, jd, c) + (xa - base);
        }
      }
      apply_row_op(op, up_rows, mid_rows, dn_rows, out_rows, xb - xa, xa == 0, xb == width,
                   RowAt{step0 + k - 1, j, xa});
      if (k == s && !direct_out) store(j, xa, xb, out_rows);
    }
  }
}

/// Runs one pass of `shape.fused` steps over the whole image on the pool's workers, each with its
/// own ring taken from `ring_pool` (pool.size() * shape.ring_floats floats). The pass computes
/// steps step0 .. step0 + shape.fused - 1 of the whole run.
template <class Load, class Store, class RowOp>
void fused_pass(const Load& load, const Store& store, const RowOp& op, int width, int height,
                int channels, const PassShape& shape, ThreadPool& pool, float* ring_pool,
                int step0 = 0) {
  const int tiles_x = (width + shape.tile_w - 1) / shape.tile_w;
  const int bands = (height + shape.band_h - 1) / shape.band_h;
  pool.run(tiles_x * bands, [&](int item, int worker) {
    // Copies the band loop owns: it writes bytes (8-bit stores), which may alias anything the
    // compiler cannot prove private, and would otherwise reload the views' fields through the
    // closure at every row (measured: 2048² RGB 8-bit, one step, one thread 21.7 -> 16.8 ms).
    const Load own_load = load;
    const Store own_store = store;
    const RowOp own_op = op;
    const int bx = item % tiles_x;
    const int by = item / tiles_x;
    const int x0 = bx * shape.tile_w;
    const int x1 = std::min(width, x0 + shape.tile_w);
    const int y0 = by * shape.band_h;
    const int y1 = std::min(height, y0 + shape.band_h);
    fused_band(own_load, own_store, own_op, width, height, channels, shape.fused, y0, y1, x0, x1,
               ring_pool + static_cast<std::ptrdiff_t>(worker) * shape.ring_floats, step0);
  });
}

}  // namespace cpu
}  // namespace pdeimg
