// Denoising quality by the published protocol (../shared/data/README.md; DnCNN, FFDNet, BM3D):
// clean 8-bit image -> float; add N(0, sigma²) noise on the 0..255 scale, neither clipped nor
// quantised; denoise in float; PSNR = 10 log10(255² / MSE) between the clean image and the output
// clipped to [0, 255] and rounded; a set's score is the mean PSNR of its images.
//
// For each sigma it prints the mean PSNR of
//   noisy      the input itself;
//   blind      perona_malik with default parameters (noise estimated; what `denoise IN OUT` does);
//   known      the same with the true sigma given (PeronaMalikParams::noise_sigma);
//   oracle     the best (K factor, time) of a grid, one setting for the whole set, chosen with the
//              clean images (what "parameters tuned on Set12" means in the README); and
//   per-image  the best grid setting of each image separately.
// Oracle runs use K = factor x s_d with the true sigma (ContrastMode::kNoise), factors from 0.6 to
// 1.6 x the default (or --factors), and the time is scanned step by step up to --max-time
// (default 3 x the default time).
//
// With --compare it scores the methods side by side instead (no oracle grid):
//   pm         perona_malik blind (what `denoise --method pm` does);
//   rd         reaction_diffusion blind with the built-in model (or --model FILE): `denoise`;
//   rd known   the same with the true sigma;
//   rd 8-bit   blind on the noisy image clipped to [0, 255] and rounded to 8 bits, as users' PNG
//              files are (PSNR of the 8-bit output; the loss against rd is what quantising costs);
//   nlm        cv::fastNlMeansDenoising (gray) or cv::fastNlMeansDenoisingColored (colour, same h
//              for luminance and colour) on that 8-bit input (it takes 8-bit only), with h tuned on
//              the set: the best of h = (0.5 .. 1.3) x sigma for each sigma, chosen with the clean
//              images; templateWindowSize 7, searchWindowSize 21 (OpenCV's defaults).
//
//   denoise_quality DIR [--sigmas 15,25,50] [--diffusivity rational] [--neighbours 4|8]
//                   [--regularize S] [--per-channel] [--factor F] [--time T] [--no-oracle]
//                   [--factors a,b,...] [--max-time T] [--threads N] [--backend cpu|cuda|auto]
//                   [--gray] [--limit N] [--scheme explicit|fed]
//                   [--compare [--model FILE] [--no-nlm]]
// DIR holds 8-bit PNG images (e.g. ../shared/data/set12 or kodak24); colour stays colour unless
// --gray. The noise is the same on every run (fixed seeds per image and sigma).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "bench/bench_util.hpp"
#include "pdeimg/context.hpp"
#include "pdeimg/error.hpp"
#include "pdeimg/io.hpp"
#include "pdeimg/noise.hpp"
#include "pdeimg/perona_malik.hpp"
#include "pdeimg/reaction_diffusion.hpp"

#if PDEIMG_HAVE_OPENCV_PHOTO
#include <opencv2/core.hpp>
#include <opencv2/photo.hpp>

#include "pdeimg/opencv.hpp"
#endif

namespace {

using pdeimg::HostImage;
using pdeimg::PixelType;

struct Options {
  std::string dir;
  std::vector<double> sigmas{15, 25, 50};
  pdeimg::PeronaMalikParams base;  // diffusivity, neighbourhood, regularisation, colour
  double factor = 0.0;             // blind/known runs: K factor override (0: default)
  double time = 0.0;               // blind/known runs: time override (0: automatic)
  bool oracle = true;
  std::vector<double> factors;  // oracle grid (empty: default factor x 0.6 .. 1.6)
  double max_time = 0.0;        // 0: 3 x the default time
  int threads = 0;
  std::string backend = "cpu";
  bool gray = false;
  int limit = 0;
  bool compare = false;
  bool nlm = true;
  std::string model;  // --compare: a model file instead of the built-in one
};

std::vector<double> parse_list(const std::string& s) {
  std::vector<double> v;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) v.push_back(std::atof(item.c_str()));
  return v;
}

/// Standard normal samples from a fixed-seed generator (Box–Muller on mt19937: the same numbers
/// with every standard library).
class Gauss {
 public:
  explicit Gauss(std::uint32_t seed) : rng_(seed) {}
  double next() {
    if (have_) {
      have_ = false;
      return spare_;
    }
    double u1 = 0.0;
    do u1 = (rng_() + 0.5) / 4294967296.0;
    while (u1 <= 0.0);
    const double u2 = (rng_() + 0.5) / 4294967296.0;
    const double r = std::sqrt(-2.0 * std::log(u1));
    spare_ = r * std::sin(2.0 * M_PI * u2);
    have_ = true;
    return r * std::cos(2.0 * M_PI * u2);
  }

 private:
  std::mt19937 rng_;
  bool have_ = false;
  double spare_ = 0.0;
};

HostImage to_float(const HostImage& u8) {
  HostImage f(u8.width(), u8.height(), u8.channels(), PixelType::kF32);
  for (int y = 0; y < u8.height(); ++y)
    for (int i = 0; i < u8.width() * u8.channels(); ++i)
      f.row<float>(y)[i] = u8.row<std::uint8_t>(y)[i];
  return f;
}

HostImage add_noise(const HostImage& clean, double sigma, std::uint32_t seed) {
  HostImage f = to_float(clean);
  Gauss g(seed);
  for (int y = 0; y < f.height(); ++y)
    for (int i = 0; i < f.width() * f.channels(); ++i)
      f.row<float>(y)[i] = static_cast<float>(f.row<float>(y)[i] + sigma * g.next());
  return f;
}

/// PSNR of the output clipped to [0, 255] and rounded, against the clean 8-bit image.
double psnr(const HostImage& clean, const HostImage& out) {
  double se = 0.0;
  const long long n = static_cast<long long>(clean.width()) * clean.height() * clean.channels();
  for (int y = 0; y < clean.height(); ++y)
    for (int i = 0; i < clean.width() * clean.channels(); ++i) {
      const float v = std::min(255.0f, std::max(0.0f, out.row<float>(y)[i]));
      const double d = std::floor(v + 0.5f) - clean.row<std::uint8_t>(y)[i];
      se += d * d;
    }
  return 10.0 * std::log10(255.0 * 255.0 / (se / static_cast<double>(n)));
}

HostImage to_gray(const HostImage& img) {
  if (img.channels() == 1) return img;
  HostImage g(img.width(), img.height(), 1, PixelType::kU8);
  for (int y = 0; y < img.height(); ++y)
    for (int x = 0; x < img.width(); ++x) {
      const std::uint8_t* p = img.row<std::uint8_t>(y) + x * img.channels();
      // OpenCV's channel order is B, G, R: ITU-R BT.601 luma.
      g.row<std::uint8_t>(y)[x] =
          static_cast<std::uint8_t>(0.114 * p[0] + 0.587 * p[1] + 0.299 * p[2] + 0.5);
    }
  return g;
}

/// The noisy float image clipped to [0, 255] and rounded: what an 8-bit file of it holds.
HostImage quantise(const HostImage& f) {
  HostImage q(f.width(), f.height(), f.channels(), PixelType::kU8);
  for (int y = 0; y < f.height(); ++y)
    for (int i = 0; i < f.width() * f.channels(); ++i) {
      const float v = std::min(255.0f, std::max(0.0f, f.row<float>(y)[i]));
      q.row<std::uint8_t>(y)[i] = static_cast<std::uint8_t>(std::floor(v + 0.5f));
    }
  return q;
}

int run_compare(const Options& opt, const std::vector<HostImage>& clean, pdeimg::Context& ctx) {
  pdeimg::RdModel model =
      opt.model.empty() ? pdeimg::RdModel::builtin() : pdeimg::RdModel::load(opt.model);
  pdeimg::ReactionDiffusionParams rp;
  rp.model = &model;
  std::printf("rd model %s (%s): %d stages of %d filters %dx%d\n", model.name().c_str(),
              model.hash().c_str(), model.stages(), model.filters(), model.filter_size(),
              model.filter_size());
  const bool nlm = opt.nlm && PDEIMG_HAVE_OPENCV_PHOTO;
  const std::vector<double> h_scale{0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.3};
  std::printf("%6s %8s %8s %8s %8s %8s %8s %8s %6s %8s %8s\n", "sigma", "noisy", "pm", "rd",
              "rd known", "rd 8-bit", "8b loss", "nlm", "h", "s/img rd", "s/img nlm");
  const double t_start = pdeimg::bench::now_s();
  for (double sigma : opt.sigmas) {
    double s_noisy = 0, s_pm = 0, s_rd = 0, s_known = 0, s_q = 0, t_rd = 0, t_nlm = 0;
    std::vector<double> s_nlm(h_scale.size(), 0.0);
    for (std::size_t i = 0; i < clean.size(); ++i) {
      const HostImage& c = clean[i];
      const HostImage noisy = add_noise(
          c, sigma, 1000u * static_cast<std::uint32_t>(sigma) + static_cast<std::uint32_t>(i));
      HostImage out(c.width(), c.height(), c.channels(), PixelType::kF32);
      s_noisy += psnr(c, noisy);
      pdeimg::perona_malik(noisy, out, pdeimg::PeronaMalikParams{}, ctx);
      s_pm += psnr(c, out);
      pdeimg::ReactionDiffusionParams p = rp;
      double t0 = pdeimg::bench::now_s();
      pdeimg::reaction_diffusion(noisy, out, p, ctx);
      t_rd += pdeimg::bench::now_s() - t0;
      s_rd += psnr(c, out);
      p.noise_sigma = sigma;
      pdeimg::reaction_diffusion(noisy, out, p, ctx);
      s_known += psnr(c, out);
      const HostImage q = quantise(noisy);
      HostImage q_out(c.width(), c.height(), c.channels(), PixelType::kU8);
      pdeimg::reaction_diffusion(q, q_out, rp, ctx);
      s_q += psnr(c, to_float(q_out));
#if PDEIMG_HAVE_OPENCV_PHOTO
      if (nlm) {
        const cv::Mat in = pdeimg::mat_of(q);
        for (std::size_t h = 0; h < h_scale.size(); ++h) {
          cv::Mat den;
          const float hv = static_cast<float>(h_scale[h] * sigma);
          t0 = pdeimg::bench::now_s();
          if (c.channels() == 1)
            cv::fastNlMeansDenoising(in, den, hv, 7, 21);
          else
            cv::fastNlMeansDenoisingColored(in, den, hv, hv, 7, 21);
          t_nlm += pdeimg::bench::now_s() - t0;
          HostImage d = to_float(HostImage::copy_of(pdeimg::view_of(den)));
          s_nlm[h] += psnr(c, d);
        }
      }
#endif
    }
    const double n = static_cast<double>(clean.size());
    const std::size_t best =
        static_cast<std::size_t>(std::max_element(s_nlm.begin(), s_nlm.end()) - s_nlm.begin());
    char nlm_psnr[32] = "-", nlm_h[32] = "-", nlm_t[32] = "-";
    if (nlm) {
      std::snprintf(nlm_psnr, sizeof nlm_psnr, "%.3f", s_nlm[best] / n);
      std::snprintf(nlm_h, sizeof nlm_h, "%.2gs", h_scale[best]);
      std::snprintf(nlm_t, sizeof nlm_t, "%.3f", t_nlm / n / static_cast<double>(h_scale.size()));
    }
    std::printf("%6g %8.3f %8.3f %8.3f %8.3f %8.3f %8.3f %8s %6s %8.3f %8s\n", sigma, s_noisy / n,
                s_pm / n, s_rd / n, s_known / n, s_q / n, (s_rd - s_q) / n, nlm_psnr, nlm_h,
                t_rd / n, nlm_t);
    std::fflush(stdout);
  }
  std::printf(
      "\n(%.1f s; PSNR in dB, mean over the set; pm and rd blind (noise estimated), rd known = "
      "the true sigma given, rd 8-bit = blind on the clipped and rounded input, 8b loss = rd - rd "
      "8-bit; nlm = OpenCV non-local means on the 8-bit input with the best h for the set, h in "
      "units of sigma; s/img = seconds per image with %d thread(s))\n",
      pdeimg::bench::now_s() - t_start, ctx.threads());
  return 0;
}

int usage(const char* argv0) {
  std::fprintf(
      stderr,
      "usage: %s DIR [--sigmas 15,25,50] [--diffusivity exponential|rational|tukey] "
      "[--neighbours 4|8] [--regularize S] [--per-channel] [--factor F] [--time T] "
      "[--no-oracle] [--factors a,b,..] [--max-time T] [--threads N] [--backend B] "
      "[--gray] [--limit N] [--scheme explicit|fed] [--compare [--model FILE] [--no-nlm]]\n",
      argv0);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::runtime_error("missing value after " + a);
      return argv[++i];
    };
    try {
      if (a == "--sigmas")
        opt.sigmas = parse_list(value());
      else if (a == "--diffusivity")
        opt.base.diffusivity = pdeimg::parse_diffusivity(value());
      else if (a == "--neighbours")
        opt.base.neighbourhood =
            value() == "8" ? pdeimg::Neighbourhood::k8 : pdeimg::Neighbourhood::k4;
      else if (a == "--regularize")
        opt.base.regularization = std::atof(value().c_str());
      else if (a == "--per-channel")
        opt.base.colour = pdeimg::ColourMode::kPerChannel;
      else if (a == "--factor")
        opt.factor = std::atof(value().c_str());
      else if (a == "--time")
        opt.time = std::atof(value().c_str());
      else if (a == "--no-oracle")
        opt.oracle = false;
      else if (a == "--factors")
        opt.factors = parse_list(value());
      else if (a == "--max-time")
        opt.max_time = std::atof(value().c_str());
      else if (a == "--threads")
        opt.threads = std::atoi(value().c_str());
      else if (a == "--backend")
        opt.backend = value();
      else if (a == "--gray")
        opt.gray = true;
      else if (a == "--scheme")
        opt.base.scheme = pdeimg::parse_perona_malik_scheme(value());
      else if (a == "--limit")
        opt.limit = std::atoi(value().c_str());
      else if (a == "--compare")
        opt.compare = true;
      else if (a == "--no-nlm")
        opt.nlm = false;
      else if (a == "--model")
        opt.model = value();
      else if (!a.empty() && a[0] != '-' && opt.dir.empty())
        opt.dir = a;
      else
        return usage(argv[0]);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "%s\n", e.what());
      return usage(argv[0]);
    }
  }
  if (opt.dir.empty()) return usage(argv[0]);
  try {
    namespace fs = std::filesystem;
    if (!fs::is_directory(opt.dir)) {
      std::fprintf(stderr,
                   "denoise_quality: '%s' is not a folder (the data lives in ../shared/data)\n",
                   opt.dir.c_str());
      return 1;
    }
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(opt.dir)) {
      const std::string ext = e.path().extension().string();
      if (e.is_regular_file() && (ext == ".png" || ext == ".tif" || ext == ".bmp"))
        files.push_back(e.path());
    }
    std::sort(files.begin(), files.end());
    if (opt.limit > 0 && static_cast<int>(files.size()) > opt.limit) files.resize(opt.limit);
    std::vector<HostImage> clean;
    for (const auto& f : files) {
      HostImage img = pdeimg::io::read_image(f.string());
      if (img.type() != PixelType::kU8) throw std::runtime_error(f.string() + " is not 8-bit");
      clean.push_back(opt.gray ? to_gray(img) : img);
    }
    if (clean.empty()) throw std::runtime_error("no images in " + opt.dir);
    pdeimg::Context ctx(pdeimg::parse_backend(opt.backend));
    if (opt.threads > 0) ctx.set_threads(opt.threads);
#if PDEIMG_HAVE_OPENCV_PHOTO
    cv::setNumThreads(opt.threads > 0 ? opt.threads : ctx.threads());
#endif
    if (opt.compare) {
      std::printf(
          "denoise_quality --compare: %zu images from %s (%d channel(s) first), backend %s\n",
          clean.size(), opt.dir.c_str(), clean[0].channels(), pdeimg::to_string(ctx.backend()));
      return run_compare(opt, clean, ctx);
    }
    const pdeimg::PeronaMalikParams& b = opt.base;
    const int colour = clean[0].channels() == 4 ? 3 : clean[0].channels();
    const int coupled = b.colour == pdeimg::ColourMode::kCoupled ? colour : 1;
    const double def_factor = pdeimg::default_k_noise_factor(b.diffusivity, coupled);
    if (opt.max_time <= 0) opt.max_time = 3.0 * pdeimg::default_time(b.diffusivity, coupled);
    std::vector<double> factors = opt.factors;
    if (factors.empty())
      for (double m : {0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.25, 1.4, 1.6})
        factors.push_back(def_factor * m);
    const double dt = b.dt > 0 ? b.dt : pdeimg::default_dt(b.neighbourhood);
    const int max_steps = std::max(1, static_cast<int>(std::ceil(opt.max_time / dt)));

    std::printf("denoise_quality: %zu images from %s (%d channel(s) first), backend %s\n",
                clean.size(), opt.dir.c_str(), clean[0].channels(),
                pdeimg::to_string(ctx.backend()));
    std::printf(
        "perona_malik: %s, %s-neighbour, %s colour, regularization %g, default K factor %g, "
        "default time %g, dt %g\n\n",
        pdeimg::to_string(b.diffusivity), pdeimg::to_string(b.neighbourhood),
        pdeimg::to_string(b.colour), b.regularization, def_factor,
        pdeimg::default_time(b.diffusivity, coupled), dt);
    std::printf("%6s %8s %9s %9s %8s %9s %9s %-22s %9s\n", "sigma", "noisy", "est.sigma", "blind",
                "s/img", "known", "oracle", "(factor, time)", "per-image");
    const double t_start = pdeimg::bench::now_s();
    for (double sigma : opt.sigmas) {
      double s_noisy = 0, s_blind = 0, s_known = 0, s_est = 0, t_blind = 0, s_per_image = 0;
      // oracle[f][step]: sum over images of PSNR after `step` steps with factor f
      std::vector<std::vector<double>> grid(factors.size(),
                                            std::vector<double>(max_steps + 1, 0.0));
      for (std::size_t i = 0; i < clean.size(); ++i) {
        const HostImage& c = clean[i];
        const HostImage noisy = add_noise(
            c, sigma, 1000u * static_cast<std::uint32_t>(sigma) + static_cast<std::uint32_t>(i));
        HostImage out(c.width(), c.height(), c.channels(), PixelType::kF32);
        s_noisy += psnr(c, noisy);
        pdeimg::PeronaMalikParams p = b;
        p.k_noise_factor = opt.factor;
        p.time = opt.time;
        const double t0 = pdeimg::bench::now_s();
        const pdeimg::PeronaMalikReport r = pdeimg::perona_malik(noisy, out, p, ctx);
        t_blind += pdeimg::bench::now_s() - t0;
        s_blind += psnr(c, out);
        s_est += r.noise_sigma;
        p.noise_sigma = sigma;
        pdeimg::perona_malik(noisy, out, p, ctx);
        s_known += psnr(c, out);
        if (!opt.oracle) continue;
        double best_image = -1e9;
        for (std::size_t f = 0; f < factors.size(); ++f) {
          HostImage u = HostImage::copy_of(noisy),
                    v(c.width(), c.height(), c.channels(), PixelType::kF32);
          pdeimg::PeronaMalikParams q = b;
          q.noise_sigma = sigma;
          q.k_noise_factor = factors[f];
          q.steps = 1;
          q.dt = dt;
          double p0 = psnr(c, u);
          grid[f][0] += p0;
          for (int s = 1; s <= max_steps; ++s) {
            pdeimg::perona_malik(u, v, q, ctx);
            std::swap(u, v);
            const double ps = psnr(c, u);
            grid[f][s] += ps;
            best_image = std::max(best_image, ps);
          }
        }
        s_per_image += best_image;
      }
      const double n = static_cast<double>(clean.size());
      char oracle[32] = "-", setting[64] = "", per_image[32] = "-";
      if (opt.oracle) {
        std::size_t bf = 0;
        int bs = 0;
        for (std::size_t f = 0; f < factors.size(); ++f)
          for (int s = 0; s <= max_steps; ++s)
            if (grid[f][s] > grid[bf][bs]) bf = f, bs = s;
        std::snprintf(oracle, sizeof oracle, "%.3f", grid[bf][bs] / n);
        std::snprintf(setting, sizeof setting, "(%.3g, %.3g)", factors[bf], bs * dt);
        std::snprintf(per_image, sizeof per_image, "%.3f", s_per_image / n);
      }
      std::printf("%6g %8.3f %9.2f %9.3f %8.3f %9.3f %9s %-22s %9s\n", sigma, s_noisy / n,
                  s_est / n, s_blind / n, t_blind / n, s_known / n, oracle, setting, per_image);
      std::fflush(stdout);
    }
    std::printf(
        "\n(%.1f s; blind = default parameters with the noise estimated, s/img its seconds "
        "per image; known = the true sigma given; oracle = best single (K factor, time) for "
        "the set; per-image = best per image)\n",
        pdeimg::bench::now_s() - t_start);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "denoise_quality: %s\n", e.what());
    return 1;
  }
}
