#include "src/cuda/runtime.hpp"

#include "pdeimg/error.hpp"

#if PDEIMG_HAS_CUDA
#include <cuda_runtime_api.h>

#include "src/cuda/check.hpp"
#endif

namespace pdeimg {
namespace cuda {

#if PDEIMG_HAS_CUDA

int device_count() noexcept {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky-free error so later calls are not confused
    return 0;
  }
  return n;
}

std::string no_device_reason() {
  int n = 0;
  const cudaError_t status = cudaGetDeviceCount(&n);
  cudaGetLastError();
  if (status != cudaSuccess) {
    return std::string("no CUDA device: ") + cudaGetErrorName(status) + ": " +
           cudaGetErrorString(status);
  }
  return n == 0 ? "no CUDA device found" : "";
}

std::string device_name(int device) {
  cudaDeviceProp prop{};
  PDEIMG_CUDA_CHECK(cudaGetDeviceProperties(&prop, device));
  return prop.name;
}

void set_device(int device) {
  PDEIMG_CUDA_CHECK(cudaSetDevice(device));
}

int current_device() {
  int device = 0;
  PDEIMG_CUDA_CHECK(cudaGetDevice(&device));
  return device;
}

void* create_stream() {
  cudaStream_t stream = nullptr;
  // A blocking stream: DeviceImage::upload/download run on the legacy default stream, which then
  // waits for the work queued here (and this stream for them), so they are ordered with it.
  PDEIMG_CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamDefault));
  return stream;
}

void destroy_stream(void* stream) noexcept {
  if (stream) cudaStreamDestroy(static_cast<cudaStream_t>(stream));
}

void synchronize(void* stream) {
  PDEIMG_CUDA_CHECK(cudaStreamSynchronize(static_cast<cudaStream_t>(stream)));
}

void* malloc_device(std::size_t bytes) {
  void* p = nullptr;
  PDEIMG_CUDA_CHECK(cudaMalloc(&p, bytes));
  return p;
}

void free_device(void* ptr) noexcept {
  if (ptr) cudaFree(ptr);
}

void* malloc_pitch(std::size_t row_bytes, int height, std::size_t* pitch) {
  void* p = nullptr;
  PDEIMG_CUDA_CHECK(cudaMallocPitch(&p, pitch, row_bytes, static_cast<std::size_t>(height)));
  return p;
}

int pointer_device(const void* ptr) noexcept {
  cudaPointerAttributes attr{};
  if (cudaPointerGetAttributes(&attr, ptr) != cudaSuccess) {
    cudaGetLastError();
    return -1;
  }
  return attr.type == cudaMemoryTypeDevice ? attr.device : -1;
}

void* create_pool() {
  int device = 0, supported = 0;
  PDEIMG_CUDA_CHECK(cudaGetDevice(&device));
  if (cudaDeviceGetAttribute(&supported, cudaDevAttrMemoryPoolsSupported, device) != cudaSuccess) {
    cudaGetLastError();
    return nullptr;
  }
  if (!supported) return nullptr;
  cudaMemPoolProps props{};
  props.allocType = cudaMemAllocationTypePinned;
  props.location.type = cudaMemLocationTypeDevice;
  props.location.id = device;
  cudaMemPool_t pool = nullptr;
  PDEIMG_CUDA_CHECK(cudaMemPoolCreate(&pool, &props));
  // Keep freed memory in the pool across synchronisations: a scratch slot that grows and shrinks
  // again then reuses it instead of asking the driver each time.
  unsigned long long threshold = ~0ULL;
  PDEIMG_CUDA_CHECK(cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &threshold));
  return pool;
}

void destroy_pool(void* pool) noexcept {
  if (pool) cudaMemPoolDestroy(static_cast<cudaMemPool_t>(pool));
}

void* malloc_async(std::size_t bytes, void* pool, void* stream) {
  void* p = nullptr;
  PDEIMG_CUDA_CHECK(cudaMallocFromPoolAsync(&p, bytes, static_cast<cudaMemPool_t>(pool),
                                            static_cast<cudaStream_t>(stream)));
  return p;
}

void free_async(void* ptr, void* stream) noexcept {
  if (ptr && cudaFreeAsync(ptr, static_cast<cudaStream_t>(stream)) != cudaSuccess) {
    cudaGetLastError();
  }
}

void* malloc_host(std::size_t bytes) noexcept {
  void* p = nullptr;
  if (cudaMallocHost(&p, bytes) != cudaSuccess) {
    cudaGetLastError();  // not sticky; clear it so the next check does not report it
    return nullptr;
  }
  return p;
}

void free_host(void* ptr) noexcept {
  if (ptr) cudaFreeHost(ptr);
}

bool is_pinned(const void* ptr) noexcept {
  cudaPointerAttributes attr{};
  if (cudaPointerGetAttributes(&attr, ptr) != cudaSuccess) {
    cudaGetLastError();
    return false;
  }
  return attr.type == cudaMemoryTypeHost;
}

void* create_event() {
  cudaEvent_t e = nullptr;
  PDEIMG_CUDA_CHECK(cudaEventCreateWithFlags(&e, cudaEventDisableTiming));
  return e;
}

void destroy_event(void* event) noexcept {
  if (event) cudaEventDestroy(static_cast<cudaEvent_t>(event));
}

void record_event(void* event, void* stream) {
  PDEIMG_CUDA_CHECK(
      cudaEventRecord(static_cast<cudaEvent_t>(event), static_cast<cudaStream_t>(stream)));
}

void wait_event(void* event) {
  PDEIMG_CUDA_CHECK(cudaEventSynchronize(static_cast<cudaEvent_t>(event)));
}

void* begin_capture() noexcept {
  cudaStream_t stream = nullptr;
  if (cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking) != cudaSuccess) {
    cudaGetLastError();
    return nullptr;
  }
  if (cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal) != cudaSuccess) {
    cudaGetLastError();
    cudaStreamDestroy(stream);
    return nullptr;
  }
  return stream;
}

void* end_capture(void* capture) noexcept {
  if (capture == nullptr) return nullptr;
  const auto stream = static_cast<cudaStream_t>(capture);
  cudaGraph_t graph = nullptr;
  const cudaError_t ended = cudaStreamEndCapture(stream, &graph);
  cudaStreamDestroy(stream);
  if (ended != cudaSuccess || graph == nullptr) {
    cudaGetLastError();
    if (graph) cudaGraphDestroy(graph);
    return nullptr;
  }
  cudaGraphExec_t exec = nullptr;
  const cudaError_t status = cudaGraphInstantiate(&exec, graph, 0);
  cudaGraphDestroy(graph);
  if (status != cudaSuccess) {
    cudaGetLastError();
    return nullptr;
  }
  return exec;
}

void launch_graph(void* exec, void* stream) {
  PDEIMG_CUDA_CHECK(
      cudaGraphLaunch(static_cast<cudaGraphExec_t>(exec), static_cast<cudaStream_t>(stream)));
}

void destroy_graph(void* exec) noexcept {
  if (exec) cudaGraphExecDestroy(static_cast<cudaGraphExec_t>(exec));
}

void copy_2d(void* dst, std::size_t dst_pitch, const void* src, std::size_t src_pitch,
             std::size_t row_bytes, int height, CopyKind kind, void* stream, bool sync) {
  const cudaMemcpyKind k = kind == CopyKind::kHostToDevice   ? cudaMemcpyHostToDevice
                           : kind == CopyKind::kDeviceToHost ? cudaMemcpyDeviceToHost
                                                             : cudaMemcpyDeviceToDevice;
  auto s = static_cast<cudaStream_t>(stream);
  PDEIMG_CUDA_CHECK(cudaMemcpy2DAsync(dst, dst_pitch, src, src_pitch, row_bytes,
                                      static_cast<std::size_t>(height), k, s));
  if (sync) PDEIMG_CUDA_CHECK(cudaStreamSynchronize(s));
}

#else  // !PDEIMG_HAS_CUDA

namespace {
[[noreturn]] void unavailable() {
  throw Error(ErrorCode::kBackendUnavailable,
              "CUDA backend unavailable: pdeimg was built without CUDA (PDEIMG_WITH_CUDA=OFF or "
              "no CUDA compiler found)");
}
}  // namespace

int device_count() noexcept {
  return 0;
}
std::string no_device_reason() {
  return "built without CUDA";
}
std::string device_name(int) {
  unavailable();
}
void set_device(int) {
  unavailable();
}
int current_device() {
  unavailable();
}
void* create_stream() {
  unavailable();
}
void destroy_stream(void*) noexcept {}
void synchronize(void*) {}
void* malloc_device(std::size_t) {
  unavailable();
}
void free_device(void*) noexcept {}
void* malloc_pitch(std::size_t, int, std::size_t*) {
  unavailable();
}
int pointer_device(const void*) noexcept {
  return -1;
}
void* create_pool() {
  unavailable();
}
void destroy_pool(void*) noexcept {}
void* malloc_async(std::size_t, void*, void*) {
  unavailable();
}
void free_async(void*, void*) noexcept {}
void* malloc_host(std::size_t) noexcept {
  return nullptr;
}
void free_host(void*) noexcept {}
bool is_pinned(const void*) noexcept {
  return false;
}
void* create_event() {
  unavailable();
}
void destroy_event(void*) noexcept {}
void record_event(void*, void*) {
  unavailable();
}
void wait_event(void*) {
  unavailable();
}
void* begin_capture() noexcept {
  return nullptr;
}
void* end_capture(void*) noexcept {
  return nullptr;
}
void launch_graph(void*, void*) {
  unavailable();
}
void destroy_graph(void*) noexcept {}
void copy_2d(void*, std::size_t, const void*, std::size_t, std::size_t, int, CopyKind, void*,
             bool) {
  unavailable();
}

#endif

}  // namespace cuda
}  // namespace pdeimg
