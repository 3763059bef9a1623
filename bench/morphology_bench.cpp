// Morphology by PDEs against OpenCV's flat morphology on the CPU, side by side in one run.
//
// On a 2048 x 2048 image with fixed random content (float32, then uint8) and the same thread
// count for both (default 2; cv::setNumThreads), it times
//   exact disc r   pdeimg::dilate by the disc, MorphScheme::kExact (the flat max over the digital
//                  disc, in the input's type)                    r = 10 and 30, vs cv::dilate with
//                  getStructuringElement(MORPH_ELLIPSE, 2r+1 x 2r+1);
//   upwind disc r  the same with MorphScheme::kUpwind (Rouy–Tourin, 2r steps of 1/2);
//   square r       pdeimg::dilate by the square (exact)                      vs MORPH_RECT (equal);
//   heat n steps   heat_smooth with n fused steps of 1/8: the cost of one fused diffusion step, to
//                  which one upwind disc step and one unit of the exact disc's radius are compared
//                  (the "cost per radius step").
// Cases run round-robin (one call of each per round) so that background load hits all alike; each
// is reported by its best and median time, ratios from the best. Targets (the issue's, not a test):
// disc r 10 at least as fast as OpenCV, r 30 at least 3x faster, a disc step within 1.5x of a heat
// step.
//
//   morphology_bench [--size N] [--threads N] [--rounds N]
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "bench/bench_util.hpp"
#include "pdeimg/context.hpp"
#include "pdeimg/heat.hpp"
#include "pdeimg/image.hpp"
#include "pdeimg/morphology.hpp"

namespace {

using pdeimg::bench::now_s;

struct Case {
  std::string name;
  std::function<void()> run;
  std::vector<double> times;
  double best() const { return *std::min_element(times.begin(), times.end()); }
  double median() const { return pdeimg::bench::median_of(times); }
};

int cv_type(pdeimg::PixelType t) {
  return t == pdeimg::PixelType::kU8 ? CV_8UC1 : CV_32FC1;
}

}  // namespace

int main(int argc, char** argv) {
  int size = 2048, threads = 2, rounds = 5;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 < argc && a == "--size")
      size = std::atoi(argv[++i]);
    else if (i + 1 < argc && a == "--threads")
      threads = std::atoi(argv[++i]);
    else if (i + 1 < argc && a == "--rounds")
      rounds = std::atoi(argv[++i]);
    else {
      std::fprintf(stderr, "usage: %s [--size N] [--threads N] [--rounds N]\n", argv[0]);
      return 2;
    }
  }
  cv::setNumThreads(threads);
  pdeimg::Context ctx(pdeimg::Backend::kCpu);
  ctx.set_threads(threads);
  std::printf(
      "morphology_bench: %dx%d, %d threads (pdeimg and OpenCV), %d rounds, best (median) "
      "ms\n",
      size, size, threads, rounds);
  for (pdeimg::PixelType type : {pdeimg::PixelType::kF32, pdeimg::PixelType::kU8}) {
    pdeimg::HostImage in(size, size, 1, type), out(size, size, 1, type);
    pdeimg::bench::fill_random(in.view());
    const cv::Mat src(size, size, cv_type(type), in.view().data, in.view().pitch);
    cv::Mat dst;
    std::vector<Case> cases;
    auto disc = [&](double r, pdeimg::StructuringElement shape, pdeimg::MorphScheme scheme) {
      return [&, r, shape, scheme] {
        pdeimg::MorphParams p;
        p.radius = r;
        p.shape = shape;
        p.scheme = scheme;
        pdeimg::morphology(in, out, p, ctx);
      };
    };
    auto cv_dilate = [&](int r, int kind) {
      const cv::Mat k = cv::getStructuringElement(kind, cv::Size(2 * r + 1, 2 * r + 1));
      return [&, k] { cv::dilate(src, dst, k); };
    };
    const int heat_steps = 64;
    pdeimg::HeatParams hp;
    hp.time = heat_steps * 0.125;
    using pdeimg::MorphScheme;
    using pdeimg::StructuringElement;
    const StructuringElement kDisc = StructuringElement::kDisc;
    cases.push_back({"pdeimg exact disc r 10", disc(10, kDisc, MorphScheme::kExact), {}});
    cases.push_back(
        {"pdeimg upwind disc r 10 (20 steps)", disc(10, kDisc, MorphScheme::kUpwind), {}});
    cases.push_back({"cv::dilate ellipse 21x21", cv_dilate(10, cv::MORPH_ELLIPSE), {}});
    cases.push_back({"pdeimg exact disc r 30", disc(30, kDisc, MorphScheme::kExact), {}});
    cases.push_back(
        {"pdeimg upwind disc r 30 (60 steps)", disc(30, kDisc, MorphScheme::kUpwind), {}});
    cases.push_back({"cv::dilate ellipse 61x61", cv_dilate(30, cv::MORPH_ELLIPSE), {}});
    cases.push_back(
        {"pdeimg square r 10", disc(10, StructuringElement::kSquare, MorphScheme::kExact), {}});
    cases.push_back({"cv::dilate rect 21x21", cv_dilate(10, cv::MORPH_RECT), {}});
    cases.push_back(
        {"pdeimg heat 64 steps of 1/8", [&] { pdeimg::heat_smooth(in, out, hp, ctx); }, {}});
    for (int k = 0; k < rounds + 1; ++k) {
      for (Case& c : cases) {
        const double t0 = now_s();
        c.run();
        const double t = now_s() - t0;
        if (k > 0) c.times.push_back(t);  // the first round warms caches and scratch
      }
    }
    std::printf("\n%s\n", pdeimg::to_string(type));
    for (const Case& c : cases)
      std::printf("  %-36s %9.2f (%9.2f)\n", c.name.c_str(), 1e3 * c.best(), 1e3 * c.median());
    const double e10 = cases[0].best(), u10 = cases[1].best(), cv10 = cases[2].best(),
                 e30 = cases[3].best(), u30 = cases[4].best(), cv30 = cases[5].best(),
                 sq = cases[6].best(), cvsq = cases[7].best(), heat = cases[8].best();
    const double heat_step = heat / heat_steps;
    std::printf(
        "  OpenCV / pdeimg exact disc: r 10 %.2fx (target >= 1), r 30 %.2fx (target >= 3)\n"
        "  OpenCV / pdeimg upwind disc: r 10 %.2fx, r 30 %.2fx; square r 10 %.2fx\n",
        cv10 / e10, cv30 / e30, cv10 / u10, cv30 / u30, cvsq / sq);
    const double upwind_step = u30 / 60, exact_unit = (e30 - e10) / 20;
    std::printf(
        "  per unit of radius: exact disc %.3f ms = %.2fx one fused heat step %.3f ms; upwind "
        "disc %.3f ms (2 steps) = %.2fx (one upwind step %.2fx, target <= 1.5)\n",
        1e3 * exact_unit, exact_unit / heat_step, 1e3 * heat_step, 2e3 * upwind_step,
        2 * upwind_step / heat_step, upwind_step / heat_step);
  }
  return 0;
}
