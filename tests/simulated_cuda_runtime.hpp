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
  int devices = 0;                     // what device_count() reports
  bool pools = true;                   // create_pool gives a pool (else nullptr, no pools)
  long long async_frees = 0;           // free_async calls (run when the stream reaches them)
  long long device_frees = 0;          // free_device calls (cudaFree: waits for the device)
  /// Calls that used memory or a stream of one device while another was current, or a stream
  /// of one device with memory of another: a copy on the legacy default stream of the wrong
  /// device (not ordered after the memory's device's blocking streams), a cudaFree of another
  /// device's memory, an allocation on the wrong device.
  long long wrong_device = 0;
};

Counters& counters();
/// Copies queued and not yet run.
long long pending_ops();
/// The device a pointer returned by the simulated allocators belongs to (-1: none).
int device_of(const void* ptr);
/// Marks [ptr, ptr + bytes) as page-locked host memory (as cudaHostRegister would), so copies
/// from it are queued, not run at once.
void register_pinned(const void* ptr);
/// Resets the counters, the device count and the calling thread's device to 0.
void reset();

}  // namespace simulated
}  // namespace pdeimg
