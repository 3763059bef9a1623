// CPU backend of the spectral heat solver (HeatScheme::kSpectral): the exact solution of the
// semi-discrete heat equation u_t = Δ_h u (5-point Laplacian, half-sample reflecting boundary)
//   u(T) = C⁻¹ diag(exp(-T (λx_k + λy_l))) C u(0),   λ_k = 4 sin²(π k / (2 N)),
// where C is the 2-D DCT-II, whose basis cos(π k (2n + 1) / (2N)) are the eigenvectors of that
// Laplacian. Each 1-D DCT-II is one complex FFT of length N (Makhoul, "A fast cosine transform in
// one and multiple dimensions", IEEE TASSP 28(1), 1980) computed for two real rows at once (the
// second as the imaginary part), with kissfft (BSD-3-Clause, header-only C++ kissfft.hh); lengths
// with a prime factor above detail::kSpectralMaxDirectRadix (13) go through Bluestein's chirp-z
// convolution with kissfft transforms of a 2,3,5-smooth length, so prime sizes cost O(N log N) too.
//
// Three passes over memory: rows (load, forward x, factor), columns in blocks (forward y, factor,
// inverse y), rows (inverse x, store). Columns whose x factor is below kCut are zero and skipped
// (at sigma 64 on 2048 columns, all but 76).
//
// Pruned axes: when only K of an axis's N modes are live (large T), the transform along it is the
// N x K matrix of their DCT-II basis vectors applied by matrix products (Eigen's GEMM, MPL-2.0,
// header-only), O(N K) per line instead of an FFT's O(N log N) with a large scalar constant. The
// basis is even (k even) or odd (k odd) about the line's centre, cos(π k (2(N-1-n) + 1) / 2N) =
// (-1)^k cos(π k (2n + 1) / 2N), so each line is first folded into its sum and difference halves
// and the even and odd modes are two half-size products: N K / 2 multiply-adds per line and
// direction. Work is split into blocks of fixed shape (kRowBlock rows, kMatrixColumnBlock columns)
// whatever the thread count, with Eigen's own threading off, so every output is summed in the same
// order on any number of threads.
#include <algorithm>
#include <cmath>
#include <complex>
#include <cstddef>
#include <vector>

#include "src/backend.hpp"
#include "src/context_impl.hpp"
#include "src/cpu/row_io.hpp"
#include "src/cpu/thread_pool.hpp"

// kissfft.hh (Debian's libkissfft-dev) lives in include/kissfft.
#include <kissfft/kissfft.hh>
// Eigen 3.4 (Debian's libeigen3-dev): products on the caller's thread only; the blocks are ours.
#define EIGEN_DONT_PARALLELIZE
#include <Eigen/Core>

namespace pdeimg {
namespace cpu {
namespace {

using Cpx = std::complex<float>;
constexpr double kPi = 3.14159265358979323846;
constexpr double kCut = detail::kSpectralCut;

/// A worker's two rows of every channel (y and y + 1), w floats each, in its scratch `mem`.
struct PairRows {
  float* a[4];
  float* b[4];
};

PairRows pair_rows(float* mem, int w, int nc) {
  PairRows r{};
  for (int c = 0; c < nc; ++c) {
    r.a[c] = mem + static_cast<std::ptrdiff_t>(c) * w;
    r.b[c] = mem + static_cast<std::ptrdiff_t>(nc + c) * w;
  }
  return r;
}

/// A forward complex FFT of length n (unnormalised, e^{-2πi jk/n}). Not thread-safe (kissfft's
/// generic butterfly keeps scratch): one copy per worker.
class Fft {
 public:
  explicit Fft(int n) : n_(n) {
    if (detail::largest_prime_factor(n) <= detail::kSpectralMaxDirectRadix) {
      direct_.assign(static_cast<std::size_t>(n), false);
      return;
    }
    // Bluestein: X_k = w_k Σ_j (x_j w_j) conj(w_{k-j}), w_j = e^{-πi j²/n}, a circular convolution
    // of length m >= 2n - 1 done with two FFTs of length m (a 2,3,5-smooth number).
    bluestein_ = true;
    m_ = detail::bluestein_length(n);
    direct_.assign(static_cast<std::size_t>(m_), false);
    chirp_.resize(n);
    for (int j = 0; j < n; ++j) {
      // j² mod 2n in integers keeps the angle exact for large j.
      const long long j2 = static_cast<long long>(j) * j % (2LL * n);
      const double a = -kPi * static_cast<double>(j2) / n;
      chirp_[j] = Cpx(static_cast<float>(std::cos(a)), static_cast<float>(std::sin(a)));
    }
    std::vector<Cpx> b(static_cast<std::size_t>(m_), Cpx(0.0f, 0.0f));
    for (int j = 0; j < n; ++j) {
      b[j] = std::conj(chirp_[j]);
      if (j > 0) b[m_ - j] = std::conj(chirp_[j]);
    }
    kernel_.resize(static_cast<std::size_t>(m_));
    direct_.transform(b.data(), kernel_.data());
    const float inv_m = 1.0f / static_cast<float>(m_);
    for (Cpx& v : kernel_) v *= inv_m;  // the inverse transform's 1/m, folded in
    work_.resize(2 * static_cast<std::size_t>(m_));
  }

  int size() const { return n_; }

  /// out = FFT(in); in != out.
  void forward(const Cpx* in, Cpx* out) const {
    if (!bluestein_) {
      direct_.transform(in, out);
      return;
    }
    Cpx* a = work_.data();
    Cpx* fa = a + m_;
    for (int j = 0; j < n_; ++j) a[j] = in[j] * chirp_[j];
    std::fill(a + n_, a + m_, Cpx(0.0f, 0.0f));
    direct_.transform(a, fa);
    // Inverse FFT through the forward one: ifft(y) = conj(fft(conj(y))) / m (1/m in kernel_).
    for (int k = 0; k < m_; ++k) fa[k] = std::conj(fa[k] * kernel_[k]);
    direct_.transform(fa, a);
    for (int k = 0; k < n_; ++k) out[k] = std::conj(a[k]) * chirp_[k];
  }

 private:
  int n_ = 0;
  int m_ = 0;
  bool bluestein_ = false;
  kissfft<float> direct_{1, false};
  std::vector<Cpx> chirp_;
  std::vector<Cpx> kernel_;
  mutable std::vector<Cpx> work_;
};

/// The DCT-II of length n through one FFT of length n, two real sequences at a time, and its exact
/// inverse (unnormalised: inverse(forward(x)) = n x).
class Dct {
 public:
  explicit Dct(int n) : n_(n), fft_(n), twiddle_(n), z_(n), spectrum_(n) {
    for (int k = 0; k < n; ++k) {
      const double a = kPi * k / (2.0 * n);
      twiddle_[k] = Cpx(static_cast<float>(std::cos(a)), static_cast<float>(std::sin(a)));
    }
  }

  /// Xa = DCT-II(a), Xb = DCT-II(b) (b may be null: then Xb is not written).
  void forward(const float* a, const float* b, float* xa, float* xb) const {
    const int n = n_;
    if (n == 1) {
      xa[0] = a[0];
      if (b) xb[0] = b[0];
      return;
    }
    // Makhoul's order: v = x0, x2, x4, ..., then the odd samples backwards.
    Cpx* z = z_.data();
    for (int j = 0; 2 * j < n; ++j) z[j] = Cpx(a[2 * j], b ? b[2 * j] : 0.0f);
    for (int j = 0; 2 * j + 1 < n; ++j) z[n - 1 - j] = Cpx(a[2 * j + 1], b ? b[2 * j + 1] : 0.0f);
    Cpx* f = spectrum_.data();
    fft_.forward(z, f);
    for (int k = 0; k < n; ++k) {
      // The spectra of the two real sequences: (F_k + conj F_{n-k}) / 2 and (F_k - conj F_{n-k}) /
      // 2i.
      const Cpx fk = f[k];
      const Cpx fr = std::conj(f[k == 0 ? 0 : n - k]);
      const Cpx va = 0.5f * (fk + fr);
      const Cpx vb = 0.5f * (fk - fr);  // i Vb
      const Cpx t = twiddle_[k];        // X_k = Re(V_k e^{-iπk/2n})
      xa[k] = va.real() * t.real() + va.imag() * t.imag();
      if (b) xb[k] = vb.imag() * t.real() - vb.real() * t.imag();
    }
  }

  /// a = n DCT-II⁻¹(Xa), b = n DCT-II⁻¹(Xb) (b may be null; then xb is not read). Coefficients at
  /// and beyond `nonzero` are taken as 0.
  void inverse(const float* xa, const float* xb, float* a, float* b, int nonzero) const {
    const int n = n_;
    if (n == 1) {
      a[0] = xa[0];
      if (b) b[0] = xb[0];
      return;
    }
    auto coef = [&](const float* x, int k) { return x && k < nonzero && k < n ? x[k] : 0.0f; };
    Cpx* s = spectrum_.data();
    for (int k = 0; k < n; ++k) {
      // V_k = e^{iπk/2n} (X_k - i X_{n-k}), X_n = 0; the spectrum of the sum a + i b is Va + i Vb,
      // conjugated so that the forward FFT inverts it.
      const int r = n - k;
      const Cpx t = twiddle_[k];
      const Cpx va = t * Cpx(coef(xa, k), -coef(xa, r));
      const Cpx vb = t * Cpx(coef(xb, k), -coef(xb, r));
      s[k] = std::conj(va + Cpx(-vb.imag(), vb.real()));
    }
    Cpx* z = z_.data();
    fft_.forward(s, z);
    for (int j = 0; 2 * j < n; ++j) {
      a[2 * j] = z[j].real();
      if (b) b[2 * j] = -z[j].imag();
    }
    for (int j = 0; 2 * j + 1 < n; ++j) {
      a[2 * j + 1] = z[n - 1 - j].real();
      if (b) b[2 * j + 1] = -z[n - 1 - j].imag();
    }
  }

 private:
  int n_;
  Fft fft_;
  std::vector<Cpx> twiddle_;
  mutable std::vector<Cpx> z_;
  mutable std::vector<Cpx> spectrum_;
};

/// exp(-T λ_k) / n for k < n, 0 below kCut; `nonzero` receives the count of leading non-zeros
/// (λ_k grows with k, so the zeros are a suffix).
std::vector<float> mode_factors(int n, double time, int* nonzero) {
  std::vector<float> f(static_cast<std::size_t>(n), 0.0f);
  *nonzero = 0;
  for (int k = 0; k < n; ++k) {
    const double s = std::sin(kPi * k / (2.0 * n));
    const double e = std::exp(-time * 4.0 * s * s);
    if (e < kCut) break;
    f[k] = static_cast<float>(e / n);
    *nonzero = k + 1;
  }
  return f;
}

/// Columns per block of the column pass: 16 floats, one 64-byte line of each row.
constexpr int kColumnBlock = 16;

using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Map = Eigen::Map<RowMajor, Eigen::Unaligned, Eigen::OuterStride<>>;
using ConstMap = Eigen::Map<const RowMajor, Eigen::Unaligned, Eigen::OuterStride<>>;

/// Rows per block of a pruned row pass, columns per block of a pruned column pass: fixed, so the
/// products' shapes (and with them every sum's order) do not depend on the thread count.
constexpr int kRowBlock = 64;
constexpr int kMatrixColumnBlock = 64;

/// The first k modes of the DCT-II of length n as matrix products on folded lines (see the top of
/// the file). A line x is folded into e_m = x_m + x_{n-1-m} (m < n/2; for odd n the middle sample
/// itself is e's last entry) and o_m = x_m - x_{n-1-m}; mode 2j is e · even_j, mode 2j+1 is o ·
/// odd_j, each column scaled by the axis's gain exp(-T λ_k) (k ? 2 : 1) / n, so that the plain
/// basis sums of the inverse give the exact 1-D operator C⁻¹ diag(exp(-T λ)) C.
class PrunedDct {
 public:
  PrunedDct(int n, int k, double time)
      : n_(n), ne_((n + 1) / 2), no_(n / 2), ke_((k + 1) / 2), ko_(k / 2) {
    fwd_even_.resize(ne_, ke_);
    fwd_odd_.resize(no_, ko_);
    inv_even_.resize(ke_, ne_);
    inv_odd_.resize(ko_, no_);
    for (int mode = 0; mode < k; ++mode) {
      const double s = std::sin(kPi * mode / (2.0 * n));
      const double gain = std::exp(-time * 4.0 * s * s) * (mode ? 2.0 : 1.0) / n;
      const int j = mode / 2;
      for (int m = 0; m < (mode % 2 ? no_ : ne_); ++m) {
        // cos(π mode (2m + 1) / 2n) with the angle reduced mod 4n in integers.
        const long long q = static_cast<long long>(mode) * (2 * m + 1) % (4LL * n);
        const double c = std::cos(kPi * static_cast<double>(q) / (2.0 * n));
        if (mode % 2) {
          fwd_odd_(m, j) = static_cast<float>(c * gain);
          inv_odd_(j, m) = static_cast<float>(c);
        } else {
          fwd_even_(m, j) = static_cast<float>(c * gain);
          inv_even_(j, m) = static_cast<float>(c);
        }
      }
    }
  }

  int modes() const { return ke_ + ko_; }
  int even_modes() const { return ke_; }
  int half_even() const { return ne_; }
  int half_odd() const { return no_; }

  /// Folds the contiguous line x into e[0, ne) and o[0, no).
  void fold(const float* x, float* e, float* o) const {
    for (int m = 0; m < no_; ++m) {
      e[m] = x[m] + x[n_ - 1 - m];
      o[m] = x[m] - x[n_ - 1 - m];
    }
    if (ne_ > no_) e[no_] = x[no_];
  }

  /// The inverse of fold for the sums of the inverse products: x_m = e_m + o_m,
  /// x_{n-1-m} = e_m - o_m.
  void unfold(const float* e, const float* o, float* x) const {
    for (int m = 0; m < no_; ++m) {
      x[m] = e[m] + o[m];
      x[n_ - 1 - m] = e[m] - o[m];
    }
    if (ne_ > no_) x[no_] = e[no_];
  }

  /// fold for `count` lines side by side: sample m of line j at x[m xs + j]; e and o row-major
  /// with `count` columns.
  void fold_lines(const float* x, std::ptrdiff_t xs, int count, float* e, float* o) const {
    for (int m = 0; m < no_; ++m) {
      const float* a = x + m * xs;
      const float* b = x + (n_ - 1 - m) * xs;
      float* em = e + static_cast<std::ptrdiff_t>(m) * count;
      float* om = o + static_cast<std::ptrdiff_t>(m) * count;
      for (int j = 0; j < count; ++j) {
        em[j] = a[j] + b[j];
        om[j] = a[j] - b[j];
      }
    }
    if (ne_ > no_) {
      std::copy(x + no_ * xs, x + no_ * xs + count, e + static_cast<std::ptrdiff_t>(no_) * count);
    }
  }

  /// unfold for `count` lines side by side (the layout of fold_lines).
  void unfold_lines(const float* e, const float* o, int count, float* x, std::ptrdiff_t xs) const {
    for (int m = 0; m < no_; ++m) {
      float* a = x + m * xs;
      float* b = x + (n_ - 1 - m) * xs;
      const float* em = e + static_cast<std::ptrdiff_t>(m) * count;
      const float* om = o + static_cast<std::ptrdiff_t>(m) * count;
      for (int j = 0; j < count; ++j) {
        a[j] = em[j] + om[j];
        b[j] = em[j] - om[j];
      }
    }
    if (ne_ > no_) {
      const float* em = e + static_cast<std::ptrdiff_t>(no_) * count;
      std::copy(em, em + count, x + no_ * xs);
    }
  }

  /// Along rows: coefficients (rows x modes(), even modes first) = folded rows times the basis.
  /// e: rows x ne (stride se), o: rows x no (stride so).
  void forward_rows(const ConstMap& e, const ConstMap& o, Map coef) const {
    if (ke_ > 0) coef.leftCols(ke_).noalias() = e * fwd_even_;
    if (ko_ > 0) {
      if (no_ > 0) {
        coef.middleCols(ke_, ko_).noalias() = o * fwd_odd_;
      } else {
        coef.middleCols(ke_, ko_).setZero();
      }
    }
  }

  /// Along rows: folded sums (e: rows x ne, o: rows x no) of the coefficients' inverse.
  void inverse_rows(const ConstMap& coef, Map e, Map o) const {
    e.noalias() = coef.leftCols(ke_) * inv_even_;
    if (no_ > 0) {
      if (ko_ > 0) {
        o.noalias() = coef.middleCols(ke_, ko_) * inv_odd_;
      } else {
        o.setZero();
      }
    }
  }

  /// Along columns: the folded columns e (ne x b), o (no x b) are replaced by the folded sums of
  /// forward, gain and inverse; ce, co: ke x b and ko x b scratch.
  void filter_columns(Map e, Map o, Map ce, Map co) const {
    ce.noalias() = fwd_even_.transpose() * e;
    e.noalias() = inv_even_.transpose() * ce;
    if (no_ > 0) {
      if (ko_ > 0) {
        co.noalias() = fwd_odd_.transpose() * o;
        o.noalias() = inv_odd_.transpose() * co;
      } else {
        o.setZero();
      }
    }
  }

 private:
  int n_, ne_, no_, ke_, ko_;
  RowMajor fwd_even_, fwd_odd_;  // ne x ke, no x ko (gains folded in)
  RowMajor inv_even_, inv_odd_;  // ke x ne, ko x no
};

Map map(float* p, int rows, int cols, std::ptrdiff_t stride) {
  return Map(p, rows, cols, Eigen::OuterStride<>(stride));
}
ConstMap cmap(const float* p, int rows, int cols, std::ptrdiff_t stride) {
  return ConstMap(p, rows, cols, Eigen::OuterStride<>(stride));
}

}  // namespace

void heat_spectral(const ImageView& src, const ImageView& dst, const detail::HeatSpectralPlan& plan,
                   Context& ctx) {
  auto& impl = ctx.impl();
  ThreadPool& pool = impl.workers();
  const int w = src.width, h = src.height, nc = plan.channels;
  const int workers = pool.size();
  int kx = 0, ky = 0;
  const std::vector<float> fx = mode_factors(w, plan.time, &kx);
  const std::vector<float> fy = mode_factors(h, plan.time, &ky);

  // The coefficient planes: h rows of the w transformed columns (FFT along x) or of the kx live
  // modes, even modes first (matrix products along x); the column pass touches their first kx.
  const int cw = plan.matrix_x ? kx : w;
  const std::ptrdiff_t ps = static_cast<std::ptrdiff_t>(cw) * h;
  const Planes coef{impl.host_scratch(detail::kSpectralHostSlot, static_cast<std::size_t>(ps) * nc),
                    cw,
                    h,
                    nc,
                    cw,
                    ps};
  // Per worker: FFT rows: two float rows of every channel and two of the transform; matrix rows:
  // a row of every channel and the folded halves of kRowBlock rows of every channel; FFT columns:
  // the transposed block and two columns; matrix columns: the folded block and its coefficients.
  const int block_rows = std::min(kRowBlock, h);  // rows of each channel's folded block
  const std::size_t rows_floats = plan.matrix_x
                                      ? static_cast<std::size_t>(w) * nc * (block_rows + 1)
                                      : 2 * static_cast<std::size_t>(w) * nc + 2 * w;
  const std::size_t block_floats = plan.matrix_y
                                       ? static_cast<std::size_t>(kMatrixColumnBlock) * (h + ky)
                                       : static_cast<std::size_t>(kColumnBlock) * h + 2 * h;
  const std::size_t per_worker = std::max(rows_floats, block_floats);
  float* work = impl.host_scratch(detail::kSpectralHostSlot + 1, per_worker * workers);
  std::vector<Dct> dx, dy;
  if (!plan.matrix_x) dx.assign(static_cast<std::size_t>(workers), Dct(w));
  if (!plan.matrix_y) dy.assign(static_cast<std::size_t>(workers), Dct(h));
  const PrunedDct px(plan.matrix_x ? w : 1, plan.matrix_x ? kx : 1, plan.time);
  const PrunedDct py(plan.matrix_y ? h : 1, plan.matrix_y ? ky : 1, plan.time);

  // Pass 1: rows -> forward x -> factor -> coefficient planes.
  const int row_pairs = (h + 1) / 2;
  const int row_blocks = (h + kRowBlock - 1) / kRowBlock;
  dispatch_type(src.type, [&](auto tag) {
    using T = decltype(tag);
    const ViewLoader<T> load{src, nc};
    if (plan.matrix_x) {
      // Blocks of kRowBlock rows: load and fold each row, then two products per channel.
      const int ne = px.half_even(), no = px.half_odd();
      pool.run(row_blocks, [&](int block, int worker) {
        float* mem = work + per_worker * worker;
        const int y0 = block * kRowBlock, rows = std::min(kRowBlock, h - y0);
        float* line[4];
        for (int c = 0; c < nc; ++c) line[c] = mem + static_cast<std::ptrdiff_t>(c) * w;
        float* folded =
            mem + static_cast<std::ptrdiff_t>(nc) * w;  // channel c, row r at (c R + r) w
        for (int r = 0; r < rows; ++r) {
          load(y0 + r, 0, w, line);
          for (int c = 0; c < nc; ++c) {
            float* e = folded + (static_cast<std::ptrdiff_t>(c) * block_rows + r) * w;
            px.fold(line[c], e, e + ne);
          }
        }
        for (int c = 0; c < nc; ++c) {
          const float* e = folded + static_cast<std::ptrdiff_t>(c) * block_rows * w;
          px.forward_rows(cmap(e, rows, ne, w), cmap(e + ne, rows, no, w),
                          map(coef.row(c, y0), rows, kx, cw));
        }
      });
      return;
    }
    pool.run(row_pairs, [&](int pair, int worker) {
      const PairRows rows = pair_rows(work + per_worker * worker, w, nc);
      float* const* ra = rows.a;
      float* const* rb = rows.b;
      const int y = 2 * pair;
      const bool two = y + 1 < h;
      load(y, 0, w, ra);
      if (two) load(y + 1, 0, w, rb);
      const Dct& d = dx[worker];
      for (int c = 0; c < nc; ++c) {
        float* xa = coef.row(c, y);
        float* xb = two ? coef.row(c, y + 1) : nullptr;
        d.forward(ra[c], two ? rb[c] : nullptr, xa, xb);
        for (int k = 0; k < w; ++k) xa[k] *= fx[k];
        if (two) {
          for (int k = 0; k < w; ++k) xb[k] *= fx[k];
        }
      }
    });
  });
  impl.report_progress(1, 3, "heat_smooth");

  // Pass 2: blocks of columns (only the kx non-zero ones): forward y, factor, inverse y.
  if (plan.matrix_y) {
    const int ne = py.half_even(), no = py.half_odd(), ke = py.even_modes();
    const int blocks_per_plane = (kx + kMatrixColumnBlock - 1) / kMatrixColumnBlock;
    pool.run(blocks_per_plane * nc, [&](int item, int worker) {
      const int c = item / blocks_per_plane;
      const int x0 = (item % blocks_per_plane) * kMatrixColumnBlock;
      const int bw = std::min(kMatrixColumnBlock, kx - x0);
      float* e = work + per_worker * worker;  // ne x bw, then o: no x bw, then the coefficients
      float* o = e + static_cast<std::ptrdiff_t>(ne) * bw;
      float* ce = o + static_cast<std::ptrdiff_t>(no) * bw;
      float* co = ce + static_cast<std::ptrdiff_t>(ke) * bw;
      py.fold_lines(coef.row(c, 0) + x0, cw, bw, e, o);
      py.filter_columns(map(e, ne, bw, bw), map(o, no, bw, bw), map(ce, ke, bw, bw),
                        map(co, ky - ke, bw, bw));
      py.unfold_lines(e, o, bw, coef.row(c, 0) + x0, cw);
    });
  } else {
    const int blocks_per_plane = (kx + kColumnBlock - 1) / kColumnBlock;
    pool.run(blocks_per_plane * nc, [&](int item, int worker) {
      const int c = item / blocks_per_plane;
      const int x0 = (item % blocks_per_plane) * kColumnBlock;
      const int bw = std::min(kColumnBlock, kx - x0);
      float* block = work + per_worker * worker;  // column j of the block at block + j h
      float* ta = block + static_cast<std::ptrdiff_t>(kColumnBlock) * h;
      float* tb = ta + h;
      for (int y = 0; y < h; ++y) {
        const float* row = coef.row(c, y) + x0;
        for (int j = 0; j < bw; ++j) block[static_cast<std::ptrdiff_t>(j) * h + y] = row[j];
      }
      const Dct& d = dy[worker];
      for (int j = 0; j < bw; j += 2) {
        float* ca = block + static_cast<std::ptrdiff_t>(j) * h;
        float* cb = j + 1 < bw ? ca + h : nullptr;
        d.forward(ca, cb, ta, tb);
        for (int k = 0; k < h; ++k) ta[k] *= fy[k];
        if (cb) {
          for (int k = 0; k < h; ++k) tb[k] *= fy[k];
        }
        d.inverse(ta, cb ? tb : nullptr, ca, cb, ky);
      }
      for (int y = 0; y < h; ++y) {
        float* row = coef.row(c, y) + x0;
        for (int j = 0; j < bw; ++j) row[j] = block[static_cast<std::ptrdiff_t>(j) * h + y];
      }
    });
  }
  impl.report_progress(2, 3, "heat_smooth");

  // Pass 3: inverse x of the coefficient rows (coefficients from kx on are 0) -> dst.
  dispatch_type(dst.type, [&](auto tag) {
    using T = decltype(tag);
    const ViewStore<T> store{dst, nc};
    if (plan.matrix_x) {
      const int ne = px.half_even(), no = px.half_odd();
      pool.run(row_blocks, [&](int block, int worker) {
        float* mem = work + per_worker * worker;
        const int y0 = block * kRowBlock, rows = std::min(kRowBlock, h - y0);
        float* line[4];
        for (int c = 0; c < nc; ++c) line[c] = mem + static_cast<std::ptrdiff_t>(c) * w;
        float* folded = mem + static_cast<std::ptrdiff_t>(nc) * w;
        for (int c = 0; c < nc; ++c) {
          float* e = folded + static_cast<std::ptrdiff_t>(c) * block_rows * w;
          px.inverse_rows(cmap(coef.row(c, y0), rows, kx, cw), map(e, rows, ne, w),
                          map(e + ne, rows, no, w));
        }
        for (int r = 0; r < rows; ++r) {
          for (int c = 0; c < nc; ++c) {
            const float* e = folded + (static_cast<std::ptrdiff_t>(c) * block_rows + r) * w;
            px.unfold(e, e + ne, line[c]);
          }
          store(y0 + r, 0, w, line);
        }
      });
      return;
    }
    pool.run(row_pairs, [&](int pair, int worker) {
      const PairRows rows = pair_rows(work + per_worker * worker, w, nc);
      float* const* ra = rows.a;
      float* const* rb = rows.b;
      const int y = 2 * pair;
      const bool two = y + 1 < h;
      const Dct& d = dx[worker];
      for (int c = 0; c < nc; ++c) {
        d.inverse(coef.row(c, y), two ? coef.row(c, y + 1) : nullptr, ra[c], two ? rb[c] : nullptr,
                  kx);
      }
      store(y, 0, w, ra);
      if (two) store(y + 1, 0, w, rb);
    });
  });
  impl.report_progress(3, 3, "heat_smooth");
  if (nc < src.channels && !(src.data == dst.data && src.type == dst.type)) {
    copy_channel(src, dst, src.channels - 1, pool);
  }
}

}  // namespace cpu
}  // namespace pdeimg
