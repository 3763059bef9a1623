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
  PDEIMG_MORPH_CLONES void widen_##name##_##tag(const T* __restrict in, T* __restrict out, int n) { \
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

#define PDEIMG_FLAT_SELECT(T, tag)                                                  \
  FlatFns<T> flat_fns(bool erode, T) {                                              \
    if (erode) return {widen_min_##tag, pair_min_##tag, fold_min_##tag, flat_identity<T>(true)}; \
    return {widen_max_##tag, pair_max_##tag, fold_max_##tag, flat_identity<T>(false)};           \
  }
PDEIMG_FLAT_SELECT(std::uint8_t, u8)
PDEIMG_FLAT_SELECT(std::uint16_t, u16)
PDEIMG_FLAT_SELECT(float, f32)

template <class T>
void flat_max(const ImageView& src, const ImageView& dst, const detail::MorphPlan& plan,
              Context& ctx) {
  const int w = src.width;
  const int h = src.height;
  const int ch = src.channels;
  const int nc = plan.channels;
  const int reach = detail::flat_reach(plan.radius);
  int wmax = 0;
  std::vector<int> half(reach + 1);
  for (int j = 0; j <= reach; ++j) {
    half[j] = detail::flat_half_width(plan.shape, plan.radius, j);
    wmax = std::max(wmax, half[j]);
  }
  std::vector<std::vector<int>> rows_of_width(wmax + 1);  // the offsets j taking each width
  for (int j = -reach; j <= reach; ++j) rows_of_width[half[j < 0 ? -j : j]].push_back(j);
  const FlatFns<T> fns = flat_fns(plan.erode, T());
  const int ring = 2 * reach + 1;
  const std::size_t per_worker =
      2 * static_cast<std::size_t>(w + 2) + static_cast<std::size_t>(ring) * w + 64 / sizeof(T);
  auto& impl = ctx.impl();
  ThreadPool& pool = impl.workers();
  const std::size_t floats = (per_worker * sizeof(T) + sizeof(float) - 1) / sizeof(float);
  T* scratch =
      reinterpret_cast<T*>(impl.host_scratch(detail::kMorphFlatRowsSlot, floats * pool.size()));
  // Bands of output rows, each re-reading R rows above and below: two per worker for balance.
  const double cost = static_cast<double>(w) * h * nc * (2.0 * reach + wmax + 1);
  const int bands = cost < 65536.0 ? 1 : std::max(1, std::min(h, 2 * pool.size()));

  detail::dispatch_type(dst.type, [&](auto dtag) {
    using Td = decltype(dtag);
    pool.run(bands, [&](int band, int worker) {
      const int y0 = static_cast<int>(static_cast<long long>(h) * band / bands);
      const int y1 = static_cast<int>(static_cast<long long>(h) * (band + 1) / bands);
      if (y0 >= y1) return;
      T* base = reinterpret_cast<T*>(reinterpret_cast<float*>(scratch) + floats * worker);
      T* row_a = base + 1;
      T* row_b = base + (w + 2) + 1;
      T* acc = base + 2 * static_cast<std::size_t>(w + 2);
      for (int c = 0; c < nc; ++c) {
        row_a[-1] = row_a[w] = row_b[-1] = row_b[w] = fns.identity;
        std::fill(acc, acc + static_cast<std::size_t>(ring) * w, fns.identity);
        auto emit = [&](int y) {
          T* a = acc + static_cast<std::size_t>((y - y0) % ring) * w;
          Td* out = dst.row<Td>(y);
          for (int x = 0; x < w; ++x) {
            out[x * ch + c] =
                std::is_same<T, Td>::value
                    ? static_cast<Td>(a[x])
                    : detail::SampleTraits<Td>::from_float(detail::SampleTraits<T>::to_float(a[x]));
          }
          std::fill(a, a + w, fns.identity);
        };
        int next_emit = y0;
        const int first = std::max(0, y0 - reach);
        const int last = std::min(h - 1, y1 - 1 + reach);
        for (int yi = first; yi <= last; ++yi) {
          const T* in = src.row<const T>(yi);
          if (ch == 1) {
            std::memcpy(row_a, in, sizeof(T) * w);
          } else {
            for (int x = 0; x < w; ++x) row_a[x] = in[x * ch + c];
          }
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

void flat_steps(const ImageView& src, const ImageView& dst, const detail::MorphPlan& plan,
                Context& ctx) {
  ImageView in = src;
  if (src.data == dst.data) {  // in place: bands read rows that other bands write
    in = detail::scratch_image(ctx, detail::kMorphFlatCopySlot, src.width, src.height, src.channels,
                               src.type);
    detail::copy_image(src, in, ctx);
  }
  detail::dispatch_type(in.type, [&](auto tag) { flat_max<decltype(tag)>(in, dst, plan, ctx); });
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
