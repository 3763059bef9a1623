// CUDA backend of perona_malik and of its gradient quantile: float planes, several steps per
// launch (temporal blocking) or, when regularising, one launch per step and two more for the
// Gaussian, replayed from a CUDA graph 8 steps at a time; radix selection for the quantile. Device
// scratch slots: 0-1 staging, 2-3 ping-pong planes, 4-5 smoothed planes, 6 the quantile's values
// and 8, 10-11 its selection (selector.hpp; noise.cpp: 6-11); src/perona_malik.cpp stages host
// views once per call in 14-15.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "pdeimg/error.hpp"
#include "src/backend.hpp"
#include "src/context_impl.hpp"
#include "src/cuda/launch.hpp"
#include "src/cuda/runtime.hpp"
#include "src/cuda/selector.hpp"
#include "src/cuda/staging.hpp"

namespace pdeimg {
namespace cuda {
namespace {

/// The high 16 bits of +inf: non-negative floats below it are finite.
constexpr unsigned kInfinityHigh16 = 0x7f80;

/// The image's first `channels` channels as device float planes in slot 2 (staging host views).
detail::Planes load(const ImageView& image, int channels, Context& ctx) {
  detail::Planes p = scratch_planes(ctx, 2, image.width, image.height, channels);
  launch_load_planes(stage_input(image, ctx), p, ctx.stream());
  return p;
}

/// A CUDA graph of the work `capture(stream)` queues on the stream it is given: a private
/// capture stream, so nothing runs and ctx's stream is untouched; the graph is launched on ctx's
/// stream later. exec == nullptr when `wanted` is false or capturing failed in any way (then
/// nothing was queued anywhere, and the caller launches directly).
struct Graph {
  void* exec = nullptr;
  template <class F>
  Graph(bool wanted, const F& capture) {
    if (!wanted) return;
    void* stream = begin_capture();
    if (stream == nullptr) return;
    try {
      capture(stream);
    } catch (const Error&) {
      destroy_graph(end_capture(stream));  // a launch refused while capturing: launch directly
      return;
    } catch (...) {
      destroy_graph(end_capture(stream));
      throw;
    }
    exec = end_capture(stream);
  }
  ~Graph() { destroy_graph(exec); }
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;
};

}  // namespace

void perona_malik(const ImageView& src, const ImageView& dst, const detail::PeronaMalikPlan& plan,
                  Context& ctx) {
  const Staged st = stage(src, dst, ctx);
  const int w = src.width, h = src.height, nc = plan.channels;
  detail::Planes a = scratch_planes(ctx, 2, w, h, nc);
  detail::Planes b = scratch_planes(ctx, 3, w, h, nc);
  const bool reg = plan.regularization > 0.0;
  detail::Planes smooth = a, tmp = a;
  if (reg && plan.steps > 0) {
    smooth = scratch_planes(ctx, 4, w, h, nc);
    tmp = scratch_planes(ctx, 5, w, h, nc);
  }
  PmStepArgs args;
  args.diffusivity = static_cast<int>(plan.diffusivity);
  args.inv_k2 = plan.inv_k2;
  args.dt = plan.dt;
  args.coupled = plan.coupled;
  args.eight = plan.eight;
  args.regularized = reg;
  args.missing = plan.missing;
  launch_load_planes(st.src, a, ctx.stream());
  // Unregularised: up to pm_max_fused_steps steps per launch (temporal blocking); regularised
  // steps need a Gaussian of each result and stay one per launch. plan.max_fused == 1 (a test
  // hook) keeps one launch per step.
  const int fuse = fused_steps(plan.max_fused, pm_max_fused_steps(args, nc));
  // Regularised steps are three launches each: kGraphSteps of them are captured once into a CUDA
  // graph and replayed (an even count, so a and b are back in their roles after each replay);
  // the rest, and everything when capturing fails, is launched directly. max_fused == 1 (the
  // test hook) launches directly, the reference the graphs are compared with.
  constexpr int kGraphSteps = 8;
  const Graph graph(reg && plan.max_fused != 1 && plan.steps >= kGraphSteps, [&](void* s) {
    detail::Planes ga = a, gb = b;  // the roles of a and b at every replay (kGraphSteps is even)
    for (int k = 0; k < kGraphSteps; ++k) {
      launch_gaussian(ga, tmp, smooth, plan.regularization, s);
      launch_pm_step(ga, smooth, gb, args, s);
      std::swap(ga, gb);
    }
  });
  for (int i = 0; i < plan.steps;) {
    int n = std::min(fuse, plan.steps - i);
    if (graph.exec != nullptr && plan.steps - i >= kGraphSteps) {
      launch_graph(graph.exec, ctx.stream());  // the result is in a again
      n = kGraphSteps;
    } else {
      if (fuse == 1) {
        if (reg) launch_gaussian(a, tmp, smooth, plan.regularization, ctx.stream());
        launch_pm_step(a, reg ? smooth : a, b, args, ctx.stream());
      } else {
        launch_pm_steps(a, b, n, args, ctx.stream());
      }
      std::swap(a, b);
    }
    const int before = i;
    i += n;
    if (i / kProgressSteps != before / kProgressSteps || i == plan.steps)
      report_queued(ctx, i, plan.steps, "perona_malik");
  }
  launch_store_planes(a, st.src, st.dst, ctx.stream());
  finish(st, ctx);
}

double gradient_quantile_sq(const ImageView& src, const detail::GradientStatPlan& plan, double q,
                            Context& ctx) {
  const int w = src.width, h = src.height, nc = plan.channels;
  const std::size_t per =
      static_cast<std::size_t>(w - 1) * h + static_cast<std::size_t>(w) * (h - 1);
  if (per == 0) return 0.0;
  detail::Planes v = load(src, nc, ctx);
  if (plan.regularization > 0.0) {
    detail::Planes smooth = scratch_planes(ctx, 4, w, h, nc);
    detail::Planes tmp = scratch_planes(ctx, 5, w, h, nc);
    launch_gaussian(v, tmp, smooth, plan.regularization, ctx.stream());
    v = smooth;
  }
  const std::size_t n = per * (plan.coupled ? 1 : nc);
  float* vals = scratch_floats(ctx, 6, n);
  launch_gradient_sq(v, plan.coupled, vals, ctx.stream());
  // Element floor(q (m - 1)) of the m finite values (the pairs left out are +inf, after them), as
  // the CPU's nth_element: by radix selection, two histogram passes (the count's is the first)
  // instead of a sort.
  DeviceSelector sel(ctx, n);
  RadixBinArgs args;
  args.keys = reinterpret_cast<const unsigned*>(vals);
  const std::size_t m = sel.count_below(args, kInfinityHigh16);
  if (m == 0) return 0.0;
  const auto k = static_cast<std::size_t>(std::floor(q * static_cast<double>(m - 1)));
  const std::uint32_t bits = sel.select(args, k, /*after_count=*/true).value;
  float v2;
  std::memcpy(&v2, &bits, sizeof v2);
  return v2;
}

}  // namespace cuda
}  // namespace pdeimg
