#include "src/cpu/stencil_pipeline.hpp"

namespace pdeimg {
namespace cpu {

PassShape choose_pass_shape(int width, int height, int channels, int steps, int threads,
                            int max_fused) {
  PassShape shape;
  const std::size_t level_floats_per_col = 3 * static_cast<std::size_t>(channels);
  const std::size_t budget_floats = kRingBudgetBytes / sizeof(float);
  int want = std::max(1, std::min({steps, max_fused, kMaxFusedSteps}));
  // Whole rows when they fit with the wanted fusion depth, else column tiles (min 256 wide).
  int tile_w = width;
  auto ring_floats = [&](int tw, int s) {
    return static_cast<std::size_t>(s + 1) * level_floats_per_col * (tw + 2 * s);
  };
  if (ring_floats(tile_w, want) > budget_floats) {
    const long fit =
        static_cast<long>(budget_floats / ((want + 1) * level_floats_per_col)) - 2 * want;
    tile_w = static_cast<int>(std::max<long>(256, fit));
    tile_w = std::min(tile_w, width);
  }
  while (want > 1 && ring_floats(tile_w, want) > budget_floats) --want;
  shape.fused = want;
  shape.tile_w = tile_w;
  // Enough bands for load balance (4 per worker), but tall enough that the overlap of S rows
  // per band side stays a small fraction of the work.
  const int tiles_x = (width + tile_w - 1) / tile_w;
  const int want_items = 4 * std::max(1, threads);
  const int want_bands = std::max(1, want_items / tiles_x);
  shape.band_h = std::max({(height + want_bands - 1) / want_bands, 8 * want, 16});
  shape.band_h = std::min(shape.band_h, std::max(1, height));
  shape.ring_floats = ring_floats(tile_w, want);
  return shape;
}

}  // namespace cpu
}  // namespace pdeimg
