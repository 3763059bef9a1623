// Batch processing for every app: folders (or several files) in, a folder out. Written once here;
// an app supplies only "process one HostImage into a HostImage, and say which parameters it used".
// A single IN OUT pair runs the same job through run_single, so both modes compute, check, write
// and report alike. The steps (apps/batch_detail.hpp), in order:
//
//   command line      batch_plan.cpp: OUT_DIR, --ext (a plain extension), the extra output
//                     folders, the shard; the report's name
//   discovery         batch_plan.cpp: image files by extension, sorted by relative path
//                     (deterministic); other files, and links to folders (never followed), are
//                     ignored and counted; names starting with '.' are skipped (they include
//                     write_image's temporary files)
//   planning          batch_plan.cpp, on the full sorted list before sharding: OUT_DIR/<relative
//                     path> (sub-folders mirrored with --recursive, the extension replaced with
//                     --ext) and each extra output; an input whose output is an input (by file
//                     identity, links followed) or another input's output fails; then this
//                     shard's part, and what to skip (resuming) or refuse (an output to write that
//                     is a symbolic link or a folder)
//   sharding          --shard I/N (or Slurm's array variables) keeps input number i of the sorted
//                     list when i mod N == I, so N processes cover every input exactly once
//   extra outputs     a job may declare more output folders (edges --magnitude MAG_DIR), each
//                     mirroring OUT_DIR's layout with its own extension
//   resuming          an input whose outputs all exist is skipped unless --overwrite; one with
//                     some missing is computed again and only the missing ones are written
//   before reading    the report's folder is created and probed for writing; the output folders
//                     lose the hidden temporary files of processes of this host that no longer
//                     run (killed mid-write; batch_files.cpp)
//   pipeline          batch_pipeline.cpp: reader threads -> compute workers (one Context each) ->
//                     writer threads, joined by bounded queues; each write checks again that its
//                     target is neither a link nor an input. Threads the system refuses are done
//                     without (one warning); without one per stage the run stops before reading
//   stopping          SIGINT/SIGTERM stop reading new inputs; images already computed are written
//                     (temporary file + rename, so never a truncated output); a second signal
//                     kills the process at once
//   reporting         batch_report.cpp: the summary line and the JSON report (nlohmann::json)
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "apps/app_common.hpp"
#include "pdeimg/context.hpp"
#include "pdeimg/image.hpp"

namespace pdeimg {
namespace app {

/// The JSON type of the reports: keys in the order they were added where the installed
/// nlohmann::json has ordered_json (3.9 and later), else sorted.
#if NLOHMANN_JSON_VERSION_MAJOR > 3 || \
    (NLOHMANN_JSON_VERSION_MAJOR == 3 && NLOHMANN_JSON_VERSION_MINOR >= 9)
using Json = nlohmann::ordered_json;
#else
using Json = nlohmann::json;
#endif

/// Text for an app's --help footer describing folder runs.
extern const char* const kBatchHelp;

/// The batch options every app takes.
struct BatchOptions {
  bool recursive = false;          ///< --recursive: walk sub-folders and mirror them in OUT_DIR
  std::string ext;                 ///< --ext: output format, a plain extension ("tif", ".tif");
                                   ///< empty: the input's own
  bool overwrite = false;          ///< --overwrite: redo outputs that exist (default: skip them)
  int jobs = 0;                    ///< --jobs: decoding/encoding threads, at most kMaxThreads;
                                   ///< 0: all hardware threads
  bool quiet = false;              ///< -q: no progress bar, no summary line
  std::string report;              ///< --report: JSON file listing every input
  std::string shard;               ///< --shard I/N
  std::string shard_by = "count";  ///< --shard-by count|bytes: how inputs are dealt to shards
  std::string devices;             ///< --devices 0,1: one CUDA compute worker set per device
};

/// Adds --recursive, --ext, --overwrite, --jobs, -q, --shard, --devices and --report (which also
/// serves a single IN OUT pair) to `app`.
void add_batch_options(CLI::App& app, BatchOptions& options);

/// Adds the positional paths: "IN OUT", "IN_DIR OUT_DIR", "IN1 IN2 ... OUT_DIR" or "IN OUT_DIR".
void add_paths_option(CLI::App& app, std::vector<std::string>& paths);

/// True when the paths ask for a batch run: more than two paths, or two of which the first is a
/// folder, or the last an existing folder or a name ending in '/' (one input into OUT_DIR, which
/// is created when missing). Otherwise the app runs its single-file path (IN OUT).
bool is_batch(const std::vector<std::string>& paths);

/// The IN and OUT of a single-file run, after the checks every app makes: exactly two paths, OUT
/// does not name IN (check_output), and no folder-only option (--recursive, --ext, --shard,
/// --devices), which would be silently ignored. Failures are UsageErrors.
struct SingleFile {
  std::string in;
  std::string out;
};
SingleFile single_file(const std::vector<std::string>& paths, const BatchOptions& options);

/// Which shard this process handles: index in [0, count).
struct Shard {
  int index = 0;
  int count = 1;
};

/// The shard (0..count-1) of each input: by "count", input i goes to i mod count; by "bytes", the
/// inputs in decreasing order of `bytes` (ties: list order) each go to the shard with the fewest
/// bytes so far (ties: the lowest index), so that shards differ by at most the largest input.
/// Deterministic: every process given the same list decides alike.
std::vector<int> deal_shards(const std::vector<std::uintmax_t>& bytes, int count, bool by_bytes);

/// --shard "I/N" when given, else Slurm's SLURM_ARRAY_TASK_ID (minus SLURM_ARRAY_TASK_MIN,
/// divided by SLURM_ARRAY_TASK_STEP) and SLURM_ARRAY_TASK_COUNT when set, else 0/1. A malformed
/// value is a UsageError.
Shard resolve_shard(const std::string& option);

/// An image for one of the job's extra outputs.
struct ExtraImage {
  std::size_t output = 0;  ///< index into BatchJob::extra_outputs
  HostImage image;
};

/// What an app's processing of one image produced.
struct Processed {
  HostImage image;
  Json parameters;                 ///< an object: the parameters actually used for this image
  std::vector<ExtraImage> extras;  ///< one per BatchJob::extra_outputs entry
  /// What was computed, in words, for -v in a single-file run ("heat T = 2 (sigma 2): 8 steps of
  /// dt 0.25 on cpu"); run_single adds the time taken. Empty: nothing to say.
  std::string summary;
};

/// A second (third, ...) output of every input, in its own folder tree: ROOT/<relative path of
/// the main output> with the extension replaced by `ext`. The folder is created when missing; it
/// must not be an input folder, and none of its files may be one of the main outputs (usage
/// errors, so e.g. ROOT = OUT_DIR is allowed only when the extensions keep the names apart).
/// In a single-file run (run_single) `root` is the output file itself.
struct ExtraOutput {
  std::string name;    ///< e.g. "magnitude": its key in the --report, its name in messages
  std::string option;  ///< the option that named the folder, e.g. "--magnitude", for messages
  std::string root;    ///< the folder (a single-file run: the file)
  std::string ext;     ///< the format by extension, with its dot, e.g. ".tif"
  PixelType type = PixelType::kU8;  ///< what its images hold, to refuse a format early
  int channels = 1;
};

/// What an app supplies.
struct BatchJob {
  /// Computes one image. Called from one compute worker at a time per Context; throws on failure.
  std::function<Processed(const HostImage& in, Context& ctx)> process;
  /// The output's sample type and channels for an input (to refuse early a format that cannot
  /// hold it); empty: the same as the input.
  std::function<void(const HostImage& in, PixelType& type, int& channels)> output_kind;
  /// Extra outputs; `process` returns one image for each.
  std::vector<ExtraOutput> extra_outputs;
  /// How inputs are read (read_input): --max-pixels and --non-finite.
  InputPolicy input;
};

/// What a batch run did.
struct BatchSummary {
  int exit_status = kExitOk;  ///< 0 all succeeded (or skipped), 1 some failed, 128+signal stopped
  int done = 0, skipped = 0, failed = 0, not_run = 0;
  int ignored = 0;        ///< entries that are no input: other files, and links to folders
  int folder_links = 0;   ///< the links to folders among them (never followed)
  int stale_removed = 0;  ///< temporary files of ended processes removed from the output folders
  double seconds = 0;
  double megapixels = 0;  ///< of the images processed
};

/// Runs the batch. Throws UsageError for a bad command line (missing input, OUT_DIR a file, ...)
/// or a run this machine cannot start (a report folder it cannot write to, not one thread per
/// stage), all before any input is read; failures of single inputs are reported on stderr and in
/// the report, and the rest still run.
BatchSummary run_batch(const std::string& program, const std::vector<std::string>& paths,
                       const BatchOptions& options, const CommonOptions& common,
                       const BatchJob& job);

/// Runs `job` on one IN OUT pair (from single_file) as run_batch runs it on each input: reads IN,
/// refuses before computing an OUT format that cannot hold the result (job.output_kind), calls
/// job.process, writes OUT and each extra output (its `root` names the file), and with a
/// non-empty `report` writes a JSON file (temporary file + rename): input, output and extra
/// outputs, the image, backend and device, the job's parameters object (as in a batch report)
/// and the read/compute/write milliseconds. Before reading, usage errors: an extra output that is
/// IN or OUT, or a format that cannot hold its images; a `report` that names IN, OUT or an extra
/// output, or is a folder, or whose folder cannot be created or written to (it is created when
/// missing and probed). Then it removes stale temporary files of dead processes from the folders
/// it writes to, as run_batch does. SIGINT/SIGTERM before the writes end the process at once
/// (nothing is on disk yet); during them the writes complete (or fail and are cleaned up) and it
/// returns 128 + the signal. With -v it logs each step and Processed::summary. Returns kExitOk; a
/// failed read, computation or write throws (exit 1).
int run_single(const std::string& program, const SingleFile& files, const std::string& report,
               const CommonOptions& common, const BatchJob& job);

/// {"version": ..., "source": ..., "cuda_compiled": ...}: which pdeimg made a report's outputs.
Json pdeimg_json();

}  // namespace app
}  // namespace pdeimg
