// CUDA backend of estimate_noise (algorithm: include/pdeimg/noise.hpp): per channel, the
// gradient and high-pass of every interior pixel, a count of the informative (non-flat) ones, a
// stable CUB radix sort of the pairs by gradient, and a second sort of the flattest 10% for their
// median. Device scratch slots 2 and 6-11 (0-1 when staging a host view).
#include <algorithm>
#include <cmath>

#include "kernels/noise.cuh"
#include "src/backend.hpp"
#include "src/context_impl.hpp"
#include "src/cuda/launch.hpp"
#include "src/cuda/runtime.hpp"
#include "src/cuda/staging.hpp"

namespace pdeimg {
namespace cuda {
void estimate_noise(const ImageView& image, int channels, double* sigma, long long* samples,
                    Context& ctx) {
  for (int c = 0; c < channels; ++c) sigma[c] = 0.0;
  *samples = 0;
  const int w = image.width, h = image.height;
  if (w < 3 || h < 3) return;
  const std::size_t n = static_cast<std::size_t>(w - 2) * (h - 2);
  detail::Planes p = scratch_planes(ctx, 2, w, h, channels);
  launch_load_planes(stage_input(image, ctx), p, ctx.stream());
  float* grad = scratch_floats(ctx, 6, n);
  float* hp = scratch_floats(ctx, 7, n);
  float* grad_sorted = scratch_floats(ctx, 9, n);
  float* hp_by_grad = scratch_floats(ctx, 10, n);
  int* valid = static_cast<int*>(ctx.impl().device_scratch(11, sizeof(int) * (n + 1)));
  int* count = valid + n;
  // CUB's temporary storage, sized for the calls with n items here and regrown below if the
  // sort of the `keep` flattest asks for more (CUB's sizes hold for the count they were asked for).
  std::size_t temp_bytes =
      std::max({sort_float_pairs(grad, grad_sorted, hp, hp_by_grad, n, nullptr, 0, ctx.stream()),
                sum_ints(valid, count, n, nullptr, 0, ctx.stream()), std::size_t{1}});
  void* temp = ctx.impl().device_scratch(8, temp_bytes);
  auto read = [&](const void* d, void* h, std::size_t bytes) {
    copy_2d(h, bytes, d, bytes, bytes, 1, CopyKind::kDeviceToHost, ctx.stream(), true);
  };
  long long used = 0;
  for (int c = 0; c < channels; ++c) {
    launch_noise_values(p, c, grad, hp, valid, ctx.stream());
    sum_ints(valid, count, n, temp, temp_bytes, ctx.stream());
    int n_valid = 0;
    read(count, &n_valid, sizeof n_valid);
    if (n_valid <= 0) continue;
    const std::size_t keep = detail::noise_keep_count(static_cast<std::size_t>(n_valid));
    used = std::max<long long>(used, static_cast<long long>(keep));
    // Stable: equal gradients keep pixel order, as the CPU's (gradient, index) keys do; flat
    // neighbourhoods (key +inf) sort last and are never among the kept.
    sort_float_pairs(grad, grad_sorted, hp, hp_by_grad, n, temp, temp_bytes, ctx.stream());
    const std::size_t keep_bytes = sort_floats(hp_by_grad, grad, keep, nullptr, 0, ctx.stream());
    if (keep_bytes > temp_bytes) {  // waits for the stream before the old buffer is freed
      temp = ctx.impl().device_scratch(8, keep_bytes);
      temp_bytes = keep_bytes;
    }
    sort_floats(hp_by_grad, grad, keep, temp, temp_bytes, ctx.stream());  // the flattest `keep`
    float v = 0.0f;
    read(grad + (keep - 1) / 2, &v, sizeof v);
    sigma[c] = static_cast<double>(v) / detail::kMadScale;
  }
  *samples = used;
}

}  // namespace cuda
}  // namespace pdeimg
