// A simulated CUDA runtime for testing the host side of the CUDA backend without a GPU: it
// implements src/cuda/runtime.hpp with "device" memory in host memory and one in-order stream
// whose copies between device and page-locked memory are only queued, and run when an event
// recorded after them or the stream is waited for. Host code that reads or refills a page-locked
// buffer before waiting for the copy that uses it thus reads stale data or corrupts the copy, as it
// could on a GPU, but here every time. Copies from or to pageable memory behave as CUDA documents
// for cudaMemcpyAsync: they wait for the stream and are done when the call returns.
//
// Devices: `counters().devices` sets how many there are; the current device is kept per thread as
// CUDA does, memory and streams remember the device that was current when they were made, and a
// call that mixes devices (a legacy-default-stream copy while another device is current, a stream
// used with another device's memory, a free on the wrong device) is counted in
// `counters().wrong_device`. Stream-ordered frees (free_async) are queued like copies.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <set>
#include <vector>

#include "pdeimg/error.hpp"
#include "src/cuda/runtime.hpp"
#include "tests/simulated_cuda_runtime.hpp"

namespace pdeimg {
namespace cuda {
namespace {

struct Allocation {
  std::size_t bytes;
  int device;
};

struct Simulation {
  std::vector<std::function<void()>> queued;  // not yet run
  long long run_until = 0;                    // ops [0, run_until) of `all` have run
  long long enqueued = 0;
  std::map<const void*, long long> events;  // event -> ops queued before its last record
  std::set<const void*> pinned;
  std::map<const char*, Allocation> device_memory;  // start -> size and device
  simulated::Counters counters;
};

Simulation& sim() {
  static Simulation s;
  return s;
}

thread_local int current = 0;

struct Stream {
  int device;
};

int device_of_pointer(const void* ptr) {
  const auto& m = sim().device_memory;
  const char* p = static_cast<const char*>(ptr);
  auto it = m.upper_bound(p);
  if (it == m.begin()) return -1;
  --it;
  return p < it->first + it->second.bytes ? it->second.device : -1;
}

/// The device whose work `stream` is ordered with: its own, or the current device's for the
/// legacy default stream (nullptr).
int stream_device(void* stream) {
  return stream ? static_cast<Stream*>(stream)->device : current;
}

void* allocate(std::size_t bytes) {
  char* p = static_cast<char*>(std::malloc(bytes == 0 ? 1 : bytes));
  sim().device_memory[p] = Allocation{bytes, current};
  return p;
}

void release(void* ptr) {
  sim().device_memory.erase(static_cast<const char*>(ptr));
  std::free(ptr);
}

void run_through(long long n) {
  Simulation& s = sim();
  while (s.run_until < n) {
    s.queued[static_cast<std::size_t>(s.run_until)]();
    s.queued[static_cast<std::size_t>(s.run_until)] = nullptr;
    ++s.run_until;
  }
}

}  // namespace

int device_count() noexcept {
  return sim().counters.devices;
}
std::string no_device_reason() {
  return sim().counters.devices > 0 ? "" : "simulated runtime";
}
std::string device_name(int) {
  return "simulated";
}
void set_device(int device) {
  if (device < 0 || device >= std::max(1, sim().counters.devices)) {
    throw Error(ErrorCode::kCuda,
                "simulated cudaSetDevice(" + std::to_string(device) + "): cudaErrorInvalidDevice");
  }
  current = device;
}
int current_device() {
  return current;
}
void* create_stream() {
  return new Stream{current};
}
void destroy_stream(void* stream) noexcept {
  delete static_cast<Stream*>(stream);
}
void synchronize(void*) {
  ++sim().counters.synchronizations;
  run_through(sim().enqueued);
}
void* malloc_device(std::size_t bytes) {
  return allocate(bytes);
}
void free_device(void* ptr) noexcept {
  if (ptr == nullptr) return;
  ++sim().counters.device_frees;
  if (device_of_pointer(ptr) != current) ++sim().counters.wrong_device;
  synchronize(nullptr);  // cudaFree waits for the device
  release(ptr);
}
void* malloc_pitch(std::size_t row_bytes, int height, std::size_t* pitch) {
  *pitch = (row_bytes + 255) / 256 * 256;
  return allocate(*pitch * static_cast<std::size_t>(height));
}
int pointer_device(const void* ptr) noexcept {
  return device_of_pointer(ptr);
}
void* create_pool() {
  if (!sim().counters.pools) return nullptr;
  return new Stream{current};  // a pool remembers its device
}
void destroy_pool(void* pool) noexcept {
  delete static_cast<Stream*>(pool);
}
void* malloc_async(std::size_t bytes, void* pool, void* stream) {
  Simulation& s = sim();
  if (static_cast<Stream*>(pool)->device != stream_device(stream)) ++s.counters.wrong_device;
  const int saved = current;
  current = static_cast<Stream*>(pool)->device;
  void* p = allocate(bytes);
  current = saved;
  return p;
}
void free_async(void* ptr, void* stream) noexcept {
  if (ptr == nullptr) return;
  Simulation& s = sim();
  ++s.counters.async_frees;
  if (device_of_pointer(ptr) != stream_device(stream)) ++s.counters.wrong_device;
  s.queued.emplace_back([ptr] { release(ptr); });  // after the work queued before it
  ++s.enqueued;
}
void* malloc_host(std::size_t bytes) noexcept {
  if (sim().counters.fail_host_allocations) return nullptr;
  void* p = std::malloc(bytes);
  sim().pinned.insert(p);
  ++sim().counters.host_allocations;
  return p;
}
void free_host(void* ptr) noexcept {
  if (ptr == nullptr) return;
  run_through(sim().enqueued);  // cudaFreeHost waits for the device
  sim().pinned.erase(ptr);
  std::free(ptr);
}
bool is_pinned(const void* ptr) noexcept {
  return sim().pinned.count(ptr) != 0;
}
void* create_event() {
  void* e = new char;
  sim().events[e] = 0;
  return e;
}
void destroy_event(void* event) noexcept {
  if (event == nullptr) return;
  sim().events.erase(event);
  delete static_cast<char*>(event);
}
void record_event(void* event, void*) {
  sim().events[event] = sim().enqueued;
}
void wait_event(void* event) {
  ++sim().counters.event_waits;
  run_through(sim().events[event]);
}
// No kernels run in the simulation, so no graphs are made: callers fall back to direct launches.
void* begin_capture() noexcept {
  return nullptr;
}
void* end_capture(void*) noexcept {
  return nullptr;
}
void launch_graph(void*, void*) {}
void destroy_graph(void*) noexcept {}
void copy_2d(void* dst, std::size_t dst_pitch, const void* src, std::size_t src_pitch,
             std::size_t row_bytes, int height, CopyKind kind, void* stream, bool sync) {
  Simulation& s = sim();
  if (kind == CopyKind::kHostToDevice) ++s.counters.uploads;
  if (kind == CopyKind::kDeviceToHost) ++s.counters.downloads;
  // The device memory involved must be that of the device the stream orders work on.
  const int on = stream_device(stream);
  for (const void* p : {static_cast<const void*>(dst), src}) {
    const int d = device_of_pointer(p);
    if (d >= 0 && d != on) ++s.counters.wrong_device;
  }
  s.queued.emplace_back([=] {
    for (int y = 0; y < height; ++y) {
      std::memcpy(static_cast<char*>(dst) + static_cast<std::size_t>(y) * dst_pitch,
                  static_cast<const char*>(src) + static_cast<std::size_t>(y) * src_pitch,
                  row_bytes);
    }
  });
  ++s.enqueued;
  const void* host = kind == CopyKind::kHostToDevice   ? src
                     : kind == CopyKind::kDeviceToHost ? static_cast<const void*>(dst)
                                                       : nullptr;
  if (sync || (host != nullptr && !is_pinned(host))) synchronize(stream);
}

}  // namespace cuda

namespace simulated {
Counters& counters() {
  return cuda::sim().counters;
}
long long pending_ops() {
  return cuda::sim().enqueued - cuda::sim().run_until;
}
int device_of(const void* ptr) {
  return cuda::device_of_pointer(ptr);
}
void register_pinned(const void* ptr) {
  cuda::sim().pinned.insert(ptr);
}
void reset() {
  cuda::run_through(cuda::sim().enqueued);
  cuda::sim().counters = Counters{};
  cuda::current = 0;
}
}  // namespace simulated
}  // namespace pdeimg
