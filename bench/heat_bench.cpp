// Google Benchmark of heat_smooth on the CPU and, when a device is present, on CUDA.
//
// Counters: pix_steps/s  pixels x explicit steps per second (the work unit of a stencil scheme);
//           bytes_per_second  8 bytes per float pixel-step (one read, one write), comparable with
//           copy_frac  that rate over the multi-threaded memcpy bandwidth measured at start-up
//                      (2048x2048 float, bytes read + written, best of 30 back-to-back copies, so
//                      as warm in cache as the benchmarks), printed in the header as copy_GBps.
// CUDA cases use DeviceImage (no host transfers) and synchronise each iteration.
//
//   build-bench/bench/heat_bench --benchmark_filter=Cpu
//   build-bench/bench/heat_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <cstdio>
#include <string>

#include "bench/bench_util.hpp"
#include "pdeimg/context.hpp"
#include "pdeimg/heat.hpp"
#include "pdeimg/image.hpp"

namespace {

using pdeimg::Backend;
using pdeimg::PixelType;

double g_copy_bytes_per_s = 0.0;  // measured once in main()

/// Heat parameters for exactly `steps` steps of dt = 0.25, or sigma (default step) when
/// `sigma` > 0.
pdeimg::HeatParams params_for(int steps, double sigma) {
  pdeimg::HeatParams p;
  if (sigma > 0.0) {
    p.sigma = sigma;
  } else {
    p.time = 0.25 * steps;
    p.max_dt = 0.25;
  }
  return p;
}

/// `seconds`: wall time of the whole timing loop, for copy_frac (a plain ratio, not a rate).
void set_counters(benchmark::State& state, int width, int height, int steps, double seconds,
                  bool with_copy_frac) {
  const double pix_steps = static_cast<double>(width) * height * steps * state.iterations();
  state.counters["pix_steps/s"] = benchmark::Counter(pix_steps, benchmark::Counter::kIsRate);
  state.SetBytesProcessed(static_cast<std::int64_t>(8.0 * pix_steps));
  if (with_copy_frac && g_copy_bytes_per_s > 0.0 && seconds > 0.0) {
    state.counters["copy_frac"] = 8.0 * pix_steps / seconds / g_copy_bytes_per_s;
  }
}

/// The copy baseline: image-sized memcpy with the context's default thread count.
void BM_Copy(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const int threads = pdeimg::Context(Backend::kCpu).threads();
  pdeimg::HostImage a(n, n, 1, PixelType::kF32), b(n, n, 1, PixelType::kF32);
  pdeimg::bench::fill_random(a);
  const std::size_t bytes = a.view().row_bytes() * n;
  for (auto _ : state) {
    pdeimg::bench::parallel_copy(b.row<float>(0), a.row<float>(0), bytes, threads);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(2 * bytes * state.iterations()));
  state.SetLabel(std::to_string(threads) + " threads");
}

/// heat_smooth on the CPU: args {size, channels, type (0 u8, 2 f32), steps, sigma x 10 (0: none)}.
void BM_HeatCpu(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const int channels = static_cast<int>(state.range(1));
  const PixelType type = state.range(2) == 0 ? PixelType::kU8 : PixelType::kF32;
  const double sigma = static_cast<double>(state.range(4)) / 10.0;
  const pdeimg::HeatParams p = params_for(static_cast<int>(state.range(3)), sigma);
  pdeimg::Context ctx(Backend::kCpu);
  pdeimg::HostImage src(n, n, channels, type), dst(n, n, channels, type);
  pdeimg::bench::fill_random(src);
  int steps = pdeimg::heat_smooth(src, dst, p, ctx).steps;  // warm-up: scratch allocated here
  const double t0 = pdeimg::bench::now_s();
  for (auto _ : state) {
    steps = pdeimg::heat_smooth(src, dst, p, ctx).steps;
    benchmark::ClobberMemory();
  }
  set_counters(state, n, n, steps, pdeimg::bench::now_s() - t0,
               type == PixelType::kF32 && channels == 1);
  state.SetLabel(std::to_string(steps) + " steps, " + std::to_string(ctx.threads()) + " threads");
}

void cpu_args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"size", "ch", "f32", "steps", "sigma10"});
  for (int n : {512, 2048, 4096}) {
    for (int steps : {1, 8, 16}) b->Args({n, 1, 2, steps, 0});
  }
  b->Args({2048, 1, 2, 0, 20});  // sigma 2 (16 steps of the default dt 1/8)
  b->Args({2048, 3, 0, 1, 0});   // 8-bit colour, one step
  b->Args({2048, 3, 0, 0, 20});  // 8-bit colour, sigma 2
  b->Unit(benchmark::kMillisecond)->UseRealTime();
}

/// heat_smooth on device images: args as BM_HeatCpu. Transfers are excluded.
void BM_HeatCuda(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const int channels = static_cast<int>(state.range(1));
  const PixelType type = state.range(2) == 0 ? PixelType::kU8 : PixelType::kF32;
  const double sigma = static_cast<double>(state.range(4)) / 10.0;
  const pdeimg::HeatParams p = params_for(static_cast<int>(state.range(3)), sigma);
  pdeimg::Context ctx(Backend::kCuda);
  pdeimg::HostImage host(n, n, channels, type);
  pdeimg::bench::fill_random(host);
  pdeimg::DeviceImage src(n, n, channels, type), dst(n, n, channels, type);
  src.upload(host);
  int steps = pdeimg::heat_smooth(src, dst, p, ctx).steps;
  ctx.synchronize();
  for (auto _ : state) {
    steps = pdeimg::heat_smooth(src, dst, p, ctx).steps;
    ctx.synchronize();
  }
  set_counters(state, n, n, steps, 0.0, false);
  state.SetLabel(std::to_string(steps) + " steps, " + ctx.device_name());
}

void cuda_args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"size", "ch", "f32", "steps", "sigma10"});
  for (int n : {2048, 4096}) {
    for (int steps : {1, 8, 16, 100}) b->Args({n, 1, 2, steps, 0});
  }
  b->Args({2048, 1, 2, 0, 20});
  b->Args({2048, 3, 0, 0, 20});
  b->Unit(benchmark::kMillisecond)->UseRealTime();
}

}  // namespace

BENCHMARK(BM_Copy)->Arg(512)->Arg(2048)->Arg(4096)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_HeatCpu)->Apply(cpu_args);

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;

  const int threads = pdeimg::Context(Backend::kCpu).threads();
  const std::size_t bytes = std::size_t{2048} * 2048 * sizeof(float);
  g_copy_bytes_per_s = pdeimg::bench::copy_bandwidth(bytes, threads);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f", g_copy_bytes_per_s / 1e9);
  benchmark::AddCustomContext("copy_GBps (2048x2048 f32 memcpy, read+write, best of 30)", buf);
  benchmark::AddCustomContext("cpu_threads", std::to_string(threads));

  if (pdeimg::cuda_device_count() > 0) {
    benchmark::RegisterBenchmark("BM_HeatCuda", BM_HeatCuda)->Apply(cuda_args);
    benchmark::AddCustomContext("cuda_device", pdeimg::Context(Backend::kCuda).device_name());
  } else {
    benchmark::AddCustomContext("cuda_device", pdeimg::cuda_compiled()
                                                   ? "none found (CUDA cases not registered)"
                                                   : "built without CUDA");
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
