#include "pdeimg/context.hpp"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <string>
#include <thread>
#include <utility>

#if defined(__linux__)
#include <sched.h>
#endif

#include "pdeimg/error.hpp"
#include "src/context_impl.hpp"
#include "src/cpu/thread_pool.hpp"
#include "src/cuda/runtime.hpp"

namespace pdeimg {

const char* to_string(Backend backend) noexcept {
  switch (backend) {
    case Backend::kAuto:
      return "auto";
    case Backend::kCpu:
      return "cpu";
    case Backend::kCuda:
      return "cuda";
  }
  return "unknown";
}

Backend parse_backend(const std::string& name) {
  std::string s = name;
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  if (s == "auto") return Backend::kAuto;
  if (s == "cpu") return Backend::kCpu;
  if (s == "cuda" || s == "gpu") return Backend::kCuda;
  throw Error(ErrorCode::kInvalidArgument,
              "backend: expected auto, cpu or cuda, got '" + name + "'");
}

bool cuda_compiled() noexcept {
  return PDEIMG_HAS_CUDA != 0;
}

int cuda_device_count() noexcept {
  return cuda::device_count();
}

namespace detail {

namespace {

// CPUs in this process's affinity mask (0: unknown).
int affinity_cpus() noexcept {
#if defined(__linux__) && defined(CPU_COUNT)
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) return CPU_COUNT(&set);
#endif
  return 0;
}

// The cgroup v2 CPU quota in CPUs, rounded up ("max" or no cgroup: 0, no limit).
int cgroup_quota_cpus() noexcept {
  try {
    std::ifstream f("/sys/fs/cgroup/cpu.max");
    std::string quota;
    long long period = 0;
    if (!(f >> quota >> period) || quota == "max" || period <= 0) return 0;
    const long long q = std::stoll(quota);
    if (q <= 0) return 0;
    return static_cast<int>(std::min<long long>((q + period - 1) / period, 1 << 20));
  } catch (...) {
    return 0;
  }
}

}  // namespace

int default_threads() noexcept {
  static const int n = [] {
    int cpus = affinity_cpus();
    if (cpus <= 0) cpus = static_cast<int>(std::thread::hardware_concurrency());
    const int quota = cgroup_quota_cpus();
    if (quota > 0 && (cpus <= 0 || quota < cpus)) cpus = quota;
    return std::max(1, std::min(cpus, Context::kMaxThreads));
  }();
  return n;
}

ContextImpl::ContextImpl() = default;

void ContextImpl::report_progress(long long done, long long total, const char* op) {
  if (!progress || total <= 0) return;
  if (!progress(static_cast<double>(done) / static_cast<double>(total))) {
    throw Error(ErrorCode::kCancelled, std::string(op) + ": cancelled after " +
                                           std::to_string(done) + " of " + std::to_string(total) +
                                           " steps");
  }
}

cpu::ThreadPool& ContextImpl::workers() {
  if (!pool || pool->size() != threads) {
    pool.reset();  // the old workers end before new ones start
    pool = std::make_unique<cpu::ThreadPool>(threads);
  }
  return *pool;
}

float* HostScratch::get(int slot, std::size_t floats) {
  if (slot >= static_cast<int>(slots_.size())) slots_.resize(slot + 1);
  Buffer& b = slots_[slot];
  if (b.size < floats) {
    b.data.reset();  // release first: peak memory stays at one buffer
    b.data.reset(new (std::nothrow) float[floats + 16]);  // room to start on a 64-byte line
    if (!b.data) {
      b.size = 0;
      throw Error(
          ErrorCode::kOutOfMemory,
          "cannot allocate " + std::to_string(floats * sizeof(float)) + " bytes of scratch");
    }
    b.size = floats;
  }
  const auto a = reinterpret_cast<std::uintptr_t>(b.data.get());
  return reinterpret_cast<float*>((a + 63) / 64 * 64);
}

DeviceScratch::~DeviceScratch() {
  // ~ContextImpl releases the slots on the context's stream and device. Slots left here mean it
  // failed before that (e.g. the device could not be made current): pool memory is then left to
  // the pool rather than freed on whatever device and legacy stream happen to be current, which
  // would not be ordered after the context's work.
  if (pool_) {
    slots_.clear();
    return;
  }
  release_all(nullptr);
}

void DeviceScratch::release_all(void* stream) noexcept {
  for (Buffer& b : slots_) {
    if (pool_) {
      cuda::free_async(b.data, stream);
    } else {
      cuda::free_device(b.data);
    }
  }
  slots_.clear();
}

void* DeviceScratch::get(int slot, std::size_t bytes, void* stream) {
  if (slot >= static_cast<int>(slots_.size())) slots_.resize(slot + 1);
  Buffer& b = slots_[slot];
  if (b.size < bytes) {
    if (b.data) {
      if (pool_) {
        cuda::free_async(b.data, stream);  // after the queued work that still uses it
      } else {
        cuda::synchronize(stream);
        cuda::free_device(b.data);
      }
      b.data = nullptr;
      b.size = 0;
    }
    b.data = pool_ ? cuda::malloc_async(bytes, pool_, stream) : cuda::malloc_device(bytes);
    b.size = bytes;
  }
  return b.data;
}

PinnedStaging::~PinnedStaging() {
  release();
}

void PinnedStaging::release() noexcept {
  for (int k = 0; k < 2; ++k) {
    if (pending[k]) {
      try {
        cuda::wait_event(done[k]);  // a copy may still use the buffer
      } catch (...) {
      }
    }
    cuda::free_host(buffer[k]);
    cuda::destroy_event(done[k]);
    buffer[k] = nullptr;
    done[k] = nullptr;
    pending[k] = false;
  }
  bytes = 0;
}

ContextImpl::~ContextImpl() {
  if (stream) {
    try {
      // The scratch is freed on this context's device; the thread's own device is restored.
      const DeviceScope on(device);
      device_mem.release_all(stream);
      cuda::synchronize(stream);
      fft_plans.reset();
      cuda::destroy_pool(device_mem.pool());
      device_mem.set_pool(nullptr);
      pinned.release();
      cuda::destroy_stream(stream);
      stream = nullptr;
    } catch (...) {  // a destructor must not throw; the failure was the caller's to observe
    }
  }
  cuda::destroy_stream(stream);  // if the above failed part way
}

void DeviceScope::enter(int device) {
  const int previous = cuda::current_device();
  if (previous == device) return;
  cuda::set_device(device);
  previous_ = previous;
}

void* ContextImpl::device_scratch(int slot, std::size_t bytes) {
  const DeviceScope on(device);
  return device_mem.get(slot, bytes, stream);
}

DeviceScope::DeviceScope(int device) {
  enter(device);
}

DeviceScope::DeviceScope(const Context& ctx) {
  ContextImpl& impl = const_cast<Context&>(ctx).impl();
  const std::thread::id me = std::this_thread::get_id();
  std::thread::id none{};
  if (impl.owner.load() == me) {
    ++impl.owner_depth;
  } else if (impl.owner.compare_exchange_strong(none, me)) {
    impl.owner_depth = 1;
  } else {
    throw Error(ErrorCode::kInvalidArgument,
                "Context: used by two threads at once; a Context is not thread-safe, give each "
                "thread its own");
  }
  owned_ = &impl;
  if (ctx.backend() != Backend::kCuda) return;
  try {
    enter(ctx.device());
  } catch (...) {
    if (--impl.owner_depth == 0) impl.owner.store(std::thread::id{});
    throw;
  }
  stream_ = ctx.stream();
  exceptions_ = std::uncaught_exceptions();
}

DeviceScope::~DeviceScope() {
  if (owned_ != nullptr && --owned_->owner_depth == 0) owned_->owner.store(std::thread::id{});
  if (stream_ != nullptr && std::uncaught_exceptions() > exceptions_) {
    try {
      cuda::synchronize(stream_);  // queued copies may still read or write the caller's memory
    } catch (...) {                // the exception in flight is the one to report
    }
  }
  if (previous_ < 0) return;
  try {
    cuda::set_device(previous_);
  } catch (...) {  // a destructor must not throw; the operation's own error is what matters
  }
}

}  // namespace detail

Context::Context(Backend requested, int device) : impl_(std::make_unique<detail::ContextImpl>()) {
  auto& im = *impl_;
  im.threads = detail::default_threads();
  im.device = device;
  Backend want = requested;
  if (want == Backend::kAuto) {
    if (const char* env = std::getenv("PDEIMG_BACKEND"); env != nullptr && *env != '\0') {
      try {
        want = parse_backend(env);
      } catch (const Error&) {
        throw Error(ErrorCode::kInvalidArgument,
                    std::string("PDEIMG_BACKEND: expected auto, cpu or cuda, got '") + env + "'");
      }
      if (want != Backend::kAuto) im.note = std::string("PDEIMG_BACKEND=") + env;
    }
  }
  if (want == Backend::kAuto) {
    const int n = cuda::device_count();
    if (n > device && device >= 0) {
      want = Backend::kCuda;
      im.note = "auto: CUDA device " + std::to_string(device) + " found";
    } else {
      want = Backend::kCpu;
      const std::string why = cuda::no_device_reason();
      im.note = "auto: using the CPU (" +
                (why.empty() ? "device " + std::to_string(device) + " not present" : why) + ")";
    }
  }
  if (want == Backend::kCuda) {
    if (!cuda_compiled()) {
      throw Error(ErrorCode::kBackendUnavailable,
                  "backend cuda requested, but pdeimg was built without CUDA (PDEIMG_WITH_CUDA=OFF "
                  "or no CUDA compiler found)");
    }
    const int n = cuda::device_count();
    if (device < 0 || device >= n) {
      const std::string why = cuda::no_device_reason();
      throw Error(ErrorCode::kBackendUnavailable,
                  "backend cuda requested, but CUDA device " + std::to_string(device) +
                      " is not available (" +
                      (why.empty() ? std::to_string(n) + " device(s) present" : why) + ")");
    }
    // The stream and the pool belong to `device`; the calling thread's current device is left as
    // it was (the caller's own cudaMalloc, or a DeviceImage, must not move to this device).
    const detail::DeviceScope on(device);
    im.stream = cuda::create_stream();
    im.device_mem.set_pool(cuda::create_pool());
  }
  im.backend = want;
}

Context::~Context() = default;
Context::Context(Context&&) noexcept = default;
Context& Context::operator=(Context&&) noexcept = default;

Backend Context::backend() const noexcept {
  return impl_->backend;
}

std::string Context::device_name() const {
  if (impl_->backend == Backend::kCuda) return cuda::device_name(impl_->device);
  return "CPU (" + std::to_string(impl_->threads) +
         (impl_->threads == 1 ? " thread)" : " threads)");
}

const std::string& Context::selection_note() const noexcept {
  return impl_->note;
}

void Context::set_threads(int n) {
  if (n > kMaxThreads) {
    throw Error(ErrorCode::kInvalidArgument,
                "threads: at most " + std::to_string(kMaxThreads) + ", got " + std::to_string(n));
  }
  impl_->threads = n > 0 ? n : detail::default_threads();
}
int Context::threads() const noexcept {
  return impl_->threads;
}
void Context::start_threads() {
  impl_->workers();
}
void Context::set_progress(std::function<bool(double done)> callback) {
  impl_->progress = std::move(callback);
}
void* Context::stream() const noexcept {
  return impl_->stream;
}
int Context::device() const noexcept {
  return impl_->device;
}

void Context::synchronize() {
  if (impl_->stream) cuda::synchronize(impl_->stream);
}

}  // namespace pdeimg
