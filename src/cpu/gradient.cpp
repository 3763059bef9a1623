// CPU backend of gradient(): rows of derivatives from a sliding three-row window, bands of rows
// on the context's workers.
#include <algorithm>
#include <cstdint>

#include "kernels/gradient.cuh"
#include "src/backend.hpp"
#include "src/context_impl.hpp"
#include "src/cpu/gradient_rows.hpp"
#include "src/cpu/row_io.hpp"
#include "src/cpu/thread_pool.hpp"

namespace pdeimg {
namespace cpu {
namespace {

/// Writes channel c of row y of an interleaved float view.
void store_channel(const ImageView& v, int y, int c, const float* row) {
  if (v.empty()) return;
  float* out = v.row<float>(y);
  const int nc = v.channels;
  for (int x = 0; x < v.width; ++x) out[static_cast<std::ptrdiff_t>(x) * nc + c] = row[x];
}

}  // namespace

void gradient(const ImageView& src, const GradientImages& out, const detail::GradientPlan& plan,
              Context& ctx) {
  auto& impl = ctx.impl();
  const int w = src.width, h = src.height, nc = src.channels, np = plan.channels;
  ThreadPool& workers = impl.workers();
  const int threads = workers.size();
  // Bands of rows, a few per worker (each restarts the three-row window: two extra rows), one for
  // a small image.
  const long long pixels = static_cast<long long>(w) * h * nc;
  const int bands = pixels < (1 << 16) ? 1 : std::max(1, std::min(h / 8, 4 * threads));
  // Per worker: the window, dx and dy of every channel, and the tensor rows.
  const std::size_t window = RowWindow<ViewLoader<float>>::window_floats(nc, w);
  const std::size_t per_worker = window + (2 * static_cast<std::size_t>(nc) + 5) * w;
  float* pool = impl.host_scratch(detail::kGradientHostSlot, per_worker * threads);

  dispatch_type(src.type, [&](auto tag) {
    using T = decltype(tag);
    workers.run(bands, [&](int band, int worker) {
      float* mem = pool + per_worker * worker;
      RowWindow<ViewLoader<T>> rows(ViewLoader<T>{src, nc}, nc, w, h, mem);
      float* gx = mem + window;  // gx of channel c at gx + 2 c w, gy at gx + (2 c + 1) w
      float* t = gx + 2 * static_cast<std::size_t>(nc) * w;
      float* txx = t;
      float* txy = t + w;
      float* tyy = t + 2 * static_cast<std::size_t>(w);
      float* mag = t + 3 * static_cast<std::size_t>(w);
      float* dir = t + 4 * static_cast<std::size_t>(w);
      const int y0 = static_cast<int>(static_cast<long long>(h) * band / bands);
      const int y1 = static_cast<int>(static_cast<long long>(h) * (band + 1) / bands);
      for (int y = y0; y < y1; ++y) {
        rows.advance_to(y);
        for (int c = 0; c < nc; ++c) {
          float* cx = gx + 2 * static_cast<std::size_t>(c) * w;
          float* cy = cx + w;
          derivative_row(plan.op, rows.up()[c], rows.mid()[c], rows.dn()[c], cx, cy, w,
                         plan.missing);
          store_channel(out.dx, y, c, cx);
          store_channel(out.dy, y, c, cy);
        }
        if (out.magnitude.empty() && out.direction.empty()) continue;
        if (np == 1) {
          gray_magnitude_row(gx, gx + w, mag, w, plan.scale);
          for (int x = 0; x < w; ++x) dir[x] = detail::gray_direction(gx[x], gx[w + x]);
        } else {
          for (int x = 0; x < w; ++x) txx[x] = txy[x] = tyy[x] = 0.0f;
          for (int c = 0; c < np; ++c) {
            const float* cx = gx + 2 * static_cast<std::size_t>(c) * w;
            const float* cy = cx + w;
            for (int x = 0; x < w; ++x) {
              detail::Tensor s{txx[x], txy[x], tyy[x]};
              detail::accumulate(&s, cx[x], cy[x]);
              txx[x] = s.xx;
              txy[x] = s.xy;
              tyy[x] = s.yy;
            }
          }
          for (int x = 0; x < w; ++x) {
            const detail::Tensor s{txx[x], txy[x], tyy[x]};
            const float m = detail::colour_edge(s, np).m;
            mag[x] = plan.scale == 1.0f ? m : detail::rn_mul(m, plan.scale);
            dir[x] = detail::colour_direction(s);
          }
        }
        store_channel(out.magnitude, y, 0, mag);
        store_channel(out.direction, y, 0, dir);
      }
    });
  });
}

}  // namespace cpu
}  // namespace pdeimg
