// Smooths a synthetic step image with pdeimg and checks the result: the smallest program that
// uses the installed package. Exit 0 when the library behaved as documented.
#include <cstdio>

#include <pdeimg/pdeimg.hpp>

int main() {
  try {
    pdeimg::HostImage in(64, 48, 1, pdeimg::PixelType::kU8);
    for (int y = 0; y < in.height(); ++y)
      for (int x = 0; x < in.width(); ++x) in.row<std::uint8_t>(y)[x] = x < 32 ? 0 : 200;

    pdeimg::Context ctx;  // CUDA when available, else CPU
    pdeimg::HostImage out(in.width(), in.height(), 1, pdeimg::PixelType::kF32);
    pdeimg::HeatParams params;
    params.sigma = 2.0;
    const pdeimg::HeatReport r = pdeimg::heat_smooth(in, out, params, ctx);

    double sum = 0;
    for (int y = 0; y < out.height(); ++y)
      for (int x = 0; x < out.width(); ++x) sum += out.row<float>(y)[x];
    const double mean = sum / (out.width() * out.height());
    std::printf("backend %s, %d steps, mean %.4f (expected 100)\n", pdeimg::to_string(r.backend),
                r.steps, mean);
    return (r.steps == 16 && mean > 99.99 && mean < 100.01) ? 0 : 1;
  } catch (const pdeimg::Error& e) {
    std::fprintf(stderr, "consumer: %s\n", e.what());
    return 1;
  }
}
