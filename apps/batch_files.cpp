// File-system helpers of the batch machinery (batch_detail.hpp): image names, atomic text files,
// and the removal of the temporary files killed processes left behind.
#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <set>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "apps/batch_detail.hpp"
#include "pdeimg/error.hpp"
#include "src/io/temp_name.hpp"

namespace pdeimg {
namespace app {
namespace detail {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

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

fs::path canonical_root(const fs::path& root) {
  std::error_code ec;
  fs::path p = fs::weakly_canonical(root, ec);
  if (ec) p = fs::absolute(root, ec).lexically_normal();
  return p;
}

void InputSet::add(const fs::path& input) {
  struct stat st {};
  if (::stat(input.c_str(), &st) == 0) ids_.emplace(std::make_pair(st.st_dev, st.st_ino), input);
}

const fs::path* InputSet::find(const fs::path& path) const {
  struct stat st {};
  if (ids_.empty() || ::stat(path.c_str(), &st) != 0) return nullptr;
  return find(st.st_dev, st.st_ino);
}

const fs::path* InputSet::find(dev_t device, ino_t inode) const {
  const auto it = ids_.find(std::make_pair(device, inode));
  return it == ids_.end() ? nullptr : &it->second;
}

std::string write_refusal(const fs::path& path, const InputSet& inputs) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return {};  // nothing there (yet): a new file
  if (S_ISLNK(st.st_mode)) {
    std::error_code ec;
    const fs::path target = fs::read_symlink(path, ec);
    return "is a symbolic link to '" + (ec ? std::string("?") : target.string()) +
           "' (links in the output folders are never written through)";
  }
  if (const fs::path* input = inputs.find(st.st_dev, st.st_ino)) {
    return "is the input '" + input->string() + "' (inputs are never overwritten)";
  }
  return {};
}

namespace {

// A temporary name in `target`'s folder for this process, never used before by it.
fs::path temporary_beside(const fs::path& target) {
  static std::atomic<unsigned long> counter{0};
  return target.parent_path() /
         io::detail::temp_name(target.stem().string(), target.extension().string(),
                               io::detail::temp_host(), ::getpid(), counter.fetch_add(1));
}

}  // namespace

void write_atomically(const std::string& path, const std::string& text) {
  const fs::path target(path);
  const fs::path tmp = temporary_beside(target);
  const auto fail = [&](const std::string& why) {
    std::error_code ec;
    fs::remove(tmp, ec);
    throw Error(ErrorCode::kIo, "cannot write the report '" + path + "': " + why);
  };
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (fd < 0) {
    const int err = errno;
    throw Error(ErrorCode::kIo, "cannot write the report '" + path + "': cannot create '" +
                                    tmp.string() + "': " + std::strerror(err));
  }
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = errno;
      ::close(fd);
      fail(std::strerror(err));
    }
    done += static_cast<std::size_t>(n);
  }
  if (::close(fd) != 0) fail(std::strerror(errno));
  std::error_code ec;
  fs::rename(tmp, target, ec);
  if (ec) fail(ec.message());
}

void prepare_report_location(const std::string& report) {
  const fs::path target(report);
  const fs::path folder = target.has_parent_path() ? target.parent_path() : fs::path(".");
  std::error_code ec;
  if (!fs::is_directory(folder, ec)) {
    if (fs::exists(folder, ec)) {
      throw UsageError("--report '" + report + "': '" + folder.string() + "' is not a folder",
                       false);
    }
    fs::create_directories(folder, ec);
    if (ec || !fs::is_directory(folder)) {
      throw UsageError("--report '" + report + "': cannot create the folder '" + folder.string() +
                           "': " + (ec ? ec.message() : std::string("it is not a folder")),
                       false);
    }
  }
  const fs::path probe = temporary_beside(folder / target.filename());
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    const int err = errno;
    throw UsageError("--report '" + report + "': cannot write in the folder '" + folder.string() +
                         "': " + std::strerror(err),
                     false);
  }
  ::close(fd);
  ::unlink(probe.c_str());
}

namespace {

// True when process `pid` of this host exists (kill(pid, 0) succeeds, or fails only because the
// process belongs to another user).
bool process_exists(long pid) {
  return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM;
}

}  // namespace

// Files of other hosts (shards on shared storage) and of processes that still run are left alone;
// a process id since reused keeps its file until a later run. So are files written to in the last
// kStaleAfter: a container that shares this host name but not its process ids may still be
// writing one.
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

}  // namespace detail
}  // namespace app
}  // namespace pdeimg
