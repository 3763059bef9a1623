// Context internals shared by the API layer and the backends. Internal header.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "pdeimg/context.hpp"

namespace pdeimg {
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
  /// Device memory of at least `bytes`, 256-byte aligned. Growing a slot waits for `stream`
  /// before freeing the old buffer, since queued work may still use it.
  void* get(int slot, std::size_t bytes, void* stream);

 private:
  struct Buffer {
    void* data = nullptr;
    std::size_t size = 0;
  };
  std::vector<Buffer> slots_;
};

struct ContextImpl {
  Backend backend = Backend::kCpu;
  int device = 0;
  std::string note;
  int threads = 1;
  void* stream = nullptr;  // cudaStream_t
  HostScratch host;
  DeviceScratch device_mem;

  ~ContextImpl();
  float* host_scratch(int slot, std::size_t floats) { return host.get(slot, floats); }
  void* device_scratch(int slot, std::size_t bytes) { return device_mem.get(slot, bytes, stream); }
};

int default_threads() noexcept;

}  // namespace detail
}  // namespace pdeimg
