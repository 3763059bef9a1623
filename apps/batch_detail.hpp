// The parts of batch.hpp's machinery, one file each, for run_batch and run_single to compose:
//   batch_files.cpp     file-system helpers: image names, atomic text files, stale temporaries
//   batch_plan.cpp      the command line's paths, discovery, and the plan (outputs, collisions,
//                       shards, resume/skip decisions), all before any input is read
//   batch_pipeline.cpp  stop signals and the reader -> compute -> writer threads
//   batch_report.cpp    the summary line and the JSON reports
// Internal to the apps: nothing here is installed.
#pragma once

#include <cstddef>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <signal.h>
#include <sys/types.h>

#include "apps/app_common.hpp"
#include "apps/batch.hpp"
#include "pdeimg/context.hpp"

namespace pdeimg {
namespace app {
namespace detail {

namespace fs = std::filesystem;

// --- batch_files.cpp ----------------------------------------------------------------------------

/// `s` in lower case (ASCII).
std::string lower(std::string s);

/// True for the extensions of the formats OpenCV 4 decodes (imgcodecs), in any case.
bool is_image_name(const fs::path& p);

/// True when the file name starts with '.'.
bool hidden(const fs::path& p);

/// `root` made absolute, with the parts that exist resolved (links followed): output names under
/// two spellings of one folder compare equal.
fs::path canonical_root(const fs::path& root);

/// The inputs of a run by file identity (device and inode, links followed), to refuse any output
/// that is an input, whatever its name.
class InputSet {
 public:
  /// Adds `input` (nothing when it cannot be examined: it fails when read).
  void add(const fs::path& input);
  /// The input `path` is, or nullptr: one stat, following links.
  const fs::path* find(const fs::path& path) const;
  /// The input with this device and inode, or nullptr.
  const fs::path* find(dev_t device, ino_t inode) const;

 private:
  std::map<std::pair<dev_t, ino_t>, fs::path> ids_;
};

/// Why `path` must not be written to, or empty when it may: it is a symbolic link ("is a symbolic
/// link to '...' (links are never written through)"), or it is one of `inputs` ("is the input
/// '...' (inputs are never overwritten)"). One lstat, and a readlink for a link: cheap enough for
/// just before every write.
std::string write_refusal(const fs::path& path, const InputSet& inputs);

/// Writes `text` to `path` through a temporary file in the same folder, named as write_image names
/// its own (src/io/temp_name.hpp), and a rename. Throws Error(kIo) naming `path` and the reason.
void write_atomically(const std::string& path, const std::string& text);

/// Makes sure the report `report` can be written, before any input is read: creates its folder
/// when missing, and creates and removes a probe file there (named as a temporary file, so a
/// killed run's probe is removed as stale). Throws a UsageError naming the folder and the
/// system's reason.
void prepare_report_location(const std::string& report);

/// Refuses, as a UsageError, a --report that names one of `taken` (the inputs and outputs: it
/// would replace one) or is a folder.
void check_report(const std::string& report, const std::vector<std::string>& taken);

/// Removes from each of `folders` (not their sub-folders) the temporary files of write_image and
/// of the report that a process of this host made, that no longer runs and that nobody wrote to
/// for 10 minutes. Returns how many were removed; -v names each.
int remove_stale_temporaries(const std::set<fs::path>& folders, const Log& log);

// --- batch_plan.cpp -----------------------------------------------------------------------------

/// What became of an input.
enum class Status { kPending, kDone, kSkipped, kFailed, kNotRun, kIgnored };
const char* to_string(Status s);

/// One input (or ignored file) and everything decided and measured about it.
struct Item {
  fs::path input;
  std::string rel;  ///< relative path, generic form: the sort key and the output's name
  fs::path output;
  std::vector<fs::path> extras;  ///< the job's extra outputs, in BatchJob::extra_outputs order
  bool write_output = true;      ///< false: it exists and only missing extra outputs are written
  std::vector<bool> write_extras;
  Status status = Status::kPending;
  std::string reason;
  Json parameters;    ///< Processed::parameters; null until computed
  std::string image;  ///< "512x512 3ch uint8"
  double megapixels = 0;
  double ms_read = 0, ms_compute = 0, ms_write = 0;
};

/// The paths of a batch command line, checked (usage errors) before anything is listed or read.
struct Targets {
  fs::path out_dir;
  std::vector<std::string> ins;     ///< the inputs: folders and files
  std::string ext;                  ///< --ext with its dot; empty: each input's own
  std::vector<fs::path> out_roots;  ///< OUT_DIR, then each of BatchJob::extra_outputs' folders
  Shard shard;                      ///< --shard, or Slurm's array variables
};
Targets check_targets(const std::vector<std::string>& paths, const BatchOptions& options,
                      const BatchJob& job);

/// Every input file under the targets' inputs, sorted by relative path, and what was ignored.
struct Discovery {
  std::vector<Item> items;
  std::vector<Item> ignored;  ///< status kIgnored, with the reason
  int folders_not_entered = 0;
  int folder_links = 0;  ///< links to folders, never followed (also in `ignored`)
};
Discovery discover(const Targets& targets, bool recursive);

/// What this process will do, decided before any input is read.
struct Plan {
  Shard shard;
  std::vector<Item> items;        ///< this shard's inputs, in sorted order
  std::vector<Item> ignored;      ///< every shard lists the ignored files
  std::vector<std::size_t> todo;  ///< indices into `items` to compute
  InputSet inputs;                ///< every input of every shard
  int folders_not_entered = 0;
  int folder_links = 0;
};

/// Names the outputs of every discovered input and fails, on the full list (so every shard decides
/// alike), those whose output (or extra output) is an input, by file identity, or another input's
/// output; then keeps this shard's part and decides what to skip (resuming) or refuse (an output
/// to write that is a symbolic link or a folder). A report that names an input or an output is a
/// usage error.
Plan make_plan(const Targets& targets, Discovery discovery, const BatchOptions& options,
               const BatchJob& job);

/// The folders the plan writes outputs into, and the report's (for remove_stale_temporaries).
std::set<fs::path> output_folders(const Plan& plan, const std::string& report);

/// The folder of the file `path` ("." for a bare name).
fs::path folder_of(const fs::path& path);

/// Throws what writing `out` would throw when its format cannot hold what `job` makes of `in`.
void check_output_kind(const BatchJob& job, const HostImage& in, const std::string& out);

/// The image `p` holds for the job's extra output `j`; throws, naming `input`, when it has none.
const HostImage& extra_image(const Processed& p, std::size_t j, const BatchJob& job,
                             const std::string& input);

// --- batch_pipeline.cpp -------------------------------------------------------------------------

/// Installs the stop handler for SIGINT and SIGTERM for the lifetime of the object.
///   kFinishInFlight (folder runs): the first signal sets a flag; the pipeline reads nothing more
///                   and writes what is computed. A second signal kills the process.
///   kFinishWrites   (single-file runs): a first signal outside a Writes scope kills the process
///                   at once (nothing is on disk yet); inside one it sets the flag and the writes
///                   complete (or fail and remove their temporary files). A second one kills.
class StopSignals {
 public:
  enum class Mode { kFinishInFlight, kFinishWrites };
  explicit StopSignals(Mode mode = Mode::kFinishInFlight);
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;
  /// The signal that asked to stop, 0 when none did.
  static int signal();
  static bool stopping() { return signal() != 0; }

  /// Marks the writes of a single-file run for Mode::kFinishWrites.
  class Writes {
   public:
    Writes();
    ~Writes();
    Writes(const Writes&) = delete;
    Writes& operator=(const Writes&) = delete;
  };

 private:
  struct sigaction old_int_ {};
  struct sigaction old_term_ {};
};

/// Computes plan.todo: reader threads decode (and check the output format), compute workers (one
/// per context) run job.process, writer threads write the outputs; bounded queues between them.
/// Failures of single inputs are recorded in their items; a stop signal leaves the rest pending.
void run_pipeline(Plan& plan, std::vector<Context>& contexts, const BatchJob& job,
                  const BatchOptions& options, const Log& log);

// --- batch_report.cpp ---------------------------------------------------------------------------

/// Counts the plan's items (pending ones become "not run"): the run's summary.
BatchSummary summarize(Plan& plan, int stale_removed, double seconds, int stop_signal);

/// "smooth: 7 done, 0 skipped (exist), 2 failed, ...; 1.2 s, ...": the line -q silences.
std::string summary_line(const std::string& program, const BatchSummary& s, const Plan& plan);

/// The folder run's report: the run, then one entry per input and per ignored file.
Json batch_report(const std::string& program, const BatchSummary& s, const Plan& plan,
                  const Context& ctx, const BatchOptions& options, const BatchJob& job);

/// What a single-file run's report holds besides the run's program, backend and device.
struct SingleRun {
  std::string input, output;
  std::vector<fs::path> extras;
  const HostImage* image = nullptr;
  const Json* parameters = nullptr;
  double ms_read = 0, ms_compute = 0, ms_write = 0;
};
Json single_report(const std::string& program, const SingleRun& run, const Context& ctx,
                   const BatchJob& job);

/// `json` as text for a file: indented by 2, any invalid UTF-8 replaced by U+FFFD, a final newline.
std::string report_text(const Json& json);

/// `s` as valid UTF-8: every byte that does not start a well-formed sequence (no overlong forms,
/// no surrogates, at most U+10FFFF) is replaced by U+FFFD. Sets `*changed` when one was.
std::string valid_utf8(const std::string& s, bool* changed = nullptr);

/// The bytes of `s` as printable ASCII, as a C or Python bytes literal writes them: a backslash
/// doubled, every byte outside 0x20..0x7e as \xHH. Decodes back to exactly `s`.
std::string escaped_bytes(const std::string& s);

}  // namespace detail
}  // namespace app
}  // namespace pdeimg
