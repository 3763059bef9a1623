#include "apps/app_common.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <iostream>
#include <string>
#include <system_error>
#include <utility>

#include "pdeimg/error.hpp"
#include "pdeimg/io.hpp"
#include "pdeimg/version.hpp"

namespace pdeimg {
namespace app {

const char* const kExitStatusHelp =
    "Exit status: 0 success; 1 an input failed (missing, unreadable, corrupt or unsupported "
    "image, or its output could not be written); 2 usage error, found before any input is read "
    "(bad or missing options, OUT names IN, a --report folder that cannot be written to, or what "
    "this machine cannot run, e.g. --backend cuda without a CUDA device); 128 + N stopped by "
    "signal N. The input file is never overwritten.";

void add_common_options(CLI::App& app, CommonOptions& options) {
  app.set_version_flag("--version", app.get_name() + " (pdeimg " + version() + ", source " +
                                        source_commit() + ", CUDA backend " +
                                        (cuda_compiled() ? "compiled in" : "not compiled in") +
                                        ")");
  app.add_option("--backend", options.backend,
                 "where to compute: auto (CUDA when a device is present, else CPU; the "
                 "PDEIMG_BACKEND environment variable overrides), cpu, cuda")
      ->check(CLI::IsMember({"auto", "cpu", "cuda"}, CLI::ignore_case))
      ->capture_default_str();
  app.add_option("--threads", options.threads,
                 "CPU worker threads (0: all hardware threads; at most " +
                     std::to_string(kMaxThreads) + ")")
      ->check(thread_count())
      ->capture_default_str();
  app.add_flag("-v,--verbose", options.verbose,
               "print the backend, device, steps and timings on stdout");
  app.add_option("--max-pixels", options.max_pixels,
                 "the most samples (width x height x channels) an input may have, checked from "
                 "its header before it is decoded, so that a small file of a huge image fails "
                 "instead of exhausting memory (0: no limit)")
      ->capture_default_str();
  if (options.missing_supported) {
    app.add_option("--non-finite", options.non_finite,
                   "what NaN and infinite samples of a float input mean: refuse (the input fails, "
                   "naming how many and where the first is) or missing (missing data, e.g. "
                   "NoData: left out of every computation and written back unchanged)")
        ->check(CLI::IsMember({"refuse", "missing"}, CLI::ignore_case))
        ->capture_default_str();
  } else {
    app.add_option("--non-finite", options.non_finite,
                   "what NaN and infinite samples of a float input mean: only refuse here (the "
                   "input fails, naming how many and where the first is)")
        ->check(CLI::IsMember({"refuse"}, CLI::ignore_case))
        ->capture_default_str();
  }
}

InputPolicy input_policy(const CommonOptions& options) {
  InputPolicy p;
  p.read.max_samples = options.max_pixels;
  p.read.limit_name = "--max-pixels";
  p.non_finite = parse_non_finite(options.non_finite);
  p.missing_supported = options.missing_supported;
  return p;
}

HostImage read_input(const std::string& path, const InputPolicy& policy) {
  HostImage img = io::read_image(path, policy.read);
  if (policy.non_finite == NonFinite::kRefuse && img.type() == PixelType::kF32) {
    const int colour =
        img.channels() == 2 || img.channels() == 4 ? img.channels() - 1 : img.channels();
    const NonFiniteCount n = count_non_finite(img, colour);
    if (n.count > 0) {
      throw Error(ErrorCode::kInvalidArgument,
                  "'" + path + "': " + std::to_string(n.count) +
                      (n.count == 1 ? " non-finite sample" : " non-finite samples") +
                      " (NaN or infinity), the first at x " + std::to_string(n.x) + ", y " +
                      std::to_string(n.y) + ", channel " + std::to_string(n.channel) +
                      (policy.missing_supported
                           ? "; give --non-finite missing to treat them as missing data (left out "
                             "of the computation and written back unchanged)"
                           : std::string()));
    }
  }
  return img;
}

CLI::Validator thread_count() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        const char* begin = text.c_str();
        char* end = nullptr;
        errno = 0;
        const long long v = std::strtoll(begin, &end, 10);
        if (end == begin || *end != '\0') return "'" + text + "' is not a whole number";
        if (v < 0 || v > kMaxThreads || errno == ERANGE) {
          return "must lie in [0, " + std::to_string(kMaxThreads) +
                 "] (0: all hardware threads), got " + text;
        }
        return {};
      },
      "0.." + std::to_string(kMaxThreads));
}

namespace {

// A validator for a finite number that `accept` admits, `what` saying which ("a finite number
// >= 0"); CLI11's own number validators let "nan" through.
CLI::Validator finite_number(bool (*accept)(double), const std::string& what,
                             const std::string& name) {
  return CLI::Validator(
      [accept, what](std::string& text) -> std::string {
        const char* begin = text.c_str();
        char* end = nullptr;
        const double v = std::strtod(begin, &end);
        if (end == begin || *end != '\0') return "'" + text + "' is not a number";
        if (!std::isfinite(v) || !accept(v)) return "must be " + what + ", got " + text;
        return {};
      },
      name);
}

}  // namespace

CLI::Validator non_negative_finite() {
  return finite_number([](double v) { return v >= 0.0; }, "a finite number >= 0", "NONNEGATIVE");
}

CLI::Validator positive_finite() {
  return finite_number([](double v) { return v > 0.0; }, "a positive finite number", "POSITIVE");
}

Context make_context(const CommonOptions& options) {
  try {
    Context ctx(parse_backend(options.backend));
    if (options.threads > 0) ctx.set_threads(options.threads);
    return ctx;
  } catch (const Error& e) {
    if (e.code() == ErrorCode::kBackendUnavailable || e.code() == ErrorCode::kInvalidArgument) {
      throw UsageError(e.what(), /*help_hint=*/false);
    }
    throw;
  }
}

void check_output(const std::string& in, const std::string& out) {
  namespace fs = std::filesystem;
  if (io::same_file(in, out)) {
    throw UsageError("OUT '" + out + "' is the input file; give another output name (" +
                     "inputs are never overwritten)");
  }
  std::error_code ec;
  if (fs::is_directory(out, ec)) {
    throw UsageError("OUT '" + out + "' is a folder; give an output file name");
  }
  const fs::path parent = fs::path(out).parent_path();
  if (!parent.empty() && !fs::is_directory(parent, ec)) {
    throw UsageError("OUT '" + out + "': folder '" + parent.string() + "' does not exist");
  }
  if (fs::path(out).extension().empty() || !io::has_writer(out)) {
    throw UsageError("OUT '" + out +
                     "': the extension names no image format this build can write (e.g. .png, "
                     ".tif, .jpg)");
  }
}

void Log::info(const std::string& message) const {
  // One write per line: batch runs log from several threads.
  if (verbose_) std::cout << (program_ + ": " + message + "\n") << std::flush;
}

void Log::error(const std::string& message) const {
  std::cerr << (program_ + ": error: " + message + "\n") << std::flush;
}

void Log::warning(const std::string& message) const {
  std::cerr << (program_ + ": warning: " + message + "\n") << std::flush;
}

void Log::context(const Context& ctx) const {
  if (!verbose_) return;
  std::string line =
      std::string("backend ") + to_string(ctx.backend()) + ", device " + ctx.device_name();
  if (!ctx.selection_note().empty()) line += " [" + ctx.selection_note() + "]";
  info(line);
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

std::string format_number(double value, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*g", digits, value);
  return buf;
}

int run(CLI::App& app, int argc, char** argv, const std::function<int()>& body) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // app.exit prints --help/--version on stdout (status 0) or the error on stderr.
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  }
  const Log log(app.get_name(), false);
  try {
    return body();
  } catch (const UsageError& e) {
    log.error(e.what());
    if (e.help_hint()) std::cerr << "Run with --help for more information." << std::endl;
    return kExitUsage;
  } catch (const std::exception& e) {  // pdeimg::Error messages name the file and the reason
    log.error(e.what());
    return kExitInputFailed;
  }
}

}  // namespace app
}  // namespace pdeimg
