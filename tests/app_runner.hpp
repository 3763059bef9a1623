// Harness for the end-to-end app tests: a fixture with a fresh temporary folder per test, a runner
// that starts a built binary with stdout and stderr captured, and helpers that parse the apps'
// JSON reports and compare an app's single-file --report with its batch --report.
#pragma once

#include <gtest/gtest.h>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <ostream>
#include <random>
#include <set>
#include <string>
#include <system_error>
#include <vector>

#include <nlohmann/json.hpp>

#include "pdeimg/image.hpp"
#include "pdeimg/version.hpp"

extern char** environ;

namespace pdeimg {
namespace test {

/// What a run of an app did.
struct AppResult {
  int status = -1;  // exit status; 128 + signal when killed (a crash never passes as 1 or 2)
  std::string out;
  std::string err;
};

/// The whole content of a file (empty when it cannot be read).
inline std::string slurp(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

/// `text` parsed as JSON; a test failure (and a discarded value) when it is not valid JSON.
inline nlohmann::json parse_json(const std::string& text) {
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    ADD_FAILURE() << "not valid JSON (" << e.what() << "):\n" << text;
    return nlohmann::json(nlohmann::json::value_t::discarded);
  }
}

/// The entry of a folder run's report (parsed) whose "input" is `input`; null when none is.
inline nlohmann::json report_entry(const nlohmann::json& report, const std::string& input) {
  if (report.is_object() && report.contains("inputs")) {
    for (const auto& e : report["inputs"]) {
      if (e.value("input", std::string()) == input) return e;
    }
  }
  return nlohmann::json();
}

/// A fixture with its own temporary folder `dir_`, named after the test and removed afterwards.
class AppTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = std::string("pdeimg-") + info->test_suite_name() + "-" +
                       std::to_string(std::random_device{}()) + "-" + info->name();
    std::replace(name.begin(), name.end(), '/', '_');
    dir_ = std::filesystem::temp_directory_path() / name;
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  /// `name` inside the test folder.
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  /// Runs `exe args...` with stdout and stderr captured in files of the test folder.
  AppResult run(const std::string& exe, const std::vector<std::string>& args) const {
    return wait(start(exe, args));
  }

  /// Starts `exe args...` without waiting (stdout and stderr captured as by run()); returns its
  /// process id, or -1 (with a test failure) when it cannot start. Finish with wait().
  pid_t start(const std::string& exe, const std::vector<std::string>& args) const {
    const std::string out_file = (dir_ / ".stdout").string();
    const std::string err_file = (dir_ / ".stderr").string();
    std::vector<std::string> argv_s{exe};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0644);
    posix_spawn_file_actions_addopen(&actions, 2, err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0644);
    pid_t pid = 0;
    const int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) {
      ADD_FAILURE() << "cannot start " << argv[0] << ": " << std::strerror(rc);
      return -1;
    }
    return pid;
  }

  /// Waits for a process from start() and collects what it did.
  AppResult wait(pid_t pid) const {
    AppResult r;
    if (pid <= 0) return r;
    const std::string out_file = (dir_ / ".stdout").string();
    const std::string err_file = (dir_ / ".stderr").string();
    int wstatus = 0;
    waitpid(pid, &wstatus, 0);
    r.status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
    r.out = slurp(out_file);
    r.err = slurp(err_file);
    std::filesystem::remove(out_file);
    std::filesystem::remove(err_file);
    return r;
  }

  /// The --report files of one image run both ways, parsed: `exe IN OUT --report ... args...
  /// single_args...` and `exe DIR OUT_DIR --report ... args... batch_args...`, DIR holding only a
  /// copy of IN under its own name. Expects both runs to succeed, the single-file report to name
  /// IN, OUT, the device and the read/compute/write times, no temporary file to be left, and the
  /// two "parameters" objects to be equal (returned in `parameters`).
  struct Reports {
    nlohmann::json single;
    nlohmann::json batch;
    nlohmann::json parameters;
  };
  Reports reports_of_both_modes(const std::string& exe, const std::string& in,
                                const std::vector<std::string>& args,
                                const std::vector<std::string>& single_args = {},
                                const std::vector<std::string>& batch_args = {}) const {
    namespace fs = std::filesystem;
    const fs::path batch_in = dir_ / "batch_in";
    fs::remove_all(batch_in);  // what an earlier call left
    fs::remove_all(dir_ / "batch_out");
    fs::create_directories(batch_in);
    fs::copy_file(in, batch_in / fs::path(in).filename());
    const auto run_with = [&](std::vector<std::string> a, const std::vector<std::string>& more,
                              const std::string& report) {
      a.insert(a.end(), {"--report", report});
      a.insert(a.end(), args.begin(), args.end());
      a.insert(a.end(), more.begin(), more.end());
      const AppResult r = run(exe, a);
      EXPECT_EQ(r.status, 0) << r.err;
      return parse_json(slurp(report));
    };
    Reports reports;
    const std::string out = path("single" + fs::path(in).extension().string());
    reports.single = run_with({in, out}, single_args, path("single.json"));
    reports.batch =
        run_with({batch_in.string(), path("batch_out")}, batch_args, path("batch.json"));
    const nlohmann::json& single = reports.single;
    if (!single.is_object() || !reports.batch.is_object()) {
      ADD_FAILURE() << "a report is not a JSON object";
      return reports;
    }
    EXPECT_EQ(single.value("input", std::string()), in) << single.dump(2);
    EXPECT_EQ(single.value("output", std::string()), out) << single.dump(2);
    EXPECT_TRUE(single.contains("device") && single["device"].is_string()) << single.dump(2);
    EXPECT_TRUE(single.contains("milliseconds") && single["milliseconds"].contains("read"))
        << single.dump(2);
    for (const std::string& name : files()) EXPECT_NE(name[0], '.') << name << " left behind";
    reports.parameters = single.value("parameters", nlohmann::json());
    EXPECT_TRUE(reports.parameters.is_object() && !reports.parameters.empty()) << single.dump(2);
    const nlohmann::json entry =
        report_entry(reports.batch, (batch_in / fs::path(in).filename()).string());
    EXPECT_EQ(reports.parameters, entry.value("parameters", nlohmann::json()))
        << reports.batch.dump(2);
    // Both say which pdeimg made the outputs, alike.
    const nlohmann::json made_by = single.value("pdeimg", nlohmann::json());
    EXPECT_EQ(made_by.value("version", std::string()), version()) << made_by;
    EXPECT_EQ(made_by.value("source", std::string()), source_commit()) << made_by;
    EXPECT_EQ(made_by, reports.batch.value("pdeimg", nlohmann::json())) << reports.batch.dump(2);
    return reports;
  }

  /// Expects `exe IN OUT args... --report X` to be a usage error (exit 2) that writes nothing, for
  /// X = IN, X = OUT and X = each of `more` (other outputs): the test folder keeps its files and IN
  /// its content.
  void expect_report_naming_an_image_refused(const std::string& exe, const std::string& in,
                                             const std::string& out,
                                             const std::vector<std::string>& args,
                                             const std::vector<std::string>& more = {}) const {
    const std::set<std::string> files_before = files();
    const std::string before = slurp(in);
    std::vector<std::string> names{in, out};
    names.insert(names.end(), more.begin(), more.end());
    for (const std::string& report : names) {
      std::vector<std::string> a{in, out, "--report", report};
      a.insert(a.end(), args.begin(), args.end());
      const AppResult r = run(exe, a);
      EXPECT_EQ(r.status, 2) << report << ": " << r.err;
      EXPECT_NE(r.err.find("--report"), std::string::npos) << r.err;
      EXPECT_EQ(files(), files_before) << "--report " << report << " wrote a file";
      EXPECT_EQ(slurp(in), before);
    }
  }

  /// The command line (to pass to run() or start()) that runs `exe args...` as the user and group
  /// `uid`, not root, so that a process limit applies (root ignores RLIMIT_NPROC and file
  /// permissions), with at most `nproc` processes and threads for that user when `nproc` > 0
  /// (RLIMIT_NPROC counts all of the user's: give each test its own unused uid). Uses setpriv and
  /// prlimit
  /// (util-linux) and makes the test folder writable for everyone. Empty when this cannot be done
  /// here (not root, or the tools are missing or refused): the caller skips.
  std::vector<std::string> as_user(unsigned uid, long nproc, const std::string& exe,
                                   const std::vector<std::string>& args) const {
    namespace fs = std::filesystem;
    std::string setpriv, prlimit;
    for (const char* folder : {"/usr/bin/", "/bin/", "/usr/sbin/", "/sbin/"}) {
      if (setpriv.empty() && fs::exists(std::string(folder) + "setpriv")) {
        setpriv = std::string(folder) + "setpriv";
      }
      if (prlimit.empty() && fs::exists(std::string(folder) + "prlimit")) {
        prlimit = std::string(folder) + "prlimit";
      }
    }
    if (::geteuid() != 0 || setpriv.empty() || prlimit.empty()) return {};
    const std::string id = std::to_string(uid);
    // prlimit first, while still root (a user may not raise its hard limit), then setpriv.
    std::vector<std::string> cmd;
    if (nproc > 0) cmd = {prlimit, "--nproc=" + std::to_string(nproc), "--"};
    cmd.insert(cmd.end(), {setpriv, "--reuid=" + id, "--regid=" + id, "--clear-groups", "--"});
    std::vector<std::string> probe(cmd.begin() + 1, cmd.end());  // can this be done here?
    probe.push_back("/bin/true");
    if (run(cmd[0], probe).status != 0) return {};
    std::error_code ec;
    fs::permissions(dir_, fs::perms::all, ec);
    cmd.push_back(exe);
    cmd.insert(cmd.end(), args.begin(), args.end());
    return cmd;
  }

  /// Runs a command line from as_user.
  AppResult run(const std::vector<std::string>& cmd) const {
    return run(cmd.at(0), std::vector<std::string>(cmd.begin() + 1, cmd.end()));
  }

  /// The names of the files in the test folder (hidden ones included).
  std::set<std::string> files() const {
    std::set<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(dir_)) {
      names.insert(e.path().filename().string());
    }
    return names;
  }

  std::filesystem::path dir_;
};

/// One file format of an app's end-to-end "keeps depth and channels" test.
struct FormatCase {
  const char* name;
  const char* ext;
  int channels;
  PixelType type;
};
inline void PrintTo(const FormatCase& c, std::ostream* os) {
  *os << c.name;
}

}  // namespace test
}  // namespace pdeimg
