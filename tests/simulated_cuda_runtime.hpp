// What a test can see of the simulated CUDA runtime (tests/simulated_cuda_runtime.cpp).
#pragma once

namespace pdeimg {
namespace simulated {

struct Counters {
  long long uploads = 0;    // host-to-device copies queued
  long long downloads = 0;  // device-to-host copies queued
  long long event_waits = 0;
  long long synchronizations = 0;
  long long host_allocations = 0;      // page-locked buffers handed out
  bool fail_host_allocations = false;  // set: malloc_host returns nullptr
};

Counters& counters();
/// Copies queued and not yet run.
long long pending_ops();

}  // namespace simulated
}  // namespace pdeimg
