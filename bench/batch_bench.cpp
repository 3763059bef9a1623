// Folder throughput of the batch pipeline (apps/batch.cpp), one run, one table: a codec-only pass
// (decode and encode every image, no processing) against edges and denoise over the same folder,
// each through run_batch exactly as the apps call it (default parameters).
//
//   batch_bench [--images 200] [--size 1024] [--jobs 0] [--dir FOLDER] [--keep]
//
// It writes N size x size 8-bit RGB PNGs (smooth shapes plus noise, so that they compress like
// photographs) into FOLDER/in, then times each pass writing into FOLDER/out.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "apps/batch.hpp"
#include "pdeimg/canny.hpp"
#include "pdeimg/io.hpp"
#include "pdeimg/perona_malik.hpp"

namespace fs = std::filesystem;
using namespace pdeimg;
using namespace pdeimg::app;

namespace {

HostImage photo_like(int size, unsigned seed) {
  HostImage img(size, size, 3, PixelType::kU8);
  std::mt19937 rng(seed);
  std::normal_distribution<float> noise(0.0f, 6.0f);
  const float cx = size * (0.3f + 0.4f * (seed % 7) / 7.0f), cy = size * 0.5f, r = size * 0.25f;
  for (int y = 0; y < size; ++y) {
    auto* row = img.row<std::uint8_t>(y);
    for (int x = 0; x < size; ++x) {
      const bool disc = (x - cx) * (x - cx) + (y - cy) * (y - cy) < r * r;
      for (int c = 0; c < 3; ++c) {
        float v = 40.0f + 120.0f * x / size + 30.0f * c + (disc ? 60.0f : 0.0f) +
                  20.0f * std::sin(0.02f * (y + 13 * c)) + noise(rng);
        row[3 * x + c] = static_cast<std::uint8_t>(std::fmin(255.0f, std::fmax(0.0f, v)));
      }
    }
  }
  return img;
}

}  // namespace

int main(int argc, char** argv) {
  int images = 200, size = 1024, jobs = 0;
  bool keep = false;
  fs::path dir = fs::temp_directory_path() / "pdeimg-batch-bench";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "batch_bench: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--images")
      images = std::atoi(next().c_str());
    else if (a == "--size")
      size = std::atoi(next().c_str());
    else if (a == "--jobs")
      jobs = std::atoi(next().c_str());
    else if (a == "--dir")
      dir = next();
    else if (a == "--keep")
      keep = true;
    else {
      std::fprintf(stderr,
                   "usage: batch_bench [--images N] [--size S] [--jobs J] [--dir D] [--keep]\n");
      return 2;
    }
  }
  const fs::path in = dir / "in", out = dir / "out";
  fs::create_directories(in);
  std::printf("folder %s: %d %dx%d 8-bit RGB PNGs\n", in.c_str(), images, size, size);
  for (int i = 0; i < images; ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "img%04d.png", i);
    if (!fs::exists(in / name)) io::write_image((in / name).string(), photo_like(size, 1u + i));
  }

  CommonOptions common;
  common.backend = "cpu";
  BatchOptions options;
  options.quiet = true;
  options.jobs = jobs;
  options.overwrite = true;

  BatchJob codec;
  codec.process = [](const HostImage& src, Context&) {
    Processed p;
    p.image = HostImage::copy_of(src);
    return p;
  };
  BatchJob edges;
  edges.output_kind = [](const HostImage&, PixelType& t, int& c) {
    t = PixelType::kU8;
    c = 1;
  };
  edges.process = [](const HostImage& src, Context& ctx) {
    Processed p;
    p.image = HostImage(src.width(), src.height(), 1, PixelType::kU8);
    canny(src, p.image, CannyParams{}, ctx);
    return p;
  };
  BatchJob denoise;
  denoise.process = [](const HostImage& src, Context& ctx) {
    Processed p;
    p.image = HostImage(src.width(), src.height(), src.channels(), src.type());
    perona_malik(src, p.image, PeronaMalikParams{}, ctx);
    return p;
  };

  struct Pass {
    const char* name;
    const BatchJob* job;
  };
  double codec_rate = 0;
  std::printf("%-10s %10s %10s %12s\n", "pass", "images/s", "MP/s", "vs codec");
  for (const Pass& pass :
       {Pass{"codec", &codec}, Pass{"edges", &edges}, Pass{"denoise", &denoise}}) {
    fs::remove_all(out);
    const BatchSummary s =
        run_batch(pass.name, {in.string(), out.string()}, options, common, *pass.job);
    if (s.failed > 0 || s.done != images) {
      std::fprintf(stderr, "batch_bench: %s: %d failed of %d\n", pass.name, s.failed, images);
      return 1;
    }
    const double rate = s.done / s.seconds;
    if (pass.job == &codec) codec_rate = rate;
    std::printf("%-10s %10.2f %10.1f %11.0f%%\n", pass.name, rate, s.megapixels / s.seconds,
                100.0 * rate / codec_rate);
    std::fflush(stdout);
  }
  fs::remove_all(out);
  if (!keep) fs::remove_all(in);
  return 0;
}
