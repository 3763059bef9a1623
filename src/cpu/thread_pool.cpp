#include "src/cpu/thread_pool.hpp"

#include <algorithm>
#include <string>
#include <system_error>

#include "pdeimg/error.hpp"

namespace pdeimg {
namespace cpu {

ThreadPool::ThreadPool(int threads) {
  const int helpers = std::max(0, threads - 1);
  threads_.reserve(static_cast<std::size_t>(helpers));
  for (int w = 1; w <= helpers; ++w) {
    try {
      threads_.emplace_back([this, w] { loop(w); });
    } catch (const std::system_error& e) {
      const int started = w - 1;
      {
        std::lock_guard<std::mutex> lock(m_);
        stop_ = true;
      }
      wake_.notify_all();
      for (std::thread& t : threads_) t.join();
      threads_.clear();
      throw Error(ErrorCode::kResource,
                  "cannot start " + std::to_string(threads) + " CPU threads: the system refused " +
                      "thread " + std::to_string(started + 2) + " (" + e.code().message() +
                      "); use fewer threads, or raise the process limit (ulimit -u)");
    }
  }
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(m_);
    stop_ = true;
  }
  wake_.notify_all();
  for (std::thread& t : threads_) t.join();
}

void ThreadPool::work(int worker) {
  for (;;) {
    const int task = next_.fetch_add(1, std::memory_order_relaxed);
    if (task >= tasks_ || failed_.load(std::memory_order_relaxed)) return;
    try {
      thunk_(fn_, task, worker);
    } catch (...) {
      std::lock_guard<std::mutex> lock(m_);
      if (!error_) error_ = std::current_exception();
      failed_.store(true, std::memory_order_relaxed);
    }
  }
}

void ThreadPool::loop(int worker) {
  unsigned long seen = 0;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(m_);
      wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
      if (worker > helpers_) continue;  // not needed for this job: back to sleep
    }
    work(worker);
    std::lock_guard<std::mutex> lock(m_);
    if (--pending_ == 0) done_.notify_one();
  }
}

void ThreadPool::run_erased(int tasks, Thunk thunk, const void* fn) {
  if (tasks <= 0) return;
  const int helpers = std::min(static_cast<int>(threads_.size()), tasks - 1);
  if (helpers == 0) {
    for (int t = 0; t < tasks; ++t) thunk(fn, t, 0);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(m_);
    thunk_ = thunk;
    fn_ = fn;
    tasks_ = tasks;
    next_.store(0, std::memory_order_relaxed);
    failed_.store(false, std::memory_order_relaxed);
    error_ = nullptr;
    helpers_ = helpers;
    pending_ = helpers;
    ++generation_;
  }
  wake_.notify_all();
  work(0);
  std::exception_ptr error;
  {
    std::unique_lock<std::mutex> lock(m_);
    done_.wait(lock, [&] { return pending_ == 0; });
    error = error_;
    error_ = nullptr;
  }
  if (error) std::rethrow_exception(error);
}

}  // namespace cpu
}  // namespace pdeimg
