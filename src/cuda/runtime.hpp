// Thin wrappers over the CUDA runtime that the C++ layers use without including CUDA headers.
// In builds without CUDA each throws Error(kBackendUnavailable) (device_count() returns 0).
// Internal header.
#pragma once

#include <cstddef>
#include <string>

namespace pdeimg {
namespace cuda {

int device_count() noexcept;
/// Why there is no usable device ("built without CUDA", or the CUDA error text).
std::string no_device_reason();
std::string device_name(int device);
void set_device(int device);
/// The calling thread's current device (cudaGetDevice).
int current_device();
/// A blocking stream (cudaStreamDefault flags) on the calling thread's current device.
void* create_stream();
void destroy_stream(void* stream) noexcept;
void synchronize(void* stream);
/// cudaMalloc / cudaFree on the calling thread's current device.
void* malloc_device(std::size_t bytes);
void free_device(void* ptr) noexcept;
/// cudaMallocPitch; returns the pointer and stores the pitch in bytes.
void* malloc_pitch(std::size_t row_bytes, int height, std::size_t* pitch);
/// The device whose memory `ptr` points into (cudaPointerGetAttributes), or -1 when it is not
/// device memory (host memory, page-locked or not; managed memory; an unknown pointer).
int pointer_device(const void* ptr) noexcept;

/// A stream-ordered memory pool of the current device that keeps the memory freed into it
/// (release threshold: unlimited), or nullptr when the device has no memory pools
/// (cudaDevAttrMemoryPoolsSupported); the caller then uses malloc_device/free_device.
void* create_pool();
/// Destroys a pool whose allocations have all been freed and whose streams are idle.
void destroy_pool(void* pool) noexcept;
/// cudaMallocFromPoolAsync: memory usable by work queued on `stream` after this call.
void* malloc_async(std::size_t bytes, void* pool, void* stream);
/// cudaFreeAsync: returns `ptr` to its pool once the work queued on `stream` so far has finished;
/// neither the host nor the device waits (cudaFree would synchronise the whole device).
void free_async(void* ptr, void* stream) noexcept;

/// Page-locked host memory (cudaMallocHost), or nullptr when it cannot be had (the caller falls
/// back to pageable copies; this never throws).
void* malloc_host(std::size_t bytes) noexcept;
void free_host(void* ptr) noexcept;
/// True when `ptr` is page-locked host memory (cudaMallocHost, cudaHostAlloc, cudaHostRegister),
/// which the copy engines read and write directly, so copies from it are truly asynchronous.
bool is_pinned(const void* ptr) noexcept;

/// Events for ordering the host against a stream (timing disabled).
void* create_event();
void destroy_event(void* event) noexcept;
void record_event(void* event, void* stream);
/// Blocks until the work queued before the last record_event(event) has finished.
void wait_event(void* event);

/// A new non-blocking stream of the current device in capture mode (cudaStreamBeginCapture,
/// thread-local): the work queued on it is recorded into a CUDA graph, not run. Non-blocking, so
/// that other threads' use of the legacy default stream (DeviceImage copies) cannot invalidate
/// the capture. nullptr when capturing is not possible (the caller launches directly).
void* begin_capture() noexcept;
/// Ends the capture, destroys the capture stream and instantiates the graph (cudaGraphExec_t),
/// to be launched on any stream of the device; nullptr when the capture or the instantiation
/// failed (nothing ran: the caller queues the work directly). `capture` may be nullptr.
void* end_capture(void* capture) noexcept;
/// Queues an instantiated graph on `stream`.
void launch_graph(void* exec, void* stream);
/// Destroys an instantiated graph; launches still in flight complete first.
void destroy_graph(void* exec) noexcept;

enum class CopyKind { kHostToDevice, kDeviceToHost, kDeviceToDevice };
/// cudaMemcpy2DAsync on `stream`; when `stream` is null and sync is requested it is synchronous.
void copy_2d(void* dst, std::size_t dst_pitch, const void* src, std::size_t src_pitch,
             std::size_t row_bytes, int height, CopyKind kind, void* stream, bool sync);

}  // namespace cuda
}  // namespace pdeimg
