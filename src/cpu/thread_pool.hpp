// The CPU backend's worker threads: one pool per Context, replacing OpenMP. Internal header.
//
// Why not OpenMP: libgomp's workers spin at every barrier before they sleep, and its wait policy
// can only be set by an environment variable read when the library loads. On a machine where
// another process keeps a core busy, a spinning worker competes with the very thread it waits
// for: a 256² denoise took 83-130 ms instead of 5.6 ms with one core of two busy (2 threads), and
// `--threads 100000` crashed inside libgomp. Here workers sleep on a condition variable between
// calls and never spin, tasks are claimed one at a time (a descheduled worker delays only the
// task it holds), the calling thread works too, and a thread the system refuses is a clean
// Error(kResource).
//
// Determinism: which worker runs a task never changes a result; every caller gives each task its
// own output (rows, bands) or reduces integers, so results are identical for any thread count.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace pdeimg {
namespace cpu {

class ThreadPool {
 public:
  /// A pool of `threads` workers in all (the caller counts as one): starts threads - 1 system
  /// threads. Throws Error(kResource) naming the count and the system's reason when one cannot be
  /// started (the process or user thread limit), after stopping those already started.
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  /// Workers in all, the calling thread included.
  int size() const noexcept { return static_cast<int>(threads_.size()) + 1; }

  /// Runs f(task, worker) for every task in [0, tasks), worker in [0, size()) identifying the
  /// thread (for per-worker scratch; 0 is the caller). Returns when all have run. Tasks are handed
  /// out one at a time in increasing order. If a task throws, no further task starts and the
  /// first exception is rethrown here. Not reentrant: f must not call run() on the same pool.
  template <class F>
  void run(int tasks, const F& f) {
    run_erased(
        tasks,
        [](const void* fn, int task, int worker) { (*static_cast<const F*>(fn))(task, worker); },
        &f);
  }

 private:
  using Thunk = void (*)(const void* fn, int task, int worker);
  void run_erased(int tasks, Thunk thunk, const void* fn);
  void work(int worker);
  void loop(int worker);

  std::vector<std::thread> threads_;
  std::mutex m_;
  std::condition_variable wake_;  // a new job, or stop
  std::condition_variable done_;  // the last helper finished
  unsigned long generation_ = 0;  // incremented per job
  bool stop_ = false;
  int helpers_ = 0;  // workers 1..helpers_ take part in the current job
  int pending_ = 0;  // helpers that have not finished the current job
  // The current job (written before generation_ is published under m_).
  Thunk thunk_ = nullptr;
  const void* fn_ = nullptr;
  int tasks_ = 0;
  std::atomic<int> next_{0};
  std::atomic<bool> failed_{false};
  std::exception_ptr error_;
};

/// Splits rows [0, rows) of an image whose rows cost about `row_cost` (e.g. pixels × channels)
/// into contiguous ranges and runs f(y0, y1, worker) on each, on the pool: up to 4 ranges per
/// worker for balance on a busy machine, and a single call on the calling thread when the whole
/// job is too small to be worth waking a thread (below about 64K units).
template <class F>
void parallel_rows(ThreadPool& pool, int rows, std::size_t row_cost, const F& f) {
  if (rows <= 0) return;
  constexpr std::size_t kMinTaskCost = 1u << 16;
  const std::size_t total = static_cast<std::size_t>(rows) * (row_cost > 0 ? row_cost : 1);
  std::size_t by_cost = total / kMinTaskCost;
  int tasks = static_cast<int>(std::min<std::size_t>(by_cost, 4u * pool.size()));
  tasks = std::max(1, std::min(tasks, rows));
  if (tasks == 1) {
    f(0, rows, 0);
    return;
  }
  pool.run(tasks, [&](int t, int worker) {
    const int y0 = static_cast<int>(static_cast<long long>(rows) * t / tasks);
    const int y1 = static_cast<int>(static_cast<long long>(rows) * (t + 1) / tasks);
    if (y0 < y1) f(y0, y1, worker);
  });
}

}  // namespace cpu
}  // namespace pdeimg
