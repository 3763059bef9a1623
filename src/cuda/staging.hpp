// Staging of host views through device scratch for the CUDA backend. Internal header.
#pragma once

#include "kernels/common.cuh"
#include "pdeimg/context.hpp"
#include "pdeimg/image.hpp"

namespace pdeimg {
namespace cuda {

/// Device views of an operation's src and dst. Host views are copied to device scratch
/// (slots 0 and 1) on the context's stream; device views are used as they are.
struct Staged {
  ImageView src;
  ImageView dst;
  ImageView host_dst;  // where finish() downloads to (empty for device views)
};

Staged stage(const ImageView& src, const ImageView& dst, Context& ctx);
/// A device view of an input that is only read: a host view is copied to slot 0.
ImageView stage_input(const ImageView& src, Context& ctx);
/// Downloads dst if it was staged, and waits for the stream when the caller passed host views.
void finish(const Staged& staged, Context& ctx);
/// Steps queued between progress reports of the CUDA step loops.
constexpr int kProgressSteps = 16;
/// Steps per launch of a step loop: the kernel's limit, or the plan's max_fused (a test hook)
/// when smaller and positive. 1 means the one-step kernels.
inline int fused_steps(int max_fused, int kernel_limit) {
  return max_fused > 0 && max_fused < kernel_limit ? max_fused : kernel_limit;
}
/// Reports `done` of `total` steps queued to the context's progress callback; when it cancels,
/// waits for the stream (queued copies may still read the caller's memory), then throws
/// Error(kCancelled) naming `op`.
void report_queued(Context& ctx, long long done, long long total, const char* op);
/// At least n (>= 1) floats of device scratch slot `slot`.
float* scratch_floats(Context& ctx, int slot, std::size_t n);
/// `count` float planes of width x height in device scratch slot `slot` (>= 2).
detail::Planes scratch_planes(Context& ctx, int slot, int width, int height, int count);

}  // namespace cuda
}  // namespace pdeimg
