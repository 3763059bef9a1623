// Device timing tool: a plain table of CUDA timings on device images, for machines with a GPU but
// without Google Benchmark or OpenCV. Run by scripts/device-check.sh.
//
// Every row is timed with CUDA events on the context's stream around one call (work already queued
// is drained first) and reported by the median over --reps calls after a warm-up call. The copy
// row (cudaMemcpyAsync device to device, bytes read + written) is the bandwidth reference; each row
// that moves a known number of bytes shows its fraction of it.
//
// Adding an operation: write a `void name_rows(Bench& b)` that sets up device images, calls
// b.time(...) for each configuration and b.add(...) for each row, and list it in kSuites.
//
//   device_bench [--size N] [--steps N] [--reps N] [--device D] [--only SUITE]
// Exit status: 0 on success, 1 when no device is present or any suite fails (the table of the
// others is printed first), 2 on a usage error.
#include <cuda_runtime.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "bench/bench_util.hpp"
#include "pdeimg/canny.hpp"
#include "pdeimg/context.hpp"
#include "pdeimg/error.hpp"
#include "pdeimg/heat.hpp"
#include "pdeimg/image.hpp"
#include "pdeimg/morphology.hpp"
#include "pdeimg/noise.hpp"
#include "pdeimg/perona_malik.hpp"
#include "pdeimg/reaction_diffusion.hpp"

namespace {

void cuda_check(cudaError_t status, const char* what) {
  if (status != cudaSuccess) {
    throw std::runtime_error(std::string(what) + ": " + cudaGetErrorName(status) + ": " +
                             cudaGetErrorString(status));
  }
}

struct Options {
  int size = 4096;
  int steps = 100;
  int reps = 20;
  int device = 0;
  std::string only;
};

/// One line of the table. `work` is counted in `unit` per call (pixel-steps, pixels, ...);
/// `bytes` is the DRAM traffic the row is expected to need per call (0: not compared with copy).
struct Row {
  std::string operation;
  std::string image;
  double seconds = 0.0;
  double work = 0.0;
  std::string unit;
  double bytes = 0.0;
};

/// Shared state of one run: the context, timing, and the rows collected so far.
class Bench {
 public:
  Bench(const Options& opt, pdeimg::Context& ctx) : opt_(opt), ctx_(ctx) {
    stream_ = static_cast<cudaStream_t>(ctx.stream());
    cuda_check(cudaEventCreate(&start_), "cudaEventCreate");
    cuda_check(cudaEventCreate(&stop_), "cudaEventCreate");
  }
  ~Bench() {
    cudaEventDestroy(start_);
    cudaEventDestroy(stop_);
  }
  Bench(const Bench&) = delete;
  Bench& operator=(const Bench&) = delete;

  const Options& options() const { return opt_; }
  pdeimg::Context& ctx() { return ctx_; }
  cudaStream_t stream() const { return stream_; }

  /// Median seconds of `call` (which queues work on stream()) over options().reps calls.
  double time(const std::function<void()>& call) {
    call();  // warm-up: scratch buffers are allocated here
    ctx_.synchronize();
    std::vector<double> t;
    for (int r = 0; r < opt_.reps; ++r) {
      cuda_check(cudaEventRecord(start_, stream_), "cudaEventRecord");
      call();
      cuda_check(cudaEventRecord(stop_, stream_), "cudaEventRecord");
      cuda_check(cudaEventSynchronize(stop_), "cudaEventSynchronize");
      float ms = 0.0f;
      cuda_check(cudaEventElapsedTime(&ms, start_, stop_), "cudaEventElapsedTime");
      t.push_back(1e-3 * ms);
    }
    ctx_.synchronize();
    return pdeimg::bench::median_of(std::move(t));
  }

  void add(Row row) { rows_.push_back(std::move(row)); }
  /// A summary line printed under the table.
  void note(const std::string& line) { notes_.push_back(line); }
  void set_copy_bandwidth(double bytes_per_s) { copy_bw_ = bytes_per_s; }
  double copy_bandwidth() const { return copy_bw_; }

  void print() const {
    std::printf("%-34s %-16s %10s %14s %-14s %9s %8s\n", "operation", "image", "ms/call", "rate",
                "unit", "GB/s", "of copy");
    for (const Row& r : rows_) {
      char rate[32] = "-", gbs[32] = "-", frac[32] = "-";
      if (r.work > 0) std::snprintf(rate, sizeof rate, "%.4g", r.work / r.seconds);
      if (r.bytes > 0) {
        std::snprintf(gbs, sizeof gbs, "%.1f", r.bytes / r.seconds / 1e9);
        if (copy_bw_ > 0)
          std::snprintf(frac, sizeof frac, "%.1f%%", 100.0 * r.bytes / r.seconds / copy_bw_);
      }
      std::printf("%-34s %-16s %10.4f %14s %-14s %9s %8s\n", r.operation.c_str(), r.image.c_str(),
                  1e3 * r.seconds, rate, r.unit.c_str(), gbs, frac);
    }
    std::printf("\n");
    for (const std::string& line : notes_) std::printf("%s\n", line.c_str());
  }

 private:
  const Options& opt_;
  pdeimg::Context& ctx_;
  cudaStream_t stream_ = nullptr;
  cudaEvent_t start_ = nullptr;
  cudaEvent_t stop_ = nullptr;
  std::vector<Row> rows_;
  std::vector<std::string> notes_;
  double copy_bw_ = 0.0;
};

std::string image_name(int w, int h, const char* type) {
  return std::to_string(w) + "x" + std::to_string(h) + " " + type;
}

/// A device image of n x n float samples with the benchmarks' fixed random content.
pdeimg::DeviceImage random_device_image(int w, int h, int channels, pdeimg::PixelType type) {
  pdeimg::HostImage host(w, h, channels, type);
  pdeimg::bench::fill_random(host);
  pdeimg::DeviceImage d(w, h, channels, type);
  d.upload(host);
  return d;
}

pdeimg::HostImage download(const pdeimg::DeviceImage& d) {
  pdeimg::HostImage h(d.width(), d.height(), d.channels(), d.type());
  d.download(h);
  return h;
}

bool same_bytes(const pdeimg::HostImage& a, const pdeimg::HostImage& b) {
  for (int y = 0; y < a.height(); ++y) {
    if (std::memcmp(a.row<char>(y), b.row<char>(y), a.view().row_bytes()) != 0) return false;
  }
  return true;
}

/// Sets PDEIMG_TEST_MAX_FUSED for its lifetime: "1" makes the CUDA step loops launch one kernel
/// per step (the reference the temporally blocked kernels are compared with).
struct FusionDepth {
  explicit FusionDepth(const char* depth) { setenv("PDEIMG_TEST_MAX_FUSED", depth, 1); }
  ~FusionDepth() { unsetenv("PDEIMG_TEST_MAX_FUSED"); }
};

/// Times `run(steps)` with one launch per step and with the default temporal blocking, requires
/// identical outputs (in `dst`), and adds a row for each.
template <class Run>
void add_fusion_rows(Bench& b, const std::string& name, const std::string& img, double px,
                     int steps, const pdeimg::DeviceImage& dst, const Run& run) {
  double t_single = 0.0;
  pdeimg::HostImage single;
  {
    FusionDepth one("1");
    t_single = run(steps);
    single = download(dst);
  }
  const double t_fused = run(steps);
  if (!same_bytes(single, download(dst))) {
    throw std::runtime_error(name + ": fused steps differ from one launch per step");
  }
  const std::string n = std::to_string(steps);
  b.add({name + ", " + n + " steps, 1 launch/step", img, t_single, steps * px, "pix-steps/s",
         8 * steps * px});
  b.add({name + ", " + n + " steps, fused", img, t_fused, steps * px, "pix-steps/s", 0.0});
  char line[256];
  std::snprintf(line, sizeof line,
                "%s: %s steps fused (shared memory, or a CUDA graph when regularised) %.2fx the "
                "speed of one launch per step (outputs identical)",
                name.c_str(), n.c_str(), t_single / t_fused);
  b.note(line);
}

double mean_of(const pdeimg::DeviceImage& d) {
  pdeimg::HostImage h(d.width(), d.height(), d.channels(), d.type());
  d.download(h);
  double sum = 0.0;
  for (int y = 0; y < h.height(); ++y) {
    const float* r = h.row<float>(y);
    for (int x = 0; x < h.width() * h.channels(); ++x) sum += r[x];
  }
  return sum / (static_cast<double>(h.width()) * h.height() * h.channels());
}

// --- suites
// ---------------------------------------------------------------------------------------

/// Device-to-device copy of one float image: the bandwidth every other row is compared with.
void copy_rows(Bench& b) {
  const int n = b.options().size;
  pdeimg::DeviceImage a = random_device_image(n, n, 1, pdeimg::PixelType::kF32);
  pdeimg::DeviceImage c(n, n, 1, pdeimg::PixelType::kF32);
  const pdeimg::ImageView va = a.view(), vc = c.view();
  const double bytes = 2.0 * va.row_bytes() * n;
  const double t = b.time([&] {
    cuda_check(cudaMemcpy2DAsync(vc.data, vc.pitch, va.data, va.pitch, va.row_bytes(), n,
                                 cudaMemcpyDeviceToDevice, b.stream()),
               "cudaMemcpy2DAsync");
  });
  b.set_copy_bandwidth(bytes / t);
  b.add({"copy: cudaMemcpy2D device->device", image_name(n, n, "f32"), t, 0.0, "", bytes});
  b.note("copy bandwidth: " + std::to_string(static_cast<int>(bytes / t / 1e9 + 0.5)) +
         " GB/s (cudaMemcpy2DAsync device to device, bytes read + written)");
}

/// Times `run(1)` and `run(steps)` (each one call of an explicit scheme from src into dst), checks
/// that the output is a diffusion of the input (finite, mean conserved), and adds three rows: one
/// step per call, `steps` per call, and the cost of one step from their difference (each call
/// also converts in and out, two image-sized passes). Returns that per-step time in seconds.
template <class Run>
double add_step_rows(Bench& b, const std::string& name, const std::string& img, double px,
                     int steps, const pdeimg::DeviceImage& src, const pdeimg::DeviceImage& dst,
                     const Run& run) {
  const double t1 = run(1);
  const double tn = run(steps);
  const double m_in = mean_of(src), m_out = mean_of(dst);
  if (!std::isfinite(m_out) || std::fabs(m_out - m_in) > 1e-3 * 255) {
    throw std::runtime_error(name + ": output mean " + std::to_string(m_out) +
                             " differs from input mean " + std::to_string(m_in));
  }
  b.add({name + ", 1 step per call", img, t1, px, "pix-steps/s", 8 * px});
  b.add({name + ", " + std::to_string(steps) + " steps per call", img, tn, steps * px,
         "pix-steps/s", 8 * steps * px});
  const double per_step = (tn - t1) / (steps - 1);
  b.add({name + " step (difference of the two)", img, per_step, px, "pix-steps/s", 8 * px});
  return per_step;
}

/// heat_smooth on a float device image: one call of 1 step, one of N steps, and the cost of one
/// step from their difference (each call also converts in and out, two image-sized passes).
void heat_rows(Bench& b) {
  const int n = b.options().size;
  const int steps = std::max(2, b.options().steps);
  pdeimg::DeviceImage src = random_device_image(n, n, 1, pdeimg::PixelType::kF32);
  pdeimg::DeviceImage dst(n, n, 1, pdeimg::PixelType::kF32);
  const std::string img = image_name(n, n, "f32");
  const double px = static_cast<double>(n) * n;
  auto run = [&](int s) {
    pdeimg::HeatParams p;
    p.time = 0.25 * s;  // exactly s steps of dt = 0.25
    p.max_dt = 0.25;
    return b.time([&] {
      if (pdeimg::heat_smooth(src, dst, p, b.ctx()).steps != s)
        throw std::runtime_error("heat: step count");
    });
  };
  const double per_step = add_step_rows(b, "heat_smooth", img, px, steps, src, dst, run);
  add_fusion_rows(b, "heat_smooth", img, px, steps, dst, run);
  char line[256];
  std::snprintf(line, sizeof line,
                "heat step on %s: %.1f Gpix-steps/s, %.1f GB/s = %.1f%% of the copy bandwidth",
                img.c_str(), px / per_step / 1e9, 8 * px / per_step / 1e9,
                100.0 * 8 * px / per_step / b.copy_bandwidth());
  b.note(line);
}

/// A photo-like 8-bit picture: shaded background, overlapping discs and boxes, mild noise.
pdeimg::HostImage canny_picture(int w, int h) {
  pdeimg::bench::Xorshift32 rng(2463534242u);
  auto next = [&rng] { return rng.uniform(); };
  std::vector<float> v(static_cast<std::size_t>(w) * h);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      v[static_cast<std::size_t>(y) * w + x] = 60.0f + 80.0f * x / w + 30.0f * y / h;
  for (int i = 0; i < 300; ++i) {
    const double cx = next() * w, cy = next() * h, r = 8 + next() * h / 10;
    const float value = static_cast<float>(20 + 215 * next());
    const bool round = i % 2 == 0;
    const int x0 = std::max(0, static_cast<int>(cx - r));
    const int x1 = std::min(w - 1, static_cast<int>(cx + r));
    const int y0 = std::max(0, static_cast<int>(cy - r));
    const int y1 = std::min(h - 1, static_cast<int>(cy + r));
    for (int y = y0; y <= y1; ++y)
      for (int x = x0; x <= x1; ++x)
        if (!round || (x - cx) * (x - cx) + (y - cy) * (y - cy) <= r * r)
          v[static_cast<std::size_t>(y) * w + x] = value;
  }
  pdeimg::HostImage img(w, h, 1, pdeimg::PixelType::kU8);
  for (int y = 0; y < h; ++y) {
    std::uint8_t* row = img.row<std::uint8_t>(y);
    for (int x = 0; x < w; ++x) {
      const double u = v[static_cast<std::size_t>(y) * w + x] + 6.0 * (next() - 0.5);
      row[x] = static_cast<std::uint8_t>(std::min(255.0, std::max(0.0, u + 0.5)));
    }
  }
  return img;
}

/// canny on a 3840x2160 uint8 device image (a UHD frame): time per image of the whole pipeline
/// (smoothing, gradient, suppression, thresholds, union-find hysteresis), all queued on the stream
/// with no host synchronisation inside the call. Every configuration's edge map is checked to be
/// identical to the CPU backend's.
void canny_rows(Bench& b) {
  const int w = 3840, h = 2160;
  const pdeimg::HostImage picture = canny_picture(w, h);
  pdeimg::HostImage noise(w, h, 1, pdeimg::PixelType::kU8);
  pdeimg::bench::fill_random(noise);
  pdeimg::DeviceImage src(w, h, 1, pdeimg::PixelType::kU8), edges(w, h, 1, pdeimg::PixelType::kU8);
  pdeimg::Context cpu(pdeimg::Backend::kCpu);
  const double px = static_cast<double>(w) * h;
  struct Config {
    const char* name;
    const pdeimg::HostImage* image;
    double sigma;
    bool quantiles;
  };
  const Config configs[] = {
      {"canny, Sobel, no smoothing", &picture, 0.0, false},
      {"canny, heat sigma 1.4", &picture, 1.4, false},
      {"canny, sigma 1.4, quantiles", &picture, 1.4, true},
      {"canny, uniform noise (dense)", &noise, 0.0, false},
  };
  for (const Config& c : configs) {
    src.upload(*c.image);
    pdeimg::CannyParams p;
    p.sigma = c.sigma;
    p.smoothing = c.sigma > 0 ? pdeimg::CannySmoothing::kHeat : pdeimg::CannySmoothing::kNone;
    if (c.quantiles) {
      p.thresholds = pdeimg::ThresholdMode::kQuantile;
      p.low = 0.8;
      p.high = 0.9;
    } else {
      p.low = 40;
      p.high = 100;
    }
    const double t = b.time([&] { pdeimg::canny(src, edges, p, b.ctx()); });
    pdeimg::HostImage gpu_edges(w, h, 1, pdeimg::PixelType::kU8);
    pdeimg::HostImage cpu_edges(w, h, 1, pdeimg::PixelType::kU8);
    edges.download(gpu_edges);
    pdeimg::canny(*c.image, cpu_edges, p, cpu);
    long long differ = 0, count = 0;
    for (int y = 0; y < h; ++y) {
      const std::uint8_t* g = gpu_edges.row<const std::uint8_t>(y);
      const std::uint8_t* k = cpu_edges.row<const std::uint8_t>(y);
      for (int x = 0; x < w; ++x) {
        differ += g[x] != k[x];
        count += k[x] != 0;
      }
    }
    if (differ != 0) {
      throw std::runtime_error(std::string(c.name) + ": " + std::to_string(differ) +
                               " pixels differ from the CPU edge map (" + std::to_string(count) +
                               " edge pixels)");
    }
    b.add({c.name, image_name(w, h, "u8"), t, px, "pix/s", 0.0});
    b.note(std::string(c.name) + ": " + std::to_string(count) +
           " edge pixels, identical to the CPU backend's");
  }
}

/// perona_malik on a float device image, 4-neighbour rational, absolute K: one call of 1 step,
/// one of N steps (default 100), the cost of one step from their difference; and the blind
/// default (noise estimate by radix selection, K and time from it); K as a quantile on the same
/// image.
void perona_malik_rows(Bench& b) {
  const int n = b.options().size;
  const int steps = std::max(2, b.options().steps);
  pdeimg::DeviceImage src = random_device_image(n, n, 1, pdeimg::PixelType::kF32);
  pdeimg::DeviceImage dst(n, n, 1, pdeimg::PixelType::kF32);
  const std::string img = image_name(n, n, "f32");
  const double px = static_cast<double>(n) * n;
  auto run = [&](int s) {
    pdeimg::PeronaMalikParams p;
    p.contrast = pdeimg::ContrastMode::kAbsolute;
    p.k = 20.0;
    p.steps = s;
    return b.time([&] {
      if (pdeimg::perona_malik(src, dst, p, b.ctx()).steps != s)
        throw std::runtime_error("perona_malik: step count");
    });
  };
  const double per_step = add_step_rows(b, "perona_malik", img, px, steps, src, dst, run);
  add_fusion_rows(b, "perona_malik", img, px, steps, dst, run);
  auto run_regularised = [&](int s) {
    pdeimg::PeronaMalikParams p;
    p.contrast = pdeimg::ContrastMode::kAbsolute;
    p.k = 20.0;
    p.steps = s;
    p.regularization = 1.0;
    return b.time([&] { pdeimg::perona_malik(src, dst, p, b.ctx()); });
  };
  add_fusion_rows(b, "perona_malik reg. 1", img, px, std::max(steps, 16), dst, run_regularised);
  {  // K as the 0.9 quantile of the 2n(n-1) squared differences: radix selection, no sort
    pdeimg::PeronaMalikParams p;
    p.contrast = pdeimg::ContrastMode::kQuantile;
    p.steps = 1;
    const double tq = b.time([&] { pdeimg::perona_malik(src, dst, p, b.ctx()); });
    b.add({"perona_malik K quantile + 1 step", img, tq, px, "pix/s", 0.0});
  }
  const pdeimg::PeronaMalikParams blind;
  pdeimg::PeronaMalikReport r;
  const double tb = b.time([&] { r = pdeimg::perona_malik(src, dst, blind, b.ctx()); });
  b.add({"perona_malik blind (estimate+steps)", img, tb, px, "pix/s", 0.0});
  // The noise estimate alone (radix selection with CUB histograms, no sort).
  const double tn = b.time([&] { pdeimg::estimate_noise(src, b.ctx()); });
  b.add({"estimate_noise (radix selection)", img, tn, px, "pix/s", 0.0});
  // Blind denoising of a host image: one upload for the noise estimate, K and the steps.
  {
    const pdeimg::HostImage host_in = download(src);
    pdeimg::HostImage host_out(n, n, 1, pdeimg::PixelType::kF32);
    pdeimg::PeronaMalikParams q;
    q.contrast = pdeimg::ContrastMode::kQuantile;
    const double th =
        b.time([&] { pdeimg::perona_malik(host_in.view(), host_out.view(), q, b.ctx()); });
    b.add({"perona_malik blind+quantile, host image (1 upload)", img, th, px, "pix/s", 0.0});
  }
  char line[256];
  std::snprintf(line, sizeof line,
                "perona_malik step on %s: %.1f Gpix-steps/s = %.1f%% of the copy bandwidth; blind: "
                "noise %.4g, K %.4g, %d steps",
                img.c_str(), px / per_step / 1e9, 100.0 * 8 * px / per_step / b.copy_bandwidth(),
                r.noise_sigma, r.k, r.steps);
  b.note(line);
}

/// `count` noisy photo-like 8-bit RGB host images (pageable memory, like decoded files): the grey
/// picture tinted per channel, plus noise of deviation about 15 (sum of four uniforms).
std::vector<pdeimg::HostImage> noisy_rgb_images(int side, int count) {
  const pdeimg::HostImage picture = canny_picture(side, side);
  std::vector<pdeimg::HostImage> images;
  pdeimg::bench::Xorshift32 rng(88172645u);
  auto uniform = [&rng] { return rng.uniform(); };
  for (int i = 0; i < count; ++i) {
    pdeimg::HostImage img(side, side, 3, pdeimg::PixelType::kU8);
    for (int y = 0; y < side; ++y) {
      const std::uint8_t* p = picture.row<const std::uint8_t>(y);
      std::uint8_t* q = img.row<std::uint8_t>(y);
      for (int x = 0; x < side; ++x) {
        for (int c = 0; c < 3; ++c) {
          const double n = 26.0 * (uniform() + uniform() + uniform() + uniform() - 2.0);
          const double v = p[x] * (0.7 + 0.15 * c) + 10.0 * (i % 5) + n;
          q[3 * x + c] = static_cast<std::uint8_t>(std::min(255.0, std::max(0.0, v + 0.5)));
        }
      }
    }
    images.push_back(std::move(img));
  }
  return images;
}

/// Images per second (wall clock) of `op` over every input, run by `workers` threads that each
/// own one of `contexts` and take the next input in turn, after one warm-up input per worker
/// (scratch and staging buffers are allocated there).
double images_per_second(
    std::vector<pdeimg::Context>& contexts, const std::vector<pdeimg::HostImage>& in,
    std::vector<pdeimg::HostImage>& out,
    const std::function<void(const pdeimg::HostImage&, pdeimg::HostImage&, pdeimg::Context&)>& op) {
  const int workers = static_cast<int>(contexts.size());
  auto run = [&](bool warm_up) {
    std::atomic<int> next{0};
    std::vector<std::thread> threads;
    std::exception_ptr failure;
    std::mutex failure_mutex;
    for (int w = 0; w < workers; ++w) {
      threads.emplace_back([&, w] {
        try {
          if (warm_up) {
            const std::size_t i = static_cast<std::size_t>(w) % in.size();
            op(in[i], out[i], contexts[static_cast<std::size_t>(w)]);
            return;
          }
          for (int i; (i = next++) < static_cast<int>(in.size());) {
            op(in[static_cast<std::size_t>(i)], out[static_cast<std::size_t>(i)],
               contexts[static_cast<std::size_t>(w)]);
          }
        } catch (...) {
          const std::lock_guard<std::mutex> lock(failure_mutex);
          if (!failure) failure = std::current_exception();
        }
      });
    }
    for (std::thread& t : threads) t.join();
    if (failure) std::rethrow_exception(failure);
  };
  run(true);
  const double t0 = pdeimg::bench::now_s();
  run(false);
  return static_cast<double>(in.size()) / (pdeimg::bench::now_s() - t0);
}

/// Largest |a - b| of two 8-bit host images and how many samples differ at all.
std::pair<int, long long> compare_u8(const pdeimg::HostImage& a, const pdeimg::HostImage& b) {
  int worst = 0;
  long long differ = 0;
  for (int y = 0; y < a.height(); ++y) {
    const std::uint8_t* p = a.row<const std::uint8_t>(y);
    const std::uint8_t* q = b.row<const std::uint8_t>(y);
    for (int x = 0; x < a.width() * a.channels(); ++x) {
      const int d = std::abs(int(p[x]) - int(q[x]));
      worst = std::max(worst, d);
      differ += d != 0;
    }
  }
  return {worst, differ};
}

/// reaction_diffusion (the built-in learned denoiser, `denoise`'s default) on a 3840x2160 uint8
/// device frame with noise of deviation 25: with the noise given, and blind (the noise estimate
/// included), one launch per stage; and with two launches per stage for comparison. Each output is
/// checked against the CPU backend's: the backends agree within 1e-4 of the range, so 8-bit results
/// may differ by one level where a value sits on a rounding boundary.
void reaction_diffusion_rows(Bench& b) {
  const int w = 3840, h = 2160;
  pdeimg::HostImage noisy = canny_picture(w, h);
  pdeimg::bench::Xorshift32 rng(88172645u);
  for (int y = 0; y < h; ++y) {
    std::uint8_t* row = noisy.row<std::uint8_t>(y);
    for (int x = 0; x < w; ++x) {
      // Sum of 12 uniforms - 6: near-Gaussian with deviation 1.
      double g = -6.0;
      for (int i = 0; i < 12; ++i) g += rng.uniform();
      row[x] = static_cast<std::uint8_t>(std::min(255.0, std::max(0.0, row[x] + 25.0 * g + 0.5)));
    }
  }
  pdeimg::DeviceImage src(w, h, 1, pdeimg::PixelType::kU8), dst(w, h, 1, pdeimg::PixelType::kU8);
  src.upload(noisy);
  pdeimg::Context cpu(pdeimg::Backend::kCpu);
  const double px = static_cast<double>(w) * h;
  for (const double sigma : {25.0, 0.0}) {
    pdeimg::ReactionDiffusionParams p;
    p.noise_sigma = sigma;
    pdeimg::ReactionDiffusionReport r;
    const double t = b.time([&] { r = pdeimg::reaction_diffusion(src, dst, p, b.ctx()); });
    pdeimg::HostImage gpu_out(w, h, 1, pdeimg::PixelType::kU8),
        cpu_out(w, h, 1, pdeimg::PixelType::kU8);
    dst.download(gpu_out);
    p.noise_sigma = r.noise_sigma;  // the CPU run with the very sigma the GPU used
    pdeimg::reaction_diffusion(noisy, cpu_out, p, cpu);
    const auto [worst, differ] = compare_u8(gpu_out, cpu_out);
    if (worst > 1) {
      throw std::runtime_error("reaction_diffusion: GPU and CPU differ by " +
                               std::to_string(worst) + " levels");
    }
    const std::string name =
        sigma > 0 ? "reaction_diffusion, sigma given" : "reaction_diffusion, blind";
    b.add({name, image_name(w, h, "u8"), t, px, "pix/s", 0.0});
    char line[256];
    std::snprintf(line, sizeof line,
                  "%s: model %s, %d stages of %d filters %dx%d, sigma %.2f; %lld samples one level "
                  "from the CPU's, none further",
                  name.c_str(), r.model_name.c_str(), r.stages, r.filters, r.filter_size,
                  r.filter_size, r.noise_sigma, differ);
    b.note(line);
  }
  // The same with two launches per stage through N global planes of y_i (the test hook that
  // turns the one-launch stage kernel off): what the shared-memory tiles save.
  pdeimg::ReactionDiffusionParams p;
  p.noise_sigma = 25.0;
  setenv("PDEIMG_TEST_MAX_FUSED", "1", 1);
  const double t2 = b.time([&] { pdeimg::reaction_diffusion(src, dst, p, b.ctx()); });
  unsetenv("PDEIMG_TEST_MAX_FUSED");
  b.add({"reaction_diffusion, sigma given, 2 launches/stage", image_name(w, h, "u8"), t2, px,
         "pix/s", 0.0});
}

/// morphology: dilation by an exact disc of radius 10 and 30 and by the upwind disc of radius 10,
/// and the shock filter, on a float and an 8-bit device image; each output is checked equal to the
/// CPU backend's (the exact disc is a max over the same samples; the upwind scheme, the shock step
/// and the heat pre-smoothing share the per-pixel numerics).
void morphology_rows(Bench& b) {
  const int n = b.options().size;
  const double px = static_cast<double>(n) * n;
  pdeimg::Context cpu(pdeimg::Backend::kCpu);
  for (const pdeimg::PixelType type : {pdeimg::PixelType::kF32, pdeimg::PixelType::kU8}) {
    pdeimg::HostImage host(n, n, 1, type);
    pdeimg::bench::fill_random(host);
    pdeimg::DeviceImage src(n, n, 1, type), dst(n, n, 1, type);
    src.upload(host);
    const char* tname = type == pdeimg::PixelType::kF32 ? "f32" : "u8";
    auto same_as_cpu = [&](const std::string& name, const pdeimg::HostImage& cpu_out) {
      pdeimg::HostImage gpu_out(n, n, 1, type);
      dst.download(gpu_out);
      for (int y = 0; y < n; ++y) {
        if (std::memcmp(gpu_out.row<const std::uint8_t>(y), cpu_out.row<const std::uint8_t>(y),
                        static_cast<std::size_t>(n) * pdeimg::sample_size(type)) != 0) {
          throw std::runtime_error(name + " " + tname + ": row " + std::to_string(y) +
                                   " differs from the CPU's");
        }
      }
    };
    struct Config {
      const char* name;
      double radius;
      pdeimg::MorphScheme scheme;
    };
    const Config configs[] = {{"dilate, exact disc r 10", 10.0, pdeimg::MorphScheme::kExact},
                              {"dilate, exact disc r 30", 30.0, pdeimg::MorphScheme::kExact},
                              {"dilate, upwind disc r 10", 10.0, pdeimg::MorphScheme::kUpwind}};
    for (const Config& c : configs) {
      pdeimg::MorphParams p;
      p.radius = c.radius;
      p.scheme = c.scheme;
      const double t = b.time([&] { pdeimg::morphology(src, dst, p, b.ctx()); });
      pdeimg::HostImage cpu_out(n, n, 1, type);
      pdeimg::morphology(host, cpu_out, p, cpu);
      same_as_cpu(c.name, cpu_out);
      b.add({c.name, image_name(n, n, tname), t, px, "pix/s", 0.0});
    }
    // The shock filter: per step a Gaussian pre-smoothing (fused heat steps) and an upwind step,
    // queued without waiting for the device between steps.
    pdeimg::ShockParams sp;
    sp.sigma = 1.0;
    sp.time = 3.0;
    const double ts = b.time([&] { pdeimg::shock_filter(src, dst, sp, b.ctx()); });
    pdeimg::HostImage cpu_out(n, n, 1, type);
    pdeimg::shock_filter(host, cpu_out, sp, cpu);
    same_as_cpu("shock filter", cpu_out);
    b.add({"shock filter, sigma 1, T 3 (6 steps)", image_name(n, n, tname), ts, px, "pix/s", 0.0});
  }
  b.note("morphology and shock filter: every output identical to the CPU backend's");
}

/// heat_smooth by the spectral solver (cuFFT, plans cached in the context) at sigma 2, 16 and 64
/// on a float device image: the cost should not grow with sigma.
void spectral_rows(Bench& b) {
  const int n = b.options().size;
  const double px = static_cast<double>(n) * n;
  pdeimg::DeviceImage src = random_device_image(n, n, 1, pdeimg::PixelType::kF32);
  pdeimg::DeviceImage dst(n, n, 1, pdeimg::PixelType::kF32);
  for (const double sigma : {2.0, 16.0, 64.0}) {
    pdeimg::HeatParams p;
    p.time = 0.5 * sigma * sigma;
    p.scheme = pdeimg::HeatScheme::kSpectral;
    const double t = b.time([&] { pdeimg::heat_smooth(src, dst, p, b.ctx()); });
    const double m_in = mean_of(src), m_out = mean_of(dst);
    if (!std::isfinite(m_out) || std::fabs(m_out - m_in) > 1e-3 * 255) {
      throw std::runtime_error("heat spectral: output mean " + std::to_string(m_out) +
                               " differs from input mean " + std::to_string(m_in));
    }
    b.add({"heat_smooth spectral, sigma " + std::to_string(static_cast<int>(sigma)),
           image_name(n, n, "f32"), t, px, "pix/s", 0.0});
  }
}

/// Host images through the GPU, as the batch apps run them (apps/batch.cpp: two compute workers
/// per device, each a thread with its own Context, so its own stream and page-locked staging):
/// 48 pageable 1024x1024 8-bit RGB images denoised blind (the `denoise` app's defaults), in
/// images per second over the set. Peers measured in the same run: the host round trip alone
/// (heat_smooth of one step: upload, convert, one step, convert back, download), the denoise with
/// staging off (PDEIMG_STAGING_MB=0: the driver's pageable copies), and the CPU backend on all
/// cores. The GPU's outputs are checked against the CPU's (Perona-Malik agrees to float rounding,
/// so an 8-bit sample may differ by one level).
void host_batch_rows(Bench& b) {
  const int side = 1024, count = 48;
  const std::vector<pdeimg::HostImage> in = noisy_rgb_images(side, count);
  std::vector<pdeimg::HostImage> out, cpu_out;
  for (int i = 0; i < count; ++i) {
    out.emplace_back(side, side, 3, pdeimg::PixelType::kU8);
    cpu_out.emplace_back(side, side, 3, pdeimg::PixelType::kU8);
  }
  const std::string img = std::to_string(count) + "x " + image_name(side, side, "u8 RGB");
  const pdeimg::PeronaMalikParams blind;
  auto denoise = [&blind](const pdeimg::HostImage& src, pdeimg::HostImage& dst,
                          pdeimg::Context& ctx) { pdeimg::perona_malik(src, dst, blind, ctx); };
  auto round_trip = [](const pdeimg::HostImage& src, pdeimg::HostImage& dst, pdeimg::Context& ctx) {
    pdeimg::HeatParams p;
    p.time = 0.125;  // one step: the transfers and conversions with next to no computing
    pdeimg::heat_smooth(src, dst, p, ctx);
  };
  auto gpu_contexts = [&](int n) {
    std::vector<pdeimg::Context> c;
    for (int i = 0; i < n; ++i) c.emplace_back(pdeimg::Backend::kCuda, b.options().device);
    return c;
  };
  auto add = [&](const std::string& name, double rate) {
    b.add({name, img, 1.0 / rate, 1.0, "images/s", 0.0});
    return rate;
  };

  std::vector<pdeimg::Context> cpu;
  cpu.emplace_back(pdeimg::Backend::kCpu);
  const double r_cpu =
      add("denoise, CPU backend, all cores", images_per_second(cpu, in, cpu_out, denoise));
  double r_trip2 = 0.0, r_den1 = 0.0, r_den2 = 0.0, r_den4 = 0.0, r_pageable = 0.0;
  {
    std::vector<pdeimg::Context> c = gpu_contexts(2);
    r_trip2 = add("host round trip only, 2 workers", images_per_second(c, in, out, round_trip));
  }
  for (int workers : {1, 2, 4}) {
    std::vector<pdeimg::Context> c = gpu_contexts(workers);
    const double r = add("denoise, " + std::to_string(workers) + " worker(s)",
                         images_per_second(c, in, out, denoise));
    (workers == 1 ? r_den1 : workers == 2 ? r_den2 : r_den4) = r;
  }
  // The `denoise` app's default since the learned model: reaction-diffusion, blind (its outputs
  // are not compared here; reaction_diffusion_rows checks them against the CPU).
  double r_rd2 = 0.0;
  {
    const pdeimg::ReactionDiffusionParams rd;
    auto learned = [&rd](const pdeimg::HostImage& src, pdeimg::HostImage& dst,
                         pdeimg::Context& ctx) { pdeimg::reaction_diffusion(src, dst, rd, ctx); };
    std::vector<pdeimg::Context> c = gpu_contexts(2);
    std::vector<pdeimg::HostImage> rd_out;
    for (int i = 0; i < count; ++i) rd_out.emplace_back(side, side, 3, pdeimg::PixelType::kU8);
    r_rd2 =
        add("denoise --method rd (default), 2 workers", images_per_second(c, in, rd_out, learned));
  }
  {
    setenv("PDEIMG_STAGING_MB", "0", 1);  // read when each context first stages
    std::vector<pdeimg::Context> c = gpu_contexts(2);
    r_pageable = add("denoise, 2 workers, staging off", images_per_second(c, in, out, denoise));
    unsetenv("PDEIMG_STAGING_MB");
  }
  int worst = 0;
  long long differ = 0;
  for (int i = 0; i < count; ++i) {
    for (int y = 0; y < side; ++y) {
      const std::uint8_t* g = out[static_cast<std::size_t>(i)].row<const std::uint8_t>(y);
      const std::uint8_t* k = cpu_out[static_cast<std::size_t>(i)].row<const std::uint8_t>(y);
      for (int x = 0; x < 3 * side; ++x) {
        const int d = std::abs(static_cast<int>(g[x]) - static_cast<int>(k[x]));
        worst = std::max(worst, d);
        differ += d != 0;
      }
    }
  }
  if (worst > 1) {
    throw std::runtime_error("host batch: a GPU denoise output differs from the CPU's by " +
                             std::to_string(worst) + " levels");
  }
  char line[512];
  std::snprintf(line, sizeof line,
                "host batch: denoise with 2 workers %.1f images/s = %.2fx 1 worker, %.2fx staging "
                "off, %.1fx the CPU backend; %.0f%% of the round trip alone; 4 workers %.2fx 2. "
                "Outputs within 1 level of the CPU's (%lld of %lld samples differ)",
                r_den2, r_den2 / r_den1, r_den2 / r_pageable, r_den2 / r_cpu,
                100.0 * r_den2 / r_trip2, r_den4 / r_den2, differ,
                static_cast<long long>(count) * side * side * 3);
  b.note(line);
  std::snprintf(line, sizeof line,
                "host batch: the learned denoiser (the app's default) with 2 workers %.1f images/s "
                "= %.0f%% of the round trip alone",
                r_rd2, 100.0 * r_rd2 / r_trip2);
  b.note(line);
}

struct Suite {
  const char* name;
  void (*rows)(Bench&);
};
// Order matters: copy first, it sets the bandwidth reference.
const Suite kSuites[] = {
    {"copy", copy_rows},
    {"heat", heat_rows},
    {"canny", canny_rows},
    {"perona_malik", perona_malik_rows},
    {"host_batch", host_batch_rows},
    {"reaction_diffusion", reaction_diffusion_rows},
    {"morphology", morphology_rows},
    {"spectral", spectral_rows},
};

int usage(const char* argv0) {
  std::fprintf(stderr, "usage: %s [--size N] [--steps N] [--reps N] [--device D] [--only SUITE]\n",
               argv0);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const char* v = i + 1 < argc ? argv[i + 1] : nullptr;
    if (!v) return usage(argv[0]);
    ++i;
    if (a == "--size") {
      opt.size = std::atoi(v);
    } else if (a == "--steps") {
      opt.steps = std::atoi(v);
    } else if (a == "--reps") {
      opt.reps = std::atoi(v);
    } else if (a == "--device") {
      opt.device = std::atoi(v);
    } else if (a == "--only") {
      opt.only = v;
    } else {
      return usage(argv[0]);
    }
  }
  if (opt.size < 1 || opt.steps < 2 || opt.reps < 1) return usage(argv[0]);

  try {
    int count = 0;
    const cudaError_t st = cudaGetDeviceCount(&count);
    if (st != cudaSuccess || count <= opt.device || opt.device < 0) {
      std::fprintf(stderr, "device_bench: no CUDA device %d (%s)\n", opt.device,
                   st != cudaSuccess ? cudaGetErrorString(st)
                                     : (std::to_string(count) + " present").c_str());
      return 1;
    }
    // The bench's own events and DeviceImages are made on the thread's current device; a Context
    // leaves that alone (it used to switch it), so choose the device first.
    cuda_check(cudaSetDevice(opt.device), "cudaSetDevice");
    pdeimg::Context ctx(pdeimg::Backend::kCuda, opt.device);
    cudaDeviceProp prop{};
    cuda_check(cudaGetDeviceProperties(&prop, opt.device), "cudaGetDeviceProperties");
    int mem_khz = 0, bus_bits = 0, runtime = 0, driver = 0;
    cudaDeviceGetAttribute(&mem_khz, cudaDevAttrMemoryClockRate, opt.device);
    cudaDeviceGetAttribute(&bus_bits, cudaDevAttrGlobalMemoryBusWidth, opt.device);
    cudaRuntimeGetVersion(&runtime);
    cudaDriverGetVersion(&driver);
    std::printf("device %d: %s, sm_%d%d, %d SMs, %.1f GiB; CUDA runtime %d, driver %d\n",
                opt.device, prop.name, prop.major, prop.minor, prop.multiProcessorCount,
                prop.totalGlobalMem / double(1 << 30), runtime, driver);
    if (mem_khz > 0 && bus_bits > 0) {
      std::printf("theoretical DRAM bandwidth %.0f GB/s (%d-bit bus at %d MHz, double data rate)\n",
                  2.0 * mem_khz * 1e3 * (bus_bits / 8) / 1e9, bus_bits, mem_khz / 1000);
    }
    std::printf(
        "median of %d calls per row; GB/s counts bytes read + written (8 per float pixel-step)\n\n",
        opt.reps);

    // A suite that fails (a wrong result, a CUDA error) is reported after the table, and the
    // others still run: a session on a lent GPU is short, and one failure must not cost the rest.
    Bench b(opt, ctx);
    bool any = false;
    std::vector<std::string> failures;
    for (const Suite& s : kSuites) {
      if (!opt.only.empty() && opt.only != s.name && std::string(s.name) != "copy") continue;
      any = true;
      try {
        s.rows(b);
      } catch (const std::exception& e) {
        failures.push_back(std::string(s.name) + ": " + e.what());
        cudaGetLastError();  // a launch error is not sticky; let the next suite start clean
        if (std::string(s.name) == "copy") break;  // the other rows need its bandwidth
      }
    }
    if (!any) return usage(argv[0]);
    b.print();
    for (const std::string& f : failures)
      std::fprintf(stderr, "device_bench: FAILED %s\n", f.c_str());
    return failures.empty() ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "device_bench: %s\n", e.what());
    return 1;
  }
}
