// reaction_diffusion (learned reaction–diffusion, the built-in model) in one run, one table:
//   grey     481×321 8-bit (a BSDS image's size), noise σ given, and blind (estimate_noise
//            included: what `denoise --method rd` does per image);
//   portable the same on the portable loops (PDEIMG_RD_PORTABLE=1: machines without AVX-512);
//   colour   1024² 8-bit 3-channel, σ given;
//   cuda     the same cases on the CUDA backend with host views, when a device is present.
// Cases run round-robin (one call each per round) so background load hits all alike; each is
// reported by its best time and its median, in ms and Mpixel/s.
//
//   rd_bench [--threads N] [--seconds S]
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "bench/bench_util.hpp"
#include "pdeimg/context.hpp"
#include "pdeimg/error.hpp"
#include "pdeimg/image.hpp"
#include "pdeimg/reaction_diffusion.hpp"

namespace {

using pdeimg::HostImage;
using pdeimg::PixelType;
using pdeimg::bench::now_s;

struct Case {
  std::string name;
  std::function<void()> run;
  double pixels = 0;
  std::vector<double> times;
  double best() const { return *std::min_element(times.begin(), times.end()); }
  double median() const { return pdeimg::bench::median_of(times); }
};

/// Smooth shapes with edges plus Gaussian-like noise of deviation about 25 (fixed seed), 8-bit.
HostImage noisy_picture(int w, int h, int channels) {
  HostImage img(w, h, channels, PixelType::kU8);
  pdeimg::bench::Xorshift32 rng(12345u);
  auto noise = [&rng] {
    double s = 0;
    for (int i = 0; i < 4; ++i) s += rng.uniform() - 0.5;
    return 25.0 * s * std::sqrt(3.0);
  };
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < channels; ++c) {
        const double base = 128 + 60 * std::sin(0.01 * x * (c + 1)) * std::cos(0.013 * y);
        const double box = ((x / 64 + y / 64) % 2 == 0) ? 40 : -40;
        const double v = base + box + noise();
        img.row<std::uint8_t>(y)[x * channels + c] =
            static_cast<std::uint8_t>(std::min(255.0, std::max(0.0, v + 0.5)));
      }
  return img;
}

int usage(const char* argv0) {
  std::fprintf(stderr, "usage: %s [--threads N] [--seconds S]\n", argv0);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 0;
  double seconds = 6.0;
  for (int i = 1; i < argc; i += 2) {
    const std::string a = argv[i];
    const char* v = i + 1 < argc ? argv[i + 1] : nullptr;
    if (!v) return usage(argv[0]);
    if (a == "--threads")
      threads = std::atoi(v);
    else if (a == "--seconds")
      seconds = std::atof(v);
    else
      return usage(argv[0]);
  }
  try {
    pdeimg::Context cpu(pdeimg::Backend::kCpu);
    if (threads > 0) cpu.set_threads(threads);
    std::unique_ptr<pdeimg::Context> gpu;
    if (pdeimg::cuda_device_count() > 0)
      gpu = std::make_unique<pdeimg::Context>(pdeimg::Backend::kCuda);

    const HostImage grey = noisy_picture(481, 321, 1);
    const HostImage colour = noisy_picture(1024, 1024, 3);
    HostImage grey_out(481, 321, 1, PixelType::kU8), colour_out(1024, 1024, 3, PixelType::kU8);
    pdeimg::ReactionDiffusionParams given;
    given.noise_sigma = 25;
    const pdeimg::ReactionDiffusionParams blind;

    std::vector<Case> cases;
    auto add = [&](const std::string& name, pdeimg::Context& ctx, const HostImage& in,
                   const HostImage& out, const pdeimg::ReactionDiffusionParams& p,
                   bool portable = false) {
      cases.push_back(Case{name,
                           [&ctx, &in, &out, p, portable] {
                             if (portable) setenv("PDEIMG_RD_PORTABLE", "1", 1);
                             pdeimg::reaction_diffusion(in, out, p, ctx);
                             if (portable) unsetenv("PDEIMG_RD_PORTABLE");
                           },
                           double(in.width()) * in.height(),
                           {}});
    };
    add("cpu grey 481x321 u8, sigma given", cpu, grey, grey_out, given);
    add("cpu grey 481x321 u8, blind", cpu, grey, grey_out, blind);
    add("cpu grey 481x321 u8, given, portable loops", cpu, grey, grey_out, given, true);
    add("cpu colour 1024^2 u8, sigma given", cpu, colour, colour_out, given);
    if (gpu) {
      add("cuda grey 481x321 u8, sigma given", *gpu, grey, grey_out, given);
      add("cuda grey 481x321 u8, blind", *gpu, grey, grey_out, blind);
      add("cuda colour 1024^2 u8, sigma given", *gpu, colour, colour_out, given);
    }
    for (Case& c : cases) c.run();  // warm-up: threads, scratch, the built-in model's parse
    const double t_end = now_s() + seconds;
    int rounds = 0;
    while (rounds < 3 || (now_s() < t_end && rounds < 1000)) {
      for (Case& c : cases) {
        const double t0 = now_s();
        c.run();
        c.times.push_back(now_s() - t0);
      }
      ++rounds;
    }
    const pdeimg::RdModel& m = pdeimg::RdModel::builtin();
    std::printf(
        "reaction_diffusion, model %s (%s): %d stages x %d filters %dx%d; %d CPU threads, "
        "%d rounds\n",
        m.name().c_str(), m.hash().c_str(), m.stages(), m.filters(), m.filter_size(),
        m.filter_size(), cpu.threads(), rounds);
    std::printf("%-46s %10s %10s %12s\n", "case", "best ms", "median ms", "Mpixel/s");
    for (const Case& c : cases) {
      std::printf("%-46s %10.2f %10.2f %12.2f\n", c.name.c_str(), 1e3 * c.best(), 1e3 * c.median(),
                  c.pixels / c.best() / 1e6);
    }
  } catch (const pdeimg::Error& e) {
    std::fprintf(stderr, "rd_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
