#include "apps/batch.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include <signal.h>
#include <unistd.h>

#include "pdeimg/error.hpp"
#include "pdeimg/io.hpp"
#include "pdeimg/version.hpp"
#include "src/io/temp_name.hpp"

namespace pdeimg {
namespace app {
namespace {

namespace fs = std::filesystem;

// --- signals ------------------------------------------------------------------------------------

// The signal that asked us to stop (0: none). A handler may only touch lock-free atomics.
std::atomic<int> g_stop_signal{0};
static_assert(std::atomic<int>::is_always_lock_free, "the signal flag must be lock-free");

extern "C" void on_stop_signal(int sig) {
  if (g_stop_signal.exchange(sig) != 0) {
    // Second signal: the user insists. Die now with the default action; temporary files (hidden,
    // ".name.tmp-...") may remain until the next run removes them, a truncated final name never
    // does.
    std::signal(sig, SIG_DFL);
    std::raise(sig);
    return;
  }
  static const char kMsg[] = "\nstopping: finishing the images in flight (signal again to kill)\n";
  const ssize_t ignored = ::write(2, kMsg, sizeof kMsg - 1);
  (void)ignored;
}

// Installs the stop handler for SIGINT and SIGTERM for the lifetime of the object.
class StopSignals {
 public:
  StopSignals() {
    g_stop_signal = 0;
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int_);
    sigaction(SIGTERM, &sa, &old_term_);
  }
  ~StopSignals() {
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
  }
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;
  static bool stopping() { return g_stop_signal.load() != 0; }
  static int signal() { return g_stop_signal.load(); }

 private:
  struct sigaction old_int_ {};
  struct sigaction old_term_ {};
};

// --- a bounded queue ----------------------------------------------------------------------------

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

// --- inputs and outputs -------------------------------------------------------------------------

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// Extensions of the formats OpenCV 4 decodes (imgcodecs), lower case.
bool is_image_name(const fs::path& p) {
  static const char* const kExtensions[] = {
      ".png", ".jpg", ".jpeg", ".jpe", ".jp2",  ".tif", ".tiff", ".bmp", ".dib", ".pgm", ".ppm",
      ".pnm", ".pbm", ".pxm",  ".pfm", ".webp", ".exr", ".hdr",  ".pic", ".sr",  ".ras", ".avif"};
  const std::string ext = lower(p.extension().string());
  for (const char* e : kExtensions)
    if (ext == e) return true;
  return false;
}

bool hidden(const fs::path& p) {
  const std::string name = p.filename().string();
  return !name.empty() && name[0] == '.';
}

enum class Status { kPending, kDone, kSkipped, kFailed, kNotRun, kIgnored };

const char* to_string(Status s) {
  switch (s) {
    case Status::kPending:
      return "pending";
    case Status::kDone:
      return "done";
    case Status::kSkipped:
      return "skipped";
    case Status::kFailed:
      return "failed";
    case Status::kNotRun:
      return "not_run";
    case Status::kIgnored:
      return "ignored";
  }
  return "?";
}

struct Item {
  fs::path input;
  std::string rel;  // relative path, generic form: the sort key and the output's name
  fs::path output;
  std::vector<fs::path> extras;  // the job's extra outputs, in BatchJob::extra_outputs order
  bool write_output = true;      // false: it exists and only missing extra outputs are written
  std::vector<bool> write_extras;
  Status status = Status::kPending;
  std::string reason;
  std::string parameters;
  std::string image;  // "512x512 3ch uint8"
  double megapixels = 0;
  double ms_read = 0, ms_compute = 0, ms_write = 0;
};

// Adds the files under `folder` (recursively when asked) to `items`, counting what is ignored.
// Never walks into the output folders `out_roots`.
void walk(const fs::path& folder, const std::vector<fs::path>& out_roots, bool recursive,
          std::vector<Item>& items, std::vector<Item>& ignored, int& folders_not_entered) {
  std::error_code ec;
  const auto consider = [&](const fs::directory_entry& e, fs::recursive_directory_iterator* it) {
    std::error_code e2;
    if (hidden(e.path())) {
      if (it != nullptr && e.is_directory(e2)) it->disable_recursion_pending();
      return;
    }
    if (e.is_directory(e2)) {
      // Never walk into an output folder (OUT_DIR inside IN_DIR): outputs are not inputs.
      for (const fs::path& root : out_roots) {
        if (it != nullptr && io::same_file(e.path().string(), root.string())) {
          it->disable_recursion_pending();
        }
      }
      if (it == nullptr) ++folders_not_entered;
      return;
    }
    Item item;
    item.input = e.path();
    item.rel = e.path().lexically_relative(folder).generic_string();
    if (!e.is_regular_file(e2) || !is_image_name(e.path())) {
      item.status = Status::kIgnored;
      item.reason = e.is_regular_file(e2) ? "not an image file name" : "not a regular file";
      ignored.push_back(std::move(item));
      return;
    }
    items.push_back(std::move(item));
  };
  if (recursive) {
    fs::recursive_directory_iterator it(folder, fs::directory_options::skip_permission_denied, ec);
    if (ec) throw UsageError("cannot list '" + folder.string() + "': " + ec.message(), false);
    for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (ec) throw UsageError("cannot list '" + folder.string() + "': " + ec.message(), false);
      consider(*it, &it);
    }
  } else {
    fs::directory_iterator it(folder, ec);
    if (ec) throw UsageError("cannot list '" + folder.string() + "': " + ec.message(), false);
    for (; it != fs::directory_iterator(); it.increment(ec)) {
      if (ec) throw UsageError("cannot list '" + folder.string() + "': " + ec.message(), false);
      consider(*it, nullptr);
    }
  }
}

std::vector<int> parse_devices(const std::string& text) {
  std::vector<int> devices;
  if (lower(text) == "all") {
    const int n = cuda_device_count();
    if (n == 0) {
      throw UsageError("--devices all: no CUDA device here" +
                       (cuda_compiled() ? std::string() : std::string(" (built without CUDA)")));
    }
    for (int d = 0; d < n; ++d) devices.push_back(d);
    return devices;
  }
  std::stringstream ss(text);
  std::string part;
  while (std::getline(ss, part, ',')) {
    char* end = nullptr;
    const long d = std::strtol(part.c_str(), &end, 10);
    if (part.empty() || *end != '\0' || d < 0 || d > 1024) {
      throw UsageError("--devices '" + text + "': give CUDA device numbers like 0,1, or all");
    }
    if (std::find(devices.begin(), devices.end(), static_cast<int>(d)) == devices.end()) {
      devices.push_back(static_cast<int>(d));
    }
  }
  if (devices.empty()) throw UsageError("--devices '" + text + "': no device number");
  return devices;
}

bool parse_int(const std::string& s, long& v) {
  if (s.empty()) return false;
  char* end = nullptr;
  v = std::strtol(s.c_str(), &end, 10);
  return *end == '\0';
}

std::string format_duration(double seconds) {
  const long s = static_cast<long>(seconds + 0.5);
  char buf[32];
  if (s >= 3600) {
    std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%ld:%02ld", s / 60, s % 60);
  }
  return buf;
}

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

// Writes `text` to `path` through a temporary file in the same folder, named as write_image names
// its own, and a rename.
void write_atomically(const std::string& path, const std::string& text) {
  const fs::path target(path);
  const fs::path tmp = target.parent_path() /
                       io::detail::temp_name(target.stem().string(), target.extension().string(),
                                             io::detail::temp_host(), ::getpid(), 0);
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    f << text;
    f.flush();
    if (!f) {
      std::error_code ec;
      fs::remove(tmp, ec);
      throw Error(ErrorCode::kIo, "cannot write the report '" + path + "'");
    }
  }
  std::error_code ec;
  fs::rename(tmp, target, ec);
  if (ec) {
    fs::remove(tmp, ec);
    throw Error(ErrorCode::kIo, "cannot write the report '" + path + "': " + ec.message());
  }
}

// True when process `pid` of this host exists (kill(pid, 0) succeeds, or fails only because the
// process belongs to another user).
bool process_exists(long pid) {
  return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM;
}

// Removes from each of `folders` (not their sub-folders) the temporary files of write_image and
// of the report (src/io/temp_name.hpp) that a process of this host made and that no longer runs:
// what a SIGKILL, a crash or a power loss leaves behind. Files of other hosts (shards on shared
// storage) and of processes that still run are left alone; a process id since reused keeps its
// file until a later run. So are files written to in the last kStaleAfter: a container that shares
// this host name but not its process ids may still be writing one. Returns how many were removed.
constexpr auto kStaleAfter = std::chrono::minutes(10);

int remove_stale_temporaries(const std::set<fs::path>& folders, const Log& log) {
  const std::string& host = io::detail::temp_host();
  if (host.empty()) return 0;  // cannot tell our files from another machine's
  const auto old_before = fs::file_time_type::clock::now() - kStaleAfter;
  int removed = 0;
  for (const fs::path& folder : folders) {
    std::vector<std::pair<fs::path, long>> stale;
    std::error_code ec;
    fs::directory_iterator it(folder, ec);  // a folder not made yet holds nothing
    for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
      io::detail::TempName t;
      std::error_code e2;
      if (io::detail::parse_temp_name(it->path().filename().string(), t) && t.host == host &&
          it->is_regular_file(e2) && !it->is_symlink(e2) && !process_exists(t.pid) &&
          it->last_write_time(e2) < old_before && !e2) {
        stale.emplace_back(it->path(), t.pid);
      }
    }
    for (const auto& f : stale) {
      std::error_code e2;
      if (fs::remove(f.first, e2)) {
        ++removed;
        log.info("removed '" + f.first.string() + "', a temporary file of process " +
                 std::to_string(f.second) + " of this host, which no longer runs");
      } else if (e2) {
        log.info("cannot remove the stale temporary file '" + f.first.string() +
                 "': " + e2.message());
      }
    }
  }
  return removed;
}

// `root` made absolute, with the parts that exist resolved (links followed): output names under
// two spellings of one folder compare equal.
fs::path canonical_root(const fs::path& root) {
  std::error_code ec;
  fs::path p = fs::weakly_canonical(root, ec);
  if (ec) p = fs::absolute(root, ec).lexically_normal();
  return p;
}

// Refuses, as a UsageError, a --report that names one of `taken` (the inputs and outputs: it
// would replace one) or is a folder.
void check_report(const std::string& report, const std::vector<std::string>& taken) {
  for (const std::string& p : taken) {
    if (io::same_file(p, report)) {
      throw UsageError("--report '" + report + "' names '" + p +
                       "', an input or output; give another file name");
    }
  }
  std::error_code ec;
  if (fs::is_directory(report, ec)) {
    throw UsageError("--report '" + report + "' is a folder; give a file name");
  }
}

// Throws what writing `out` would throw when its format cannot hold what `job` makes of `in`.
void check_output_kind(const BatchJob& job, const HostImage& in, const std::string& out) {
  PixelType type = in.type();
  int channels = in.channels();
  if (job.output_kind) job.output_kind(in, type, channels);
  io::check_writable(out, type, channels);
}

// The image `p` holds for the job's extra output `j`; throws, naming `input`, when it has none.
const HostImage& extra_image(const Processed& p, std::size_t j, const BatchJob& job,
                             const std::string& input) {
  const auto x = std::find_if(p.extras.begin(), p.extras.end(),
                              [j](const ExtraImage& e) { return e.output == j; });
  if (x == p.extras.end()) {
    throw Error(ErrorCode::kInvalidArgument,
                "'" + input + "': no " + job.extra_outputs[j].name + " image was made");
  }
  return x->image;
}

// Report fragments shared by the batch entries and the single-file report.
std::string extra_outputs_json(const BatchJob& job, const std::vector<fs::path>& paths) {
  std::string j = "{";
  for (std::size_t k = 0; k < paths.size(); ++k) {
    j += (k > 0 ? ", " : "") + json_string(job.extra_outputs[k].name) + ": " +
         json_string(paths[k].string());
  }
  return j + "}";
}

std::string milliseconds_json(double read, double compute, double write) {
  return "{\"read\": " + json_number(read) + ", \"compute\": " + json_number(compute) +
         ", \"write\": " + json_number(write) + "}";
}

}  // namespace

const char* const kBatchHelp =
    "Folders: with IN_DIR OUT_DIR (or IN1 IN2 ... OUT_DIR) every image file (by extension: png, "
    "jpg, tif, bmp, pgm/ppm/pnm, webp, exr, ...) is processed into OUT_DIR under its own name and "
    "format (--ext changes the format); other files are ignored and counted. Existing outputs are "
    "skipped, so rerunning an interrupted run resumes (--overwrite redoes them). Outputs appear "
    "only complete (temporary file + rename); the hidden temporary files a killed run leaves are "
    "removed by the next run on the same machine. A failed input is reported and the rest still "
    "run. "
    "Ctrl-C (SIGINT) or SIGTERM stops after the images in flight; the exit status is then 128 + "
    "the signal number (130, 143). --shard I/N processes input number i of the sorted list when "
    "i mod N == I (--shard-by bytes: shards of about equal bytes instead).";

std::string pdeimg_json() {
  return std::string("{\"version\": ") + json_string(version()) +
         ", \"source\": " + json_string(source_commit()) +
         ", \"cuda_compiled\": " + (cuda_compiled() ? "true" : "false") + "}";
}

std::string json_string(const std::string& s) {
  std::string o = "\"";
  for (const char ch : s) {
    const unsigned char c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      o += '\\';
      o += ch;
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      o += buf;
    } else {
      o += ch;
    }
  }
  return o + "\"";
}

std::string json_number(double v) {
  if (!std::isfinite(v)) return "null";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

void add_paths_option(CLI::App& app, std::vector<std::string>& paths) {
  app.add_option("PATHS", paths,
                 "IN OUT (one image), IN_DIR OUT_DIR (every image in a folder; OUT_DIR is "
                 "created), or IN1 IN2 ... OUT_DIR (several images into an existing folder)")
      ->required();
}

void add_batch_options(CLI::App& app, BatchOptions& o) {
  const char* const g = "Folders (batch)";
  app.add_flag("-r,--recursive", o.recursive,
               "walk the sub-folders of IN_DIR too and mirror them in OUT_DIR")
      ->group(g);
  app.add_option("--ext", o.ext,
                 "output format by extension, e.g. tif (default: each input's own format)")
      ->group(g);
  app.add_flag("--overwrite", o.overwrite,
               "redo outputs that exist (default: skip them, so a rerun resumes)")
      ->group(g);
  app.add_option("-j,--jobs", o.jobs,
                 "threads that decode and encode files while images are computed (0: all "
                 "hardware threads)")
      ->check(CLI::NonNegativeNumber)
      ->group(g);
  // -q unless the app already uses it (edges: --quantiles).
  const char* const quiet_help = "no progress bar and no summary line (errors still shown)";
  try {
    app.add_flag("-q,--quiet", o.quiet, quiet_help)->group(g);
  } catch (const CLI::OptionAlreadyAdded&) {
    app.add_flag("--quiet", o.quiet, quiet_help)->group(g);
  }
  app.add_option("--report", o.report,
                 "write a JSON file naming the parameters actually used, the image, backend and "
                 "times (folders: one entry per input, with its status and outputs)");
  app.add_option("--shard", o.shard,
                 "I/N: process only inputs number i (in sorted order) with i mod N == I, so N "
                 "processes cover every input once (default: from SLURM_ARRAY_TASK_ID and "
                 "SLURM_ARRAY_TASK_COUNT when set)")
      ->group(g);
  app.add_option("--shard-by", o.shard_by,
                 "how --shard deals the inputs: count (input i to shard i mod N) or bytes (the "
                 "largest files first, each to the shard with the fewest bytes so far: shards of "
                 "about equal work when the images differ in size)")
      ->check(CLI::IsMember({"count", "bytes"}))
      ->capture_default_str()
      ->group(g);
  app.add_option("--devices", o.devices,
                 "CUDA devices to use, e.g. 0,1, or all: two compute workers on each (default: "
                 "device 0 when the backend is CUDA)")
      ->group(g);
}

bool is_batch(const std::vector<std::string>& paths) {
  if (paths.size() > 2) return true;
  std::error_code ec;
  return paths.size() == 2 && fs::is_directory(paths[0], ec);
}

SingleFile single_file(const std::vector<std::string>& paths, const BatchOptions& o) {
  if (paths.size() != 2) throw UsageError("give IN and OUT");
  const char* name = o.recursive          ? "--recursive"
                     : !o.ext.empty()     ? "--ext"
                     : !o.shard.empty()   ? "--shard"
                     : !o.devices.empty() ? "--devices"
                                          : nullptr;
  if (name != nullptr) {
    throw UsageError(std::string(name) +
                     " is for folders (IN_DIR OUT_DIR, or several inputs and "
                     "an output folder), not for one IN OUT pair");
  }
  check_output(paths[0], paths[1]);
  return {paths[0], paths[1]};
}

std::vector<int> deal_shards(const std::vector<std::uintmax_t>& bytes, int count, bool by_bytes) {
  std::vector<int> owner(bytes.size(), 0);
  if (count <= 1) return owner;
  if (!by_bytes) {
    for (std::size_t i = 0; i < bytes.size(); ++i) owner[i] = static_cast<int>(i % count);
    return owner;
  }
  std::vector<std::size_t> order(bytes.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return bytes[a] > bytes[b]; });
  std::vector<std::uintmax_t> load(static_cast<std::size_t>(count), 0);
  for (const std::size_t i : order) {
    const auto least = std::min_element(load.begin(), load.end());  // first of equals
    *least += bytes[i];
    owner[i] = static_cast<int>(least - load.begin());
  }
  return owner;
}

Shard resolve_shard(const std::string& option) {
  Shard s;
  long i = 0, n = 0;
  if (!option.empty()) {
    const auto slash = option.find('/');
    if (slash == std::string::npos || !parse_int(option.substr(0, slash), i) ||
        !parse_int(option.substr(slash + 1), n) || n < 1 || i < 0 || i >= n || n > 1000000) {
      throw UsageError("--shard '" + option + "': give I/N with 0 <= I < N, e.g. 0/4");
    }
    s.index = static_cast<int>(i);
    s.count = static_cast<int>(n);
    return s;
  }
  const char* id = std::getenv("SLURM_ARRAY_TASK_ID");
  const char* count = std::getenv("SLURM_ARRAY_TASK_COUNT");
  if (id == nullptr || count == nullptr) return s;
  long min = 0, step = 1;
  const char* min_s = std::getenv("SLURM_ARRAY_TASK_MIN");
  const char* step_s = std::getenv("SLURM_ARRAY_TASK_STEP");
  if (!parse_int(id, i) || !parse_int(count, n) || (min_s && !parse_int(min_s, min)) ||
      (step_s && !parse_int(step_s, step)) || step < 1) {
    throw UsageError(std::string("cannot read the shard from SLURM_ARRAY_TASK_ID=") + id +
                         " SLURM_ARRAY_TASK_COUNT=" + count + "; give --shard I/N",
                     false);
  }
  i = (i - min) / step;
  if (n < 1 || i < 0 || i >= n) {
    throw UsageError("the Slurm array task " + std::string(id) + " is not one of " +
                         std::string(count) + " tasks; give --shard I/N",
                     false);
  }
  s.index = static_cast<int>(i);
  s.count = static_cast<int>(n);
  return s;
}

BatchSummary run_batch(const std::string& program, const std::vector<std::string>& paths,
                       const BatchOptions& options, const CommonOptions& common,
                       const BatchJob& job) {
  const Log log(program, common.verbose);
  Stopwatch total_clock;
  if (paths.size() < 2) throw UsageError("give IN and OUT");

  // --- the command line ---
  const fs::path out_dir(paths.back());
  const std::vector<std::string> ins(paths.begin(), paths.end() - 1);
  std::error_code ec;
  if (fs::exists(out_dir, ec) && !fs::is_directory(out_dir, ec)) {
    throw UsageError("OUT '" + out_dir.string() + "' is a file; give an output folder");
  }
  std::string ext = options.ext;
  if (!ext.empty()) {
    if (ext[0] != '.') ext = "." + ext;
    if (!io::has_writer("x" + ext)) {
      throw UsageError("--ext '" + options.ext + "' names no image format this build can write");
    }
  }
  const Shard shard = resolve_shard(options.shard);
  for (const auto& in : ins) {
    if (!fs::exists(in, ec) && ins.size() == 1) {
      throw UsageError("IN '" + in + "' does not exist");
    }
    if (fs::is_directory(in, ec) && ext.empty() && io::same_file(in, out_dir.string())) {
      throw UsageError("OUT_DIR '" + out_dir.string() + "' is the input folder: the outputs " +
                       "would overwrite the inputs; give another folder or --ext");
    }
  }
  if (ins.size() > 1 && !fs::is_directory(out_dir, ec)) {
    throw UsageError("OUT '" + out_dir.string() +
                     "' is not a folder; with several inputs the last path is an existing "
                     "output folder");
  }
  // The extra output folders: folders (created when missing), never an input folder.
  std::vector<fs::path> out_roots{out_dir};
  for (const ExtraOutput& x : job.extra_outputs) {
    const std::string what = x.option + " '" + x.root + "'";
    if (x.root.empty()) {
      throw UsageError(x.option + ": give a folder for the " + x.name + " images");
    }
    if (fs::exists(x.root, ec) && !fs::is_directory(x.root, ec)) {
      throw UsageError(what + " is a file; with folders it names a folder for the " + x.name +
                       " images");
    }
    if (!fs::exists(x.root, ec) && is_image_name(x.root)) {
      throw UsageError(what + " looks like an image file name; with folders it names a folder " +
                       "(created when missing) for the " + x.name + " images");
    }
    if (!io::has_writer("x" + x.ext)) {
      throw UsageError(what + ": this build cannot write '" + x.ext + "' files");
    }
    try {
      io::check_writable("x" + x.ext, x.type, x.channels);
    } catch (const Error& e) {
      throw UsageError(x.option + ": " + e.what());
    }
    for (const auto& in : ins) {
      if (fs::is_directory(in, ec) && io::same_file(in, x.root)) {
        throw UsageError(what + " is the input folder '" + in + "': the " + x.name +
                         " images would be mixed with the inputs; give another folder");
      }
    }
    out_roots.emplace_back(x.root);
  }
  if (!options.report.empty()) {
    std::vector<std::string> taken(paths);
    for (const ExtraOutput& x : job.extra_outputs) taken.push_back(x.root);
    check_report(options.report, taken);
  }

  // The compute contexts, before any work: a backend this machine cannot run is a usage error.
  std::vector<Context> contexts;
  if (!options.devices.empty()) {
    if (lower(common.backend) == "cpu") throw UsageError("--devices needs the CUDA backend");
    for (const int d : parse_devices(options.devices)) {
      try {
        // Two workers per device, each with its own stream, so the transfers of one image
        // overlap the kernels of the other.
        contexts.emplace_back(Backend::kCuda, d);
        contexts.emplace_back(Backend::kCuda, d);
      } catch (const Error& e) {
        throw UsageError("--devices: device " + std::to_string(d) + ": " + e.what(), false);
      }
    }
  } else {
    contexts.push_back(make_context(common));
    if (contexts[0].backend() == Backend::kCuda) {
      contexts.emplace_back(Backend::kCuda, contexts[0].device());
    }
  }
  log.context(contexts[0]);

  // --- discovery: every input, sorted; the ignored files counted ---
  std::vector<Item> items, ignored;
  int folders_not_entered = 0;
  for (const auto& in : ins) {
    if (fs::is_directory(in, ec)) {
      walk(in, out_roots, options.recursive, items, ignored, folders_not_entered);
    } else {
      Item item;  // a file named on the command line is an input whatever its name
      item.input = in;
      item.rel = fs::path(in).filename().generic_string();
      items.push_back(std::move(item));
    }
  }
  if (!options.report.empty()) {
    for (const Item& item : items) {
      if (io::same_file(item.input.string(), options.report)) {
        throw UsageError("--report '" + options.report + "' names an input image");
      }
    }
  }
  std::sort(items.begin(), items.end(), [](const Item& a, const Item& b) {
    return a.rel != b.rel ? a.rel < b.rel : a.input.generic_string() < b.input.generic_string();
  });

  // Output names, and inputs that would make the same output (decided on the full list, so
  // every shard decides alike). Names compare under the folders' canonical spelling.
  std::vector<fs::path> canonical_roots;
  for (const fs::path& root : out_roots) canonical_roots.push_back(canonical_root(root));
  const auto key = [&](std::size_t root, const fs::path& rel) {
    return (canonical_roots[root] / rel).lexically_normal().generic_string();
  };
  std::map<std::string, std::string> made_by, extra_made_by;
  for (Item& item : items) {
    fs::path rel(item.rel);
    if (!ext.empty()) rel.replace_extension(ext);
    item.output = out_dir / rel;
    const auto ins_ok = made_by.emplace(key(0, rel), item.input.string());
    if (!ins_ok.second) {
      item.status = Status::kFailed;
      item.reason = "its output '" + item.output.string() + "' is also the output of '" +
                    ins_ok.first->second + "'";
    }
  }
  for (Item& item : items) {
    for (std::size_t j = 0; j < job.extra_outputs.size(); ++j) {
      const ExtraOutput& x = job.extra_outputs[j];
      fs::path rel(item.rel);
      rel.replace_extension(x.ext);
      item.extras.push_back(out_roots[j + 1] / rel);
      const std::string k = key(j + 1, rel);
      const auto main = made_by.find(k);
      if (main != made_by.end()) {
        const bool same = io::same_file(x.root, out_dir.string());
        throw UsageError(
            x.option + " '" + x.root + "'" + (same ? " is OUT_DIR, and" : ":") + " the " + x.name +
            " image of '" + item.input.string() + "' would be '" + item.extras.back().string() +
            "', " +
            (main->second == item.input.string() ? "its own output"
                                                 : "the output of '" + main->second + "'") +
            "; give another folder" + (same ? " or an --ext other than " + x.ext : ""));
      }
      const auto ins_ok = extra_made_by.emplace(k, item.input.string());
      if (!ins_ok.second && item.status == Status::kPending) {
        item.status = Status::kFailed;
        item.reason = "its " + x.name + " output '" + item.extras.back().string() +
                      "' is also that of '" + ins_ok.first->second + "'";
      }
    }
  }

  // This shard's part of the sorted list (deal_shards). By bytes, an unreadable size counts 0:
  // every process sees the same error on shared storage, and the input fails when read.
  if (shard.count > 1) {
    const bool by_bytes = options.shard_by == "bytes";
    std::vector<std::uintmax_t> bytes(items.size(), 0);
    if (by_bytes) {
      for (std::size_t i = 0; i < items.size(); ++i) {
        std::error_code e;
        const std::uintmax_t b = fs::file_size(items[i].input, e);
        bytes[i] = e ? 0 : b;
      }
    }
    const std::vector<int> owner = deal_shards(bytes, shard.count, by_bytes);
    std::vector<Item> mine;
    for (std::size_t i = 0; i < items.size(); ++i) {
      if (owner[i] == shard.index) mine.push_back(std::move(items[i]));
    }
    items = std::move(mine);
  }

  // Resuming and refusals, before any work. An input is skipped only when all its outputs exist;
  // otherwise it is computed and the missing ones are written (all of them with --overwrite).
  std::vector<std::size_t> todo;
  for (std::size_t i = 0; i < items.size(); ++i) {
    Item& item = items[i];
    if (item.status != Status::kPending) continue;
    const auto refuse = [&](const fs::path& out, const std::string& what) {
      if (io::same_file(item.input.string(), out.string())) {
        item.reason = "the " + what + " is the input file (inputs are never overwritten)";
      } else if (fs::is_directory(out, ec)) {
        item.reason = "the " + what + " '" + out.string() + "' is a folder";
      } else {
        return false;
      }
      item.status = Status::kFailed;
      return true;
    };
    if (refuse(item.output, "output")) continue;
    bool refused = false;
    for (std::size_t j = 0; j < item.extras.size() && !refused; ++j) {
      refused = refuse(item.extras[j], job.extra_outputs[j].name + " output");
    }
    if (refused) continue;
    item.write_output = options.overwrite || !fs::exists(item.output, ec);
    bool any = item.write_output;
    for (const fs::path& extra : item.extras) {
      item.write_extras.push_back(options.overwrite || !fs::exists(extra, ec));
      any = any || item.write_extras.back();
    }
    if (any) {
      todo.push_back(i);
    } else {
      item.status = Status::kSkipped;
      item.reason = item.extras.empty() ? "the output exists (--overwrite redoes it)"
                                        : "the outputs exist (--overwrite redoes them)";
    }
  }
  for (const Item& item : items) {
    if (item.status == Status::kFailed) {
      log.error("'" + item.input.string() + "': " + item.reason);
    }
  }
  for (std::size_t r = 0; r < out_roots.size(); ++r) {
    const fs::path& root = out_roots[r];
    if (fs::exists(root, ec)) continue;
    fs::create_directories(root, ec);
    if (ec && !fs::is_directory(root)) {
      const std::string what =
          r == 0 ? "OUT_DIR" : "the " + job.extra_outputs[r - 1].name + " folder";
      throw UsageError("cannot create " + what + " '" + root.string() + "': " + ec.message(),
                       false);
    }
  }

  // Temporary files that killed processes of this host left in the folders this run writes to.
  std::set<fs::path> out_folders;
  for (const Item& item : items) {
    out_folders.insert(item.output.parent_path().lexically_normal());
    for (const fs::path& extra : item.extras) {
      out_folders.insert(extra.parent_path().lexically_normal());
    }
  }
  const int stale_removed = remove_stale_temporaries(out_folders, log);

  // --- the pipeline ---
  const int hw = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const int jobs = options.jobs > 0 ? options.jobs : hw;
  const int readers = std::max(1, (jobs + 1) / 2);
  const int writers = std::max(1, jobs / 2);
  const int workers = static_cast<int>(contexts.size());

  struct Decoded {
    std::size_t item;
    HostImage image;
  };
  struct Computed {
    std::size_t item;
    Processed result;
  };
  BoundedQueue<Decoded> decoded(static_cast<std::size_t>(workers) + 1);
  BoundedQueue<Computed> computed(static_cast<std::size_t>(writers) + 1);
  std::atomic<std::size_t> next{0};
  std::mutex items_mutex;  // guards status changes that race with the report of failures
  Progress progress(static_cast<int>(todo.size()), !options.quiet);
  StopSignals signals;

  const auto fail = [&](Item& item, const std::string& why) {
    {
      std::lock_guard<std::mutex> lock(items_mutex);
      item.status = Status::kFailed;
      item.reason = why;
    }
    log.error(why);
    progress.add(0);
  };

  std::vector<std::thread> reader_threads, worker_threads, writer_threads;
  std::atomic<int> readers_left{readers}, workers_left{workers};
  for (int r = 0; r < readers; ++r) {
    reader_threads.emplace_back([&] {
      for (;;) {
        if (StopSignals::stopping()) break;
        const std::size_t k = next.fetch_add(1);
        if (k >= todo.size()) break;
        Item& item = items[todo[k]];
        try {
          Stopwatch clock;
          HostImage img = io::read_image(item.input.string());
          item.ms_read = clock.ms();
          item.image = io::describe(img);
          item.megapixels = 1e-6 * img.width() * img.height();
          check_output_kind(job, img, item.output.string());
          decoded.push(Decoded{todo[k], std::move(img)});
        } catch (const std::exception& e) {
          fail(item, e.what());
        } catch (...) {
          fail(item, "'" + item.input.string() + "': unknown error while reading");
        }
      }
      if (--readers_left == 0) decoded.close();
    });
  }
  for (int w = 0; w < workers; ++w) {
    worker_threads.emplace_back([&, w] {
      Context& ctx = contexts[static_cast<std::size_t>(w)];
      while (auto d = decoded.pop()) {
        Item& item = items[d->item];
        if (StopSignals::stopping()) continue;  // left as pending: reported as not run
        try {
          Stopwatch clock;
          Processed p = job.process(d->image, ctx);
          item.ms_compute = clock.ms();
          item.parameters = std::move(p.parameters);
          d->image = HostImage();  // the input's memory back before the queue may block
          computed.push(Computed{d->item, std::move(p)});
        } catch (const std::exception& e) {
          fail(item, "'" + item.input.string() + "': " + e.what());
        } catch (...) {
          fail(item, "'" + item.input.string() + "': unknown error while processing");
        }
      }
      if (--workers_left == 0) computed.close();
    });
  }
  for (int w = 0; w < writers; ++w) {
    writer_threads.emplace_back([&] {
      while (auto c = computed.pop()) {
        Item& item = items[c->item];
        try {
          Stopwatch clock;
          std::string written;  // for the log: "'a', 'b'"
          const auto write = [&](const fs::path& path, const HostImage& image) {
            std::error_code e2;
            const fs::path parent = path.parent_path();
            if (!parent.empty()) fs::create_directories(parent, e2);
            io::write_image(path.string(), image);
            written += (written.empty() ? "'" : ", '") + path.string() + "'";
          };
          if (item.write_output) write(item.output, c->result.image);
          for (std::size_t j = 0; j < item.extras.size(); ++j) {
            if (!item.write_extras[j]) continue;
            write(item.extras[j], extra_image(c->result, j, job, item.input.string()));
          }
          item.ms_write = clock.ms();
          {
            std::lock_guard<std::mutex> lock(items_mutex);
            item.status = Status::kDone;
          }
          log.info("'" + item.input.string() + "' -> " + written + " (" + item.image + ") in " +
                   format_number(item.ms_read + item.ms_compute + item.ms_write, 3) + " ms");
          progress.add(item.megapixels);
        } catch (const std::exception& e) {
          fail(item, e.what());
        } catch (...) {
          fail(item, "'" + item.output.string() + "': unknown error while writing");
        }
      }
    });
  }
  for (auto& t : reader_threads) t.join();
  for (auto& t : worker_threads) t.join();
  for (auto& t : writer_threads) t.join();
  progress.finish();

  // --- summary and report ---
  BatchSummary s;
  for (Item& item : items) {
    if (item.status == Status::kPending) {
      item.status = Status::kNotRun;
      item.reason = "stopped by a signal before it was processed";
    }
    switch (item.status) {
      case Status::kDone:
        ++s.done;
        s.megapixels += item.megapixels;
        break;
      case Status::kSkipped:
        ++s.skipped;
        break;
      case Status::kFailed:
        ++s.failed;
        break;
      default:
        ++s.not_run;
        break;
    }
  }
  s.ignored = static_cast<int>(ignored.size());
  s.stale_removed = stale_removed;
  s.seconds = total_clock.ms() / 1000.0;
  const int sig = StopSignals::signal();
  s.exit_status = sig != 0 ? 128 + sig : s.failed > 0 ? kExitInputFailed : kExitOk;

  if (!options.report.empty()) {
    std::ostringstream j;
    j << "{\n  \"program\": " << json_string(program) << ",\n  \"pdeimg\": " << pdeimg_json()
      << ",\n  \"backend\": " << json_string(pdeimg::to_string(contexts[0].backend()))
      << ",\n  \"device\": " << json_string(contexts[0].device_name())
      << ",\n  \"shard\": {\"index\": " << shard.index << ", \"count\": " << shard.count
      << ", \"by\": " << json_string(options.shard_by) << "},\n  \"summary\": {\"done\": " << s.done
      << ", \"skipped\": " << s.skipped << ", \"failed\": " << s.failed
      << ", \"not_run\": " << s.not_run << ", \"ignored\": " << s.ignored
      << ", \"stale_temporaries_removed\": " << s.stale_removed
      << ", \"seconds\": " << json_number(s.seconds)
      << ", \"interrupted\": " << (sig != 0 ? "true" : "false") << "},\n  \"inputs\": [";
    bool first = true;
    const auto entry = [&](const Item& item) {
      j << (first ? "\n" : ",\n") << "    {\"input\": " << json_string(item.input.string())
        << ", \"status\": " << json_string(to_string(item.status));
      first = false;
      if (!item.output.empty()) j << ", \"output\": " << json_string(item.output.string());
      if (!item.extras.empty())
        j << ", \"extra_outputs\": " << extra_outputs_json(job, item.extras);
      if (!item.reason.empty()) j << ", \"reason\": " << json_string(item.reason);
      if (!item.image.empty()) j << ", \"image\": " << json_string(item.image);
      if (!item.parameters.empty()) j << ", \"parameters\": " << item.parameters;
      if (item.status == Status::kDone) {
        j << ", \"milliseconds\": "
          << milliseconds_json(item.ms_read, item.ms_compute, item.ms_write);
      }
      j << "}";
    };
    for (const Item& item : items) entry(item);
    for (const Item& item : ignored) entry(item);
    j << "\n  ]\n}\n";
    write_atomically(options.report, j.str());
  }

  if (!options.quiet) {
    std::string line = program + ": " + std::to_string(s.done) + " done, " +
                       std::to_string(s.skipped) + " skipped (exist), " + std::to_string(s.failed) +
                       " failed";
    if (s.not_run > 0) line += ", " + std::to_string(s.not_run) + " not run (stopped)";
    line += ", " + std::to_string(s.ignored) + " other files ignored";
    if (s.stale_removed > 0) {
      line += ", " + std::to_string(s.stale_removed) +
              " stale temporary files removed (left by killed processes)";
    }
    if (folders_not_entered > 0) {
      line += ", " + std::to_string(folders_not_entered) + " sub-folders not entered (--recursive)";
    }
    if (shard.count > 1) {
      line += "; shard " + std::to_string(shard.index) + "/" + std::to_string(shard.count);
    }
    line += "; " + format_number(s.seconds, 3) + " s";
    if (s.done > 0 && s.seconds > 0) {
      line += ", " + format_number(s.done / s.seconds, 3) + " images/s, " +
              format_number(s.megapixels / s.seconds, 3) + " MP/s";
    }
    std::cout << line << std::endl;
  }
  return s;
}

int run_single(const std::string& program, const SingleFile& files, const std::string& report,
               const CommonOptions& common, const BatchJob& job) {
  const std::string& in = files.in;
  const std::string& out = files.out;
  std::vector<fs::path> extras;  // the job's extra output files, in BatchJob::extra_outputs order
  std::vector<std::string> taken{in, out};
  for (const ExtraOutput& x : job.extra_outputs) {
    check_output(in, x.root);
    if (io::same_file(out, x.root)) {
      throw UsageError(x.option + " '" + x.root + "' is OUT; give another file name");
    }
    try {
      io::check_writable(x.root, x.type, x.channels);
    } catch (const Error& e) {
      throw UsageError(x.option + ": " + e.what());
    }
    extras.emplace_back(x.root);
    taken.push_back(x.root);
  }
  if (!report.empty()) {
    check_report(report, taken);
    const fs::path parent = fs::path(report).parent_path();
    std::error_code ec;
    if (!parent.empty() && !fs::is_directory(parent, ec)) {
      throw UsageError("--report '" + report + "': folder '" + parent.string() +
                       "' does not exist");
    }
  }

  const Log log(program, common.verbose);
  Context ctx = make_context(common);
  log.context(ctx);

  Stopwatch clock;
  const HostImage src = io::read_image(in);
  const double ms_read = clock.ms();
  log.info("read '" + in + "' (" + io::describe(src) + ") in " + format_number(ms_read, 3) + " ms");
  check_output_kind(job, src, out);  // before computing a result OUT could not hold

  clock.restart();
  const Processed p = job.process(src, ctx);
  const double ms_compute = clock.ms();
  log.info((p.summary.empty() ? std::string("computed") : p.summary) + " in " +
           format_number(ms_compute, 3) + " ms");

  clock.restart();
  io::write_image(out, p.image);
  log.info("wrote '" + out + "' in " + format_number(clock.ms(), 3) + " ms");
  for (std::size_t j = 0; j < extras.size(); ++j) {
    io::write_image(extras[j].string(), extra_image(p, j, job, in));
    log.info("wrote the " + job.extra_outputs[j].name + " to '" + extras[j].string() + "'");
  }
  const double ms_write = clock.ms();
  if (report.empty()) return kExitOk;

  std::ostringstream j;
  j << "{\n  \"program\": " << json_string(program) << ",\n  \"pdeimg\": " << pdeimg_json()
    << ",\n  \"input\": " << json_string(in) << ",\n  \"output\": " << json_string(out);
  if (!extras.empty()) j << ",\n  \"extra_outputs\": " << extra_outputs_json(job, extras);
  j << ",\n  \"image\": {\"width\": " << src.width() << ", \"height\": " << src.height()
    << ", \"channels\": " << src.channels()
    << ", \"type\": " << json_string(pdeimg::to_string(src.type())) << "}"
    << ",\n  \"backend\": " << json_string(pdeimg::to_string(ctx.backend()))
    << ",\n  \"device\": " << json_string(ctx.device_name())
    << ",\n  \"parameters\": " << (p.parameters.empty() ? "{}" : p.parameters)
    << ",\n  \"milliseconds\": " << milliseconds_json(ms_read, ms_compute, ms_write) << "\n}\n";
  write_atomically(report, j.str());
  log.info("wrote the report '" + report + "'");
  return kExitOk;
}

}  // namespace app
}  // namespace pdeimg
