// The CPU backend's thread pool: every task once, errors carried back, no spinning between calls,
// and a refused thread is a clean Error, not a crash.
#include "src/cpu/thread_pool.hpp"

#include <gtest/gtest.h>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "pdeimg/context.hpp"
#include "pdeimg/error.hpp"

namespace pdeimg {
namespace {

TEST(ThreadPool, RunsEveryTaskExactlyOnceOnValidWorkers) {
  for (const int threads : {1, 2, 3, 8}) {
    cpu::ThreadPool pool(threads);
    EXPECT_EQ(pool.size(), threads);
    for (const int tasks : {0, 1, 2, 7, 100, 1000}) {
      std::vector<std::atomic<int>> hits(static_cast<std::size_t>(tasks));
      std::atomic<bool> bad_worker{false};
      pool.run(tasks, [&](int t, int w) {
        hits[static_cast<std::size_t>(t)]++;
        if (w < 0 || w >= threads) bad_worker = true;
      });
      for (int t = 0; t < tasks; ++t) EXPECT_EQ(hits[static_cast<std::size_t>(t)], 1) << t;
      EXPECT_FALSE(bad_worker);
    }
  }
}

TEST(ThreadPool, RowRangesCoverEveryRowOnce) {
  cpu::ThreadPool pool(4);
  for (const int rows : {1, 5, 63, 4096}) {
    for (const std::size_t cost : {std::size_t{1}, std::size_t{100000}}) {
      std::vector<std::atomic<int>> hits(static_cast<std::size_t>(rows));
      cpu::parallel_rows(pool, rows, cost, [&](int y0, int y1, int) {
        for (int y = y0; y < y1; ++y) hits[static_cast<std::size_t>(y)]++;
      });
      for (int y = 0; y < rows; ++y) ASSERT_EQ(hits[static_cast<std::size_t>(y)], 1) << y;
    }
  }
}

TEST(ThreadPool, AnExceptionStopsTheJobAndReachesTheCallerAndThePoolStaysUsable) {
  cpu::ThreadPool pool(4);
  std::atomic<int> ran{0};
  EXPECT_THROW(pool.run(1000,
                        [&](int t, int) {
                          ran++;
                          if (t == 3) throw std::runtime_error("task 3");
                          std::this_thread::sleep_for(std::chrono::microseconds(100));
                        }),
               std::runtime_error);
  EXPECT_LT(ran.load(), 1000);  // later tasks were not started
  std::atomic<int> again{0};
  pool.run(50, [&](int, int) { again++; });
  EXPECT_EQ(again, 50);
}

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + 1e-6 * (u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

// Between jobs the workers sleep: 200 short jobs separated by 2 ms pauses of the calling thread
// cost about the jobs' own work. A worker that spins while it waits burns the pauses instead: the
// same loop with an OpenMP parallel for of 2 threads (libgomp's default wait policy, GCC 12, on
// the 2-core CI machine) used 0.47 s of CPU.
TEST(ThreadPool, IdleWorkersDoNotSpin) {
  cpu::ThreadPool pool(2);
  pool.run(2, [](int, int) {});  // all started
  const double cpu0 = cpu_seconds();
  for (int i = 0; i < 200; ++i) {
    pool.run(2, [](int, int) {
      const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(100);
      while (std::chrono::steady_clock::now() < until) {
      }
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  const double used = cpu_seconds() - cpu0;
  // The work itself: 200 x 2 x 0.1 ms = 0.04 s of CPU.
  EXPECT_LT(used, 0.2) << "CPU seconds used by 200 jobs of 0.04 s of work in all";
}

TEST(Context, ThreadCountAboveTheLimitIsRefused) {
  Context ctx(Backend::kCpu);
  EXPECT_NO_THROW(ctx.set_threads(Context::kMaxThreads));
  try {
    ctx.set_threads(Context::kMaxThreads + 1);
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find(std::to_string(Context::kMaxThreads)), std::string::npos)
        << e.what();
  }
  EXPECT_EQ(ctx.threads(), Context::kMaxThreads);  // unchanged by the refused call
}

// Under a process limit (RLIMIT_NPROC) the system refuses new threads; the pool reports it as
// Error(kResource) naming the remedy, in a child process that drops root first (root ignores
// the limit).
TEST(ThreadPool, RefusedThreadsAreACleanError) {
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (getuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0)) _exit(3);
    rlimit one{1, 1};
    if (setrlimit(RLIMIT_NPROC, &one) != 0) _exit(4);
    // Is the limit enforced here (a process of this user that already runs counts against it)?
    std::thread probe_thread;
    bool refused = false;
    try {
      probe_thread = std::thread([] {});
    } catch (const std::system_error&) {
      refused = true;
    }
    if (probe_thread.joinable()) probe_thread.join();
    if (!refused) _exit(5);  // not enforced: nothing to test
    try {
      cpu::ThreadPool pool(64);
      _exit(1);
    } catch (const Error& e) {
      const std::string m = e.what();
      _exit(e.code() == ErrorCode::kResource && m.find("ulimit -u") != std::string::npos &&
                    m.find("64") != std::string::npos
                ? 0
                : 2);
    } catch (...) {
      _exit(6);
    }
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status)) << "the child died of signal " << WTERMSIG(status);
  const int code = WEXITSTATUS(status);
  if (code == 3 || code == 4 || code == 5) {
    GTEST_SKIP() << "cannot enforce a process limit here (child status " << code << ")";
  }
  EXPECT_EQ(code, 0) << "1: no error, 2: wrong code or message, 6: another exception";
}

}  // namespace
}  // namespace pdeimg
