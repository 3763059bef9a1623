// CPU backend of perona_malik and its statistics (noise estimate, gradient quantile).
//
// Unregularised steps (4 or 8 neighbours) read only a pixel's 3x3 neighbourhood at the previous
// level, so they are temporally blocked exactly like heat_smooth (stencil_pipeline.hpp: the ring
// rows of a level span one more column on each side than the next level computes, so the diagonal
// neighbours up[c][i±1] and dn[c][i±1] are there too). Regularised steps need a Gaussian of the
// whole previous level first, so they run one step per pass over float planes: smooth (separable,
// two passes), then the flux update with g taken from the smoothed planes.
//
// Measured (bench/perona_malik_bench, 2 cores of an AMD EPYC with AVX-512, 2048² image, 10 steps,
// GCC 12): 8-bit 3-channel rational 4-neighbour 1150 Mpixel-steps/s, exponential 750; float gray
// rational 4700 Mpixel-steps/s, 72% of memcpy bandwidth counted as one read and one write per
// step; cv::ximgproc::anisotropicDiffusion 171 (quiet machine; 81 under load).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <type_traits>
#include <vector>

#include "kernels/perona_malik.cuh"
#include "pdeimg/error.hpp"
#include "src/backend.hpp"
#include "src/context_impl.hpp"
#include "src/cpu/fused_steps.hpp"
#include "src/cpu/stencil_pipeline.hpp"

namespace pdeimg {
namespace cpu {
namespace {

using detail::Neighbours;

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__ELF__)
#define PDEIMG_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define PDEIMG_CLONES
#endif

/// Gathers pixel i's 3x3 neighbourhood from three rows of C channels; xl / xr are the column
/// indices of the left and right neighbours (i - 1 and i + 1 inside, i itself at a reflecting
/// image border).
#if defined(__GNUC__)
#define PDEIMG_FORCE_INLINE inline __attribute__((always_inline))
#else
#define PDEIMG_FORCE_INLINE inline
#endif

template <int C>
PDEIMG_FORCE_INLINE void gather(const float* const* up, const float* const* mid,
                                const float* const* dn, int i, int xl, int xr, Neighbours<C>& v) {
  for (int c = 0; c < C; ++c) {
    v.m[c] = mid[c][i];
    v.n[c] = up[c][i];
    v.s[c] = dn[c][i];
    v.w[c] = mid[c][xl];
    v.e[c] = mid[c][xr];
    v.nw[c] = up[c][xl];
    v.ne[c] = up[c][xr];
    v.sw[c] = dn[c][xl];
    v.se[c] = dn[c][xr];
  }
}

/// One step on a row segment of n pixels, C coupled channels; g from the image itself (kReg false)
/// or from the smoothed rows sup/smid/sdn (kReg true).
/// The diffusivity of the horizontal pair (a, a + 1) from the rows g-source rows `v`.
template <int C, class G>
PDEIMG_FORCE_INLINE float pair_g(const float* const* v, int a, int b, const G& g) {
  float s2 = 0.0f;
  for (int c = 0; c < C; ++c) {
    const float d = v[c][b] - v[c][a];
    s2 += d * d;
  }
  return g(s2);
}

/// One pixel: its 3x3 neighbourhood, the diffusivities (the horizontal pair's from `gw`, `ge`,
/// the others from the g-source rows), the flux update.
template <int C, bool kEight, bool kReg, class G>
PDEIMG_FORCE_INLINE void pm_pixel(const float* const* up, const float* const* mid,
                                  const float* const* dn, const float* const* sup,
                                  const float* const* smid, const float* const* sdn,
                                  float* const* out, int i, int xl, int xr, float gw, float ge,
                                  const G& g, float dt) {
  Neighbours<C> u;
  gather<C>(up, mid, dn, i, xl, xr, u);
  Neighbours<C> s;  // regularised: g from the smoothed rows' neighbourhood
  if (kReg) gather<C>(sup, smid, sdn, i, xl, xr, s);
  const Neighbours<C>& v = kReg ? s : u;
  float g8[8];
  g8[0] = g(detail::sq_diff<C>(v.m, v.n));
  g8[1] = g(detail::sq_diff<C>(v.m, v.s));
  if (kEight) {
    g8[4] = g(0.5f * detail::sq_diff<C>(v.m, v.nw));
    g8[5] = g(0.5f * detail::sq_diff<C>(v.m, v.ne));
    g8[6] = g(0.5f * detail::sq_diff<C>(v.m, v.sw));
    g8[7] = g(0.5f * detail::sq_diff<C>(v.m, v.se));
  }
  g8[2] = gw;
  g8[3] = ge;
  float r[C];
  detail::pm_flux_update<C, kEight>(u, g8, dt, r);
  for (int c = 0; c < C; ++c) out[c][i] = r[c];
}

/// One step on a row segment of n pixels, C coupled channels; g from the image itself (kReg false)
/// or from the smoothed rows sup/smid/sdn (kReg true). The same arithmetic as detail::pm_update,
/// except that each horizontal pair's g is computed once (for a chunk of the row) and used by
/// both of its pixels: (u_a - u_b)² and (u_b - u_a)² are the same float, so are the results.
template <int C, bool kEight, bool kReg, class G>
PDEIMG_FORCE_INLINE void pm_row_impl(const float* const* up, const float* const* mid,
                                     const float* const* dn, const float* const* sup,
                                     const float* const* smid, const float* const* sdn,
                                     float* const* out, int n, bool left_edge, bool right_edge, G g,
                                     float dt) {
  const float* const* gm = kReg ? smid : mid;
  constexpr int kChunk = 256;
  float gh[kChunk + 1];          // gh[j]: the pair (i0 + j - 1, i0 + j)
  const float g_self = g(0.0f);  // a border pixel's reflected twin: difference 0
  for (int i0 = 0; i0 < n; i0 += kChunk) {
    const int m = (n - i0 < kChunk ? n - i0 : kChunk);
    gh[0] = i0 == 0 && left_edge ? g_self : pair_g<C>(gm, i0 - 1, i0, g);
    // The rows never alias (each ring level writes its own rows); ivdep lets GCC vectorise
    // without run-time overlap checks of the C x 9 input and C output pointers.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC ivdep
#endif
    for (int j = 1; j < m; ++j) gh[j] = pair_g<C>(gm, i0 + j - 1, i0 + j, g);
    gh[m] = i0 + m == n && right_edge ? g_self : pair_g<C>(gm, i0 + m - 1, i0 + m, g);
    const int first = i0 == 0 ? 1 : i0;
    const int last = i0 + m == n ? n - 1 : i0 + m;  // exclusive
    if (i0 == 0) {
      pm_pixel<C, kEight, kReg>(up, mid, dn, sup, smid, sdn, out, 0, left_edge ? 0 : -1,
                                n == 1 ? (right_edge ? 0 : 1) : 1, gh[0], gh[1], g, dt);
    }
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC ivdep
#endif
    for (int i = first; i < last; ++i) {
      pm_pixel<C, kEight, kReg>(up, mid, dn, sup, smid, sdn, out, i, i - 1, i + 1, gh[i - i0],
                                gh[i - i0 + 1], g, dt);
    }
    if (i0 + m == n && n > 1) {
      pm_pixel<C, kEight, kReg>(up, mid, dn, sup, smid, sdn, out, n - 1, n - 2,
                                right_edge ? n - 1 : n, gh[m - 1], gh[m], g, dt);
    }
  }
}

// Non-template entry points, one per (channels, stencil, regularised, diffusivity), each built for
// AVX-512, AVX2 and baseline x86-64 (GCC function multi-versioning; -ffp-contract=off keeps the
// clones bit-identical).
#define PDEIMG_PM_ROW(NAME, C, EIGHT, REG, G)                                                      \
  PDEIMG_CLONES void NAME(const float* const* up, const float* const* mid, const float* const* dn, \
                          const float* const* sup, const float* const* smid,                       \
                          const float* const* sdn, float* const* out, int n, bool le, bool re,     \
                          G g, float dt) {                                                         \
    pm_row_impl<C, EIGHT, REG, G>(up, mid, dn, sup, smid, sdn, out, n, le, re, g, dt);             \
  }
#define PDEIMG_PM_ROWS_G(C, G)                                  \
  PDEIMG_PM_ROW(pm_row_##C##_4_##G, C, false, false, detail::G) \
  PDEIMG_PM_ROW(pm_row_##C##_8_##G, C, true, false, detail::G)  \
  PDEIMG_PM_ROW(pm_rrow_##C##_4_##G, C, false, true, detail::G) \
  PDEIMG_PM_ROW(pm_rrow_##C##_8_##G, C, true, true, detail::G)
#define PDEIMG_PM_ROWS(C)           \
  PDEIMG_PM_ROWS_G(C, ExponentialG) \
  PDEIMG_PM_ROWS_G(C, RationalG)    \
  PDEIMG_PM_ROWS_G(C, TukeyG)
PDEIMG_PM_ROWS(1)
PDEIMG_PM_ROWS(2)
PDEIMG_PM_ROWS(3)
PDEIMG_PM_ROWS(4)
#undef PDEIMG_PM_ROWS
#undef PDEIMG_PM_ROWS_G
#undef PDEIMG_PM_ROW

template <class G>
using RowFn = void (*)(const float* const*, const float* const*, const float* const*,
                       const float* const*, const float* const*, const float* const*, float* const*,
                       int, bool, bool, G, float);

template <class G>
struct RowTable;
#define PDEIMG_PM_TABLE(G)                                                         \
  template <>                                                                      \
  struct RowTable<detail::G> {                                                     \
    static RowFn<detail::G> get(int c, bool eight, bool reg) {                     \
      static const RowFn<detail::G> t[2][2][4] = {                                 \
          {{pm_row_1_4_##G, pm_row_2_4_##G, pm_row_3_4_##G, pm_row_4_4_##G},       \
           {pm_row_1_8_##G, pm_row_2_8_##G, pm_row_3_8_##G, pm_row_4_8_##G}},      \
          {{pm_rrow_1_4_##G, pm_rrow_2_4_##G, pm_rrow_3_4_##G, pm_rrow_4_4_##G},   \
           {pm_rrow_1_8_##G, pm_rrow_2_8_##G, pm_rrow_3_8_##G, pm_rrow_4_8_##G}}}; \
      return t[reg ? 1 : 0][eight ? 1 : 0][c - 1];                                 \
    }                                                                              \
  };
PDEIMG_PM_TABLE(ExponentialG)
PDEIMG_PM_TABLE(RationalG)
PDEIMG_PM_TABLE(TukeyG)
#undef PDEIMG_PM_TABLE

/// The fused pipeline's RowOp: coupled channels in one call, or each channel on its own.
template <class G>
struct PmRowOp {
  RowFn<G> fn;
  int channels;
  bool coupled;
  G g;
  float dt;
  void operator()(const float* const* up, const float* const* mid, const float* const* dn,
                  float* const* out, int n, bool le, bool re) const {
    if (coupled) {
      fn(up, mid, dn, nullptr, nullptr, nullptr, out, n, le, re, g, dt);
      return;
    }
    for (int c = 0; c < channels; ++c) {
      fn(up + c, mid + c, dn + c, nullptr, nullptr, nullptr, out + c, n, le, re, g, dt);
    }
  }
};

/// One step with missing data (NonFinite::kMissing), pixel by pixel through detail::pm_update:
/// neighbours with a non-finite channel read as the centre (detail::ghost_neighbours), a pixel
/// with one is copied. The same arithmetic as the fast rows for finite neighbourhoods; used only
/// when the image has non-finite samples.
template <int C, bool kEight, class G>
void pm_row_missing(const float* const* up, const float* const* mid, const float* const* dn,
                    float* const* out, int n, bool le, bool re, const G& g, float dt) {
  for (int i = 0; i < n; ++i) {
    const int xl = i == 0 && le ? 0 : i - 1;
    const int xr = i == n - 1 && re ? i : i + 1;
    Neighbours<C> u;
    gather<C>(up, mid, dn, i, xl, xr, u);
    float r[C];
    if (detail::finite_pixel<C>(u.m)) {
      detail::ghost_neighbours<C>(u);
      detail::pm_update<C, kEight>(u, g, dt, r);
    } else {
      for (int c = 0; c < C; ++c) r[c] = u.m[c];
    }
    for (int c = 0; c < C; ++c) out[c][i] = r[c];
  }
}

template <class G>
struct PmMissingRowOp {
  int channels;
  bool coupled;
  bool eight;
  G g;
  float dt;
  template <int C>
  void rows(const float* const* up, const float* const* mid, const float* const* dn,
            float* const* out, int n, bool le, bool re) const {
    if (eight) {
      pm_row_missing<C, true>(up, mid, dn, out, n, le, re, g, dt);
    } else {
      pm_row_missing<C, false>(up, mid, dn, out, n, le, re, g, dt);
    }
  }
  void operator()(const float* const* up, const float* const* mid, const float* const* dn,
                  float* const* out, int n, bool le, bool re) const {
    if (!coupled) {
      for (int c = 0; c < channels; ++c) rows<1>(up + c, mid + c, dn + c, out + c, n, le, re);
      return;
    }
    switch (channels) {
      case 1:
        rows<1>(up, mid, dn, out, n, le, re);
        break;
      case 2:
        rows<2>(up, mid, dn, out, n, le, re);
        break;
      case 3:
        rows<3>(up, mid, dn, out, n, le, re);
        break;
      default:
        rows<4>(up, mid, dn, out, n, le, re);
        break;
    }
  }
};

template <class F>
decltype(auto) with_diffusivity(const detail::PeronaMalikPlan& plan, F&& f) {
  switch (plan.diffusivity) {
    case Diffusivity::kExponential:
      return f(detail::ExponentialG{plan.inv_k2});
    case Diffusivity::kTukey:
      return f(detail::TukeyG{plan.inv_k2});
    default:
      return f(detail::RationalG{plan.inv_k2});
  }
}

/// Separable Gaussian of every plane of `in` into `out`, through `tmp` (reflecting boundary).
void gaussian_planes(const Planes& in, const Planes& tmp, const Planes& out, const float* w, int r,
                     ThreadPool& pool) {
  const int width = in.width, height = in.height;
  const int rows = in.count * height;
  const std::size_t row_cost = static_cast<std::size_t>(width) * (2 * r + 1);
  parallel_rows(pool, rows, row_cost, [&](int k0, int k1, int) {
    for (int k = k0; k < k1; ++k) {
      const int c = k / height, y = k % height;
      const float* src = in.row(c, y);
      float* dst = tmp.row(c, y);
      for (int x = 0; x < width; ++x) {
        if (x >= r && x + r < width) {
          float s = w[0] * src[x];
          for (int i = 1; i <= r; ++i) s += w[i] * (src[x - i] + src[x + i]);
          dst[x] = s;
        } else {
          dst[x] = detail::gauss_sum(
              w, r, [&](int i) { return src[detail::Reflect::map(x + i, width)]; });
        }
      }
    }
  });
  parallel_rows(pool, rows, row_cost, [&](int k0, int k1, int) {
    for (int k = k0; k < k1; ++k) {
      const int c = k / height, y = k % height;
      float* dst = out.row(c, y);
      const float* rows_at[2 * detail::kMaxGaussRadius + 1];
      for (int i = -r; i <= r; ++i)
        rows_at[i + r] = tmp.row(c, detail::Reflect::map(y + i, height));
      for (int x = 0; x < width; ++x) {
        float s = w[0] * rows_at[r][x];
        for (int i = 1; i <= r; ++i) s += w[i] * (rows_at[r - i][x] + rows_at[r + i][x]);
        dst[x] = s;
      }
    }
  });
}

/// Regularised steps: one per pass over planes (see the file comment).
template <class G>
void regularised_steps(const ImageView& src, const ImageView& dst,
                       const detail::PeronaMalikPlan& plan, const G& g, Context& ctx) {
  auto& impl = ctx.impl();
  const int w = src.width, h = src.height, nc = plan.channels;
  ThreadPool& pool = impl.workers();
  const std::size_t row_cost = static_cast<std::size_t>(w) * nc;
  const std::ptrdiff_t ps = static_cast<std::ptrdiff_t>(w) * h;
  float* mem = impl.host_scratch(0, 4 * static_cast<std::size_t>(ps) * nc);
  Planes p[4];
  for (int i = 0; i < 4; ++i) p[i] = Planes{mem + i * ps * nc, w, h, nc, w, ps};
  Planes& smooth = p[2];
  Planes& tmp = p[3];
  float taps[detail::kMaxGaussRadius + 1];
  const int r = detail::gauss_taps(plan.regularization, taps);
  const RowFn<G> fn = RowTable<G>::get(plan.coupled ? nc : 1, plan.eight, true);

  dispatch_type(src.type, [&](auto tag) {
    using T = decltype(tag);
    const ViewLoader<T> load{src, nc};
    parallel_rows(pool, h, row_cost, [&](int y0, int y1, int) {
      for (int y = y0; y < y1; ++y) {
        float* rows[4] = {};
        for (int c = 0; c < nc; ++c) rows[c] = p[0].row(c, y);
        load(y, 0, w, rows);
      }
    });
  });
  int cur = 0;
  for (int s = 0; s < plan.steps; ++s) {
    const Planes& in = p[cur];
    const Planes& out = p[1 - cur];
    gaussian_planes(in, tmp, smooth, taps, r, pool);
    parallel_rows(pool, h, 8 * row_cost, [&](int y0, int y1, int) {
      for (int y = y0; y < y1; ++y) {
        const int yu = detail::Reflect::prev(y), yd = detail::Reflect::next(y, h);
        const float *up[4], *mid[4], *dn[4], *sup[4], *smid[4], *sdn[4];
        float* o[4];
        for (int c = 0; c < nc; ++c) {
          up[c] = in.row(c, yu), mid[c] = in.row(c, y), dn[c] = in.row(c, yd);
          sup[c] = smooth.row(c, yu), smid[c] = smooth.row(c, y), sdn[c] = smooth.row(c, yd);
          o[c] = out.row(c, y);
        }
        if (plan.coupled) {
          fn(up, mid, dn, sup, smid, sdn, o, w, true, true, g, plan.dt);
        } else {
          for (int c = 0; c < nc; ++c) {
            fn(up + c, mid + c, dn + c, sup + c, smid + c, sdn + c, o + c, w, true, true, g,
               plan.dt);
          }
        }
      }
    });
    cur = 1 - cur;
    impl.report_progress(s + 1, plan.steps, "perona_malik");
  }
  dispatch_type(dst.type, [&](auto tag) {
    using T = decltype(tag);
    const ViewStore<T> store{dst, nc};
    parallel_rows(pool, h, row_cost, [&](int y0, int y1, int) {
      for (int y = y0; y < y1; ++y) {
        const float* rows[4] = {};
        for (int c = 0; c < nc; ++c) rows[c] = p[cur].row(c, y);
        store(y, 0, w, rows);
      }
    });
  });
}

/// Fast explicit diffusion, 4 neighbours (PeronaMalikScheme::kFed): at the start of each cycle the
/// diffusivity of every pixel pair is computed from the state (or its smoothed copy) and held for
/// the cycle, so each cycle applies a fixed linear operator and its FED step sizes are stable
/// (Grewenig, Weickert & Bruhn 2010, section 5). Per group of coupled channels two planes:
/// gx(x, y) for the pair (x, x+1), gy(x, y) for (y, y+1), 0 beyond the border (where the reflected
/// neighbour's difference is 0 anyway). The steps are fused like explicit ones; a row reads its
/// diffusivities from those planes, and the update is detail::pm_flux_update, the explicit one.
template <int C>
void fed_pm_row(const float* const* up, const float* const* mid, const float* const* dn,
                float* const* out, int n, bool le, bool re, const float* gx, const float* gyu,
                const float* gyd, float dt) {
  for (int i = 0; i < n; ++i) {
    const int xl = i == 0 && le ? 0 : i - 1;
    const int xr = i == n - 1 && re ? i : i + 1;
    Neighbours<C> u;
    for (int c = 0; c < C; ++c) {
      u.m[c] = mid[c][i];
      u.n[c] = up[c][i];
      u.s[c] = dn[c][i];
      u.w[c] = mid[c][xl];
      u.e[c] = mid[c][xr];
    }
    const float g4[4] = {gyu[i], gyd[i], gx[xl == i ? i : i - 1], gx[i]};
    float r[C];
    detail::pm_flux_update<C, false>(u, g4, dt, r);
    for (int c = 0; c < C; ++c) out[c][i] = r[c];
  }
}

struct FedPmRowOp {
  Planes g;  // 2 planes per group: gx, gy
  int channels;
  bool coupled;
  const float* sizes;  // the cycle's steps
  void operator()(const float* const* up, const float* const* mid, const float* const* dn,
                  float* const* out, int n, bool le, bool re, const RowAt& at) const {
    const float dt = sizes[at.step];
    const int groups = coupled ? 1 : channels;
    const int yu = at.y > 0 ? at.y - 1 : 0;
    for (int k = 0; k < groups; ++k) {
      const float* gx = g.row(2 * k, at.y) + at.x;
      const float* gyu = g.row(2 * k + 1, yu) + at.x;
      const float* gyd = g.row(2 * k + 1, at.y) + at.x;
      const int c0 = coupled ? 0 : k;
      auto rows = [&](auto tag) {
        constexpr int C = decltype(tag)::value;
        fed_pm_row<C>(up + c0, mid + c0, dn + c0, out + c0, n, le, re, gx, gyu, gyd, dt);
      };
      switch (coupled ? channels : 1) {
        case 1:
          rows(std::integral_constant<int, 1>{});
          break;
        case 2:
          rows(std::integral_constant<int, 2>{});
          break;
        case 3:
          rows(std::integral_constant<int, 3>{});
          break;
        default:
          rows(std::integral_constant<int, 4>{});
          break;
      }
    }
  }
};

/// The diffusivity planes of one cycle from the state `v` (or its smoothed copy).
template <class G>
void fed_diffusivities(const Planes& v, const Planes& g, int channels, bool coupled, const G& gf,
                       ThreadPool& pool) {
  const int w = v.width, h = v.height;
  const int groups = coupled ? 1 : channels;
  const int per_group = coupled ? channels : 1;
  parallel_rows(pool, h, static_cast<std::size_t>(w) * channels * 2, [&](int y0, int y1, int) {
    for (int y = y0; y < y1; ++y) {
      const int yd = y + 1 < h ? y + 1 : y;
      for (int k = 0; k < groups; ++k) {
        float* gx = g.row(2 * k, y);
        float* gy = g.row(2 * k + 1, y);
        const int c0 = coupled ? 0 : k;
        for (int x = 0; x < w; ++x) {
          float sx = 0.0f, sy = 0.0f;
          const int xr = x + 1 < w ? x + 1 : x;
          for (int c = c0; c < c0 + per_group; ++c) {
            const float* r = v.row(c, y);
            const float dx = r[xr] - r[x];
            const float dy = v.row(c, yd)[x] - r[x];
            sx += dx * dx;
            sy += dy * dy;
          }
          gx[x] = x + 1 < w ? gf(sx) : 0.0f;
          gy[x] = y + 1 < h ? gf(sy) : 0.0f;
        }
      }
    }
  });
}

template <class G>
void fed_steps(const ImageView& src, const ImageView& dst, const detail::PeronaMalikPlan& plan,
               const G& gf, Context& ctx) {
  auto& impl = ctx.impl();
  const int w = src.width, h = src.height, nc = plan.channels;
  ThreadPool& pool = impl.workers();
  const int threads = pool.size();
  const std::ptrdiff_t ps = static_cast<std::ptrdiff_t>(w) * h;
  float* mem = impl.host_scratch(0, 2 * static_cast<std::size_t>(ps) * nc);
  Planes state[2];
  for (int i = 0; i < 2; ++i) state[i] = Planes{mem + i * ps * nc, w, h, nc, w, ps};
  const int gcount = 2 * (plan.coupled ? 1 : nc);
  const Planes g{impl.host_scratch(detail::kFedHostSlot, static_cast<std::size_t>(ps) * gcount),
                 w,
                 h,
                 gcount,
                 w,
                 ps};
  Planes smooth[2];
  float taps[detail::kMaxGaussRadius + 1];
  int radius = 0;
  if (plan.regularization > 0.0) {
    float* sm = impl.host_scratch(detail::kFedHostSlot + 1, 2 * static_cast<std::size_t>(ps) * nc);
    for (int i = 0; i < 2; ++i) smooth[i] = Planes{sm + i * ps * nc, w, h, nc, w, ps};
    radius = detail::gauss_taps(plan.regularization, taps);
  }
  dispatch_type(src.type, [&](auto tag) {
    using T = decltype(tag);
    const ViewLoader<T> load{src, nc};
    parallel_rows(pool, h, static_cast<std::size_t>(w) * nc, [&](int y0, int y1, int) {
      for (int y = y0; y < y1; ++y) {
        float* rows[4] = {};
        for (int c = 0; c < nc; ++c) rows[c] = state[0].row(c, y);
        load(y, 0, w, rows);
      }
    });
  });
  const int n = plan.fed_cycle_length;
  const int cycles = plan.steps / n;
  const int max_fused = plan.max_fused > 0 ? plan.max_fused : kMaxFusedSteps;
  int cur = 0;
  for (int cycle = 0; cycle < cycles; ++cycle) {
    if (plan.regularization > 0.0) {
      gaussian_planes(state[cur], smooth[1], smooth[0], taps, radius, pool);
      fed_diffusivities(smooth[0], g, nc, plan.coupled, gf, pool);
    } else {
      fed_diffusivities(state[cur], g, nc, plan.coupled, gf, pool);
    }
    const FedPmRowOp op{g, nc, plan.coupled, plan.fed_steps.data()};
    int done = 0;
    while (done < n) {
      const PassShape shape = choose_pass_shape(w, h, nc, n - done, threads, max_fused);
      float* ring = impl.host_scratch(1, shape.ring_floats * static_cast<std::size_t>(threads));
      const bool last = cycle + 1 == cycles && done + shape.fused == n;
      if (last) {
        dispatch_type(dst.type, [&](auto tag) {
          using Td = decltype(tag);
          fused_pass(PlaneLoader{state[cur]}, ViewStore<Td>{dst, nc}, op, w, h, nc, shape, pool,
                     ring, done);
        });
      } else {
        fused_pass(PlaneLoader{state[cur]}, PlaneStore{state[1 - cur]}, op, w, h, nc, shape, pool,
                   ring, done);
        cur = 1 - cur;
      }
      done += shape.fused;
    }
    impl.report_progress(static_cast<long long>(cycle + 1) * n, plan.steps, "perona_malik");
  }
}

}  // namespace

void perona_malik(const ImageView& src, const ImageView& dst, const detail::PeronaMalikPlan& plan,
                  Context& ctx) {
  const int nc = plan.channels;
  with_diffusivity(plan, [&](auto g) {
    using G = decltype(g);
    if (!plan.fed_steps.empty() && plan.steps > 0) {
      fed_steps(src, dst, plan, g, ctx);
    } else if (plan.regularization > 0.0 && plan.steps > 0) {
      regularised_steps(src, dst, plan, g, ctx);
    } else if (plan.missing) {
      const PmMissingRowOp<G> op{nc, plan.coupled, plan.eight, g, plan.dt};
      fused_steps(src, dst, nc, plan.steps, plan.max_fused, op, ctx, "perona_malik");
    } else {
      const PmRowOp<G> op{RowTable<G>::get(plan.coupled ? nc : 1, plan.eight, false), nc,
                          plan.coupled, g, plan.dt};
      fused_steps(src, dst, nc, plan.steps, plan.max_fused, op, ctx, "perona_malik");
    }
  });
  if (nc < src.channels && !(src.data == dst.data && src.type == dst.type)) {
    copy_channel(src, dst, src.channels - 1, ctx.impl().workers());
  }
}

double gradient_quantile_sq(const ImageView& src, const detail::GradientStatPlan& plan, double q,
                            Context& ctx) {
  auto& impl = ctx.impl();
  const int w = src.width, h = src.height, nc = plan.channels;
  const std::size_t per_channel =
      static_cast<std::size_t>(w - 1) * h + static_cast<std::size_t>(w) * (h - 1);
  if (per_channel == 0) return 0.0;
  const std::ptrdiff_t ps = static_cast<std::ptrdiff_t>(w) * h;
  float* mem = impl.host_scratch(2, 3 * static_cast<std::size_t>(ps) * nc);
  Planes p[3];
  for (int i = 0; i < 3; ++i) p[i] = Planes{mem + i * ps * nc, w, h, nc, w, ps};
  dispatch_type(src.type, [&](auto tag) {
    using T = decltype(tag);
    const ViewLoader<T> load{src, nc};
    for (int y = 0; y < h; ++y) {
      float* rows[4] = {};
      for (int c = 0; c < nc; ++c) rows[c] = p[0].row(c, y);
      load(y, 0, w, rows);
    }
  });
  const Planes* v = &p[0];
  if (plan.regularization > 0.0) {
    float taps[detail::kMaxGaussRadius + 1];
    const int r = detail::gauss_taps(plan.regularization, taps);
    gaussian_planes(p[0], p[1], p[2], taps, r, impl.workers());
    v = &p[2];
  }
  const int groups = plan.coupled ? 1 : nc;
  const int per_group = plan.coupled ? nc : 1;
  std::size_t n = per_channel * groups;
  float* vals = impl.host_scratch(3, n);
  // Layout: for each group, the horizontal pairs row by row, then the vertical pairs.
  for (int gi = 0; gi < groups; ++gi) {
    float* out = vals + gi * per_channel;
    const int c0 = plan.coupled ? 0 : gi;
    for (int y = 0; y < h; ++y) {
      for (int x = 0; x + 1 < w; ++x) {
        float s2 = 0.0f;
        for (int c = c0; c < c0 + per_group; ++c) {
          const float d = v->row(c, y)[x + 1] - v->row(c, y)[x];
          s2 += d * d;
        }
        *out++ = s2;
      }
    }
    for (int y = 0; y + 1 < h; ++y) {
      for (int x = 0; x < w; ++x) {
        float s2 = 0.0f;
        for (int c = c0; c < c0 + per_group; ++c) {
          const float d = v->row(c, y + 1)[x] - v->row(c, y)[x];
          s2 += d * d;
        }
        *out++ = s2;
      }
    }
  }
  // Missing data: a pair with a non-finite sample (its s2 is not finite) is left out. Finite
  // inputs are scaled so that no s2 overflows (src/finite.hpp), so nothing else is.
  if (plan.missing) {
    n = static_cast<std::size_t>(
        std::remove_if(vals, vals + n, [](float v) { return !detail::is_finite(v); }) - vals);
    if (n == 0) return 0.0;
  }
  const std::size_t k = static_cast<std::size_t>(std::floor(q * static_cast<double>(n - 1)));
  std::nth_element(vals, vals + k, vals + n);
  return vals[k];
}

}  // namespace cpu
}  // namespace pdeimg
