// The batch entry points (batch.hpp): options, the single-file/folder decision, shards, and
// run_batch and run_single, which compose the steps of batch_detail.hpp.
#include "apps/batch.hpp"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <set>
#include <sstream>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include <unistd.h>

#include "apps/batch_detail.hpp"
#include "pdeimg/error.hpp"
#include "pdeimg/io.hpp"

namespace pdeimg {
namespace app {
namespace {

namespace fs = std::filesystem;

std::vector<int> parse_devices(const std::string& text) {
  std::vector<int> devices;
  if (detail::lower(text) == "all") {
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

// The compute contexts, before any work: a backend this machine cannot run is a usage error.
std::vector<Context> make_contexts(const BatchOptions& options, const CommonOptions& common) {
  std::vector<Context> contexts;
  if (!options.devices.empty()) {
    if (detail::lower(common.backend) == "cpu")
      throw UsageError("--devices needs the CUDA backend");
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
  return contexts;
}

// Creates the output folders that do not exist yet.
void create_output_roots(const detail::Targets& targets, const BatchJob& job) {
  for (std::size_t r = 0; r < targets.out_roots.size(); ++r) {
    const fs::path& root = targets.out_roots[r];
    std::error_code ec;
    if (fs::exists(root, ec)) continue;
    fs::create_directories(root, ec);
    if (ec && !fs::is_directory(root)) {
      const std::string what =
          r == 0 ? "OUT_DIR" : "the " + job.extra_outputs[r - 1].name + " folder";
      throw UsageError("cannot create " + what + " '" + root.string() + "': " + ec.message(),
                       false);
    }
  }
}

}  // namespace

const char* const kBatchHelp =
    "Folders: with IN_DIR OUT_DIR (or IN1 IN2 ... OUT_DIR, or IN OUT_DIR where OUT_DIR exists or "
    "ends in '/') every image file (by extension: png, jpg, tif, bmp, pgm/ppm/pnm, webp, exr, ...) "
    "is processed into OUT_DIR under its own name and format (--ext changes the format); other "
    "files and links to folders are ignored and counted. Existing outputs are skipped, so "
    "rerunning an interrupted run resumes (--overwrite redoes them). No input is ever written: an "
    "input whose output would be an input, or a symbolic link, fails. Outputs appear only "
    "complete (temporary file + rename); the hidden temporary files a killed run leaves are "
    "removed by the next run on the same machine. A failed input is reported and the rest still "
    "run. Ctrl-C (SIGINT) or SIGTERM stops after the images in flight; the exit status is then "
    "128 + the signal number (130, 143). --shard I/N processes input number i of the sorted list "
    "when i mod N == I (--shard-by bytes: shards of about equal bytes instead).";

void add_paths_option(CLI::App& app, std::vector<std::string>& paths) {
  app.add_option("PATHS", paths,
                 "IN OUT (one image), IN_DIR OUT_DIR (every image in a folder; OUT_DIR is "
                 "created), IN1 IN2 ... OUT_DIR (several images into an existing folder), or IN "
                 "OUT_DIR (one image into an existing folder, or into OUT_DIR/, created)")
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
                 "hardware threads; at most " +
                     std::to_string(kMaxThreads) + ")")
      ->check(thread_count())
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
  if (paths.size() < 2) return false;
  // IN OUT_DIR: the last path an existing folder, or meant as one ("out/", created).
  const std::string& last = paths[1];
  std::error_code ec;
  return fs::is_directory(paths[0], ec) || fs::is_directory(last, ec) ||
         (!last.empty() && last.back() == '/');
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
  // Everything that can be refused is refused before any input is read.
  const detail::Targets targets = detail::check_targets(paths, options, job);
  std::vector<Context> contexts = make_contexts(options, common);
  log.context(contexts[0]);
  detail::Plan plan =
      detail::make_plan(targets, detail::discover(targets, options.recursive), options, job);
  if (!options.report.empty()) detail::prepare_report_location(options.report);
  create_output_roots(targets, job);
  for (const detail::Item& item : plan.items) {  // refused by the plan
    if (item.status == detail::Status::kFailed) {
      log.error("'" + item.input.string() + "': " + item.reason);
    }
  }
  // Temporary files that killed processes of this host left in the folders this run writes to.
  const int stale_removed =
      detail::remove_stale_temporaries(detail::output_folders(plan, options.report), log);

  const detail::StopSignals signals;
  detail::run_pipeline(plan, contexts, job, options, log);

  BatchSummary s = detail::summarize(plan, stale_removed, total_clock.ms() / 1000.0,
                                     detail::StopSignals::signal());
  if (!options.report.empty()) {
    try {
      detail::write_atomically(options.report, detail::report_text(detail::batch_report(
                                                   program, s, plan, contexts[0], options, job)));
    } catch (const std::exception& e) {  // the summary line still follows
      log.error(e.what());
      if (s.exit_status == kExitOk) s.exit_status = kExitInputFailed;
    }
  }
  if (!options.quiet) std::cout << detail::summary_line(program, s, plan) << std::endl;
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
  if (!report.empty()) detail::check_report(report, taken);

  const Log log(program, common.verbose);
  Context ctx = make_context(common);
  log.context(ctx);
  if (!report.empty()) detail::prepare_report_location(report);
  // Temporary files that killed processes of this host left where this run writes.
  std::set<fs::path> folders{detail::folder_of(out)};
  for (const fs::path& extra : extras) folders.insert(detail::folder_of(extra));
  if (!report.empty()) folders.insert(detail::folder_of(report));
  detail::remove_stale_temporaries(folders, log);
  // A signal before the writes ends the run at once; during them it lets them complete.
  const detail::StopSignals signals(detail::StopSignals::Mode::kFinishWrites);

  Stopwatch clock;
  const HostImage src = read_input(in, job.input);
  const double ms_read = clock.ms();
  log.info("read '" + in + "' (" + io::describe(src) + ") in " + format_number(ms_read, 3) + " ms");
  detail::check_output_kind(job, src, out);  // before computing a result OUT could not hold

  clock.restart();
  // A computation that takes a while (a long --time or --steps) shows its progress on a terminal.
  ctx.set_progress([&, last = -1e9](double done) mutable {
    const double t = clock.ms();
    if (::isatty(2) != 1 || t < 1000.0 || (t - last < 125.0 && done < 1.0)) return true;
    last = t;
    const double left = done > 0.0 ? t / 1000.0 * (1.0 - done) / done : 0.0;
    std::cerr << "\r" << program << ": computing " << static_cast<int>(100.0 * done) << "%, "
              << format_duration(t / 1000.0) << " so far, about " << format_duration(left)
              << " left" << (done >= 1.0 ? "\r\033[K" : "\033[K") << std::flush;
    return true;
  });
  const Processed p = job.process(src, ctx);
  ctx.set_progress(nullptr);
  const double ms_compute = clock.ms();
  log.info((p.summary.empty() ? std::string("computed") : p.summary) + " in " +
           format_number(ms_compute, 3) + " ms");

  try {
    const detail::StopSignals::Writes writes;
    clock.restart();
    io::write_image(out, p.image);
    log.info("wrote '" + out + "' in " + format_number(clock.ms(), 3) + " ms");
    for (std::size_t j = 0; j < extras.size(); ++j) {
      io::write_image(extras[j].string(), detail::extra_image(p, j, job, in));
      log.info("wrote the " + job.extra_outputs[j].name + " to '" + extras[j].string() + "'");
    }
    const double ms_write = clock.ms();
    if (!report.empty()) {
      detail::SingleRun run;
      run.input = in;
      run.output = out;
      run.extras = extras;
      run.image = &src;
      run.parameters = &p.parameters;
      run.ms_read = ms_read;
      run.ms_compute = ms_compute;
      run.ms_write = ms_write;
      detail::write_atomically(report,
                               detail::report_text(detail::single_report(program, run, ctx, job)));
      log.info("wrote the report '" + report + "'");
    }
  } catch (const std::exception& e) {
    if (!detail::StopSignals::stopping()) throw;
    log.error(e.what());  // stopped anyway: the signal's status
  }
  const int sig = detail::StopSignals::signal();
  return sig != 0 ? 128 + sig : kExitOk;
}

}  // namespace app
}  // namespace pdeimg
