// Reporting (batch_detail.hpp): the summary line of a folder run and the JSON reports of both
// modes, built with nlohmann::json. File names are bytes; JSON text is UTF-8: a name that is not
// valid UTF-8 is written with U+FFFD in place of the bad bytes, and its exact bytes go beside it
// under "<key>_bytes", escaped as in a C or Python bytes literal.
#include <cstdio>
#include <string>
#include <vector>

#include "apps/batch_detail.hpp"
#include "pdeimg/version.hpp"

namespace pdeimg {
namespace app {

Json pdeimg_json() {
  Json j = Json::object();
  j["version"] = version();
  j["source"] = source_commit();
  j["cuda_compiled"] = cuda_compiled();
  return j;
}

namespace detail {

std::string valid_utf8(const std::string& s, bool* changed) {
  static const char kReplacement[] = "\xef\xbf\xbd";  // U+FFFD
  std::string out;
  out.reserve(s.size());
  bool replaced = false;
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  const auto continuation = [&](std::size_t i) { return i < s.size() && (byte(i) & 0xc0) == 0x80; };
  for (std::size_t i = 0; i < s.size();) {
    const unsigned char c = byte(i);
    std::size_t n = 0;  // length of a well-formed sequence starting at i, 0 if none
    if (c < 0x80) {
      n = 1;
    } else if (c >= 0xc2 && c <= 0xdf) {
      n = continuation(i + 1) ? 2 : 0;
    } else if (c >= 0xe0 && c <= 0xef) {
      // No overlong forms (E0 needs A0..BF next), no surrogates (ED needs 80..9F next).
      const bool second_ok = i + 1 < s.size() && (c == 0xe0   ? byte(i + 1) >= 0xa0
                                                  : c == 0xed ? byte(i + 1) <= 0x9f
                                                              : true);
      n = continuation(i + 1) && second_ok && continuation(i + 2) ? 3 : 0;
    } else if (c >= 0xf0 && c <= 0xf4) {
      // No overlong forms (F0 needs 90..BF next), nothing above U+10FFFF (F4 needs 80..8F next).
      const bool second_ok = i + 1 < s.size() && (c == 0xf0   ? byte(i + 1) >= 0x90
                                                  : c == 0xf4 ? byte(i + 1) <= 0x8f
                                                              : true);
      n = continuation(i + 1) && second_ok && continuation(i + 2) && continuation(i + 3) ? 4 : 0;
    }
    if (n == 0) {
      out += kReplacement;
      replaced = true;
      ++i;
    } else {
      out.append(s, i, n);
      i += n;
    }
  }
  if (changed != nullptr) *changed = replaced;
  return out;
}

std::string escaped_bytes(const std::string& s) {
  std::string out;
  for (const char ch : s) {
    const unsigned char c = static_cast<unsigned char>(ch);
    if (c == '\\') {
      out += "\\\\";
    } else if (c >= 0x20 && c < 0x7f) {
      out += ch;
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  return out;
}

std::string report_text(const Json& json) {
#if NLOHMANN_JSON_VERSION_MAJOR > 3 || \
    (NLOHMANN_JSON_VERSION_MAJOR == 3 && NLOHMANN_JSON_VERSION_MINOR >= 4)
  // Every string was made valid UTF-8 when it was added; replacing is the belt to those braces.
  return json.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
#else
  return json.dump(2) + "\n";
#endif
}

namespace {

// Text for a report: valid UTF-8.
std::string text(const std::string& s) {
  return valid_utf8(s);
}

// Sets obj[key] to the file name `name`; when it is not valid UTF-8, also obj[key + "_bytes"] to
// its exact bytes, escaped.
void put_name(Json& obj, const std::string& key, const std::string& name) {
  bool changed = false;
  obj[key] = valid_utf8(name, &changed);
  if (changed) obj[key + "_bytes"] = escaped_bytes(name);
}

// {"magnitude": "mags/x.tif"} into obj["extra_outputs"] (and its "_bytes" twin when needed).
void put_extra_outputs(Json& obj, const BatchJob& job, const std::vector<fs::path>& paths) {
  Json names = Json::object(), bytes = Json::object();
  for (std::size_t k = 0; k < paths.size(); ++k) {
    bool changed = false;
    names[job.extra_outputs[k].name] = valid_utf8(paths[k].string(), &changed);
    if (changed) bytes[job.extra_outputs[k].name] = escaped_bytes(paths[k].string());
  }
  obj["extra_outputs"] = std::move(names);
  if (!bytes.empty()) obj["extra_outputs_bytes"] = std::move(bytes);
}

Json milliseconds_json(double read, double compute, double write) {
  Json j = Json::object();
  j["read"] = read;
  j["compute"] = compute;
  j["write"] = write;
  return j;
}

}  // namespace

BatchSummary summarize(Plan& plan, int stale_removed, double seconds, int stop_signal) {
  BatchSummary s;
  for (Item& item : plan.items) {
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
  s.ignored = static_cast<int>(plan.ignored.size());
  s.folder_links = plan.folder_links;
  s.stale_removed = stale_removed;
  s.seconds = seconds;
  s.exit_status = stop_signal != 0 ? 128 + stop_signal : s.failed > 0 ? kExitInputFailed : kExitOk;
  return s;
}

std::string summary_line(const std::string& program, const BatchSummary& s, const Plan& plan) {
  std::string line = program + ": " + std::to_string(s.done) + " done, " +
                     std::to_string(s.skipped) + " skipped (exist), " + std::to_string(s.failed) +
                     " failed";
  if (s.not_run > 0) line += ", " + std::to_string(s.not_run) + " not run (stopped)";
  line += ", " + std::to_string(s.ignored - s.folder_links) + " other files ignored";
  if (s.folder_links > 0) {
    line += ", " + std::to_string(s.folder_links) + " links to folders ignored (not followed)";
  }
  if (s.stale_removed > 0) {
    line += ", " + std::to_string(s.stale_removed) +
            " stale temporary files removed (left by killed processes)";
  }
  if (plan.folders_not_entered > 0) {
    line +=
        ", " + std::to_string(plan.folders_not_entered) + " sub-folders not entered (--recursive)";
  }
  if (plan.shard.count > 1) {
    line += "; shard " + std::to_string(plan.shard.index) + "/" + std::to_string(plan.shard.count);
  }
  line += "; " + format_number(s.seconds, 3) + " s";
  if (s.done > 0 && s.seconds > 0) {
    line += ", " + format_number(s.done / s.seconds, 3) + " images/s, " +
            format_number(s.megapixels / s.seconds, 3) + " MP/s";
  }
  return line;
}

Json batch_report(const std::string& program, const BatchSummary& s, const Plan& plan,
                  const Context& ctx, const BatchOptions& options, const BatchJob& job) {
  Json j = Json::object();
  j["program"] = text(program);
  j["pdeimg"] = pdeimg_json();
  j["backend"] = pdeimg::to_string(ctx.backend());
  j["device"] = text(ctx.device_name());
  Json shard = Json::object();
  shard["index"] = plan.shard.index;
  shard["count"] = plan.shard.count;
  shard["by"] = text(options.shard_by);
  j["shard"] = std::move(shard);
  Json summary = Json::object();
  summary["done"] = s.done;
  summary["skipped"] = s.skipped;
  summary["failed"] = s.failed;
  summary["not_run"] = s.not_run;
  summary["ignored"] = s.ignored;
  summary["folder_links"] = s.folder_links;
  summary["stale_temporaries_removed"] = s.stale_removed;
  summary["seconds"] = s.seconds;
  summary["interrupted"] = s.exit_status > 128;
  j["summary"] = std::move(summary);
  Json inputs = Json::array();
  const auto entry = [&](const Item& item) {
    Json e = Json::object();
    put_name(e, "input", item.input.string());
    e["status"] = to_string(item.status);
    if (!item.output.empty()) put_name(e, "output", item.output.string());
    if (!item.extras.empty()) put_extra_outputs(e, job, item.extras);
    if (!item.reason.empty()) e["reason"] = text(item.reason);
    if (!item.image.empty()) e["image"] = item.image;
    if (!item.parameters.is_null()) e["parameters"] = item.parameters;
    if (item.status == Status::kDone) {
      e["milliseconds"] = milliseconds_json(item.ms_read, item.ms_compute, item.ms_write);
    }
    inputs.push_back(std::move(e));
  };
  for (const Item& item : plan.items) entry(item);
  for (const Item& item : plan.ignored) entry(item);
  j["inputs"] = std::move(inputs);
  return j;
}

Json single_report(const std::string& program, const SingleRun& run, const Context& ctx,
                   const BatchJob& job) {
  Json j = Json::object();
  j["program"] = text(program);
  j["pdeimg"] = pdeimg_json();
  put_name(j, "input", run.input);
  put_name(j, "output", run.output);
  if (!run.extras.empty()) put_extra_outputs(j, job, run.extras);
  Json image = Json::object();
  image["width"] = run.image->width();
  image["height"] = run.image->height();
  image["channels"] = run.image->channels();
  image["type"] = pdeimg::to_string(run.image->type());
  j["image"] = std::move(image);
  j["backend"] = pdeimg::to_string(ctx.backend());
  j["device"] = text(ctx.device_name());
  j["parameters"] = run.parameters->is_null() ? Json::object() : *run.parameters;
  j["milliseconds"] = milliseconds_json(run.ms_read, run.ms_compute, run.ms_write);
  return j;
}

}  // namespace detail
}  // namespace app
}  // namespace pdeimg
