// The smallest program that uses the installed package through the umbrella header: smooths a
// synthetic step, estimates the noise added to it, denoises it blind (Perona–Malik, and the
// learned reaction–diffusion model built into the library: no model file is needed), finds its
// edge and dilates it, and checks each result. Exit 0 when the library behaved as documented.
#include <cmath>
#include <cstdint>
#include <cstdio>

#include <pdeimg/pdeimg.hpp>

namespace {

/// Mean squared difference of two 8-bit single-channel images.
double mse(const pdeimg::HostImage& a, const pdeimg::HostImage& b) {
  double s = 0;
  for (int y = 0; y < a.height(); ++y)
    for (int x = 0; x < a.width(); ++x) {
      const double d = double(a.row<std::uint8_t>(y)[x]) - b.row<std::uint8_t>(y)[x];
      s += d * d;
    }
  return s / (a.width() * a.height());
}

}  // namespace

int main() {
  try {
    const int w = 64, h = 48;
    pdeimg::HostImage step(w, h, 1, pdeimg::PixelType::kU8);
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) step.row<std::uint8_t>(y)[x] = x < 32 ? 60 : 190;

    pdeimg::Context ctx;  // CUDA when available, else CPU
    bool ok = true;

    // Heat: sigma 2 is 16 steps of dt 1/8 and keeps the mean.
    pdeimg::HostImage smooth(w, h, 1, pdeimg::PixelType::kF32);
    pdeimg::HeatParams heat;
    heat.sigma = 2.0;
    heat.scheme = pdeimg::HeatScheme::kExplicit;
    const pdeimg::HeatReport r = pdeimg::heat_smooth(step, smooth, heat, ctx);
    double sum = 0;
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) sum += smooth.row<float>(y)[x];
    const double mean = sum / (w * h);
    std::printf("backend %s: heat %d steps, mean %.4f (expected 125)\n",
                pdeimg::to_string(r.backend), r.steps, mean);
    ok = ok && r.steps == 16 && std::fabs(mean - 125.0) < 0.01;

    // Noise of deviation about 10 (sum of 12 uniforms), estimated, then removed blind.
    pdeimg::HostImage noisy(w, h, 1, pdeimg::PixelType::kU8);
    std::uint32_t s = 12345u;
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) {
        double n = -6.0;
        for (int i = 0; i < 12; ++i) {
          s ^= s << 13, s ^= s >> 17, s ^= s << 5;
          n += (s >> 8) / 16777216.0;
        }
        const long v = step.row<std::uint8_t>(y)[x] + std::lround(10.0 * n);
        noisy.row<std::uint8_t>(y)[x] = static_cast<std::uint8_t>(v < 0 ? 0 : v > 255 ? 255 : v);
      }
    const pdeimg::NoiseEstimate noise = pdeimg::estimate_noise(noisy, ctx);
    pdeimg::HostImage clean(w, h, 1, pdeimg::PixelType::kU8);
    const pdeimg::PeronaMalikReport pm = pdeimg::perona_malik(noisy, clean, {}, ctx);
    std::printf("noise %.2f (added 10), denoised in %d steps: mse %.1f -> %.1f\n", noise.sigma,
                pm.steps, mse(noisy, step), mse(clean, step));
    ok = ok && noise.sigma > 7.0 && noise.sigma < 13.0 && mse(clean, step) < 0.5 * mse(noisy, step);

    // The built-in learned model, blind: needs no data file wherever the program runs.
    pdeimg::HostImage learned(w, h, 1, pdeimg::PixelType::kU8);
    const pdeimg::ReactionDiffusionReport rd =
        pdeimg::reaction_diffusion(noisy, learned, pdeimg::ReactionDiffusionParams{}, ctx);
    std::printf("learned model %s (%s), %d stages: mse %.1f -> %.1f\n", rd.model_name.c_str(),
                rd.model_hash.c_str(), rd.stages, mse(noisy, step), mse(learned, step));
    ok = ok && !rd.model_name.empty() && rd.stages > 0 &&
         mse(learned, step) < 0.5 * mse(noisy, step);

    // Dilation by a disc of radius 3 moves the bright side 3 pixels left: x = 29 is bright now.
    pdeimg::HostImage dilated(w, h, 1, pdeimg::PixelType::kU8);
    pdeimg::MorphParams morph;
    morph.radius = 3.0;
    pdeimg::morphology(step, dilated, morph, ctx);
    std::printf("dilated: x = 28 %d, x = 29 %d\n", dilated.row<std::uint8_t>(h / 2)[28],
                dilated.row<std::uint8_t>(h / 2)[29]);
    ok = ok && dilated.row<std::uint8_t>(h / 2)[28] == 60 &&
         dilated.row<std::uint8_t>(h / 2)[29] == 190;

    // The step's edge: found on the columns next to x = 32, nowhere else.
    pdeimg::HostImage edges(w, h, 1, pdeimg::PixelType::kU8);
    pdeimg::canny(step, edges, pdeimg::CannyParams{}, ctx);
    int on_edge = 0, elsewhere = 0;
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x)
        if (edges.row<std::uint8_t>(y)[x] != 0) ++((x == 31 || x == 32) ? on_edge : elsewhere);
    std::printf("edges: %d pixels at the step, %d elsewhere\n", on_edge, elsewhere);
    ok = ok && on_edge >= h - 2 && elsewhere == 0;
    return ok ? 0 : 1;
  } catch (const pdeimg::Error& e) {
    std::fprintf(stderr, "consumer: %s\n", e.what());
    return 1;
  }
}
