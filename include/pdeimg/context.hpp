// pdeimg::Context: backend selection, the CUDA stream, worker threads and reusable scratch.
#pragma once

#include <functional>
#include <memory>
#include <string>

namespace pdeimg {

/// Which implementation runs an operation.
enum class Backend {
  kAuto,  ///< CUDA when built in and a device is present, else CPU. PDEIMG_BACKEND overrides.
  kCpu,   ///< Multi-threaded CPU backend (the reference implementation).
  kCuda,  ///< CUDA backend.
};

const char* to_string(Backend backend) noexcept;
/// Parses "auto", "cpu" or "cuda" (case-insensitive); throws Error(kInvalidArgument) otherwise.
Backend parse_backend(const std::string& name);
/// True when this build contains the CUDA backend (independent of whether a device is present).
bool cuda_compiled() noexcept;
/// Number of usable CUDA devices (0 without CUDA or without a driver).
int cuda_device_count() noexcept;

namespace detail {
struct ContextImpl;
}

/// Everything an operation needs besides its images: the resolved backend, the CUDA stream the
/// device work is queued on, the CPU thread count, and scratch buffers that are reused across
/// calls (so repeated calls do not allocate). A Context is not thread-safe: use it from one thread
/// at a time (any thread: each operation makes the context's CUDA device current for its duration).
/// An operation started while another thread's operation on the same context runs throws
/// Error(kInvalidArgument) naming the misuse.
///
/// Asynchrony: operations on device views are queued on the context's stream and return at once;
/// call synchronize() before reading results on the host. DeviceImage::upload and download wait
/// for the work already queued on the device's contexts (the stream is a blocking one), so
/// refilling an input image after queuing an operation on it is safe. Operations on host views
/// are synchronous (they return with the result in place) on every backend.
///
///   pdeimg::Context ctx;                      // auto: CUDA if available, else CPU
///   pdeimg::Context cpu(pdeimg::Backend::kCpu);
class Context {
 public:
  /// Resolves `requested`. kAuto honours the environment variable PDEIMG_BACKEND (auto|cpu|cuda).
  /// Requesting kCuda without CUDA support or without a device throws Error(kBackendUnavailable).
  /// `device` selects the CUDA device ordinal (ignored on the CPU).
  explicit Context(Backend requested = Backend::kAuto, int device = 0);
  ~Context();
  Context(Context&&) noexcept;
  Context& operator=(Context&&) noexcept;
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  Backend backend() const noexcept;
  /// "CPU (N threads)" or the CUDA device's name.
  std::string device_name() const;
  /// Why kAuto chose what it chose (e.g. "no CUDA device found: cudaErrorNoDevice"); empty when
  /// the backend was requested explicitly.
  const std::string& selection_note() const noexcept;

  /// The most CPU threads a context may use.
  static constexpr int kMaxThreads = 1024;

  /// CPU worker threads, the calling thread included (default: the CPUs this process may use:
  /// its affinity mask, limited by a cgroup CPU quota). n <= 0 restores the default; n above
  /// kMaxThreads throws Error(kInvalidArgument). The threads start at the first CPU operation
  /// (Error(kResource) there if the system refuses one) and sleep between operations: they never
  /// spin, so a busy machine slows an operation by the share of the CPUs it lost, not more.
  void set_threads(int n);
  int threads() const noexcept;
  /// Starts the CPU worker threads now rather than at the first operation that needs them, so
  /// that a system that refuses one (a process limit, `ulimit -u`) says so before any work:
  /// Error(kResource). They are started once (again after set_threads changes their number).
  void start_threads();

  /// Progress of long operations (heat_smooth, perona_malik, and canny's smoothing): `callback`
  /// is called on the calling thread as the explicit steps advance (after each fused pass on the
  /// CPU, every 16 steps queued on CUDA) with the fraction of the operation's steps done, in
  /// (0, 1]. Returning false cancels: the operation stops at its next report and throws
  /// Error(kCancelled); dst then holds unspecified values. An empty callback (the default)
  /// reports nothing. The callback must not call pdeimg with this context.
  ///
  ///   ctx.set_progress([](double done) { std::fprintf(stderr, "\r%3.0f%%", 100 * done);
  ///                                      return !interrupted; });
  void set_progress(std::function<bool(double done)> callback);

  /// The cudaStream_t device work is queued on (nullptr on the CPU backend).
  void* stream() const noexcept;
  int device() const noexcept;
  /// Blocks until all work queued on this context has finished; throws Error(kCuda) if any failed.
  void synchronize();

  detail::ContextImpl& impl() noexcept { return *impl_; }

 private:
  std::unique_ptr<detail::ContextImpl> impl_;
};

}  // namespace pdeimg
