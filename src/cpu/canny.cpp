// CPU backend of Canny's primitives: one streaming pass for gradient, non-maximum suppression and
// the double threshold; quantile thresholds; and exact hysteresis by flood fill.
//
// The candidate pass keeps, per worker, a three-row window of the input, three rows of magnitudes
// and of directions, and labels row y as soon as the magnitudes of rows y-1..y+1 exist: the input
// is read once and the labels written once, with no magnitude image in memory (one halo row of
// gradients is recomputed at each band edge).
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "kernels/gradient.cuh"
#include "src/backend.hpp"
#include "src/context_impl.hpp"
#include "src/cpu/gradient_rows.hpp"
#include "src/cpu/row_io.hpp"
#include "src/cpu/thread_pool.hpp"

namespace pdeimg {
namespace cpu {
namespace {

/// Floats of per-worker memory the candidate pass needs.
std::size_t candidate_floats(int nc, int w) {
  const std::size_t padded = static_cast<std::size_t>(w) + 2;
  return RowWindow<PlaneLoader>::window_floats(nc, w) + 3 * padded  // window, magnitudes
         + 6 * static_cast<std::size_t>(w)                          // ex, ey
         + edge_row_scratch(w);
}

/// Labels rows [y0, y1) of `labels`; see canny_candidates.
template <class Load>
void candidate_band(const Load& load, int nc, int w, int h, int y0, int y1, const ImageView& mask,
                    const ImageView& labels, const ImageView& magnitude, float low, float high,
                    const detail::GradientPlan& plan, float* mem) {
  RowWindow<Load> rows(load, nc, w, h, mem);
  const std::size_t padded = static_cast<std::size_t>(w) + 2;
  float* mag_mem = mem + RowWindow<Load>::window_floats(nc, w);
  float* dir_mem = mag_mem + 3 * padded;
  float* scratch = dir_mem + 6 * static_cast<std::size_t>(w);
  auto mag_row = [&](int r) { return mag_mem + static_cast<std::size_t>(r % 3) * padded + 1; };
  auto ex_row = [&](int r) { return dir_mem + static_cast<std::size_t>(r % 3) * 2 * w; };
  auto ey_row = [&](int r) { return ex_row(r) + w; };

  // Labels row y once the magnitudes of rows y-1, y, y+1 (reflected) exist.
  auto label_row = [&](int y) {
    const float* up = mag_row(y > 0 ? y - 1 : 0);
    const float* mid = mag_row(y);
    const float* dn = mag_row(y + 1 < h ? y + 1 : h - 1);
    const float* ex = ex_row(y);
    const float* ey = ey_row(y);
    const std::uint8_t* in_mask = mask.empty() ? nullptr : mask.row<const std::uint8_t>(y);
    candidate_row(up, mid, dn, ex, ey, in_mask, labels.row<std::uint8_t>(y), w, y > 0, low, high);
  };

  const int r0 = y0 > 0 ? y0 - 1 : 0;
  const int r1 = y1 < h ? y1 : h - 1;
  for (int r = r0; r <= r1; ++r) {
    rows.advance_to(r);
    float* m = mag_row(r);
    edge_row(plan.op, rows.up(), rows.mid(), rows.dn(), nc, w, plan.scale, m, ex_row(r), ey_row(r),
             scratch, plan.missing);
    if (!magnitude.empty() && r >= y0 && r < y1) {
      std::memcpy(magnitude.row<float>(r), m, sizeof(float) * static_cast<std::size_t>(w));
    }
    if (plan.missing) {
      for (int x = 0; x < w; ++x) m[x] = detail::nms_magnitude(m[x]);
    }
    pad_row(m, w);
    if (r - 1 >= y0 && r - 1 < y1) label_row(r - 1);
    if (r == h - 1 && r >= y0 && r < y1) label_row(r);  // the last row is its own lower neighbour
  }
}

/// Pixel coordinates for the flood fill's stack.
struct Pixel {
  int x;
  int y;
};

}  // namespace

void canny_candidates(const ImageView& src, const ImageView& mask,
                      const detail::CannyThresholds& thresholds, const detail::GradientPlan& plan,
                      const ImageView& labels, const ImageView& magnitude, Context& ctx) {
  auto& impl = ctx.impl();
  const int w = src.width, h = src.height, nc = plan.channels;
  ThreadPool& workers = impl.workers();
  const int threads = workers.size();
  // A few bands per worker balance the uneven cost of suppression; each costs two halo rows.
  const int bands = std::max(1, std::min(h / 16, 4 * threads));
  const std::size_t per_worker = candidate_floats(nc, w);
  float* pool = impl.host_scratch(detail::kGradientHostSlot, per_worker * threads);
  const float low = thresholds.low, high = thresholds.high;
  dispatch_type(src.type, [&](auto tag) {
    using T = decltype(tag);
    const ViewLoader<T> load{src, nc};
    workers.run(bands, [&](int b, int worker) {
      const int y0 = static_cast<int>(static_cast<long long>(h) * b / bands);
      const int y1 = static_cast<int>(static_cast<long long>(h) * (b + 1) / bands);
      candidate_band(load, nc, w, h, y0, y1, mask, labels, magnitude, low, high, plan,
                     pool + per_worker * worker);
    });
  });
}

detail::CannyThresholds canny_quantiles(const ImageView& magnitude, const ImageView& mask,
                                        double q_low, double q_high, Context& ctx) {
  auto& impl = ctx.impl();
  const int w = magnitude.width, h = magnitude.height;
  float* values = impl.host_scratch(detail::kQuantileHostSlot, static_cast<std::size_t>(w) * h);
  std::size_t n = 0;
  for (int y = 0; y < h; ++y) {
    const float* m = magnitude.row<const float>(y);
    const std::uint8_t* k = mask.empty() ? nullptr : mask.row<const std::uint8_t>(y);
    for (int x = 0; x < w; ++x) {
      if ((k == nullptr || k[x] != 0) && m[x] == m[x]) values[n++] = m[x];
    }
  }
  detail::CannyThresholds t;
  if (n == 0) {
    t.low = t.high = std::numeric_limits<float>::infinity();
    return t;
  }
  // Order statistics by selection; the interpolation is the shared one (kernels/gradient.cuh).
  auto quantile = [&](double q) {
    double frac = 0.0;
    const long long lo = detail::quantile_index(q, static_cast<long long>(n), &frac);
    std::nth_element(values, values + lo, values + n);
    const float v_lo = values[lo];
    const float v_hi =
        lo + 1 < static_cast<long long>(n) ? *std::min_element(values + lo + 1, values + n) : v_lo;
    return detail::quantile_value(v_lo, v_hi, frac);
  };
  t.low = quantile(q_low);
  t.high = quantile(q_high);
  return t;
}

void threshold_labels(const ImageView& values, const ImageView& labels, float low, float high,
                      Context& ctx) {
  parallel_rows(ctx.impl().workers(), values.height, static_cast<std::size_t>(values.width),
                [&](int y0, int y1, int) {
                  for (int y = y0; y < y1; ++y) {
                    const float* v = values.row<const float>(y);
                    std::uint8_t* out = labels.row<std::uint8_t>(y);
                    for (int x = 0; x < values.width; ++x) {
                      out[x] = detail::threshold_label(v[x], low, high);
                    }
                  }
                });
}

// Exact hysteresis: every strong pixel seeds a flood fill through 8-connected candidates, so a
// candidate ends as an edge if and only if a path of candidates joins it to a strong pixel.
// Workers fill within their own band of rows; a filled pixel on a band's first or last row is
// queued, and after the parallel phase one thread continues the fill from those pixels across
// band borders. Marking is idempotent, so the result is the same for any band split.
namespace {

bool is_candidate(std::uint8_t v) {
  return static_cast<unsigned>(v) - 1u < 2u;
}  // kWeak, kStrong

/// Fills from the pixels on `stack` through candidates in rows [y0, y1); pixels on the band's
/// outer rows (other than the image's) are appended to `crossing`.
void fill_band(const ImageView& labels, int y0, int y1, std::vector<Pixel>& stack,
               std::vector<Pixel>& crossing) {
  const int w = labels.width, h = labels.height;
  const std::ptrdiff_t pitch = static_cast<std::ptrdiff_t>(labels.pitch);
  auto* base = static_cast<std::uint8_t*>(labels.data);
  while (!stack.empty()) {
    const Pixel p = stack.back();
    stack.pop_back();
    std::uint8_t* c = base + p.y * pitch + p.x;
    if (p.x > 0 && p.x + 1 < w && p.y > y0 && p.y + 1 < y1) {  // all 8 neighbours in the band
      const std::ptrdiff_t offsets[8] = {-pitch - 1, -pitch,    -pitch + 1, -1,
                                         1,          pitch - 1, pitch,      pitch + 1};
      const int dx[8] = {-1, 0, 1, -1, 1, -1, 0, 1};
      const int dy[8] = {-1, -1, -1, 0, 0, 1, 1, 1};
      for (int k = 0; k < 8; ++k) {
        std::uint8_t& v = c[offsets[k]];
        if (is_candidate(v)) {
          v = detail::kEdge;
          stack.push_back({p.x + dx[k], p.y + dy[k]});
        }
      }
      continue;
    }
    if ((p.y == y0 && y0 > 0) || (p.y == y1 - 1 && y1 < h)) crossing.push_back(p);
    const int ya = std::max(y0, p.y - 1), yb = std::min(y1 - 1, p.y + 1);
    const int xa = std::max(0, p.x - 1), xb = std::min(w - 1, p.x + 1);
    for (int ny = ya; ny <= yb; ++ny) {
      std::uint8_t* row = base + ny * pitch;
      for (int nx = xa; nx <= xb; ++nx) {
        if (is_candidate(row[nx])) {
          row[nx] = detail::kEdge;
          stack.push_back({nx, ny});
        }
      }
    }
  }
}

}  // namespace

void hysteresis(const ImageView& labels, Context& ctx) {
  const int w = labels.width, h = labels.height;
  ThreadPool& workers = ctx.impl().workers();
  // Small images in one band (waking threads costs more than it saves), else a few per worker.
  const long long pixels = static_cast<long long>(w) * h;
  const int bands = pixels < (1 << 16) ? 1 : std::max(1, std::min(h, 4 * workers.size()));
  std::vector<std::vector<Pixel>> crossing(bands);
  workers.run(bands, [&](int b, int) {
    const int y0 = static_cast<int>(static_cast<long long>(h) * b / bands);
    const int y1 = static_cast<int>(static_cast<long long>(h) * (b + 1) / bands);
    std::vector<Pixel> stack;
    for (int y = y0; y < y1; ++y) {
      std::uint8_t* row = labels.row<std::uint8_t>(y);
      // memchr (SIMD in every libc) jumps from one strong pixel to the next.
      for (auto* p = static_cast<std::uint8_t*>(std::memchr(row, detail::kStrong, w)); p != nullptr;
           p = static_cast<std::uint8_t*>(std::memchr(p + 1, detail::kStrong, row + w - (p + 1)))) {
        *p = detail::kEdge;
        stack.push_back({static_cast<int>(p - row), y});
        fill_band(labels, y0, y1, stack, crossing[b]);
      }
    }
  });

  // Across band borders, on one thread.
  std::vector<Pixel> stack;
  for (const std::vector<Pixel>& list : crossing)
    stack.insert(stack.end(), list.begin(), list.end());
  while (!stack.empty()) {
    const Pixel p = stack.back();
    stack.pop_back();
    const int ya = std::max(0, p.y - 1), yb = std::min(h - 1, p.y + 1);
    const int xa = std::max(0, p.x - 1), xb = std::min(w - 1, p.x + 1);
    for (int ny = ya; ny <= yb; ++ny) {
      for (int nx = xa; nx <= xb; ++nx) {
        std::uint8_t& v = labels.row<std::uint8_t>(ny)[nx];
        if (is_candidate(v)) {
          v = detail::kEdge;
          stack.push_back({nx, ny});
        }
      }
    }
  }

  // Candidates no fill reached are not edges.
  parallel_rows(workers, h, static_cast<std::size_t>(w), [&](int y0, int y1, int) {
    for (int y = y0; y < y1; ++y) {
      std::uint8_t* row = labels.row<std::uint8_t>(y);
      for (int x = 0; x < w; ++x) {
        row[x] = row[x] == detail::kEdge ? detail::kEdge : detail::kNotEdge;
      }
    }
  });
}

}  // namespace cpu
}  // namespace pdeimg
