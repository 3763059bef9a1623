// What every pdeimg command-line app shares: the common options (--backend, --threads, -v), the
// exit statuses, the "never overwrite the input" check, messages and timing. No numerics here.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <utility>

#include <CLI/CLI.hpp>

#include "pdeimg/context.hpp"
#include "pdeimg/image.hpp"
#include "pdeimg/io.hpp"
#include "pdeimg/perona_malik.hpp"

namespace pdeimg {
namespace app {

/// Exit statuses of every app.
enum ExitStatus : int {
  kExitOk = 0,           ///< everything succeeded
  kExitInputFailed = 1,  ///< an input could not be read, processed or written (others still were)
  /// The command line is wrong, or asks for what this machine cannot do (e.g. --backend cuda
  /// without a CUDA device); nothing was processed.
  kExitUsage = 2,
};

/// Text for an app's --help footer describing the exit statuses.
extern const char* const kExitStatusHelp;

/// A mistake in the command line found after parsing (e.g. OUT names IN), or a request this
/// machine cannot run; run() reports it and exits with kExitUsage. `help_hint` adds "Run with
/// --help ..." (pointless when the command is right but the machine lacks, e.g., a GPU).
class UsageError : public std::runtime_error {
 public:
  explicit UsageError(const std::string& message, bool help_hint = true)
      : std::runtime_error(message), help_hint_(help_hint) {}
  bool help_hint() const noexcept { return help_hint_; }

 private:
  bool help_hint_;
};

/// The most threads --threads (and a folder run's --jobs) may ask for.
constexpr int kMaxThreads = 1024;

/// Options every app takes.
struct CommonOptions {
  std::string backend = "auto";  ///< auto | cpu | cuda
  int threads = 0;       ///< CPU worker threads, at most kMaxThreads; 0: all hardware threads
  bool verbose = false;  ///< -v: print backend, device, steps and timings on stdout
  /// --max-pixels: the most samples (width x height x channels) an input may have, checked from
  /// its header before decoding; 0: no limit.
  std::uint64_t max_pixels = io::kDefaultMaxSamples;
  std::string non_finite = "refuse";  ///< --non-finite refuse|missing (float inputs)
  /// Set before add_common_options by an app that cannot treat missing data (morph): --non-finite
  /// then takes only refuse, and a refused input does not suggest missing.
  bool missing_supported = true;
};

/// Adds --backend, --threads, -v/--verbose, --max-pixels and --non-finite to `app`, bound to
/// `options`.
void add_common_options(CLI::App& app, CommonOptions& options);

/// How the apps read an input: the size limit and the treatment of non-finite samples.
struct InputPolicy {
  io::ReadOptions read;
  NonFinite non_finite = NonFinite::kRefuse;
  bool missing_supported = true;  ///< CommonOptions::missing_supported
};
InputPolicy input_policy(const CommonOptions& options);

/// Reads an input as every app does: io::read_image within the --max-pixels limit, and with
/// NonFinite::kRefuse, an Error naming the count and the first position of non-finite samples
/// (alpha excluded: it is only copied) and the option that would accept them.
HostImage read_input(const std::string& path, const InputPolicy& policy);

/// A validator for a count of threads: an integer in [0, kMaxThreads].
CLI::Validator thread_count();

/// A validator for options that must be a finite number >= 0 (CLI11's NonNegativeNumber lets
/// "nan" through).
CLI::Validator non_negative_finite();

/// A validator for options that must be a positive, finite number (CLI11's PositiveNumber lets
/// "nan" through).
CLI::Validator positive_finite();

/// The context the options ask for. A backend that cannot run here (CUDA not built in, no device)
/// or a bad PDEIMG_BACKEND is a UsageError carrying the library's message.
Context make_context(const CommonOptions& options);

/// Refuses, as a UsageError, an output that names the input file (also through links), is a
/// folder, lies in a folder that does not exist, or has an extension no image writer knows.
/// The input is never overwritten; an existing different output file is replaced.
void check_output(const std::string& in, const std::string& out);

/// Messages: errors and warnings on stderr as "<app>: error: ..." / "<app>: warning: ...", verbose
/// lines on stdout as "<app>: ...".
class Log {
 public:
  Log(std::string program, bool verbose) : program_(std::move(program)), verbose_(verbose) {}
  bool verbose() const noexcept { return verbose_; }
  /// Printed only with -v.
  void info(const std::string& message) const;
  void error(const std::string& message) const;
  /// "<app>: warning: ..." on stderr: something the user should know that did not stop the run.
  void warning(const std::string& message) const;
  /// With -v: the backend, why it was chosen (auto), and the device.
  void context(const Context& ctx) const;

 private:
  std::string program_;
  bool verbose_;
};

/// Wall-clock time since construction or the last restart().
class Stopwatch {
 public:
  Stopwatch() : start_(std::chrono::steady_clock::now()) {}
  void restart() { start_ = std::chrono::steady_clock::now(); }
  double ms() const {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start_)
        .count();
  }

 private:
  std::chrono::steady_clock::time_point start_;
};

/// A number for messages with up to `digits` significant digits ("2", "0.25", "13.7").
std::string format_number(double value, int digits = 4);

/// A duration for progress lines: "m:ss", or "h:mm:ss" from an hour on.
std::string format_duration(double seconds);

/// Parses the command line with `app`, then runs `body`, and returns the exit status:
/// --help: 0; a parse error (CLI11's message) or a UsageError: 2; a pdeimg::Error or other
/// exception escaping `body` (its message names the file): 1; otherwise what `body` returns.
int run(CLI::App& app, int argc, char** argv, const std::function<int()>& body);

}  // namespace app
}  // namespace pdeimg
