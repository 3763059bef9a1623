// CUDA backend of reaction_diffusion: float planes f and u; one launch per stage with
// shared-memory tiles, or two through N planes of y_i (kernels/reaction_diffusion_kernels.cuh).
// Device scratch slots 50 (f), 51 (u and a ping-pong plane), 52 (the y planes), 53 (the networks'
// parameters); 0-1 stage host views.
#include <algorithm>
#include <cstring>
#include <vector>

#include "src/backend.hpp"
#include "src/context_impl.hpp"
#include "src/cuda/launch.hpp"
#include "src/cuda/runtime.hpp"
#include "src/cuda/staging.hpp"
#include "src/validate.hpp"

namespace pdeimg {
namespace cuda {

void reaction_diffusion(const ImageView& src, const ImageView& dst, const detail::RdPlan& plan,
                        Context& ctx) {
  const Staged st = stage(src, dst, ctx);
  const int w = src.width, h = src.height, np = plan.planes;
  void* stream = ctx.stream();

  // The networks' parameters, packed into one device buffer (each distinct network once).
  const detail::RdNetwork* nets[4] = {};
  int net_of_plane[4] = {};
  int count = 0;
  for (int p = 0; p < np; ++p) {
    int k = 0;
    while (k < count && nets[k] != plan.net[p]) ++k;
    if (k == count) nets[count++] = plan.net[p];
    net_of_plane[p] = k;
  }
  std::size_t floats = 0;
  for (int k = 0; k < count; ++k) {
    const detail::RdNetwork& n = *nets[k];
    floats += 2 * n.taps.size() + n.sums.size() + n.values.size() + n.slopes.size();
  }
  std::vector<float> host(floats);
  float* d_params = scratch_floats(ctx, detail::kRdModelSlot, floats);
  RdDeviceNet dn[4];
  std::size_t at = 0;
  auto put = [&](const std::vector<float>& v) {
    std::copy(v.begin(), v.end(), host.begin() + static_cast<std::ptrdiff_t>(at));
    const float* d = d_params + at;
    at += v.size();
    return d;
  };
  int max_filters = 1;
  for (int k = 0; k < count; ++k) {
    const detail::RdNetwork& n = *nets[k];
    dn[k].taps = put(n.taps);
    dn[k].taps_flipped = put(n.taps_flipped);
    dn[k].sums = put(n.sums);
    dn[k].values = put(n.values);
    dn[k].slopes = put(n.slopes);
    dn[k].filters = n.filters;
    dn[k].size = n.size;
    dn[k].knots = n.knots;
    dn[k].lo = n.flo;
    dn[k].inv_h = n.inv_h;
    dn[k].s_max = n.s_max;
    max_filters = std::max(max_filters, n.filters);
  }
  // From pageable memory: the copy is complete when copy_2d returns.
  copy_2d(d_params, floats * sizeof(float), host.data(), floats * sizeof(float),
          floats * sizeof(float), 1, CopyKind::kHostToDevice, stream, false);

  const detail::Planes f = scratch_planes(ctx, detail::kRdInputSlot, w, h, np);
  const detail::Planes u = scratch_planes(ctx, detail::kRdStateSlot, w, h, np + 1);
  // One launch per stage where the tiles fit in shared memory; otherwise (or with the test hook
  // PDEIMG_TEST_MAX_FUSED=1) a forward and a backward launch through N global planes of y_i.
  bool fused = detail::test_max_fused() != 1;
  for (int k = 0; k < count; ++k) fused = fused && rd_stage_fits(dn[k]);
  const detail::Planes y =
      fused ? detail::Planes{} : scratch_planes(ctx, detail::kRdWorkSlot, w, h, max_filters);
  const int spare = np;
  launch_rd_load(st.src, f, plan.colour, plan.scale, stream);
  long long total = 0, done = 0;
  for (int p = 0; p < np; ++p) total += plan.stages[p];
  for (int p = 0; p < np; ++p) {
    const RdDeviceNet& net = dn[net_of_plane[p]];
    const int T = plan.stages[p];
    const detail::Planes* in = &f;
    int in_plane = p;
    for (int t = 0; t < T; ++t) {
      const int out_plane = ((T - 1 - t) % 2 == 0) ? p : spare;
      if (fused) {
        launch_rd_stage(*in, in_plane, f, p, u, out_plane, net, t, plan.net[p]->lambda[t], stream);
      } else {
        launch_rd_forward(*in, in_plane, net, t, y, stream);
        launch_rd_backward(y, *in, in_plane, f, p, u, out_plane, net, t, plan.net[p]->lambda[t],
                           stream);
      }
      in = &u;
      in_plane = out_plane;
      ++done;
      if (done % kProgressSteps == 0 || done == total) {
        report_queued(ctx, done, total, "reaction_diffusion");
      }
    }
  }
  detail::Planes uu = u;
  uu.count = np;
  launch_rd_store(f, uu, plan.colour, plan.scale, st.src, st.dst, stream);
  finish(st, ctx);
}

}  // namespace cuda
}  // namespace pdeimg
