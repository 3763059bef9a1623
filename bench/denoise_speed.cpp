// Blind denoising speed of one 8-bit image, side by side in one run: pdeimg's reaction_diffusion
// (`denoise`, noise estimate included) and perona_malik (`denoise --method pm`) against OpenCV's
// non-local means (cv::fastNlMeansDenoising / Colored, templateWindowSize 7, searchWindowSize 21,
// h = --h-scale x sigma). The methods take turns, --reps rounds; each row is the median.
//
//   denoise_speed [IMAGE] [--width 481] [--height 321] [--sigma 25] [--threads 2] [--reps 15]
//                 [--h-scale 0.8] [--colour]
// IMAGE (default ../shared/data/images/camera.png) is cropped at its top left to the size, made
// gray unless --colour, and given Gaussian noise of deviation sigma, clipped and rounded to 8 bits.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/photo.hpp>

#include "bench/bench_util.hpp"
#include "pdeimg/context.hpp"
#include "pdeimg/io.hpp"
#include "pdeimg/opencv.hpp"
#include "pdeimg/perona_malik.hpp"
#include "pdeimg/reaction_diffusion.hpp"

#ifndef PDEIMG_BENCH_DATA_DIR
#define PDEIMG_BENCH_DATA_DIR "../shared/data"
#endif

int main(int argc, char** argv) {
  using pdeimg::HostImage;
  std::string path = std::string(PDEIMG_BENCH_DATA_DIR) + "/images/camera.png";
  int width = 481, height = 321, threads = 2, reps = 15;
  double sigma = 25, h_scale = 0.8;
  bool colour = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "denoise_speed: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--width") width = std::atoi(next());
    else if (a == "--height") height = std::atoi(next());
    else if (a == "--sigma") sigma = std::atof(next());
    else if (a == "--threads") threads = std::atoi(next());
    else if (a == "--reps") reps = std::atoi(next());
    else if (a == "--h-scale") h_scale = std::atof(next());
    else if (a == "--colour") colour = true;
    else if (!a.empty() && a[0] != '-') path = a;
    else {
      std::fprintf(stderr,
                   "usage: denoise_speed [IMAGE] [--width W] [--height H] [--sigma S] "
                   "[--threads N] [--reps N] [--h-scale F] [--colour]\n");
      return 2;
    }
  }
  try {
    HostImage img = pdeimg::io::read_image(path);
    if (img.type() != pdeimg::PixelType::kU8) throw std::runtime_error(path + " is not 8-bit");
    cv::Mat m = pdeimg::mat_of(img);
    if (m.channels() == 4) cv::cvtColor(m, m, cv::COLOR_BGRA2BGR);
    if (!colour && m.channels() == 3) cv::cvtColor(m, m, cv::COLOR_BGR2GRAY);
    if (colour && m.channels() == 1) cv::cvtColor(m, m, cv::COLOR_GRAY2BGR);
    // Tile the image when it is smaller than the requested size.
    cv::Mat big;
    cv::repeat(m, (height + m.rows - 1) / m.rows, (width + m.cols - 1) / m.cols, big);
    cv::Mat clean = big(cv::Rect(0, 0, width, height)).clone();
    cv::Mat noisy(clean.size(), clean.type());
    std::mt19937 rng(1);
    std::normal_distribution<double> gauss(0.0, sigma);
    for (int y = 0; y < clean.rows; ++y)
      for (int i = 0; i < clean.cols * clean.channels(); ++i) {
        const double v = clean.ptr<std::uint8_t>(y)[i] + gauss(rng);
        noisy.ptr<std::uint8_t>(y)[i] =
            static_cast<std::uint8_t>(std::min(255.0, std::max(0.0, std::floor(v + 0.5))));
      }

    pdeimg::Context ctx(pdeimg::Backend::kCpu);
    ctx.set_threads(threads);
    ctx.start_threads();
    cv::setNumThreads(threads);
    cv::Mat out_rd, out_pm, out_nlm;
    const float h = static_cast<float>(h_scale * sigma);
    std::vector<double> t_rd, t_pm, t_nlm;
    for (int r = 0; r < reps + 1; ++r) {
      double t0 = pdeimg::bench::now_s();
      pdeimg::ReactionDiffusionReport rr;
      {
        out_rd.create(noisy.size(), noisy.type());
        rr = pdeimg::reaction_diffusion(pdeimg::view_of(noisy), pdeimg::view_of(out_rd),
                                        pdeimg::ReactionDiffusionParams{}, ctx);
      }
      const double a = pdeimg::bench::now_s() - t0;
      t0 = pdeimg::bench::now_s();
      pdeimg::perona_malik(noisy, out_pm, pdeimg::PeronaMalikParams{}, ctx);
      const double b = pdeimg::bench::now_s() - t0;
      t0 = pdeimg::bench::now_s();
      if (colour)
        cv::fastNlMeansDenoisingColored(noisy, out_nlm, h, h, 7, 21);
      else
        cv::fastNlMeansDenoising(noisy, out_nlm, h, 7, 21);
      const double c = pdeimg::bench::now_s() - t0;
      if (r == 0) {  // warm-up round: report what ran
        std::printf("denoise_speed: %dx%d %s 8-bit, sigma %g, %d thread(s), %d rounds; rd model "
                    "%s, estimated sigma %.2f\n",
                    width, height, colour ? "colour" : "gray", sigma, threads, reps,
                    rr.model_name.c_str(), rr.noise_sigma);
        continue;
      }
      t_rd.push_back(a);
      t_pm.push_back(b);
      t_nlm.push_back(c);
    }
    const double mp = width * static_cast<double>(height) / 1e6;
    const double nlm = pdeimg::bench::median_of(t_nlm);
    auto row = [&](const char* name, const std::vector<double>& t) {
      const double s = pdeimg::bench::median_of(t);
      std::printf("%-34s %9.2f ms %8.2f Mpixel/s %8.2fx nlm\n", name, s * 1e3, mp / s, nlm / s);
    };
    row("rd (denoise, blind)", t_rd);
    row("pm (denoise --method pm, blind)", t_pm);
    row("cv::fastNlMeansDenoising", t_nlm);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "denoise_speed: %s\n", e.what());
    return 1;
  }
}
