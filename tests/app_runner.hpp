// Harness for the end-to-end app tests: a fixture with a fresh temporary folder per test and a
// runner that starts a built binary with stdout and stderr captured.
#pragma once

#include <gtest/gtest.h>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <ostream>
#include <random>
#include <string>
#include <system_error>
#include <vector>

#include "pdeimg/image.hpp"

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
