// Running a CUDA kernel's own source on the CPU (tests/fused_steps_test.cpp,
// tests/rd_stage_kernel_test.cpp): include this before the kernel's header. The CUDA keywords are
// defined away, the built-in indices are globals the test sets before each call (one block at a
// time; loops that stride by blockDim cover the block with one "thread"), __syncthreads separates
// phases that then simply run in order, and __shared__ arrays become statics. Plus padded float
// planes like the backend's.
#pragma once

#include <cstddef>
#include <vector>

namespace {
struct FakeDim3 {
  unsigned x = 0, y = 0, z = 0;
};
FakeDim3 blockIdx, threadIdx, blockDim;
}  // namespace

#define __global__
#define __device__
#define __forceinline__ inline
#define __shared__ static
#define __launch_bounds__(n)
#define __syncthreads()
template <class T>
T __ldg(const T* p) {
  return *p;
}

#include "kernels/common.cuh"

namespace pdeimg {
namespace test {

/// `count` float planes of w x h with padded rows, as the backend's; the padding holds -777.
struct PlaneBuffer {
  std::vector<float> data;
  detail::Planes p;
  PlaneBuffer(int w, int h, int count) {
    const std::ptrdiff_t stride = w + 3;
    data.assign(static_cast<std::size_t>(stride * h * count + 5), -777.0f);
    p = detail::Planes{data.data(), w, h, count, stride, stride * h};
  }
};

}  // namespace test
}  // namespace pdeimg
