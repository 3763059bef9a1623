// A simulated CUDA runtime for testing the host side of the CUDA backend without a GPU: it
// implements src/cuda/runtime.hpp with "device" memory in host memory and one in-order stream
// whose copies between device and page-locked memory are only queued, and run when an event
// recorded after them or the stream is waited for. Host code that reads or refills a page-locked
// buffer before waiting for the copy that uses it thus reads stale data or corrupts the copy, as it
// could on a GPU, but here every time. Copies from or to pageable memory behave as CUDA documents
// for cudaMemcpyAsync: they wait for the stream and are done when the call returns.
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <set>
#include <vector>

#include "src/cuda/runtime.hpp"
#include "tests/simulated_cuda_runtime.hpp"

namespace pdeimg {
namespace cuda {
namespace {

struct Simulation {
  std::vector<std::function<void()>> queued;  // not yet run
  long long run_until = 0;                    // ops [0, run_until) of `all` have run
  long long enqueued = 0;
  std::map<const void*, long long> events;  // event -> ops queued before its last record
  std::set<const void*> pinned;
  simulated::Counters counters;
};

Simulation& sim() {
  static Simulation s;
  return s;
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
  return 0;
}
std::string no_device_reason() {
  return "simulated runtime";
}
std::string device_name(int) {
  return "simulated";
}
void set_device(int) {}
int current_device() {
  return 0;
}
void* create_stream(int) {
  return nullptr;
}
void destroy_stream(void*) noexcept {}
void synchronize(void*) {
  ++sim().counters.synchronizations;
  run_through(sim().enqueued);
}
void* malloc_device(std::size_t bytes) {
  return std::malloc(bytes);
}
void free_device(void* ptr) noexcept {
  std::free(ptr);
}
void* malloc_pitch(std::size_t row_bytes, int height, std::size_t* pitch) {
  *pitch = (row_bytes + 255) / 256 * 256;
  return std::malloc(*pitch * static_cast<std::size_t>(height));
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
void copy_2d(void* dst, std::size_t dst_pitch, const void* src, std::size_t src_pitch,
             std::size_t row_bytes, int height, CopyKind kind, void* stream, bool sync) {
  Simulation& s = sim();
  if (kind == CopyKind::kHostToDevice) ++s.counters.uploads;
  if (kind == CopyKind::kDeviceToHost) ++s.counters.downloads;
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
}  // namespace simulated
}  // namespace pdeimg
