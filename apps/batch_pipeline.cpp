// The batch pipeline (batch_detail.hpp): stop signals, and reader threads -> compute workers ->
// writer threads joined by bounded queues, so memory stays bounded whatever the folder's size.
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <csignal>
#include <cstddef>
#include <deque>
#include <filesystem>
#include <functional>
#include <iostream>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include "apps/batch_detail.hpp"
#include "pdeimg/error.hpp"
#include "pdeimg/io.hpp"

namespace pdeimg {
namespace app {
namespace detail {

// --- signals ------------------------------------------------------------------------------------

namespace {

// The signal that asked us to stop (0: none), and for single-file runs whether a first signal
// waits for the writes (only while they run). A handler may only touch lock-free atomics.
std::atomic<int> g_stop_signal{0};
std::atomic<bool> g_finish_writes_only{false};
std::atomic<bool> g_writing{false};
static_assert(std::atomic<int>::is_always_lock_free, "the signal flag must be lock-free");
static_assert(std::atomic<bool>::is_always_lock_free, "the signal flags must be lock-free");

extern "C" void on_stop_signal(int sig) {
  const bool insists = g_stop_signal.exchange(sig) != 0;
  if (insists || (g_finish_writes_only.load() && !g_writing.load())) {
    // A second signal (the user insists), or a single-file run with nothing being written: die
    // now with the default action. Temporary files (hidden, ".name.tmp-...") of a second signal
    // may remain until the next run removes them; a truncated final name never does.
    std::signal(sig, SIG_DFL);
    std::raise(sig);
    return;
  }
  static const char kInFlight[] =
      "\nstopping: finishing the images in flight (signal again to kill)\n";
  static const char kWrites[] =
      "\nstopping: finishing the write in progress (signal again to kill)\n";
  const bool writes = g_finish_writes_only.load();
  const ssize_t ignored = writes ? ::write(2, kWrites, sizeof kWrites - 1)
                                 : ::write(2, kInFlight, sizeof kInFlight - 1);
  (void)ignored;
}

}  // namespace

StopSignals::StopSignals(Mode mode) {
  g_stop_signal = 0;
  g_writing = false;
  g_finish_writes_only = mode == Mode::kFinishWrites;
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &old_int_);
  sigaction(SIGTERM, &sa, &old_term_);
}

StopSignals::~StopSignals() {
  sigaction(SIGINT, &old_int_, nullptr);
  sigaction(SIGTERM, &old_term_, nullptr);
  g_finish_writes_only = false;
}

StopSignals::Writes::Writes() {
  g_writing = true;
}

StopSignals::Writes::~Writes() {
  g_writing = false;
}

int StopSignals::signal() {
  return g_stop_signal.load();
}

// --- pieces of the pipeline ----------------------------------------------------------------------

namespace {

template <typename T>
class BoundedQueue {
 public:
  explicit BoundedQueue(std::size_t capacity) : capacity_(std::max<std::size_t>(1, capacity)) {}
  void push(T value) {
    std::unique_lock<std::mutex> lock(m_);
    not_full_.wait(lock, [&] { return q_.size() < capacity_; });
    q_.push_back(std::move(value));
    not_empty_.notify_one();
  }
  /// Empty once the queue is closed and drained.
  std::optional<T> pop() {
    std::unique_lock<std::mutex> lock(m_);
    not_empty_.wait(lock, [&] { return !q_.empty() || closed_; });
    if (q_.empty()) return std::nullopt;
    T v = std::move(q_.front());
    q_.pop_front();
    not_full_.notify_one();
    return v;
  }
  void close() {
    std::lock_guard<std::mutex> lock(m_);
    closed_ = true;
    not_empty_.notify_all();
  }

 private:
  std::size_t capacity_;
  std::deque<T> q_;
  bool closed_ = false;
  std::mutex m_;
  std::condition_variable not_empty_, not_full_;
};

// The progress bar on stderr: only on a terminal and without -q; at most ~8 redraws a second.
class Progress {
 public:
  Progress(int total, bool enabled) : total_(total), enabled_(enabled && ::isatty(2) == 1) {}
  void add(double megapixels) {
    std::lock_guard<std::mutex> lock(m_);
    ++count_;
    megapixels_ += megapixels;
    const double t = clock_.ms();
    if (enabled_ && (t - last_ms_ > 120 || count_ == total_)) {
      last_ms_ = t;
      draw(t);
    }
  }
  void finish() {
    std::lock_guard<std::mutex> lock(m_);
    if (enabled_ && drawn_) std::cerr << "\r\033[K" << std::flush;
  }

 private:
  void draw(double t_ms) {
    const int width = 30;
    const int filled =
        total_ > 0 ? static_cast<int>(static_cast<double>(width) * count_ / total_) : width;
    const double s = t_ms / 1000.0;
    std::string line = "\r[" + std::string(filled, '#') + std::string(width - filled, '.') + "] " +
                       std::to_string(count_) + "/" + std::to_string(total_) + "  " +
                       format_number(s > 0 ? megapixels_ / s : 0.0, 3) + " MP/s";
    if (count_ > 0 && count_ < total_) {
      line += "  " + format_duration(s / count_ * (total_ - count_)) + " left";
    }
    std::cerr << line << "\033[K" << std::flush;
    drawn_ = true;
  }

  int total_;
  bool enabled_;
  int count_ = 0;
  double megapixels_ = 0;
  double last_ms_ = -1e9;
  bool drawn_ = false;
  Stopwatch clock_;
  std::mutex m_;
};

// Threads that wait at a gate until every thread of the pipeline has been started, so that a
// thread the system refuses leaves nothing half-done: the gate then sends the others home.
// Destroying the crew sends home those still waiting and joins them all, so no exception can
// leave a joinable std::thread behind (which would terminate the process).
class Crew {
 public:
  explicit Crew(std::size_t capacity) { threads_.reserve(capacity); }
  ~Crew() {
    open(false);
    join();
  }
  Crew(const Crew&) = delete;
  Crew& operator=(const Crew&) = delete;

  /// Starts a thread that runs `body` once the gate opens for work. False, with the system's
  /// reason in `why`, when the thread cannot be created.
  bool start(std::function<void()> body, std::string& why) {
    try {
      threads_.emplace_back([this, body = std::move(body)] {
        if (wait()) body();
      });
      return true;
    } catch (const std::system_error& e) {
      why = e.code().message();
    } catch (const std::exception& e) {
      why = e.what();
    }
    return false;
  }
  /// Opens the gate (once): the threads run their bodies (`work`) or end at once.
  void open(bool work) {
    std::lock_guard<std::mutex> lock(m_);
    if (state_ != State::kClosed) return;
    state_ = work ? State::kWork : State::kLeave;
    cv_.notify_all();
  }
  void join() {
    for (std::thread& t : threads_) {
      if (t.joinable()) t.join();
    }
  }

 private:
  enum class State { kClosed, kWork, kLeave };
  bool wait() {
    std::unique_lock<std::mutex> lock(m_);
    cv_.wait(lock, [&] { return state_ != State::kClosed; });
    return state_ == State::kWork;
  }

  std::mutex m_;
  std::condition_variable cv_;
  State state_ = State::kClosed;
  std::vector<std::thread> threads_;
};

// "the process limit (ulimit -u) is 30", or empty when there is none.
std::string process_limit() {
  struct rlimit limit {};
  if (::getrlimit(RLIMIT_NPROC, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return {};
  return "the process limit (ulimit -u, processes and threads of this user) is " +
         std::to_string(static_cast<unsigned long long>(limit.rlim_cur));
}

}  // namespace

// --- the pipeline --------------------------------------------------------------------------------

namespace {

// The three stages and their queues over one plan. Each stage's loop runs on as many threads as
// start_threads could start; the last reader (worker) to end closes the queue after it.
class Pipeline {
 public:
  Pipeline(Plan& plan, std::vector<Context>& contexts, const BatchJob& job,
           const BatchOptions& options, const Log& log)
      : plan_(plan),
        contexts_(contexts),
        job_(job),
        log_(log),
        jobs_(options.jobs > 0
                  ? options.jobs
                  : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()))),
        readers_(std::max(1, (jobs_ + 1) / 2)),
        writers_(std::max(1, jobs_ / 2)),
        workers_(static_cast<int>(contexts.size())),
        decoded_(static_cast<std::size_t>(workers_) + 1),
        computed_(static_cast<std::size_t>(writers_) + 1),
        progress_(static_cast<int>(plan.todo.size()), !options.quiet) {}

  void run() {
    {
      Crew crew(static_cast<std::size_t>(readers_ + workers_ + writers_));
      start_threads(crew);
      crew.open(true);
    }  // joined
    progress_.finish();
  }

 private:
  struct Decoded {
    std::size_t item;
    HostImage image;
  };
  struct Computed {
    std::size_t item;
    Processed result;
  };

  // Decodes inputs (and checks the output format can hold the result) until none is left or a
  // signal asks to stop.
  void read_loop() {
    for (;;) {
      if (StopSignals::stopping()) break;
      const std::size_t k = next_.fetch_add(1);
      if (k >= plan_.todo.size()) break;
      Item& item = plan_.items[plan_.todo[k]];
      try {
        Stopwatch clock;
        HostImage img = read_input(item.input.string(), job_.input);
        item.ms_read = clock.ms();
        item.image = io::describe(img);
        item.megapixels = 1e-6 * img.width() * img.height();
        check_output_kind(job_, img, item.output.string());
        decoded_.push(Decoded{plan_.todo[k], std::move(img)});
      } catch (const std::exception& e) {
        fail(item, e.what());
      } catch (...) {
        fail(item, "'" + item.input.string() + "': unknown error while reading");
      }
    }
    if (--readers_left_ == 0) decoded_.close();
  }

  // Runs job.process on what the readers decoded; after a signal, drops what it has not started
  // (those inputs stay pending: reported as not run).
  void compute_loop(Context& ctx) {
    while (auto d = decoded_.pop()) {
      Item& item = plan_.items[d->item];
      if (StopSignals::stopping()) continue;
      try {
        Stopwatch clock;
        Processed p = job_.process(d->image, ctx);
        item.ms_compute = clock.ms();
        item.parameters = std::move(p.parameters);
        d->image = HostImage();  // the input's memory back before the queue may block
        computed_.push(Computed{d->item, std::move(p)});
      } catch (const std::exception& e) {
        fail(item, "'" + item.input.string() + "': " + e.what());
      } catch (...) {
        fail(item, "'" + item.input.string() + "': unknown error while processing");
      }
    }
    if (--workers_left_ == 0) computed_.close();
  }

  // Writes every computed image, signal or not: a computed image is never lost.
  void write_loop() {
    while (auto c = computed_.pop()) {
      Item& item = plan_.items[c->item];
      try {
        write_outputs(item, c->result);
      } catch (const std::exception& e) {
        fail(item, e.what());
      } catch (...) {
        fail(item, "'" + item.output.string() + "': unknown error while writing");
      }
    }
  }

  void write_outputs(Item& item, const Processed& result) {
    Stopwatch clock;
    std::string written;  // for the log: "'a', 'b'"
    const auto write = [&](const fs::path& path, const HostImage& image) {
      // Again just before writing: a link or an input put there since the plan was made.
      const std::string refusal = write_refusal(path, plan_.inputs);
      if (!refusal.empty()) {
        throw Error(ErrorCode::kIo, "'" + item.input.string() + "': not written: '" +
                                        path.string() + "' " + refusal);
      }
      std::error_code ec;
      const fs::path parent = path.parent_path();
      if (!parent.empty()) fs::create_directories(parent, ec);
      io::write_image(path.string(), image);
      written += (written.empty() ? "'" : ", '") + path.string() + "'";
    };
    if (item.write_output) write(item.output, result.image);
    for (std::size_t j = 0; j < item.extras.size(); ++j) {
      if (item.write_extras[j])
        write(item.extras[j], extra_image(result, j, job_, item.input.string()));
    }
    item.ms_write = clock.ms();
    {
      std::lock_guard<std::mutex> lock(items_mutex_);
      item.status = Status::kDone;
    }
    log_.info("'" + item.input.string() + "' -> " + written + " (" + item.image + ") in " +
              format_number(item.ms_read + item.ms_compute + item.ms_write, 3) + " ms");
    progress_.add(item.megapixels);
  }

  void fail(Item& item, const std::string& why) {
    {
      std::lock_guard<std::mutex> lock(items_mutex_);
      item.status = Status::kFailed;
      item.reason = why;
    }
    log_.error(why);
    progress_.add(0);
  }

  // Starts the stages' threads in `crew`, none working yet. First what the run cannot do
  // without: one thread per stage, and the CPU workers' own threads (Context::start_threads, so
  // that a refusal shows now rather than as a failure of every image). If the system refuses any
  // of these, the started threads are sent home and joined (the crew's destructor) and the run
  // stops, a usage error: nothing was read. Then the rest, as many as the system allows: more
  // compute workers first, then readers and writers in turn; a refusal is said once, and the run
  // goes on with those that started.
  void start_threads(Crew& crew) {
    bool cpu_threads = false;  // the library starts threads of its own too
    for (const Context& ctx : contexts_) {
      cpu_threads = cpu_threads || (ctx.backend() == Backend::kCpu && ctx.threads() > 1);
    }
    std::string why;
    const auto reader = [&] { return crew.start([this] { read_loop(); }, why); };
    const auto writer = [&] { return crew.start([this] { write_loop(); }, why); };
    const auto worker = [&](int w) {
      return crew.start([this, w] { compute_loop(contexts_[static_cast<std::size_t>(w)]); }, why);
    };
    bool least = reader() && worker(0) && writer();
    for (Context& ctx : contexts_) {
      if (!least || ctx.backend() != Backend::kCpu) continue;
      try {
        ctx.start_threads();
      } catch (const Error& e) {
        if (e.code() != ErrorCode::kResource) throw;
        why = e.what();
        least = false;
      }
    }
    const std::string limit = process_limit();
    if (!least) {
      const std::string threads =
          cpu_threads ? " or --threads (now " + std::to_string(contexts_[0].threads()) + ")"
                      : std::string();
      throw UsageError("cannot start the threads a folder run needs (" + why + "): nothing " +
                           "was processed. " + (limit.empty() ? "" : "Here " + limit + "; ") +
                           "give fewer --jobs (now " + std::to_string(jobs_) + ")" + threads +
                           ", or raise the limit",
                       false);
    }
    int readers = 1, workers = 1, writers = 1;
    bool more = true;
    while (more && workers < workers_) {
      more = worker(workers);
      if (more) ++workers;
    }
    while (more && (readers < readers_ || writers < writers_)) {
      if (readers < readers_) {
        more = reader();
        if (more) ++readers;
      }
      if (more && writers < writers_) {
        more = writer();
        if (more) ++writers;
      }
    }
    if (!more) {
      log_.warning("started " + std::to_string(readers) + " of " + std::to_string(readers_) +
                   " reader, " + std::to_string(workers) + " of " + std::to_string(workers_) +
                   " compute and " + std::to_string(writers) + " of " + std::to_string(writers_) +
                   " writer threads: the system refused more (" + why +
                   (limit.empty() ? "" : "; " + limit) + "); continuing with those. Give " +
                   "fewer --jobs (now " + std::to_string(jobs_) + ") or raise the limit to " +
                   "avoid this");
    }
    readers_left_ = readers;
    workers_left_ = workers;
  }

  Plan& plan_;
  std::vector<Context>& contexts_;
  const BatchJob& job_;
  const Log& log_;
  const int jobs_, readers_, writers_, workers_;  // asked for
  BoundedQueue<Decoded> decoded_;
  BoundedQueue<Computed> computed_;
  std::atomic<std::size_t> next_{0};                    // the next of plan.todo to read
  std::atomic<int> readers_left_{0}, workers_left_{0};  // set once the threads are started
  std::mutex items_mutex_;  // guards status changes that race with the report of failures
  Progress progress_;
};

}  // namespace

void run_pipeline(Plan& plan, std::vector<Context>& contexts, const BatchJob& job,
                  const BatchOptions& options, const Log& log) {
  Pipeline(plan, contexts, job, options, log).run();
}

}  // namespace detail
}  // namespace app
}  // namespace pdeimg
