// CPU backend of the spectral heat solver (HeatScheme::kSpectral): the exact solution of the
// semi-discrete heat equation u_t = Δ_h u (5-point Laplacian, half-sample reflecting boundary)
//   u(T) = C⁻¹ diag(exp(-T (λx_k + λy_l))) C u(0),   λ_k = 4 sin²(π k / (2 N)),
// where C is the 2-D DCT-II, whose basis cos(π k (2n + 1) / (2N)) are the eigenvectors of that
// Laplacian. Each 1-D DCT-II is one complex FFT of length N (Makhoul, "A fast cosine transform in
// one and multiple dimensions", IEEE TASSP 28(1), 1980) computed for two real rows at once (the
// second as the imaginary part), with kissfft (BSD-3-Clause, header-only C++ kissfft.hh); lengths
// with a prime factor above kMaxDirectRadix go through Bluestein's chirp-z convolution with
// kissfft transforms of a 2,3,5-smooth length, so prime sizes cost O(N log N) too.
//
// Three passes over memory: rows (load, forward x, factor), columns in blocks of 16 (forward y,
// factor, inverse y), rows (inverse x, store). Columns whose x factor is below kCut are zero and
// skipped (at sigma 64 on 2048 columns, all but 77).
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

namespace pdeimg {
namespace cpu {
namespace {

using Cpx = std::complex<float>;
constexpr double kPi = 3.14159265358979323846;
/// Largest prime factor kissfft handles directly; its generic butterfly costs O(p) per output.
constexpr int kMaxDirectRadix = 13;
/// Mode factors below this are taken as 0: each such coefficient contributes less than 1e-12 of
/// the image's largest magnitude to any output sample, far below float precision.
constexpr double kCut = 1e-12;

int largest_prime_factor(int n) {
  int largest = 1;
  for (int p = 2; p * p <= n; ++p) {
    while (n % p == 0) {
      largest = p;
      n /= p;
    }
  }
  return std::max(largest, n);
}

/// A forward complex FFT of length n (unnormalised, e^{-2πi jk/n}). Not thread-safe (kissfft's
/// generic butterfly keeps scratch): one copy per worker.
class Fft {
 public:
  explicit Fft(int n) : n_(n) {
    if (largest_prime_factor(n) <= kMaxDirectRadix) {
      direct_.assign(static_cast<std::size_t>(n), false);
      return;
    }
    // Bluestein: X_k = w_k Σ_j (x_j w_j) conj(w_{k-j}), w_j = e^{-πi j²/n}, a circular convolution
    // of length m >= 2n - 1 done with two FFTs of length m (a 2,3,5-smooth number).
    bluestein_ = true;
    m_ = 1;
    while (m_ < 2 * n - 1) ++m_;
    while (largest_prime_factor(m_) > 5) ++m_;
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

  // The coefficient planes, and per worker: two float rows of every channel, the transposed
  // column block and the transforms.
  const std::ptrdiff_t ps = static_cast<std::ptrdiff_t>(w) * h;
  const Planes coef{impl.host_scratch(detail::kSpectralHostSlot, static_cast<std::size_t>(ps) * nc),
                    w,
                    h,
                    nc,
                    w,
                    ps};
  const std::size_t rows_floats = 2 * static_cast<std::size_t>(w) * nc + 2 * w;
  const std::size_t block_floats = static_cast<std::size_t>(kColumnBlock) * h + 2 * h;
  const std::size_t per_worker = std::max(rows_floats, block_floats);
  float* work = impl.host_scratch(detail::kSpectralHostSlot + 1, per_worker * workers);
  std::vector<Dct> dx(static_cast<std::size_t>(workers), Dct(w));
  std::vector<Dct> dy(static_cast<std::size_t>(workers), Dct(h));

  // Pass 1: rows y, y + 1 of every channel -> forward x -> factor -> coefficient planes.
  const int row_pairs = (h + 1) / 2;
  dispatch_type(src.type, [&](auto tag) {
    using T = decltype(tag);
    const ViewLoader<T> load{src, nc};
    pool.run(row_pairs, [&](int pair, int worker) {
      float* mem = work + per_worker * worker;
      float* ra[4];
      float* rb[4];
      for (int c = 0; c < nc; ++c) {
        ra[c] = mem + static_cast<std::ptrdiff_t>(c) * w;
        rb[c] = mem + static_cast<std::ptrdiff_t>(nc + c) * w;
      }
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
  impl.report_progress(2, 3, "heat_smooth");

  // Pass 3: inverse x of rows y, y + 1 (coefficients from kx on are 0) -> dst.
  dispatch_type(dst.type, [&](auto tag) {
    using T = decltype(tag);
    const ViewStore<T> store{dst, nc};
    pool.run(row_pairs, [&](int pair, int worker) {
      float* mem = work + per_worker * worker;
      float* ra[4];
      float* rb[4];
      for (int c = 0; c < nc; ++c) {
        ra[c] = mem + static_cast<std::ptrdiff_t>(c) * w;
        rb[c] = mem + static_cast<std::ptrdiff_t>(nc + c) * w;
      }
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
