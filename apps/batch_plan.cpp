// Planning a folder run (batch_detail.hpp), all before any input is read: the command line's
// paths, discovery of the inputs, their outputs and collisions on the full sorted list, this
// shard's part, and what to skip or refuse.
#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "apps/batch_detail.hpp"
#include "pdeimg/error.hpp"
#include "pdeimg/io.hpp"

namespace pdeimg {
namespace app {
namespace detail {

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

void check_output_kind(const BatchJob& job, const HostImage& in, const std::string& out) {
  PixelType type = in.type();
  int channels = in.channels();
  if (job.output_kind) job.output_kind(in, type, channels);
  io::check_writable(out, type, channels);
}

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

namespace {}  // namespace

// --- the command line ----------------------------------------------------------------------------

Targets check_targets(const std::vector<std::string>& paths, const BatchOptions& options,
                      const BatchJob& job) {
  if (paths.size() < 2) throw UsageError("give IN and OUT");
  Targets t;
  t.out_dir = paths.back();
  t.ins.assign(paths.begin(), paths.end() - 1);
  std::error_code ec;
  if (fs::exists(t.out_dir, ec) && !fs::is_directory(t.out_dir, ec)) {
    throw UsageError("OUT '" + t.out_dir.string() + "' is a file; give an output folder");
  }
  t.shard = resolve_shard(options.shard);
  t.ext = options.ext;
  if (!t.ext.empty()) {
    // Letters and digits only: a path ("png/../../x.png") would put outputs outside OUT_DIR.
    const std::size_t begin = t.ext[0] == '.' ? 1 : 0;
    const bool plain =
        t.ext.size() > begin && std::all_of(t.ext.begin() + begin, t.ext.end(), [](char c) {
          return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        });
    if (!plain) {
      throw UsageError("--ext '" + options.ext +
                       "' is not a plain extension: give letters and digits, e.g. tif or .tif");
    }
    if (t.ext[0] != '.') t.ext = "." + t.ext;
    if (!io::has_writer("x" + t.ext)) {
      throw UsageError("--ext '" + options.ext + "' names no image format this build can write");
    }
  }
  for (const auto& in : t.ins) {
    if (!fs::exists(in, ec) && t.ins.size() == 1) {
      throw UsageError("IN '" + in + "' does not exist");
    }
    if (fs::is_directory(in, ec) && t.ext.empty() && io::same_file(in, t.out_dir.string())) {
      throw UsageError("OUT_DIR '" + t.out_dir.string() + "' is the input folder: the outputs " +
                       "would overwrite the inputs; give another folder or --ext");
    }
  }
  if (t.ins.size() > 1 && !fs::is_directory(t.out_dir, ec)) {
    throw UsageError("OUT '" + t.out_dir.string() +
                     "' is not a folder; with several inputs the last path is an existing "
                     "output folder");
  }
  // The extra output folders: folders (created when missing), never an input folder.
  t.out_roots.push_back(t.out_dir);
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
    for (const auto& in : t.ins) {
      if (fs::is_directory(in, ec) && io::same_file(in, x.root)) {
        throw UsageError(what + " is the input folder '" + in + "': the " + x.name +
                         " images would be mixed with the inputs; give another folder");
      }
    }
    t.out_roots.emplace_back(x.root);
  }
  if (!options.report.empty()) {
    std::vector<std::string> taken(paths);
    for (const ExtraOutput& x : job.extra_outputs) taken.push_back(x.root);
    check_report(options.report, taken);
  }
  return t;
}

// --- discovery -----------------------------------------------------------------------------------

namespace {

// Adds the files under `folder` (recursively when asked) to `d`, counting what is ignored. Never
// walks into the output folders `out_roots`.
void walk(const fs::path& folder, const std::vector<fs::path>& out_roots, bool recursive,
          Discovery& d) {
  std::error_code ec;
  const auto consider = [&](const fs::directory_entry& e, fs::recursive_directory_iterator* it) {
    std::error_code e2;
    if (hidden(e.path())) {
      if (it != nullptr && e.is_directory(e2)) it->disable_recursion_pending();
      return;
    }
    if (e.is_symlink(e2) && e.is_directory(e2)) {
      // A link to a folder is never followed (it may loop, or lead out of the tree): counted.
      Item item;
      item.input = e.path();
      item.rel = e.path().lexically_relative(folder).generic_string();
      item.status = Status::kIgnored;
      item.reason = "a link to a folder (not followed)";
      d.ignored.push_back(std::move(item));
      ++d.folder_links;
      return;
    }
    if (e.is_directory(e2)) {
      // Never walk into an output folder (OUT_DIR inside IN_DIR): outputs are not inputs.
      for (const fs::path& root : out_roots) {
        if (it != nullptr && io::same_file(e.path().string(), root.string())) {
          it->disable_recursion_pending();
        }
      }
      if (it == nullptr) ++d.folders_not_entered;
      return;
    }
    Item item;
    item.input = e.path();
    item.rel = e.path().lexically_relative(folder).generic_string();
    if (!e.is_regular_file(e2) || !is_image_name(e.path())) {
      item.status = Status::kIgnored;
      item.reason = e.is_regular_file(e2) ? "not an image file name" : "not a regular file";
      d.ignored.push_back(std::move(item));
      return;
    }
    d.items.push_back(std::move(item));
  };
  const auto cannot_list = [&] {
    return UsageError("cannot list '" + folder.string() + "': " + ec.message(), false);
  };
  if (recursive) {
    fs::recursive_directory_iterator it(folder, fs::directory_options::skip_permission_denied, ec);
    if (ec) throw cannot_list();
    for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (ec) throw cannot_list();
      consider(*it, &it);
    }
  } else {
    fs::directory_iterator it(folder, ec);
    if (ec) throw cannot_list();
    for (; it != fs::directory_iterator(); it.increment(ec)) {
      if (ec) throw cannot_list();
      consider(*it, nullptr);
    }
  }
}

}  // namespace

Discovery discover(const Targets& targets, bool recursive) {
  Discovery d;
  for (const auto& in : targets.ins) {
    std::error_code ec;
    if (fs::is_directory(in, ec)) {
      walk(in, targets.out_roots, recursive, d);
    } else {
      Item item;  // a file named on the command line is an input whatever its name
      item.input = in;
      item.rel = fs::path(in).filename().generic_string();
      d.items.push_back(std::move(item));
    }
  }
  std::sort(d.items.begin(), d.items.end(), [](const Item& a, const Item& b) {
    return a.rel != b.rel ? a.rel < b.rel : a.input.generic_string() < b.input.generic_string();
  });
  return d;
}

// --- the plan ------------------------------------------------------------------------------------

namespace {

void fail(Item& item, std::string reason) {
  item.status = Status::kFailed;
  item.reason = std::move(reason);
}

// What an item's output `out` (`what`: "output", "magnitude output") is when it is an input, as
// a reason to fail the item; empty when it is none.
std::string output_is_input(const Item& item, const fs::path& out, const std::string& what,
                            const InputSet& inputs) {
  const fs::path* input = inputs.find(out);
  if (input == nullptr) return {};
  std::error_code ec;
  std::string name = "its " + what + " '" + out.string() + "'";
  if (fs::is_symlink(fs::symlink_status(out, ec))) {
    name += ", a symbolic link to '" + fs::read_symlink(out, ec).string() + "',";
  }
  if (input == inputs.find(item.input)) {
    return name + " is the input file itself (inputs are never overwritten)";
  }
  return name + " is the input '" + input->string() + "' (inputs are never overwritten)";
}

// Output names, and the inputs that may not be computed because an output would replace an
// input (by identity: links and other spellings followed) or another input's output. Decided on
// the full list, so every shard decides alike. Names compare under the folders' canonical
// spelling; returns each output's name in that spelling and the input that makes it.
std::map<std::string, std::string> name_outputs(std::vector<Item>& items, const Targets& t,
                                                const BatchJob& job, const InputSet& inputs) {
  std::vector<fs::path> canonical_roots;
  for (const fs::path& root : t.out_roots) canonical_roots.push_back(canonical_root(root));
  const auto key = [&](std::size_t root, const fs::path& rel) {
    return (canonical_roots[root] / rel).lexically_normal().generic_string();
  };
  for (Item& item : items) {
    fs::path rel(item.rel);
    if (!t.ext.empty()) rel.replace_extension(t.ext);
    item.output = t.out_dir / rel;
    for (std::size_t j = 0; j < job.extra_outputs.size(); ++j) {
      item.extras.push_back(t.out_roots[j + 1] /
                            fs::path(item.rel).replace_extension(job.extra_outputs[j].ext));
    }
    std::string why = output_is_input(item, item.output, "output", inputs);
    for (std::size_t j = 0; j < item.extras.size() && why.empty(); ++j) {
      why = output_is_input(item, item.extras[j], job.extra_outputs[j].name + " output", inputs);
    }
    if (!why.empty()) fail(item, why);
  }
  std::map<std::string, std::string> made_by, extra_made_by;
  for (Item& item : items) {
    fs::path rel(item.rel);
    if (!t.ext.empty()) rel.replace_extension(t.ext);
    const auto ins_ok = made_by.emplace(key(0, rel), item.input.string());
    if (!ins_ok.second && item.status == Status::kPending) {
      fail(item, "its output '" + item.output.string() + "' is also the output of '" +
                     ins_ok.first->second + "'");
    }
  }
  for (Item& item : items) {
    for (std::size_t j = 0; j < job.extra_outputs.size(); ++j) {
      const ExtraOutput& x = job.extra_outputs[j];
      const std::string k = key(j + 1, fs::path(item.rel).replace_extension(x.ext));
      const auto main = made_by.find(k);
      if (main != made_by.end()) {
        const bool same = io::same_file(x.root, t.out_dir.string());
        throw UsageError(
            x.option + " '" + x.root + "'" + (same ? " is OUT_DIR, and" : ":") + " the " + x.name +
            " image of '" + item.input.string() + "' would be '" + item.extras[j].string() + "', " +
            (main->second == item.input.string() ? "its own output"
                                                 : "the output of '" + main->second + "'") +
            "; give another folder" + (same ? " or an --ext other than " + x.ext : ""));
      }
      const auto ins_ok = extra_made_by.emplace(k, item.input.string());
      if (!ins_ok.second && item.status == Status::kPending) {
        fail(item, "its " + x.name + " output '" + item.extras[j].string() + "' is also that of '" +
                       ins_ok.first->second + "'");
      }
    }
  }
  made_by.insert(extra_made_by.begin(), extra_made_by.end());
  return made_by;
}

// A --report that would replace an input or one of the outputs (in any shard): a usage error.
void check_report_against(const std::string& report, const InputSet& inputs,
                          const std::map<std::string, std::string>& outputs) {
  if (const fs::path* input = inputs.find(report)) {
    throw UsageError("--report '" + report + "' is the input '" + input->string() +
                     "'; give another file name");
  }
  const auto out = outputs.find(canonical_root(report).lexically_normal().generic_string());
  if (out != outputs.end()) {
    throw UsageError("--report '" + report + "' names an output of '" + out->second +
                     "'; give another file name");
  }
}

// This shard's part of the sorted list (deal_shards). By bytes, an unreadable size counts 0:
// every process sees the same error on shared storage, and the input fails when read.
std::vector<Item> shard_part(std::vector<Item> items, const Shard& shard, bool by_bytes) {
  if (shard.count <= 1) return items;
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
  return mine;
}

// Resuming and refusals, before any work. An input is skipped only when all its outputs exist;
// otherwise it is computed and the missing ones are written (all of them with --overwrite). An
// output to write that is a folder or a symbolic link fails its input. Returns the indices of
// the items to compute.
std::vector<std::size_t> decide_writes(std::vector<Item>& items, bool overwrite,
                                       const BatchJob& job, const InputSet& inputs) {
  std::vector<std::size_t> todo;
  for (std::size_t i = 0; i < items.size(); ++i) {
    Item& item = items[i];
    if (item.status != Status::kPending) continue;
    std::error_code ec;
    // False (and the item failed) when `out` is a folder, or is to be written and may not be.
    const auto fine = [&](const fs::path& out, bool write, const std::string& what) {
      std::string why = fs::is_directory(out, ec) ? "is a folder" : std::string();
      if (why.empty() && write) why = write_refusal(out, inputs);
      if (why.empty()) return true;
      fail(item, "its " + what + " '" + out.string() + "' " + why);
      return false;
    };
    item.write_output = overwrite || !fs::exists(item.output, ec);
    bool ok = fine(item.output, item.write_output, "output");
    for (std::size_t j = 0; j < item.extras.size() && ok; ++j) {
      item.write_extras.push_back(overwrite || !fs::exists(item.extras[j], ec));
      ok = fine(item.extras[j], item.write_extras[j], job.extra_outputs[j].name + " output");
    }
    if (!ok) continue;
    const bool any =
        item.write_output || std::find(item.write_extras.begin(), item.write_extras.end(), true) !=
                                 item.write_extras.end();
    if (any) {
      todo.push_back(i);
    } else {
      item.status = Status::kSkipped;
      item.reason = item.extras.empty() ? "the output exists (--overwrite redoes it)"
                                        : "the outputs exist (--overwrite redoes them)";
    }
  }
  return todo;
}

}  // namespace

Plan make_plan(const Targets& targets, Discovery discovery, const BatchOptions& options,
               const BatchJob& job) {
  Plan plan;
  for (const Item& item : discovery.items) plan.inputs.add(item.input);
  const std::map<std::string, std::string> outputs =
      name_outputs(discovery.items, targets, job, plan.inputs);
  if (!options.report.empty()) check_report_against(options.report, plan.inputs, outputs);
  plan.shard = targets.shard;
  plan.items = shard_part(std::move(discovery.items), plan.shard, options.shard_by == "bytes");
  plan.ignored = std::move(discovery.ignored);
  plan.folders_not_entered = discovery.folders_not_entered;
  plan.folder_links = discovery.folder_links;
  plan.todo = decide_writes(plan.items, options.overwrite, job, plan.inputs);
  return plan;
}

fs::path folder_of(const fs::path& path) {
  return path.has_parent_path() ? path.parent_path().lexically_normal() : fs::path(".");
}

std::set<fs::path> output_folders(const Plan& plan, const std::string& report) {
  std::set<fs::path> folders;
  for (const Item& item : plan.items) {
    folders.insert(folder_of(item.output));
    for (const fs::path& extra : item.extras) folders.insert(folder_of(extra));
  }
  if (!report.empty()) folders.insert(folder_of(report));
  return folders;
}

}  // namespace detail
}  // namespace app
}  // namespace pdeimg
