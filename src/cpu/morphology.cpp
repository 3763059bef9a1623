// CPU backend of morphology and the shock filter: the upwind steps of kernels/morphology.cuh in
// the temporally blocked pipeline (fused_steps.hpp), the exact flat max over an element given by
// its row half widths (flat_max), and two row loops for the compositions.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>
#include <utility>
#include <vector>

#include "kernels/morphology.cuh"
#include "src/context_impl.hpp"
#include "src/cpu/fused_steps.hpp"
#include "src/cpu/thread_pool.hpp"
#include "src/morphology_backend.hpp"
#include "src/work_image.hpp"

namespace pdeimg {
namespace cpu {
namespace {

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__ELF__)
#define PDEIMG_MORPH_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#define PDEIMG_MORPH_INLINE inline __attribute__((always_inline))
#else
#define PDEIMG_MORPH_CLONES
#define PDEIMG_MORPH_INLINE inline
#endif

// A 3x3 stencil over a row segment: f(nw, n, ne, w, c, e, sw, s, se). The first and last pixels
// read their reflected neighbours at the image border; the loop between them is uniform, so it
// vectorises (the update is made of selects, subtractions, products and one square root).
template <class F>
PDEIMG_MORPH_INLINE void stencil_row(const float* __restrict up, const float* __restrict mid,
                                     const float* __restrict dn, float* __restrict out, int n,
                                     bool left_edge, bool right_edge, const F& f) {
  auto edge = [&](int i) {
    const int l = i == 0 && left_edge ? i : i - 1;
    const int r = i == n - 1 && right_edge ? i : i + 1;
    out[i] = f(up[l], up[i], up[r], mid[l], mid[i], mid[r], dn[l], dn[i], dn[r]);
  };
  edge(0);
  if (n == 1) return;
  for (int i = 1; i < n - 1; ++i) {
    out[i] =
        f(up[i - 1], up[i], up[i + 1], mid[i - 1], mid[i], mid[i + 1], dn[i - 1], dn[i], dn[i + 1]);
  }
  edge(n - 1);
}

constexpr int kShockRowsSlot = 65;  // per-worker rows of shock_step

using RowFn = void (*)(const float*, const float*, const float*, float*, int, bool, bool, float);

// One clone set per (element, direction, unit step): function multi-versioning does not take
// templates, so each row function is spelled out by this macro around a stencil_row call.
#define PDEIMG_MORPH_ROW(name, expr)                                                             \
  PDEIMG_MORPH_CLONES void name(const float* __restrict up, const float* __restrict mid,         \
                                const float* __restrict dn, float* __restrict out, int n,        \
                                bool left_edge, bool right_edge, float dt) {                     \
    stencil_row(up, mid, dn, out, n, left_edge, right_edge,                                      \
                [dt](float nw, float nn, float ne, float w, float c, float e, float sw, float s, \
                     float se) {                                                                 \
                  (void)nw, (void)ne, (void)sw, (void)se, (void)dt;                              \
                  return expr;                                                                   \
                });                                                                              \
  }

PDEIMG_MORPH_ROW(disc_dilate_row, detail::disc_update<false>(c, nn, s, w, e, dt))
PDEIMG_MORPH_ROW(disc_erode_row, detail::disc_update<true>(c, nn, s, w, e, dt))
PDEIMG_MORPH_ROW(diamond_dilate_row, (detail::diamond_update<false, false>(c, nn, s, w, e, dt)))
PDEIMG_MORPH_ROW(diamond_erode_row, (detail::diamond_update<true, false>(c, nn, s, w, e, dt)))
PDEIMG_MORPH_ROW(diamond_dilate_unit_row, (detail::diamond_update<false, true>(c, nn, s, w, e, dt)))
PDEIMG_MORPH_ROW(diamond_erode_unit_row, (detail::diamond_update<true, true>(c, nn, s, w, e, dt)))
PDEIMG_MORPH_ROW(square_dilate_row,
                 (detail::square_update<false, false>(nw, nn, ne, w, c, e, sw, s, se, dt)))
PDEIMG_MORPH_ROW(square_erode_row,
                 (detail::square_update<true, false>(nw, nn, ne, w, c, e, sw, s, se, dt)))
PDEIMG_MORPH_ROW(square_dilate_unit_row,
                 (detail::square_update<false, true>(nw, nn, ne, w, c, e, sw, s, se, dt)))
PDEIMG_MORPH_ROW(square_erode_unit_row,
                 (detail::square_update<true, true>(nw, nn, ne, w, c, e, sw, s, se, dt)))

RowFn row_function(const detail::MorphPlan& plan) {
  switch (plan.shape) {
    case StructuringElement::kDiamond:
      if (plan.unit) return plan.erode ? diamond_erode_unit_row : diamond_dilate_unit_row;
      return plan.erode ? diamond_erode_row : diamond_dilate_row;
    case StructuringElement::kSquare:
      if (plan.unit) return plan.erode ? square_erode_unit_row : square_dilate_unit_row;
      return plan.erode ? square_erode_row : square_dilate_row;
    default:
      return plan.erode ? disc_erode_row : disc_dilate_row;
  }
}

struct MorphRowOp {
  int channels;
  float dt;
  RowFn row;
  void operator()(const float* const* up, const float* const* mid, const float* const* dn,
                  float* const* out, int n, bool left_edge, bool right_edge) const {
    for (int c = 0; c < channels; ++c)
      row(up[c], mid[c], dn[c], out[c], n, left_edge, right_edge, dt);
  }
};

PDEIMG_MORPH_CLONES void shock_row(const float* __restrict up, const float* __restrict mid,
                                   const float* __restrict dn, const float* __restrict sup,
                                   const float* __restrict smid, const float* __restrict sdn,
                                   float* __restrict out, int n, float dt) {
  // Interleaved rows are handled by the caller one channel at a time through planes of stride 1.
  for (int i = 0; i < n; ++i) {
    const int l = i > 0 ? i - 1 : 0;
    const int r = i + 1 < n ? i + 1 : n - 1;
    const float lap = detail::laplacian5(smid[i], sup[i], sdn[i], smid[l], smid[r]);
    out[i] = detail::shock_update(mid[i], up[i], dn[i], mid[l], mid[r], lap, dt);
  }
}

// --- The exact flat max (min) ---------------------------------------------------------------
//
// D u(x, y) = max over rows j in [-R, R] of the row max of u(x - w_j .. x + w_j, y + j), w_j the
// element's half width at |j|. Each input row is widened one pixel at a time (w -> w + 1: the max
// of three neighbours, rows padded with the identity), and at each width w_j it is folded into the
// accumulators of the output rows y - j that take it; an output row is written once the input
// row R below it has been folded. O(R) SIMD max per pixel (about 2R + 1 widenings and folds),
// in the input's own type; the working set is 2R + 3 rows.

template <class T, bool kErode>
PDEIMG_MORPH_INLINE T flat_extreme(T a, T b) {
  return kErode ? (a < b ? a : b) : (a > b ? a : b);
}

template <class T, bool kErode>
PDEIMG_MORPH_INLINE void widen_t(const T* __restrict in, T* __restrict out, int n) {
  for (int x = 0; x < n; ++x) {
    out[x] = flat_extreme<T, kErode>(flat_extreme<T, kErode>(in[x - 1], in[x]), in[x + 1]);
  }
}

template <class T, bool kErode>
PDEIMG_MORPH_INLINE void pair_t(const T* __restrict a, const T* __restrict b, T* __restrict out,
                                int n) {
  for (int x = 0; x < n; ++x) out[x] = flat_extreme<T, kErode>(a[x], b[x]);
}

template <class T, bool kErode>
PDEIMG_MORPH_INLINE void fold_t(const T* __restrict in, T* __restrict acc, int n) {
  for (int x = 0; x < n; ++x) acc[x] = flat_extreme<T, kErode>(acc[x], in[x]);
}

// widen: out[x] = extreme of in[x-1..x+1]; pair: out = extreme(a, b); fold: acc = extreme(acc, in).
#define PDEIMG_FLAT_FNS(T, tag, name, kErode)                                                      \
  PDEIMG_MORPH_CLONES void widen_##name##_##tag(const T* __restrict in, T* __restrict out,         \
                                                int n) {                                           \
    widen_t<T, kErode>(in, out, n);                                                                \
  }                                                                                                \
  PDEIMG_MORPH_CLONES void pair_##name##_##tag(const T* __restrict a, const T* __restrict b,       \
                                               T* __restrict out, int n) {                         \
    pair_t<T, kErode>(a, b, out, n);                                                               \
  }                                                                                                \
  PDEIMG_MORPH_CLONES void fold_##name##_##tag(const T* __restrict in, T* __restrict acc, int n) { \
    fold_t<T, kErode>(in, acc, n);                                                                 \
  }

PDEIMG_FLAT_FNS(std::uint8_t, u8, max, false)
PDEIMG_FLAT_FNS(std::uint8_t, u8, min, true)
PDEIMG_FLAT_FNS(std::uint16_t, u16, max, false)
PDEIMG_FLAT_FNS(std::uint16_t, u16, min, true)
PDEIMG_FLAT_FNS(float, f32, max, false)
PDEIMG_FLAT_FNS(float, f32, min, true)

template <class T>
struct FlatFns {
  void (*widen)(const T*, T*, int);
  void (*pair)(const T*, const T*, T*, int);
  void (*fold)(const T*, T*, int);
  T identity;  // never wins: the lowest value for a max, the highest for a min
};

template <class T>
T flat_identity(bool erode) {
  if (std::numeric_limits<T>::has_infinity) {
    return erode ? std::numeric_limits<T>::infinity() : -std::numeric_limits<T>::infinity();
  }
  return erode ? std::numeric_limits<T>::max() : std::numeric_limits<T>::lowest();
}

#define PDEIMG_FLAT_SELECT(T, tag)                                                               \
  FlatFns<T> flat_fns(bool erode, T) {                                                           \
    if (erode) return {widen_min_##tag, pair_min_##tag, fold_min_##tag, flat_identity<T>(true)}; \
    return {widen_max_##tag, pair_max_##tag, fold_max_##tag, flat_identity<T>(false)};           \
  }
PDEIMG_FLAT_SELECT(std::uint8_t, u8)
PDEIMG_FLAT_SELECT(std::uint16_t, u16)
PDEIMG_FLAT_SELECT(float, f32)

/// Channel c of an interleaved row (ch channels) into a plain row.
template <class T>
void load_channel(const T* in, T* out, int w, int ch, int c) {
  if (ch == 1) {
    std::memcpy(out, in, sizeof(T) * w);
  } else {
    for (int x = 0; x < w; ++x) out[x] = in[x * ch + c];
  }
}

/// A plain row into channel c of an interleaved row of type Td (value-preserving conversion).
template <class T, class Td>
void store_channel(const T* in, Td* out, int w, int ch, int c) {
  if (std::is_same<T, Td>::value && ch == 1) {
    std::memcpy(out, in, sizeof(T) * w);
    return;
  }
  for (int x = 0; x < w; ++x) {
    out[x * ch + c] =
        std::is_same<T, Td>::value
            ? static_cast<Td>(in[x])
            : detail::SampleTraits<Td>::from_float(detail::SampleTraits<T>::to_float(in[x]));
  }
}

/// Bands of output rows for the flat maxima: each re-reads `reach` rows above and below it, so
/// two per worker for balance only while a band is at least 4 reach tall, and one per worker
/// otherwise; one in all for a small job.
int flat_bands(double cost, int h, int reach, int workers) {
  if (cost < 65536.0) return 1;
  const int tall = h / (4 * reach + 1);
  return std::max(1, std::min(h, std::max(workers, std::min(2 * workers, tall))));
}

/// Per-worker rows of `elems` elements of T each, allocated on the calling thread (before the
/// workers start): worker k's start is at(k), 64-byte aligned.
template <class T>
struct WorkerRows {
  float* all;
  std::size_t floats;  // per worker
  WorkerRows(Context& ctx, std::size_t elems)
      : floats((elems * sizeof(T) + 63) / sizeof(float) / 16 * 16 + 16) {
    auto& impl = ctx.impl();
    all = impl.host_scratch(detail::kMorphFlatRowsSlot, floats * impl.workers().size());
  }
  T* at(int worker) const { return reinterpret_cast<T*>(all + floats * worker); }
};

template <class T>
void flat_max(const ImageView& src, const ImageView& dst, const detail::MorphPlan& plan,
              Context& ctx) {
  const int w = src.width;
  const int h = src.height;
  const int ch = src.channels;
  const int nc = plan.channels;
  // Rows beyond h - 1 and widths beyond w - 1 reach outside the image from every pixel: clamped,
  // which bounds the work and the memory for any radius.
  const int reach = std::min(detail::flat_reach(plan.radius), h - 1);
  int wmax = 0;
  std::vector<int> half(reach + 1);
  for (int j = 0; j <= reach; ++j) {
    half[j] = std::min(detail::flat_half_width(plan.shape, plan.radius, j), w - 1);
    wmax = std::max(wmax, half[j]);
  }
  std::vector<std::vector<int>> rows_of_width(wmax + 1);  // the offsets j taking each width
  for (int j = -reach; j <= reach; ++j) rows_of_width[half[j < 0 ? -j : j]].push_back(j);
  const FlatFns<T> fns = flat_fns(plan.erode, T());
  const int ring = 2 * reach + 1;
  const std::size_t per_worker =
      2 * static_cast<std::size_t>(w + 2) + static_cast<std::size_t>(ring) * w;
  ThreadPool& pool = ctx.impl().workers();
  const WorkerRows<T> rows(ctx, per_worker);
  const double cost = static_cast<double>(w) * h * nc * (2.0 * reach + wmax + 1);
  const int bands = flat_bands(cost, h, reach, pool.size());

  detail::dispatch_type(dst.type, [&](auto dtag) {
    using Td = decltype(dtag);
    pool.run(bands, [&](int band, int worker) {
      const int y0 = static_cast<int>(static_cast<long long>(h) * band / bands);
      const int y1 = static_cast<int>(static_cast<long long>(h) * (band + 1) / bands);
      if (y0 >= y1) return;
      T* base = rows.at(worker);
      T* row_a = base + 1;
      T* row_b = base + (w + 2) + 1;
      T* acc = base + 2 * static_cast<std::size_t>(w + 2);
      for (int c = 0; c < nc; ++c) {
        row_a[-1] = row_a[w] = row_b[-1] = row_b[w] = fns.identity;
        std::fill(acc, acc + static_cast<std::size_t>(ring) * w, fns.identity);
        auto emit = [&](int y) {
          T* a = acc + static_cast<std::size_t>((y - y0) % ring) * w;
          store_channel(a, dst.row<Td>(y), w, ch, c);
          std::fill(a, a + w, fns.identity);
        };
        int next_emit = y0;
        const int first = std::max(0, y0 - reach);
        const int last = std::min(h - 1, y1 - 1 + reach);
        for (int yi = first; yi <= last; ++yi) {
          load_channel(src.row<const T>(yi), row_a, w, ch, c);
          T* cur = row_a;
          T* other = row_b;
          for (int width = 0; width <= wmax; ++width) {
            if (width == 1) {
              fns.widen(cur, other, w);
              std::swap(cur, other);
            } else if (width > 1) {  // [x-1-w, x-1+w] and [x+1-w, x+1+w] meet for w >= 1
              fns.pair(cur - 1, cur + 1, other, w);
              std::swap(cur, other);
            }
            for (int j : rows_of_width[width]) {
              const int y = yi - j;
              if (y >= y0 && y < y1)
                fns.fold(cur, acc + static_cast<std::size_t>((y - y0) % ring) * w, w);
            }
          }
          while (next_emit < y1 && next_emit + reach <= yi) emit(next_emit++);
        }
        while (next_emit < y1) emit(next_emit++);
      }
    });
  });
}

// The square, separably: per row the running max over [x - R, x + R] by doubling (M_k = max over
// 2^k samples from x, k = floor(log2(2R + 1)) doublings, then the max of M_k at x - R and at
// x + R - 2^k + 1), then down the columns van Herk / Gil–Werman: blocks of L = 2R + 1 rows, their
// suffix and prefix maxima, out(s) = max(suffix(s), prefix(s + L - 1)). About log2(2R + 1) + 4 max
// per pixel whatever R; the same set as the flat max, so the same values.
template <class T>
void flat_rect(const ImageView& src, const ImageView& dst, const detail::MorphPlan& plan,
               Context& ctx) {
  const int w = src.width;
  const int h = src.height;
  const int ch = src.channels;
  const int nc = plan.channels;
  const int rh = std::min(detail::flat_reach(plan.radius), w - 1);
  const int rv = std::min(detail::flat_reach(plan.radius), h - 1);
  const int len = 2 * rv + 1;  // L
  int pw = 1, doublings = 0;   // pw = 2^k <= 2 rh + 1
  while (2 * pw <= 2 * rh + 1) pw *= 2, ++doublings;
  const FlatFns<T> fns = flat_fns(plan.erode, T());
  const std::size_t W = static_cast<std::size_t>(w);
  const std::size_t padded = W + 2 * static_cast<std::size_t>(rh);
  // Two padded rows, L rows of the block, 2 L suffix rows, the prefix row.
  const std::size_t per_worker = 2 * padded + 3 * static_cast<std::size_t>(len) * W + W;
  ThreadPool& pool = ctx.impl().workers();
  const WorkerRows<T> rows(ctx, per_worker);
  const double cost = static_cast<double>(w) * h * nc * (doublings + 5);
  const int bands = flat_bands(cost, h, rv, pool.size());

  detail::dispatch_type(dst.type, [&](auto dtag) {
    using Td = decltype(dtag);
    pool.run(bands, [&](int band, int worker) {
      const int y0 = static_cast<int>(static_cast<long long>(h) * band / bands);
      const int y1 = static_cast<int>(static_cast<long long>(h) * (band + 1) / bands);
      if (y0 >= y1) return;
      T* base = rows.at(worker);
      T* pad_a = base + rh;  // element 0 of the image row; rh identities on each side
      T* pad_b = base + padded + rh;
      T* block = base + 2 * padded;
      T* suffix[2] = {block + len * W, block + 2 * len * W};
      T* prefix = block + 3 * len * W;
      const int n_out = y1 - y0;
      const int n_virtual = n_out + 2 * rv;  // virtual row t is image row y0 - rv + t
      for (int c = 0; c < nc; ++c) {
        std::fill(base, base + 2 * padded, fns.identity);
        // Horizontal running max of image row yi (identity rows outside the image) into out.
        auto horizontal = [&](int yi, T* out) {
          if (yi < 0 || yi >= h) {
            std::fill(out, out + W, fns.identity);
            return;
          }
          load_channel(src.row<const T>(yi), pad_a, w, ch, c);
          if (rh == 0) {
            std::memcpy(out, pad_a, sizeof(T) * W);
            return;
          }
          T* m = pad_a;
          T* other = pad_b;
          int span =
              1;  // m[t] = extreme over [t, t + span - 1], valid for t in [-rh, w + rh - span]
          for (int k = 0; k < doublings; ++k) {
            const int count = w + 2 * rh - 2 * span + 1;
            fns.pair(m - rh, m - rh + span, other - rh, count);
            std::swap(m, other);
            span *= 2;
          }
          fns.pair(m - rh, m + rh - span + 1, out, w);
          // Restore the identity pads of both rows for the next row (the doublings wrote into
          // them).
          std::fill(pad_a - rh, pad_a, fns.identity);
          std::fill(pad_a + w, pad_a + w + rh, fns.identity);
          std::fill(pad_b - rh, pad_b, fns.identity);
          std::fill(pad_b + w, pad_b + w + rh, fns.identity);
        };
        int cur = 0;
        for (int b = 0; b * len < n_virtual; ++b) {
          for (int i = 0; i < len; ++i) {
            const int t = b * len + i;
            horizontal(t < n_virtual ? y0 - rv + t : -1, block + i * W);
          }
          T* sc = suffix[cur];
          T* sp = suffix[1 - cur];
          std::memcpy(sc + (len - 1) * W, block + (len - 1) * W, sizeof(T) * W);
          for (int i = len - 2; i >= 0; --i)
            fns.pair(block + i * W, sc + (i + 1) * W, sc + i * W, w);
          for (int i = 0; i < len; ++i) {
            if (i == 0) {
              std::memcpy(prefix, block, sizeof(T) * W);
            } else {
              fns.fold(block + i * W, prefix, w);
            }
            const int s = b * len + i - (len - 1);  // the output whose window ends at t
            if (s < 0 || s >= n_out) continue;
            const T* hs = i == len - 1 ? sc : sp + (i + 1) * W;
            fns.pair(hs, prefix, block + i * W, w);  // block row i is not read again
            store_channel(block + i * W, dst.row<Td>(y0 + s), w, ch, c);
          }
          cur = 1 - cur;
        }
      }
    });
  });
}

void flat_steps(const ImageView& src, const ImageView& dst, const detail::MorphPlan& plan,
                Context& ctx) {
  ImageView in = src;
  if (src.data == dst.data) {  // in place: bands read rows that other bands write
    in = detail::scratch_image(ctx, detail::kMorphFlatCopySlot, src.width, src.height, src.channels,
                               src.type);
    detail::copy_image(src, in, ctx);
  }
  // The square's separable form needs 3 (2R + 1) rows per worker: the row-by-row flat max above
  // 64 MiB of them (a radius in the thousands).
  const int rv = std::min(detail::flat_reach(plan.radius), src.height - 1);
  const double rect_bytes = 3.0 * (2.0 * rv + 1) * src.width * 4 * ctx.impl().workers().size();
  const bool rect = plan.shape == StructuringElement::kSquare && rect_bytes <= 64.0 * (1 << 20);
  detail::dispatch_type(in.type, [&](auto tag) {
    using T = decltype(tag);
    rect ? flat_rect<T>(in, dst, plan, ctx) : flat_max<T>(in, dst, plan, ctx);
  });
  if (plan.channels < src.channels) {
    copy_channel(in, dst, src.channels - 1, ctx.impl().workers());
  }
}

}  // namespace

void morph_steps(const ImageView& src, const ImageView& dst, const detail::MorphPlan& plan,
                 Context& ctx) {
  if (plan.flat) {
    flat_steps(src, dst, plan, ctx);
    return;
  }
  const int nc = plan.channels;
  fused_steps(src, dst, nc, plan.steps, plan.max_fused, MorphRowOp{nc, plan.dt, row_function(plan)},
              ctx, plan.erode ? "erode" : "dilate");
  if (nc < src.channels && !(src.data == dst.data && src.type == dst.type)) {
    copy_channel(src, dst, src.channels - 1, ctx.impl().workers());
  }
}

void morph_difference(const ImageView& a, const ImageView& b, const ImageView& dst, int channels,
                      int sign, Context& ctx) {
  const int w = a.width;
  const int ch = a.channels;
  detail::dispatch_type(a.type, [&](auto atag) {
    using Ta = decltype(atag);
    detail::dispatch_type(dst.type, [&](auto dtag) {
      using Td = decltype(dtag);
      parallel_rows(ctx.impl().workers(), a.height, static_cast<std::size_t>(w) * ch,
                    [&](int y0, int y1, int) {
                      for (int y = y0; y < y1; ++y) {
                        const Ta* ar = a.row<const Ta>(y);
                        const float* br = b.row<const float>(y);
                        Td* out = dst.row<Td>(y);
                        for (int i = 0; i < w * ch; ++i) {
                          const float av = detail::SampleTraits<Ta>::to_float(ar[i]);
                          const float bv = br[i];
                          const float v = i % ch >= channels ? av : sign > 0 ? av - bv : bv - av;
                          out[i] = detail::SampleTraits<Td>::from_float(v);
                        }
                      }
                    });
    });
  });
}

void shock_step(const ImageView& u, const ImageView& smoothed, const ImageView& out, int channels,
                float dt, Context& ctx) {
  const int w = u.width;
  const int h = u.height;
  const int ch = u.channels;
  auto& impl = ctx.impl();
  ThreadPool& pool = impl.workers();
  // Per worker: six de-interleaved rows (u and smoothed: up, mid, down) and one output row.
  const std::size_t row_floats = static_cast<std::size_t>(w);
  float* scratch = impl.host_scratch(kShockRowsSlot, 7 * row_floats * pool.size());
  parallel_rows(pool, h, static_cast<std::size_t>(w) * ch * 4, [&](int y0, int y1, int worker) {
    float* rows = scratch + 7 * row_floats * worker;
    for (int y = y0; y < y1; ++y) {
      const int yu = detail::Reflect::prev(y);
      const int yd = detail::Reflect::next(y, h);
      float* o = out.row<float>(y);
      const float* m = u.row<const float>(y);
      for (int c = 0; c < ch; ++c) {
        if (c >= channels) {
          for (int x = 0; x < w; ++x) o[x * ch + c] = m[x * ch + c];
          continue;
        }
        const ImageView* views[2] = {&u, &smoothed};
        const int ys[3] = {yu, y, yd};
        for (int v = 0; v < 2; ++v)
          for (int k = 0; k < 3; ++k) {
            const float* src = views[v]->row<const float>(ys[k]);
            float* dst = rows + (v * 3 + k) * row_floats;
            for (int x = 0; x < w; ++x) dst[x] = src[x * ch + c];
          }
        float* res = rows + 6 * row_floats;
        shock_row(rows, rows + row_floats, rows + 2 * row_floats, rows + 3 * row_floats,
                  rows + 4 * row_floats, rows + 5 * row_floats, res, w, dt);
        for (int x = 0; x < w; ++x) o[x * ch + c] = res[x];
      }
    }
  });
}

}  // namespace cpu
}  // namespace pdeimg
