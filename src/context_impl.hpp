// Context internals shared by the API layer and the backends. Internal header.
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "pdeimg/context.hpp"

namespace pdeimg {
namespace cpu {
class ThreadPool;
}
namespace detail {

/// Grow-only buffers indexed by slot: a call asks for slot i with at least n elements and gets
/// the same memory back on the next call, so steady-state calls do not allocate.
class HostScratch {
 public:
  float* get(int slot, std::size_t floats);

 private:
  struct Buffer {
    std::unique_ptr<float[]> data;
    std::size_t size = 0;
  };
  std::vector<Buffer> slots_;
};

class DeviceScratch {
 public:
  DeviceScratch() = default;
  DeviceScratch(const DeviceScratch&) = delete;
  DeviceScratch& operator=(const DeviceScratch&) = delete;
  ~DeviceScratch();
  /// Device memory of at least `bytes`, 256-byte aligned, for work queued on `stream`. With a pool
  /// (set_pool), growing a slot frees the old buffer and allocates the new one in stream order
  /// (cudaFreeAsync, cudaMallocFromPoolAsync): queued work that still uses the old buffer finishes
  /// first, and nothing waits. Without one (a device without memory pools) it waits for `stream`
  /// and calls cudaFree, which also waits for the whole device.
  void* get(int slot, std::size_t bytes, void* stream);
  /// Frees every slot (in stream order on `stream` when there is a pool; the caller synchronises
  /// before destroying the pool).
  void release_all(void* stream) noexcept;
  /// The stream-ordered pool the slots come from (nullptr: cudaMalloc/cudaFree).
  void set_pool(void* pool) noexcept { pool_ = pool; }
  void* pool() const noexcept { return pool_; }

 private:
  struct Buffer {
    void* data = nullptr;
    std::size_t size = 0;
  };
  std::vector<Buffer> slots_;
  void* pool_ = nullptr;
};

/// Two page-locked host buffers through which the CUDA backend copies pageable host images in
/// chunks (src/cuda/transfer.cpp), with an event per buffer marking when its last copy finished.
/// Allocated on first use; `bytes` == 0 after that means pinned memory was not available (or
/// PDEIMG_STAGING_MB=0 turned staging off) and copies go directly from pageable memory.
struct PinnedStaging {
  PinnedStaging() = default;
  PinnedStaging(const PinnedStaging&) = delete;
  PinnedStaging& operator=(const PinnedStaging&) = delete;
  ~PinnedStaging();
  /// Frees the buffers and events (after the copies still using them).
  void release() noexcept;

  bool initialised = false;
  std::size_t bytes = 0;  // of each buffer
  void* buffer[2] = {nullptr, nullptr};
  void* done[2] = {nullptr, nullptr};  // cudaEvent_t recorded after the buffer's last copy
  bool pending[2] = {false, false};    // `done` was recorded and not yet waited for
};

/// Something a backend caches for the life of a context (the CUDA spectral solver's cuFFT plans,
/// kernels/heat_spectral.cu); released with the context's device memory.
struct ContextCache {
  virtual ~ContextCache() = default;
};

struct ContextImpl {
  Backend backend = Backend::kCpu;
  int device = 0;
  std::string note;
  int threads = 1;
  void* stream = nullptr;  // cudaStream_t
  HostScratch host;
  DeviceScratch device_mem;
  PinnedStaging pinned;
  std::unique_ptr<cpu::ThreadPool> pool;    // started on first use, with `threads` workers
  std::function<bool(double)> progress;     // Context::set_progress
  std::unique_ptr<ContextCache> fft_plans;  // cuFFT plans (kernels/heat_spectral.cu)
  long long host_uploads = 0;  // cuda::upload calls (host images copied to the device), for tests
  /// The thread inside an operation on this context (DeviceScope), and how deeply it nests: a
  /// second thread is refused instead of deadlocking on the worker pool.
  std::atomic<std::thread::id> owner{};
  int owner_depth = 0;

  ContextImpl();
  ~ContextImpl();
  /// The CPU workers, started on first use (and again after set_threads changed their number).
  /// Throws Error(kResource) when the system refuses a thread.
  cpu::ThreadPool& workers();
  /// Tells the progress callback that `done` of the operation's `total` steps are done; throws
  /// Error(kCancelled) naming `op` when it asks to stop. A no-op without a callback.
  void report_progress(long long done, long long total, const char* op);
  float* host_scratch(int slot, std::size_t floats) { return host.get(slot, floats); }
  /// Device scratch of this context's device (made current for the allocation).
  void* device_scratch(int slot, std::size_t bytes);
};

/// The CPU threads a Context uses by default: the CPUs this process may run on (its affinity
/// mask, e.g. taskset or a container's cpuset), further limited by a cgroup CPU quota
/// (docker --cpus), so that a container given 2 of 64 cores does not start 64 threads.
int default_threads() noexcept;

/// For the scope of one operation, makes ctx's CUDA device the calling thread's current device,
/// and restores the thread's previous device after (a no-op on the CPU backend). CUDA keeps the
/// current device per thread, while a Context may be used from any thread (one at a time): every
/// operation opens one first, so that its allocations and launches go to the device its stream
/// belongs to, and the caller's own CUDA code is left on the device it chose.
///
/// When the operation leaves by an exception, the scope also waits for ctx's stream before it
/// ends (errors of that wait are dropped: the first exception is the one to report). Work queued
/// before the throw may still read the caller's memory (a page-locked host image is copied by the
/// copy engine itself) or write its device views; the caller must be able to free or reuse them
/// as soon as the exception reaches it.
class DeviceScope {
 public:
  /// Also claims ctx for the calling thread (nested scopes of that thread are fine): another
  /// thread's operation on the same context meanwhile throws Error(kInvalidArgument).
  explicit DeviceScope(const Context& ctx);
  /// Makes `device` current for the scope (no stream, no wait on unwinding): for the context's
  /// own set-up and tear-down and for DeviceImage.
  explicit DeviceScope(int device);
  ~DeviceScope();
  DeviceScope(const DeviceScope&) = delete;
  DeviceScope& operator=(const DeviceScope&) = delete;

 private:
  void enter(int device);
  ContextImpl* owned_ = nullptr;  // released on leaving the outermost scope
  int previous_ = -1;
  void* stream_ = nullptr;
  int exceptions_ = 0;
};

}  // namespace detail
}  // namespace pdeimg
