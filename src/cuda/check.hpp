// The one error path for CUDA: every runtime call and kernel launch goes through these.
// Internal header; include only from CUDA-enabled translation units.
#pragma once

#include <cuda_runtime_api.h>

#include <string>

#include "pdeimg/error.hpp"

namespace pdeimg {
namespace cuda {

inline void check(cudaError_t status, const char* what, const char* file, int line) {
  if (status == cudaSuccess) return;
  const ErrorCode code =
      status == cudaErrorMemoryAllocation ? ErrorCode::kOutOfMemory : ErrorCode::kCuda;
  throw Error(code, std::string(what) + " failed: " + cudaGetErrorName(status) + ": " +
                        cudaGetErrorString(status) + " (" + file + ":" + std::to_string(line) +
                        ")");
}

}  // namespace cuda
}  // namespace pdeimg

/// Throws pdeimg::Error naming the call and CUDA's error text when `call` does not succeed.
#define PDEIMG_CUDA_CHECK(call) ::pdeimg::cuda::check((call), #call, __FILE__, __LINE__)
/// After every kernel launch: reports launch-configuration errors at the launch site.
#define PDEIMG_LAUNCH_CHECK(kernel_name) \
  ::pdeimg::cuda::check(cudaGetLastError(), "launch of " kernel_name, __FILE__, __LINE__)
