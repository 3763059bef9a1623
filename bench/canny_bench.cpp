// pdeimg::canny against cv::Canny on the CPU, in one run: 4096 x 4096 8-bit grey, the same
// absolute thresholds, the 3x3 Sobel operator, L2 magnitude (cv::Canny's L2gradient = true), no
// smoothing on either side. Prints both times, their ratio and how much the edge maps agree.
//
// The image: camera.png from the shared test data tiled to the size (a photograph's edge density;
// tile seams add a few straight edges), or, without it, random overlapping discs and rectangles
// with mild noise. Cases run round-robin, each reported by its best time over the rounds.
//
//   canny_bench [--size N] [--threads N] [--low L] [--high H] [--rounds N] [--image FILE]
// Exit status: 0; 2 on a usage error; 1 when something fails.
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "bench/bench_util.hpp"
#include "pdeimg/canny.hpp"
#include "pdeimg/context.hpp"
#include "pdeimg/error.hpp"
#include "pdeimg/image.hpp"

#ifndef PDEIMG_BENCH_DATA_DIR
#define PDEIMG_BENCH_DATA_DIR ""
#endif

namespace {

using pdeimg::bench::now_s;

struct Options {
  int size = 4096;
  int threads = 0;
  double low = 50.0;
  double high = 150.0;
  int rounds = 7;
  std::string image = std::string(PDEIMG_BENCH_DATA_DIR) + "/images/camera.png";
};

int usage(const char* argv0) {
  std::fprintf(
      stderr,
      "usage: %s [--size N] [--threads N] [--low L] [--high H] [--rounds N] [--image FILE]\n",
      argv0);
  return 2;
}

/// The benchmark picture: `file` tiled, or synthetic shapes when it cannot be read.
cv::Mat make_image(int n, const std::string& file, std::string* what) {
  cv::Mat tile = file.empty() ? cv::Mat() : cv::imread(file, cv::IMREAD_GRAYSCALE);
  cv::Mat img(n, n, CV_8UC1);
  if (!tile.empty()) {
    for (int y = 0; y < n; ++y)
      for (int x = 0; x < n; ++x)
        img.at<std::uint8_t>(y, x) = tile.at<std::uint8_t>(y % tile.rows, x % tile.cols);
    *what = file + " tiled";
    return img;
  }
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  img.setTo(90);
  for (int i = 0; i < 400; ++i) {
    const cv::Point c(int(u(rng) * n), int(u(rng) * n));
    const int r = 10 + int(u(rng) * n / 16);
    const cv::Scalar v(20 + 220 * u(rng));
    if (i % 2) {
      cv::circle(img, c, r, v, cv::FILLED, cv::LINE_AA);
    } else {
      cv::rectangle(img, cv::Rect(c.x, c.y, r, r / 2 + 5), v, cv::FILLED);
    }
  }
  cv::Mat noise(n, n, CV_8UC1);
  cv::randn(noise, 0, 3);
  cv::add(img, noise, img);
  *what = "synthetic shapes";
  return img;
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) return usage(argv[0]);
    const char* v = argv[++i];
    if (a == "--size")
      opt.size = std::atoi(v);
    else if (a == "--threads")
      opt.threads = std::atoi(v);
    else if (a == "--low")
      opt.low = std::atof(v);
    else if (a == "--high")
      opt.high = std::atof(v);
    else if (a == "--rounds")
      opt.rounds = std::atoi(v);
    else if (a == "--image")
      opt.image = v;
    else
      return usage(argv[0]);
  }
  if (opt.size < 8 || opt.rounds < 1 || opt.threads < 0 || !(opt.low >= 0) ||
      !(opt.high >= opt.low)) {
    return usage(argv[0]);
  }
  try {
    std::string what;
    const cv::Mat img = make_image(opt.size, opt.image, &what);
    pdeimg::Context ctx(pdeimg::Backend::kCpu);
    if (opt.threads > 0) ctx.set_threads(opt.threads);
    cv::setNumThreads(ctx.threads());

    pdeimg::ImageView in;
    in.data = img.data;
    in.width = img.cols;
    in.height = img.rows;
    in.channels = 1;
    in.pitch = img.step[0];
    in.type = pdeimg::PixelType::kU8;
    cv::Mat ours(opt.size, opt.size, CV_8UC1), theirs;
    pdeimg::ImageView out = in;
    out.data = ours.data;
    out.pitch = ours.step[0];

    pdeimg::CannyParams p;
    p.smoothing = pdeimg::CannySmoothing::kNone;
    p.op = pdeimg::GradientOperator::kSobel;
    p.low = opt.low;
    p.high = opt.high;

    auto run_ours = [&] { pdeimg::canny(in, out, p, ctx); };
    auto run_theirs = [&] { cv::Canny(img, theirs, opt.low, opt.high, 3, /*L2gradient=*/true); };
    run_ours();  // warm-up: scratch, page faults
    run_theirs();
    double best_ours = 1e30, best_theirs = 1e30;
    for (int r = 0; r < opt.rounds; ++r) {
      double t0 = now_s();
      run_ours();
      best_ours = std::min(best_ours, now_s() - t0);
      t0 = now_s();
      run_theirs();
      best_theirs = std::min(best_theirs, now_s() - t0);
    }

    const double px = double(opt.size) * opt.size;
    const long long n_ours = cv::countNonZero(ours), n_theirs = cv::countNonZero(theirs);
    cv::Mat both;
    cv::bitwise_and(ours, theirs, both);
    const long long n_both = cv::countNonZero(both);
    std::printf(
        "canny, %dx%d uint8 (%s), Sobel 3x3, L2 magnitude, thresholds %g/%g, no smoothing, "
        "%d threads, best of %d\n",
        opt.size, opt.size, what.c_str(), opt.low, opt.high, ctx.threads(), opt.rounds);
    std::printf("  %-28s %9.2f ms  %6.3f Gpix/s  %lld edge pixels\n", "pdeimg::canny (cpu)",
                1e3 * best_ours, px / best_ours / 1e9, n_ours);
    std::printf("  %-28s %9.2f ms  %6.3f Gpix/s  %lld edge pixels\n", "cv::Canny (L2gradient)",
                1e3 * best_theirs, px / best_theirs / 1e9, n_theirs);
    std::printf("  time ratio pdeimg / OpenCV: %.2f (target <= 1.5)\n", best_ours / best_theirs);
    std::printf(
        "  edge pixels in both maps: %lld (%.1f%% of pdeimg's, %.1f%% of OpenCV's; they "
        "differ by design: interpolated suppression, exact hysteresis, border pixels)\n",
        n_both, 100.0 * n_both / std::max(1LL, n_ours), 100.0 * n_both / std::max(1LL, n_theirs));
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "canny_bench: %s\n", e.what());
    return 1;
  }
}
