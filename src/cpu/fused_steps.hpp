// The driver of temporally blocked explicit schemes on the CPU: converts src to float, runs
// `steps` applications of a 3x3-neighbourhood RowOp in passes of up to kMaxFusedSteps fused steps
// (stencil_pipeline.hpp), and converts the result into dst once, at the end. Internal header.
//
// The same loop as heat_smooth's (src/cpu/heat.cpp), generic in the RowOp so that other explicit
// schemes (Perona–Malik) reuse it; heat_smooth could call it too.
#pragma once

#include <algorithm>
#include <cstddef>

#include "src/context_impl.hpp"
#include "src/cpu/row_io.hpp"
#include "src/cpu/stencil_pipeline.hpp"

namespace pdeimg {
namespace cpu {

/// Runs `steps` (>= 0) steps of `op` on the first `nc` channels of src into dst (same shape; dst
/// may alias src exactly). `max_fused` > 0 caps the steps fused per pass (tests); channels beyond
/// nc are not touched. Uses host scratch slots 0 (two float plane sets) and 1 (rings). Reports
/// progress after each pass (Context::set_progress; `name` names the operation if cancelled).
/// A RowOp that takes a RowAt learns which of the `steps` it computes (fast explicit diffusion).
template <class RowOp>
void fused_steps(const ImageView& src, const ImageView& dst, int nc, int steps, int max_fused_cap,
                 const RowOp& op, Context& ctx, const char* name) {
  auto& impl = ctx.impl();
  const int w = src.width;
  const int h = src.height;
  ThreadPool& pool = impl.workers();
  const int threads = pool.size();
  const int max_fused = max_fused_cap > 0 ? max_fused_cap : kMaxFusedSteps;
  const bool aliased = src.data == dst.data;
  const std::ptrdiff_t plane_stride = static_cast<std::ptrdiff_t>(w) * h;
  Planes planes[2];
  bool planes_ready = false;
  auto ensure_planes = [&] {
    if (planes_ready) return;
    float* mem = impl.host_scratch(0, 2 * static_cast<std::size_t>(plane_stride) * nc);
    for (int i = 0; i < 2; ++i)
      planes[i] = Planes{mem + i * plane_stride * nc, w, h, nc, w, plane_stride};
    planes_ready = true;
  };
  auto convert_pass = [&](const auto& load, const auto& store) {
    PassShape copy = choose_pass_shape(w, h, nc, 1, threads, 1);
    copy.fused = 0;
    float* ring = impl.host_scratch(1, copy.ring_floats * static_cast<std::size_t>(threads));
    fused_pass(load, store, op, w, h, nc, copy, pool, ring);
  };

  if (steps == 0) {
    if (aliased && src.type == dst.type) return;
    dispatch_type(src.type, [&](auto stag) {
      using Ts = decltype(stag);
      if (aliased) {  // a type change in place cannot happen (check_src_dst), but stay safe
        ensure_planes();
        convert_pass(ViewLoader<Ts>{src, nc}, PlaneStore{planes[0]});
        dispatch_type(dst.type, [&](auto dtag) {
          using Td = decltype(dtag);
          convert_pass(PlaneLoader{planes[0]}, ViewStore<Td>{dst, nc});
        });
        return;
      }
      dispatch_type(dst.type, [&](auto dtag) {
        using Td = decltype(dtag);
        convert_pass(ViewLoader<Ts>{src, nc}, ViewStore<Td>{dst, nc});
      });
    });
    return;
  }

  int cur = -1;  // planes holding the current state; -1 while it is still src
  if (aliased) {
    // In place: bands would overwrite rows that neighbouring bands still read.
    ensure_planes();
    dispatch_type(src.type, [&](auto tag) {
      using Ts = decltype(tag);
      convert_pass(ViewLoader<Ts>{src, nc}, PlaneStore{planes[0]});
    });
    cur = 0;
  }
  int done = 0;
  while (done < steps) {
    const int remaining = steps - done;
    const PassShape shape = choose_pass_shape(w, h, nc, remaining, threads, max_fused);
    const bool last = shape.fused == remaining;
    float* ring = impl.host_scratch(1, shape.ring_floats * static_cast<std::size_t>(threads));
    if (!last) ensure_planes();
    const int next = cur < 0 ? 0 : 1 - cur;
    auto run_to = [&](const auto& load) {
      if (last) {
        dispatch_type(dst.type, [&](auto tag) {
          using Td = decltype(tag);
          fused_pass(load, ViewStore<Td>{dst, nc}, op, w, h, nc, shape, pool, ring, done);
        });
      } else {
        fused_pass(load, PlaneStore{planes[next]}, op, w, h, nc, shape, pool, ring, done);
      }
    };
    if (cur < 0) {
      dispatch_type(src.type, [&](auto tag) {
        using Ts = decltype(tag);
        run_to(ViewLoader<Ts>{src, nc});
      });
    } else {
      run_to(PlaneLoader{planes[cur]});
    }
    done += shape.fused;
    cur = next;
    impl.report_progress(done, steps, name);
  }
}

}  // namespace cpu
}  // namespace pdeimg
