// Folders in, folders out (apps/batch.cpp) end to end through the built apps: a generated tree of
// nested folders, mixed formats and depths, a corrupt PNG, an empty file and a text file; resuming,
// --overwrite, --ext, shards (also from Slurm's variables), several files into a folder, usage
// errors, an interrupted run (SIGINT mid-batch) that leaves no partial file and resumes, extra
// outputs (edges --magnitude MAG_DIR), and the removal of temporary files killed processes left.
#include <gtest/gtest.h>

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "apps/batch.hpp"
#include "apps/batch_detail.hpp"
#include "pdeimg/canny.hpp"
#include "pdeimg/context.hpp"
#include "pdeimg/heat.hpp"
#include "pdeimg/io.hpp"
#include "src/io/temp_name.hpp"
#include "tests/app_runner.hpp"
#include "tests/test_util.hpp"

namespace fs = std::filesystem;

namespace pdeimg {
namespace {

using Result = test::AppResult;
using test::random_image;
using test::slurp;

// Every regular file under `root`, as relative generic paths.
std::set<std::string> files_under(const fs::path& root) {
  std::set<std::string> names;
  if (!fs::exists(root)) return names;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    if (e.is_regular_file()) names.insert(e.path().lexically_relative(root).generic_string());
  }
  return names;
}

bool has_hidden(const std::set<std::string>& names) {
  for (const auto& n : names) {
    if (fs::path(n).filename().string()[0] == '.') return true;
  }
  return false;
}

struct Good {
  const char* rel;
  int channels;
  PixelType type;
  bool lossless;
};

// The good images of the tree: nested folders, formats and depths.
const Good kGood[] = {
    {"a.png", 3, PixelType::kU8, true},
    {"b16.png", 1, PixelType::kU16, true},
    {"f.pgm", 1, PixelType::kU16, true},
    {"sub/c.tif", 1, PixelType::kF32, true},
    {"sub/rgba.tif", 4, PixelType::kU16, true},
    {"sub/deeper/d.jpg", 3, PixelType::kU8, false},
    {"sub/deeper/e.BMP", 1, PixelType::kU8, true},
};

class Batch : public test::AppTest {
 protected:
  void SetUp() override {
    test::AppTest::SetUp();
    // A test run inside a Slurm array job must not shard the apps it starts.
    for (const char* v : {"SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_COUNT", "SLURM_ARRAY_TASK_MIN",
                          "SLURM_ARRAY_TASK_STEP"}) {
      ::unsetenv(v);
    }
    in_ = dir_ / "in";
    out_ = dir_ / "out";
  }

  static HostImage picture(int w, int h, int channels, PixelType type, unsigned seed) {
    const float top = type == PixelType::kU8 ? 255.0f : type == PixelType::kU16 ? 65535.0f : 1.0f;
    HostImage img = random_image(w, h, channels, type, 0.0f, 0.3f * top, seed);
    for (int y = h / 4; y < h / 2; ++y)
      for (int x = w / 4; x < w / 2; ++x)
        for (int c = 0; c < channels; ++c) test::set(img, x, y, c, 0.9f * top);
    return img;
  }

  // Writes the tree; returns the relative names of the good images.
  std::vector<std::string> make_tree() {
    fs::create_directories(in_ / "sub" / "deeper");
    std::vector<std::string> good;
    unsigned seed = 1;
    for (const Good& g : kGood) {
      io::write_image((in_ / g.rel).string(), picture(37, 29, g.channels, g.type, seed++));
      good.push_back(g.rel);
    }
    const std::string png = slurp(in_ / "a.png");
    std::ofstream(in_ / "sub" / "corrupt.png", std::ios::binary) << png.substr(0, png.size() / 2);
    std::ofstream(in_ / "empty.png", std::ios::binary);
    std::ofstream(in_ / "notes.txt") << "not an image";
    return good;
  }

  static HostImage smoothed(const HostImage& in) {
    Context ctx(Backend::kCpu);
    HeatParams p;
    p.sigma = 1.0;
    HostImage out(in.width(), in.height(), in.channels(), in.type());
    heat_smooth(in, out, p, ctx);
    return out;
  }

  Result smooth(std::vector<std::string> args) const {
    args.insert(args.end(), {"--sigma", "1", "--backend", "cpu"});
    return run(PDEIMG_SMOOTH_EXE, args);
  }

  fs::path in_, out_;
};

TEST_F(Batch, TreeKeepsFormatsDepthsReportsTheBadOnesAndResumes) {
  const std::vector<std::string> good = make_tree();
  const std::string report = path("report.json");
  const Result r = smooth({in_.string(), out_.string(), "--recursive", "--report", report});
  EXPECT_EQ(r.status, 1) << r.err;
  // Every good image, under its own name and format, with the input's depth and channels.
  EXPECT_EQ(files_under(out_), std::set<std::string>(good.begin(), good.end()));
  for (const Good& g : kGood) {
    SCOPED_TRACE(g.rel);
    const HostImage src = io::read_image((in_ / g.rel).string());
    const HostImage out = io::read_image((out_ / g.rel).string());
    EXPECT_EQ(out.width(), src.width());
    EXPECT_EQ(out.height(), src.height());
    EXPECT_EQ(out.channels(), src.channels());
    EXPECT_EQ(out.type(), src.type());
    if (g.lossless) {
      EXPECT_TRUE(test::identical(out, smoothed(src)));
    }
  }
  // The bad ones named with their reason; the text file ignored and counted.
  EXPECT_NE(r.err.find("corrupt.png"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("empty.png"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("empty"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("notes.txt"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("7 done, 0 skipped (exist), 2 failed, 1 other files ignored"),
            std::string::npos)
      << r.out;
  // The report lists every input with its status, output and parameters.
  const nlohmann::json j = test::parse_json(slurp(report));
  for (const Good& g : kGood) {
    const nlohmann::json e = test::report_entry(j, (in_ / g.rel).string());
    EXPECT_EQ(e.value("status", ""), "done") << g.rel << "\n" << j.dump(2);
    EXPECT_EQ(e.value("output", ""), (out_ / g.rel).string()) << g.rel;
    EXPECT_EQ(e["parameters"]["time"], 0.5) << e;
    EXPECT_EQ(e["parameters"]["sigma"], 1) << e;
  }
  const nlohmann::json corrupt = test::report_entry(j, (in_ / "sub/corrupt.png").string());
  EXPECT_EQ(corrupt.value("status", ""), "failed") << j.dump(2);
  EXPECT_EQ(corrupt.value("output", ""), (out_ / "sub/corrupt.png").string()) << corrupt;
  EXPECT_EQ(test::report_entry(j, (in_ / "empty.png").string()).value("reason", ""),
            "cannot read '" + (in_ / "empty.png").string() + "': file is empty")
      << j.dump(2);
  EXPECT_EQ(test::report_entry(j, (in_ / "notes.txt").string()).value("status", ""), "ignored");
  EXPECT_EQ(j["summary"]["done"], 7) << j["summary"];
  EXPECT_EQ(j["summary"]["skipped"], 0) << j["summary"];
  EXPECT_EQ(j["summary"]["failed"], 2) << j["summary"];
  EXPECT_EQ(j["summary"]["ignored"], 1) << j["summary"];
  EXPECT_FALSE(has_hidden(files_under(dir_ / "out")));

  // A second run skips everything (the outputs are not touched); --overwrite redoes them.
  std::map<std::string, fs::file_time_type> mtimes;
  for (const auto& n : good) mtimes[n] = fs::last_write_time(out_ / n);
  const Result again = smooth({in_.string(), out_.string(), "--recursive"});
  EXPECT_EQ(again.status, 1) << again.err;  // the corrupt inputs still fail
  EXPECT_NE(again.out.find("0 done, 7 skipped"), std::string::npos) << again.out;
  for (const auto& n : good) EXPECT_EQ(fs::last_write_time(out_ / n), mtimes[n]) << n;
  fs::remove(in_ / "sub" / "corrupt.png");
  fs::remove(in_ / "empty.png");
  const Result redo = smooth({in_.string(), out_.string(), "--recursive", "--overwrite", "-q"});
  EXPECT_EQ(redo.status, 0) << redo.err;
  EXPECT_TRUE(redo.out.empty()) << "-q prints no summary: " << redo.out;
  for (const auto& n : good) EXPECT_NE(fs::last_write_time(out_ / n), mtimes[n]) << n;
  const Result done = smooth({in_.string(), out_.string(), "--recursive"});
  EXPECT_EQ(done.status, 0) << done.err;
  EXPECT_TRUE(done.err.empty()) << "no progress bar when stderr is not a terminal: " << done.err;
}

TEST_F(Batch, WithoutRecursiveOnlyTheTopFolderAndExtChangesTheFormat) {
  make_tree();
  fs::remove(in_ / "empty.png");
  const Result r = smooth({in_.string(), out_.string(), "--ext", "tif"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(files_under(out_), (std::set<std::string>{"a.tif", "b16.tif", "f.tif"}));
  EXPECT_NE(r.out.find("1 sub-folders not entered"), std::string::npos) << r.out;
  const HostImage b = io::read_image((out_ / "b16.tif").string());
  EXPECT_EQ(b.type(), PixelType::kU16);
  // An output format that cannot hold the depth fails that input only.
  const Result jpg = smooth({in_.string(), path("jpg"), "--ext", ".jpg"});
  EXPECT_EQ(jpg.status, 1);
  EXPECT_EQ(files_under(path("jpg")), (std::set<std::string>{"a.jpg"}));
  EXPECT_NE(jpg.err.find("uint16"), std::string::npos) << jpg.err;
}

TEST_F(Batch, EdgesWritesEightBitMapsAndSeveralFilesGoIntoAFolder) {
  fs::create_directories(in_);
  io::write_image((in_ / "x.png").string(), picture(40, 30, 3, PixelType::kU16, 3));
  io::write_image((in_ / "y.tif").string(), picture(40, 30, 1, PixelType::kF32, 4));
  fs::create_directories(out_);
  const Result r = run(PDEIMG_EDGES_EXE, {(in_ / "x.png").string(), (in_ / "y.tif").string(),
                                          out_.string(), "--backend", "cpu"});
  EXPECT_EQ(r.status, 0) << r.err;
  for (const char* n : {"x.png", "y.tif"}) {
    const HostImage e = io::read_image((out_ / n).string());
    EXPECT_EQ(e.type(), PixelType::kU8) << n;
    EXPECT_EQ(e.channels(), 1) << n;
  }
}

TEST_F(Batch, ShardsCoverEveryInputExactlyOnce) {
  fs::create_directories(in_ / "s");
  std::set<std::string> all;
  for (int i = 0; i < 23; ++i) {
    const std::string rel = (i % 3 == 0 ? "s/" : "") + std::to_string(i) + ".png";
    io::write_image((in_ / rel).string(), picture(16, 12, 1, PixelType::kU8, 10u + i));
    all.insert(rel);
  }
  const int n = 4;
  std::set<std::string> seen;
  std::size_t total = 0;
  for (int i = 0; i < n; ++i) {
    const fs::path out = dir_ / ("shard" + std::to_string(i));
    const Result r = smooth(
        {in_.string(), out.string(), "-r", "--shard", std::to_string(i) + "/" + std::to_string(n)});
    EXPECT_EQ(r.status, 0) << r.err;
    const std::set<std::string> mine = files_under(out);
    EXPECT_GE(mine.size(), 5u);
    EXPECT_LE(mine.size(), 6u);
    total += mine.size();
    seen.insert(mine.begin(), mine.end());
  }
  EXPECT_EQ(total, all.size()) << "no input twice";
  EXPECT_EQ(seen, all) << "every input once";

  // The same shards from Slurm's array variables (here a 1-based array, --array=1-4), all into
  // one folder.
  for (int i = 1; i <= n; ++i) {
    ::setenv("SLURM_ARRAY_TASK_ID", std::to_string(i).c_str(), 1);
    ::setenv("SLURM_ARRAY_TASK_COUNT", std::to_string(n).c_str(), 1);
    ::setenv("SLURM_ARRAY_TASK_MIN", "1", 1);
    const Result r = smooth({in_.string(), path("slurm"), "-r"});
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.out.find("shard " + std::to_string(i - 1) + "/4"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find(" 0 skipped"), std::string::npos) << "shards overlap: " << r.out;
  }
  ::unsetenv("SLURM_ARRAY_TASK_ID");
  ::unsetenv("SLURM_ARRAY_TASK_COUNT");
  ::unsetenv("SLURM_ARRAY_TASK_MIN");
  EXPECT_EQ(files_under(path("slurm")), all);
  for (const char* bad : {"4/4", "1", "-1/3", "a/b", "1/0"}) {
    EXPECT_EQ(smooth({in_.string(), path("bad"), "--shard", bad}).status, 2) << bad;
  }
}

// Dealing by bytes: every input to exactly one shard, the same answer every time, and shards
// that differ by at most the largest input (the greedy rule's bound); by count, i mod N.
TEST(DealShards, ByBytesBalancesWithinTheLargestInputAndByCountIsModN) {
  std::vector<std::uintmax_t> bytes;
  std::uint32_t s = 7;
  for (int i = 0; i < 101; ++i) {
    s = s * 1664525u + 1013904223u;
    bytes.push_back(1000 + (s >> 8) % (i % 10 == 0 ? 900000 : 50000));  // a few large ones
  }
  for (const int n : {2, 3, 7, 16}) {
    const std::vector<int> owner = app::deal_shards(bytes, n, true);
    EXPECT_EQ(owner, app::deal_shards(bytes, n, true));
    std::vector<std::uintmax_t> load(n, 0);
    for (std::size_t i = 0; i < bytes.size(); ++i) {
      ASSERT_GE(owner[i], 0);
      ASSERT_LT(owner[i], n);
      load[owner[i]] += bytes[i];
    }
    const auto [lo, hi] = std::minmax_element(load.begin(), load.end());
    EXPECT_LE(*hi - *lo, *std::max_element(bytes.begin(), bytes.end())) << n << " shards";
    const std::vector<int> by_count = app::deal_shards(bytes, n, false);
    for (std::size_t i = 0; i < bytes.size(); ++i) EXPECT_EQ(by_count[i], static_cast<int>(i % n));
  }
  EXPECT_EQ(app::deal_shards(bytes, 1, true), std::vector<int>(bytes.size(), 0));
  EXPECT_TRUE(app::deal_shards({}, 4, true).empty());
}

// The same end to end: images of very different sizes, 3 shards by bytes, every input once.
TEST_F(Batch, ShardsByBytesCoverEveryInputExactlyOnce) {
  fs::create_directories(in_);
  std::set<std::string> all;
  for (int i = 0; i < 14; ++i) {
    const std::string rel = std::to_string(i) + ".png";
    const int side = i % 5 == 0 ? 200 : 12 + 3 * i;
    io::write_image((in_ / rel).string(), picture(side, side, 1, PixelType::kU16, 40u + i));
    all.insert(rel);
  }
  std::set<std::string> seen;
  std::size_t total = 0;
  for (int i = 0; i < 3; ++i) {
    const Result r = smooth({in_.string(), path("bytes"), "--shard", std::to_string(i) + "/3",
                             "--shard-by", "bytes", "--report", path("r" + std::to_string(i))});
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.out.find(" 0 skipped"), std::string::npos) << "shards overlap: " << r.out;
    EXPECT_EQ(test::parse_json(slurp(path("r" + std::to_string(i))))["shard"]["by"], "bytes");
  }
  for (const std::string& f : files_under(path("bytes"))) {
    seen.insert(f);
    ++total;
  }
  EXPECT_EQ(total, all.size());
  EXPECT_EQ(seen, all);
  EXPECT_EQ(smooth({in_.string(), path("x"), "--shard", "0/2", "--shard-by", "pixels"}).status, 2);
}

TEST_F(Batch, UsageErrorsExitTwoAndInputsAreNeverOverwritten) {
  make_tree();
  const std::string a = (in_ / "a.png").string();
  const std::string before = slurp(a);
  // Several inputs need an existing output folder; OUT_DIR = IN_DIR would write over the inputs.
  EXPECT_EQ(smooth({a, (in_ / "b16.png").string(), path("nofolder")}).status, 2);
  EXPECT_EQ(smooth({a, (in_ / "b16.png").string(), a}).status, 2);
  const Result same = smooth({in_.string(), in_.string()});
  EXPECT_EQ(same.status, 2);
  EXPECT_NE(same.err.find("overwrite the inputs"), std::string::npos) << same.err;
  EXPECT_EQ(smooth({in_.string(), path("o"), "--ext", "xyz"}).status, 2);
  EXPECT_EQ(smooth({in_.string(), a}).status, 2);  // OUT is a file
  // With folders --magnitude names a folder; a missing one that looks like an image file is a
  // mistake rather than a folder to create.
  const Result mag_file =
      run(PDEIMG_EDGES_EXE, {in_.string(), path("o"), "--magnitude", path("m.tif")});
  EXPECT_EQ(mag_file.status, 2);
  EXPECT_NE(mag_file.err.find("looks like an image file name"), std::string::npos) << mag_file.err;
  EXPECT_FALSE(fs::exists(path("m.tif")));
  // Folder options on one IN OUT pair would be ignored: refused.
  EXPECT_EQ(smooth({a, path("one.png"), "--ext", "tif"}).status, 2);
  EXPECT_EQ(smooth({a, path("one.png"), "--shard", "0/2"}).status, 2);
  // A --report that would replace an input or name the output folder: refused before any work.
  EXPECT_EQ(smooth({in_.string(), path("o"), "--report", a}).status, 2);
  EXPECT_EQ(smooth({in_.string(), path("o"), "--report", path("o")}).status, 2);
  EXPECT_FALSE(fs::exists(path("o")));
  // --devices: numbers or "all", and only with a backend that has devices.
  const auto devices = [&](const std::string& list, const std::string& backend) {
    return run(PDEIMG_SMOOTH_EXE,
               {in_.string(), path("d"), "--sigma", "1", "--backend", backend, "--devices", list});
  };
  const Result bad_devices = devices("0,x", "auto");
  EXPECT_EQ(bad_devices.status, 2);
  EXPECT_NE(bad_devices.err.find("like 0,1, or all"), std::string::npos) << bad_devices.err;
  const Result cpu_devices = devices("0", "cpu");
  EXPECT_EQ(cpu_devices.status, 2);
  EXPECT_NE(cpu_devices.err.find("needs the CUDA backend"), std::string::npos) << cpu_devices.err;
  if (cuda_device_count() == 0) {
    const Result all = devices("all", "auto");
    EXPECT_EQ(all.status, 2);
    EXPECT_NE(all.err.find("--devices all: no CUDA device here"), std::string::npos) << all.err;
    const Result missing = devices("0", "auto");
    EXPECT_EQ(missing.status, 2);
    EXPECT_NE(missing.err.find("--devices: device 0:"), std::string::npos) << missing.err;
  }
  EXPECT_FALSE(fs::exists(path("one.png")));
  EXPECT_EQ(slurp(a), before);
  // With --ext into the input folder itself each output sits beside its input.
  const Result beside = smooth({in_.string(), in_.string(), "--ext", "tif"});
  EXPECT_EQ(beside.status, 1) << beside.err;  // the empty and corrupt PNGs
  EXPECT_TRUE(fs::exists(in_ / "a.tif"));
  EXPECT_EQ(slurp(a), before);
}

// No option and no link makes an input an output. --ext into the input folder: a.png's output
// a.tif is the input a.tif, which is also a.tif's own output; both fail, decided on the full list
// (so in every shard alike), and a.tif keeps its bytes.
TEST_F(Batch, AnOutputThatIsAnInputFailsWhateverTheOptions) {
  for (const std::string& shard : {"0/1", "0/2", "1/2"}) {
    SCOPED_TRACE("--shard " + shard);
    fs::remove_all(in_);
    fs::create_directories(in_);
    io::write_image((in_ / "a.png").string(), picture(20, 16, 1, PixelType::kU8, 1));
    io::write_image((in_ / "a.tif").string(), picture(20, 16, 1, PixelType::kU8, 2));
    io::write_image((in_ / "b.png").string(), picture(20, 16, 1, PixelType::kU8, 3));
    const std::string tif = slurp(in_ / "a.tif");
    const Result r = smooth({in_.string(), in_.string(), "--ext", "tif", "--overwrite", "--shard",
                             shard, "--report", path("r.json")});
    EXPECT_EQ(r.status, 1) << r.err;
    EXPECT_EQ(slurp(in_ / "a.tif"), tif) << "the input a.tif was overwritten";
    const nlohmann::json j = test::parse_json(slurp(path("r.json")));
    const std::string png_reason = "its output '" + (in_ / "a.tif").string() + "' is the input '" +
                                   (in_ / "a.tif").string() + "' (inputs are never overwritten)";
    const std::string tif_reason = "its output '" + (in_ / "a.tif").string() +
                                   "' is the input file itself (inputs are never overwritten)";
    if (shard != "1/2") {  // a.png and b.png (sorted: a.png, a.tif, b.png)
      EXPECT_NE(r.err.find("'" + (in_ / "a.png").string() + "': " + png_reason), std::string::npos)
          << r.err;
      EXPECT_EQ(test::report_entry(j, (in_ / "a.png").string()).value("reason", ""), png_reason);
      EXPECT_TRUE(fs::exists(in_ / "b.tif"));
    }
    if (shard != "0/2") {  // a.tif
      EXPECT_NE(r.err.find("'" + (in_ / "a.tif").string() + "': " + tif_reason), std::string::npos)
          << r.err;
      EXPECT_EQ(test::report_entry(j, (in_ / "a.tif").string()).value("reason", ""), tif_reason);
    }
  }
}

// A link in OUT_DIR to an input: the input is never written through it, whatever the options.
// A link to any other file fails the input it would be written for (without --overwrite an
// existing output, link or not, is skipped as before).
TEST_F(Batch, LinksInTheOutputFolderAreNeverWrittenThrough) {
  fs::create_directories(in_);
  fs::create_directories(out_);
  fs::create_directories(dir_ / "elsewhere");
  io::write_image((in_ / "a.png").string(), picture(20, 16, 1, PixelType::kU8, 1));
  io::write_image((in_ / "b.png").string(), picture(20, 16, 1, PixelType::kU8, 2));
  io::write_image((in_ / "c.png").string(), picture(20, 16, 1, PixelType::kU8, 3));
  io::write_image((in_ / "d.png").string(), picture(20, 16, 1, PixelType::kU8, 4));
  io::write_image((dir_ / "elsewhere" / "x.png").string(), picture(8, 8, 1, PixelType::kU8, 5));
  fs::create_symlink("../in/a.png", out_ / "b.png");         // to another input
  fs::create_symlink("../elsewhere/x.png", out_ / "c.png");  // to some other file
  fs::create_hard_link(in_ / "a.png", out_ / "d.png");       // an input by another name
  const std::string a = slurp(in_ / "a.png"), x = slurp(dir_ / "elsewhere" / "x.png");
  const Result r = smooth({in_.string(), out_.string(), "--overwrite"});
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_EQ(slurp(in_ / "a.png"), a) << "the input was written through a link";
  EXPECT_EQ(slurp(dir_ / "elsewhere" / "x.png"), x) << "a file was written through a link";
  EXPECT_TRUE(fs::is_symlink(out_ / "b.png"));
  EXPECT_TRUE(fs::is_symlink(out_ / "c.png"));
  EXPECT_NE(r.err.find("'" + (out_ / "b.png").string() + "', a symbolic link to '../in/a.png', " +
                       "is the input '" + (in_ / "a.png").string() + "'"),
            std::string::npos)
      << r.err;
  EXPECT_NE(
      r.err.find("'" + (out_ / "c.png").string() + "' is a symbolic link to '../elsewhere/x.png'"),
      std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("its output '" + (out_ / "d.png").string() + "' is the input"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.out.find("1 done, 0 skipped (exist), 3 failed"), std::string::npos) << r.out;
  // Without --overwrite the link to another file is an existing output: skipped, not written.
  const Result again = smooth({in_.string(), out_.string()});
  EXPECT_NE(again.out.find("0 done, 2 skipped (exist), 2 failed"), std::string::npos) << again.out;
  EXPECT_EQ(slurp(dir_ / "elsewhere" / "x.png"), x);
  EXPECT_EQ(slurp(in_ / "a.png"), a);
}

// A link to an input made in OUT_DIR while the run goes on: checked again just before each write.
TEST_F(Batch, ALinkMadeDuringTheRunIsCheckedJustBeforeTheWrite) {
  fs::create_directories(in_);
  const int count = 24;
  for (int i = 0; i < count; ++i) {
    io::write_image((in_ / (std::to_string(100 + i) + ".png")).string(),
                    picture(256, 256, 3, PixelType::kU8, 70u + i));
  }
  const std::string first = slurp(in_ / "100.png");
  const std::string last = std::to_string(100 + count - 1) + ".png";
  const pid_t pid =
      start(PDEIMG_DENOISE_EXE, {in_.string(), out_.string(), "--backend", "cpu", "--jobs", "2"});
  ASSERT_GT(pid, 0);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  bool linked = false;
  while (std::chrono::steady_clock::now() < deadline) {
    std::error_code ec;
    if (fs::exists(out_ / "100.png", ec)) {
      fs::create_symlink("../in/100.png", out_ / last, ec);
      linked = !ec;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  const Result r = wait(pid);
  if (!linked) GTEST_SKIP() << "the run wrote the last output before the link could be made";
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_EQ(slurp(in_ / "100.png"), first) << "the input was written through the link";
  EXPECT_NE(r.err.find("not written: '" + (out_ / last).string() + "' is a symbolic link"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.out.find(std::to_string(count - 1) + " done"), std::string::npos) << r.out;
  EXPECT_FALSE(has_hidden(files_under(in_)));
}

// A --report that would replace one of the outputs (of any shard): refused before any work.
TEST_F(Batch, AReportNamingAnOutputIsAUsageError) {
  fs::create_directories(in_);
  io::write_image((in_ / "a.png").string(), picture(20, 16, 1, PixelType::kU8, 1));
  io::write_image((in_ / "b.png").string(), picture(20, 16, 1, PixelType::kU8, 2));
  for (const std::string& shard : {"0/2", "1/2"}) {
    const Result r = smooth(
        {in_.string(), out_.string(), "--report", (out_ / "b.png").string(), "--shard", shard});
    EXPECT_EQ(r.status, 2) << r.err;
    EXPECT_NE(r.err.find("names an output of '" + (in_ / "b.png").string() + "'"),
              std::string::npos)
        << r.err;
  }
  EXPECT_FALSE(fs::exists(out_));
}

// Under a process limit the pipeline starts the threads the system allows: with fewer than --jobs
// asks it says so and finishes the run; without one per stage (and the library's own worker
// threads) it stops before reading anything, a usage error naming the cause and the remedy.
// Never std::terminate (exit 134).
TEST_F(Batch, ThreadsTheSystemRefusesGiveAMessageNotACrash) {
  fs::create_directories(in_);
  std::set<std::string> names;
  for (int i = 0; i < 6; ++i) {
    names.insert(std::to_string(i) + ".png");
    io::write_image((in_ / (std::to_string(i) + ".png")).string(),
                    picture(24, 20, 1, PixelType::kU8, 30u + i));
  }
  const auto args = [&](const fs::path& out) {
    return std::vector<std::string>{in_.string(), out.string(), "--sigma", "1",      "--backend",
                                    "cpu",        "--threads",  "2",       "--jobs", "40"};
  };
  // 42 threads asked (20 readers, 20 writers, a worker and main); 30 allowed.
  const std::vector<std::string> some = as_user(59101, 30, PDEIMG_SMOOTH_EXE, args(out_));
  if (some.empty())
    GTEST_SKIP() << "needs root, setpriv and prlimit to run the app as another "
                    "user under a process limit";
  const Result r = run(some);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("warning: started "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("the system refused more (Resource temporarily unavailable"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("ulimit -u"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--jobs (now 40)"), std::string::npos) << r.err;
  EXPECT_EQ(files_under(out_), names);
  EXPECT_NE(r.out.find("6 done"), std::string::npos) << r.out;

  // Not a single thread: nothing read or written, exit 2.
  const Result none = run(as_user(59102, 1, PDEIMG_SMOOTH_EXE, args(dir_ / "none")));
  EXPECT_EQ(none.status, 2) << none.err;
  EXPECT_NE(none.err.find("cannot start the threads a folder run needs (Resource temporarily "
                          "unavailable): nothing was processed"),
            std::string::npos)
      << none.err;
  EXPECT_NE(none.err.find("ulimit -u"), std::string::npos) << none.err;
  EXPECT_NE(none.err.find("give fewer --jobs (now 40) or --threads (now 2)"), std::string::npos)
      << none.err;
  EXPECT_TRUE(files_under(dir_ / "none").empty());
}

// --jobs and --threads beyond 1024: one usage error before any file is read, not a failure per
// file (--threads 2147483647 used to fail each input with "cannot allocate 34 TB").
TEST_F(Batch, JobsAndThreadsAboveTheLimitAreUsageErrors) {
  make_tree();
  for (const std::vector<std::string>& extra : {std::vector<std::string>{"--threads", "2147483647"},
                                                {"--threads", "1025"},
                                                {"--jobs", "1025"},
                                                {"--jobs", "99999999999999999999"}}) {
    std::vector<std::string> args{in_.string(), out_.string(), "-r"};
    args.insert(args.end(), extra.begin(), extra.end());
    const Result r = smooth(args);
    EXPECT_EQ(r.status, 2) << extra[0] << " " << extra[1] << ": " << r.err;
    EXPECT_NE(r.err.find(extra[0] + ": must lie in [0, 1024]"), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(out_));
  }
}

// Every parameter is checked before the first file is read: a bad one, or a bad combination, is
// one usage error (exit 2, said once), never a failure of each input after decoding it.
TEST_F(Batch, BadParametersAreOneUsageErrorBeforeAnyFileIsRead) {
  fs::create_directories(in_);
  for (int i = 0; i < 3; ++i) {
    io::write_image((in_ / (std::to_string(i) + ".png")).string(),
                    picture(16, 12, 1, PixelType::kU8, 40u + i));
  }
  struct Case {
    const char* exe;
    std::vector<std::string> args;
    const char* says;
  };
  const Case cases[] = {
      {PDEIMG_EDGES_EXE, {"--sigma", "nan"}, "must be a finite number >= 0"},
      {PDEIMG_EDGES_EXE, {"--sigma", "1e308"}, "too large"},
      {PDEIMG_EDGES_EXE, {"--sigma", "1e-300"}, "too small"},
      {PDEIMG_EDGES_EXE, {"--smooth", "perona-malik", "--sigma", "1e5"}, "more than 1e9"},
      {PDEIMG_EDGES_EXE, {"--smooth", "perona-malik", "--sigma", "1e-300"}, "too small"},
      {PDEIMG_EDGES_EXE, {"--smooth", "perona-malik", "--sigma", "1e200"}, "finite"},
      {PDEIMG_EDGES_EXE, {"--quantiles", "--low", "0.95"}, "high (0.9, the default)"},
      {PDEIMG_EDGES_EXE, {"--quantiles", "--high", "0.5"}, "low (0.8, the default)"},
      {PDEIMG_EDGES_EXE, {"--low", "2e4"}, "default high of every sample type"},
      {PDEIMG_EDGES_EXE, {"--high", "0.05"}, "default low of every sample type"},
      {PDEIMG_DENOISE_EXE, {"--method", "pm", "--time", "1e308"}, "more than 1e9"},
      {PDEIMG_DENOISE_EXE, {"--method", "pm", "--time", "1e9"}, "more than 1e9"},
      {PDEIMG_DENOISE_EXE,
       {"--method", "pm", "--dt", "1e-300"},
       "the automatic time for colour images"},
      {PDEIMG_DENOISE_EXE, {"--method", "pm", "--per-channel", "--dt", "1e-9"}, "more than 1e9"},
      {PDEIMG_SMOOTH_EXE, {"--sigma", "1e-300"}, "too small"},
      {PDEIMG_SMOOTH_EXE, {"--sigma", "1e308"}, "too large"},
      {PDEIMG_SMOOTH_EXE, {"--time", "1e308", "--scheme", "explicit"}, "more than 1e9 steps"},
      {PDEIMG_SMOOTH_EXE, {"--sigma", "1", "--threads", "2147483647"}, "[0, 1024]"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> args{in_.string(), out_.string(), "--backend", "cpu"};
    args.insert(args.end(), c.args.begin(), c.args.end());
    std::string line = fs::path(c.exe).filename().string();
    for (const auto& a : c.args) line += " " + a;
    const Result r = run(c.exe, args);
    EXPECT_EQ(r.status, 2) << line << "\n" << r.err;
    const std::size_t at = r.err.find(c.says);
    EXPECT_NE(at, std::string::npos) << line << "\n" << r.err;
    EXPECT_EQ(r.err.find(c.says, at + 1), std::string::npos) << line << ": said twice\n" << r.err;
    EXPECT_EQ(r.err.find(".png"), std::string::npos) << line << ": a file was read\n" << r.err;
    EXPECT_FALSE(fs::exists(out_)) << line;
  }
}

// --ext is an extension, not a path: "png/../../x.png" would write outside OUT_DIR.
TEST_F(Batch, ExtMustBeAPlainExtension) {
  fs::create_directories(in_ / "sub");
  io::write_image((in_ / "a.png").string(), picture(16, 12, 1, PixelType::kU8, 1));
  for (const std::string& ext : {"png/../../x.png", "../png", "p.ng", ".", "", "tif/", "t if"}) {
    if (ext.empty()) continue;
    const Result r = smooth({in_.string(), (dir_ / "o" / "p").string(), "--ext", ext});
    EXPECT_EQ(r.status, 2) << ext << ": " << r.err;
    EXPECT_NE(r.err.find("is not a plain extension"), std::string::npos) << r.err;
  }
  EXPECT_EQ(files_under(dir_), (std::set<std::string>{"in/a.png"}));
  for (const std::string& ext : {"tif", ".TIF", "bmp"}) {
    EXPECT_EQ(smooth({in_.string(), path("ok"), "--ext", ext, "--overwrite"}).status, 0) << ext;
  }
}

// The report's place is checked before any input is read: its folder is created when missing, and
// one that cannot be written to (read-only, or a file in the way) is a usage error naming the
// reason, in folder and single-file runs alike. It used to be found only after the whole folder
// was processed ("cannot write the report", no reason).
TEST_F(Batch, TheReportsFolderIsCreatedAndCheckedBeforeAnyInputIsRead) {
  fs::create_directories(in_);
  io::write_image((in_ / "a.png").string(), picture(16, 12, 1, PixelType::kU8, 1));
  io::write_image((in_ / "b.png").string(), picture(16, 12, 1, PixelType::kU8, 2));
  const Result folder = smooth({in_.string(), out_.string(), "--report", path("new/deep/r.json")});
  EXPECT_EQ(folder.status, 0) << folder.err;
  EXPECT_EQ(test::parse_json(slurp(path("new/deep/r.json")))["summary"]["done"], 2);
  const Result single =
      smooth({(in_ / "a.png").string(), path("one.png"), "--report", path("new2/r.json")});
  EXPECT_EQ(single.status, 0) << single.err;
  EXPECT_EQ(test::parse_json(slurp(path("new2/r.json"))).value("output", ""), path("one.png"));

  std::ofstream(path("file")) << "a file where a folder should be";
  for (const bool batch : {true, false}) {
    const Result r =
        batch ? smooth({in_.string(), path("o1"), "--report", path("file/r.json")})
              : smooth({(in_ / "a.png").string(), path("o1.png"), "--report", path("file/r.json")});
    EXPECT_EQ(r.status, 2) << r.err;
    EXPECT_NE(r.err.find("--report '" + path("file/r.json") + "': '" + path("file") +
                         "' is not a folder"),
              std::string::npos)
        << r.err;
  }
  EXPECT_FALSE(fs::exists(path("o1")));
  EXPECT_FALSE(fs::exists(path("o1.png")));

  // A read-only folder (root writes anyway: run as another user).
  fs::create_directories(path("ro"));
  fs::permissions(path("ro"), fs::perms::owner_read | fs::perms::owner_exec |
                                  fs::perms::group_read | fs::perms::group_exec |
                                  fs::perms::others_read | fs::perms::others_exec);
  const std::vector<std::string> common{"--sigma", "1", "--report", path("ro/r.json")};
  std::vector<std::string> batch_args{in_.string(), path("o2")},
      single_args{(in_ / "a.png").string(), path("o2.png")};
  batch_args.insert(batch_args.end(), common.begin(), common.end());
  single_args.insert(single_args.end(), common.begin(), common.end());
  const std::vector<std::string> as_batch = as_user(59201, 0, PDEIMG_SMOOTH_EXE, batch_args);
  if (as_batch.empty()) GTEST_SKIP() << "needs root and setpriv to run the app as another user";
  for (const auto& cmd : {as_batch, as_user(59201, 0, PDEIMG_SMOOTH_EXE, single_args)}) {
    const Result r = run(cmd);
    EXPECT_EQ(r.status, 2) << r.err;
    EXPECT_NE(r.err.find("--report '" + path("ro/r.json") + "': cannot write in the folder '" +
                         path("ro") + "': Permission denied"),
              std::string::npos)
        << r.err;
  }
  EXPECT_FALSE(fs::exists(path("o2")));
  EXPECT_FALSE(fs::exists(path("o2.png")));
  EXPECT_TRUE(fs::is_empty(path("ro")));
}

// IN OUT_DIR: one input (say, a glob that matched one file) into an existing folder, or into a
// folder named with a final '/' (created), is a folder run with one input; it used to be refused.
TEST_F(Batch, OneInputIntoAFolderIsAFolderRun) {
  fs::create_directories(in_);
  fs::create_directories(out_);
  const fs::path a = in_ / "a.png";
  io::write_image(a.string(), picture(16, 12, 1, PixelType::kU8, 1));
  const std::string before = slurp(a);
  const Result r = smooth({a.string(), out_.string(), "--report", path("r.json")});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("1 done"), std::string::npos) << r.out;
  EXPECT_EQ(files_under(out_), (std::set<std::string>{"a.png"}));
  EXPECT_EQ(test::parse_json(slurp(path("r.json")))["summary"]["done"], 1);
  EXPECT_TRUE(test::identical(io::read_image((out_ / "a.png").string()),
                              smoothed(io::read_image(a.string()))));
  // A missing folder named with a final '/' is created; folder options apply.
  const Result slash = smooth({a.string(), path("made") + "/", "--ext", "tif"});
  EXPECT_EQ(slash.status, 0) << slash.err;
  EXPECT_EQ(files_under(path("made")), (std::set<std::string>{"a.tif"}));
  // Into its own folder: its output would be itself; the input is untouched.
  const Result self = smooth({a.string(), in_.string()});
  EXPECT_EQ(self.status, 1) << self.err;
  EXPECT_NE(self.err.find("is the input file itself"), std::string::npos) << self.err;
  EXPECT_EQ(slurp(a), before);
  // Without the '/', a missing OUT is still an output file.
  EXPECT_EQ(smooth({a.string(), path("file.png")}).status, 0);
  EXPECT_TRUE(fs::is_regular_file(path("file.png")));
}

// A link to a folder is never followed (it may loop, or lead out of the tree), but it is counted:
// in the summary line, and in the report as an ignored entry with its reason.
TEST_F(Batch, LinksToFoldersAreCountedNotFollowed) {
  fs::create_directories(in_ / "sub");
  io::write_image((in_ / "a.png").string(), picture(16, 12, 1, PixelType::kU8, 1));
  io::write_image((in_ / "sub" / "b.png").string(), picture(16, 12, 1, PixelType::kU8, 2));
  fs::create_symlink("sub", in_ / "again");      // the same images again
  fs::create_symlink("..", in_ / "sub" / "up");  // a loop
  for (const bool recursive : {true, false}) {
    SCOPED_TRACE(recursive ? "--recursive" : "top folder only");
    fs::remove_all(out_);
    std::vector<std::string> args{in_.string(), out_.string(), "--report", path("r.json")};
    if (recursive) args.push_back("-r");
    const Result r = smooth(args);
    EXPECT_EQ(r.status, 0) << r.err;
    const int links = recursive ? 2 : 1;
    EXPECT_NE(r.out.find("0 other files ignored, " + std::to_string(links) +
                         " links to folders ignored (not followed)"),
              std::string::npos)
        << r.out;
    const std::set<std::string> made =
        recursive ? std::set<std::string>{"a.png", "sub/b.png"} : std::set<std::string>{"a.png"};
    EXPECT_EQ(files_under(out_), made);
    const nlohmann::json j = test::parse_json(slurp(path("r.json")));
    EXPECT_EQ(j["summary"]["ignored"], links) << j["summary"];
    EXPECT_EQ(j["summary"]["folder_links"], links) << j["summary"];
    const nlohmann::json e = test::report_entry(j, (in_ / "again").string());
    EXPECT_EQ(e.value("status", ""), "ignored") << j.dump(2);
    EXPECT_EQ(e.value("reason", ""), "a link to a folder (not followed)") << e;
  }
}

// One IN OUT pair stops as a folder run does: a signal during the write lets it complete (or
// fail and clean up) and then exits 128 + the signal, never leaving a temporary file; before the
// write a signal ends the run at once (nothing is on disk yet).
TEST_F(Batch, ASignalDuringASingleFileRunLeavesNoTemporaryFile) {
  const HostImage big = picture(3000, 3000, 3, PixelType::kU16, 9);
  io::write_image(path("in.tif"), big);
  const auto temporary = [&] {
    for (const auto& e : fs::directory_iterator(dir_)) {
      if (e.path().filename().string().rfind(".out.tmp-", 0) == 0) return true;
    }
    return false;
  };
  const pid_t pid = start(PDEIMG_SMOOTH_EXE,
                          {path("in.tif"), path("out.tif"), "--sigma", "0.5", "--backend", "cpu"});
  ASSERT_GT(pid, 0);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  bool seen = false;
  while (!seen && std::chrono::steady_clock::now() < deadline && !fs::exists(path("out.tif"))) {
    seen = temporary();
    if (!seen) std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  if (seen) ::kill(pid, SIGINT);
  const Result r = wait(pid);
  if (!seen) GTEST_SKIP() << "the write was over before the test saw its temporary file";
  EXPECT_EQ(r.status, 130) << r.err;
  EXPECT_NE(r.err.find("stopping: finishing the write in progress"), std::string::npos) << r.err;
  EXPECT_FALSE(temporary()) << "a temporary file was left behind";
  const HostImage out = io::read_image(path("out.tif"));  // complete
  EXPECT_EQ(out.width(), 3000);
  EXPECT_EQ(out.channels(), 3);

  // Before the write (here while reading): at once, nothing written.
  const pid_t early = start(
      PDEIMG_SMOOTH_EXE, {path("in.tif"), path("early.tif"), "--sigma", "0.5", "--backend", "cpu"});
  ASSERT_GT(early, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ::kill(early, SIGTERM);
  const Result e = wait(early);
  EXPECT_EQ(e.status, 143) << e.err;
  EXPECT_FALSE(fs::exists(path("early.tif")));
  EXPECT_EQ(std::count_if(fs::directory_iterator(dir_), fs::directory_iterator(),
                          [](const fs::directory_entry& f) {
                            return f.path().filename().string()[0] == '.';
                          }),
            0);
}

// The interrupted run: SIGINT mid-batch stops it with status 130, every output present is
// complete, no temporary file is left, and a rerun completes the set.
TEST_F(Batch, InterruptedRunLeavesNoPartialFilesAndResumes) {
  fs::create_directories(in_);
  const int count = 60;
  for (int i = 0; i < count; ++i) {
    io::write_image((in_ / (std::to_string(100 + i) + ".png")).string(),
                    picture(384, 384, 3, PixelType::kU8, 50u + i));
  }
  const pid_t pid =
      start(PDEIMG_DENOISE_EXE, {in_.string(), out_.string(), "--backend", "cpu", "--jobs", "2"});
  ASSERT_GT(pid, 0);
  // Wait until the batch is under way (a few outputs exist), then interrupt it.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  for (;;) {
    std::size_t done = 0;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(out_, ec)) done += e.path().extension() == ".png";
    if (done >= 3 || std::chrono::steady_clock::now() > deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ::kill(pid, SIGINT);
  const Result r = wait(pid);
  const std::set<std::string> first = files_under(out_);
  if (r.status == 0) {
    GTEST_SKIP() << "the run finished before the signal arrived; nothing was interrupted";
  }
  EXPECT_EQ(r.status, 130) << r.err;
  EXPECT_NE(r.err.find("stopping"), std::string::npos) << r.err;
  EXPECT_FALSE(has_hidden(first)) << "a temporary file was left behind";
  EXPECT_LT(first.size(), static_cast<std::size_t>(count));
  EXPECT_GE(first.size(), 3u);
  for (const auto& n : first) {
    const HostImage img = io::read_image((out_ / n).string());  // complete, decodable
    EXPECT_EQ(img.width(), 384) << n;
    EXPECT_EQ(img.channels(), 3) << n;
  }
  const Result rerun = run(PDEIMG_DENOISE_EXE, {in_.string(), out_.string(), "--backend", "cpu"});
  EXPECT_EQ(rerun.status, 0) << rerun.err;
  EXPECT_NE(rerun.out.find(std::to_string(count - first.size()) + " done, " +
                           std::to_string(first.size()) + " skipped"),
            std::string::npos)
      << rerun.out;
  EXPECT_EQ(files_under(out_).size(), static_cast<std::size_t>(count));
  EXPECT_FALSE(has_hidden(files_under(out_)));
}

// edges --magnitude MAG_DIR: a second tree of float magnitudes mirroring the edge maps, resumed
// file by file.
TEST_F(Batch, EdgesMagnitudeFolderMirrorsTheEdgeMapsAndResumesFileByFile) {
  struct Input {
    const char* rel;
    const char* mag;  // its magnitude, relative to MAG_DIR
    int w, h, channels;
    PixelType type;
  };
  const Input inputs[] = {
      {"x.png", "x.tif", 40, 30, 3, PixelType::kU8},
      {"sub/y.tif", "sub/y.tif", 33, 21, 1, PixelType::kF32},
      {"sub/deeper/z.png", "sub/deeper/z.tif", 17, 25, 1, PixelType::kU16},
  };
  fs::create_directories(in_ / "sub" / "deeper");
  std::set<std::string> outs, mags;
  unsigned seed = 20;
  for (const Input& i : inputs) {
    io::write_image((in_ / i.rel).string(), picture(i.w, i.h, i.channels, i.type, seed++));
    outs.insert(i.rel);
    mags.insert(i.mag);
  }
  const fs::path mag = dir_ / "mag";  // created by the run
  const std::string report = path("report.json");
  const auto edges = [&](std::vector<std::string> extra) {
    std::vector<std::string> args{in_.string(), out_.string(), "--recursive", "--magnitude",
                                  mag.string(), "--backend",   "cpu"};
    args.insert(args.end(), extra.begin(), extra.end());
    return run(PDEIMG_EDGES_EXE, args);
  };
  const Result r = edges({"--report", report});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(files_under(out_), outs);
  EXPECT_EQ(files_under(mag), mags);
  for (const Input& i : inputs) {
    SCOPED_TRACE(i.rel);
    const HostImage m = io::read_image((mag / i.mag).string());
    EXPECT_EQ(m.type(), PixelType::kF32);
    EXPECT_EQ(m.channels(), 1);
    EXPECT_EQ(m.width(), i.w);
    EXPECT_EQ(m.height(), i.h);
    EXPECT_EQ(io::read_image((out_ / i.rel).string()).type(), PixelType::kU8);
  }
  {  // the magnitude of each input, not of another: the library's, bit for bit (lossless TIFF)
    const HostImage src = io::read_image((in_ / "sub/y.tif").string());
    HostImage e(src.width(), src.height(), 1, PixelType::kU8);
    HostImage m(src.width(), src.height(), 1, PixelType::kF32);
    CannyImages images;
    images.magnitude = m;
    Context ctx(Backend::kCpu);
    canny(src, e, images, CannyParams{}, ctx);
    EXPECT_TRUE(test::identical(io::read_image((mag / "sub/y.tif").string()), m));
  }
  const nlohmann::json j = test::parse_json(slurp(report));
  for (const Input& i : inputs) {
    const nlohmann::json e = test::report_entry(j, (in_ / i.rel).string());
    EXPECT_EQ(e.value("output", ""), (out_ / i.rel).string()) << i.rel << "\n" << j.dump(2);
    EXPECT_EQ(e["extra_outputs"], nlohmann::json({{"magnitude", (mag / i.mag).string()}})) << e;
  }

  // A rerun skips every input: all its outputs exist.
  std::map<std::string, fs::file_time_type> before;
  for (const Input& i : inputs) {
    before[std::string("out/") + i.rel] = fs::last_write_time(out_ / i.rel);
    before[std::string("mag/") + i.mag] = fs::last_write_time(mag / i.mag);
  }
  const auto unchanged = [&](const std::string& except) {
    for (const auto& b : before) {
      if (b.first == except) continue;
      EXPECT_EQ(fs::last_write_time(dir_ / b.first), b.second) << b.first;
    }
  };
  const Result again = edges({});
  EXPECT_EQ(again.status, 0) << again.err;
  EXPECT_NE(again.out.find("0 done, 3 skipped"), std::string::npos) << again.out;
  unchanged("");

  // One magnitude lost (a run killed between the two writes): the rerun makes exactly it.
  fs::remove(mag / "sub/y.tif");
  const Result resume = edges({});
  EXPECT_EQ(resume.status, 0) << resume.err;
  EXPECT_NE(resume.out.find("1 done, 2 skipped"), std::string::npos) << resume.out;
  EXPECT_EQ(files_under(mag), mags);
  EXPECT_EQ(files_under(out_), outs);
  unchanged("mag/sub/y.tif");
  EXPECT_EQ(io::read_image((mag / "sub/y.tif").string()).width(), 33);

  // --overwrite redoes both trees.
  for (const Input& i : inputs)
    before[std::string("mag/") + i.mag] = fs::last_write_time(mag / i.mag);
  const Result redo = edges({"--overwrite"});
  EXPECT_EQ(redo.status, 0) << redo.err;
  EXPECT_NE(redo.out.find("3 done, 0 skipped"), std::string::npos) << redo.out;
  for (const auto& b : before) EXPECT_NE(fs::last_write_time(dir_ / b.first), b.second) << b.first;
  EXPECT_FALSE(has_hidden(files_under(dir_)));
}

TEST_F(Batch, EdgesMagnitudeFolderMustNotBeAnInputFolderNorCollideWithTheEdgeMaps) {
  fs::create_directories(in_ / "sub");
  io::write_image((in_ / "a.png").string(), picture(20, 16, 1, PixelType::kU8, 7));
  io::write_image((in_ / "sub" / "b.png").string(), picture(20, 16, 1, PixelType::kU8, 8));
  const std::string before = slurp(in_ / "a.png");
  const auto edges = [&](const std::string& mag, std::vector<std::string> extra) {
    std::vector<std::string> args{in_.string(), out_.string(), "-r", "--magnitude",
                                  mag,          "--backend",   "cpu"};
    args.insert(args.end(), extra.begin(), extra.end());
    return run(PDEIMG_EDGES_EXE, args);
  };
  // MAG_DIR = IN_DIR (also spelt differently): refused before anything is written.
  for (const std::string& mag : {in_.string(), (in_ / "sub" / "..").string() + "/"}) {
    const Result r = edges(mag, {});
    EXPECT_EQ(r.status, 2) << mag;
    EXPECT_NE(r.err.find("is the input folder"), std::string::npos) << r.err;
  }
  EXPECT_FALSE(fs::exists(out_));
  EXPECT_EQ(files_under(in_), (std::set<std::string>{"a.png", "sub/b.png"}));
  EXPECT_EQ(slurp(in_ / "a.png"), before);
  // MAG_DIR = OUT_DIR when the names collide (edge maps as .tif): refused, naming the file.
  const Result same = edges(out_.string(), {"--ext", "tif"});
  EXPECT_EQ(same.status, 2);
  EXPECT_NE(same.err.find("is OUT_DIR"), std::string::npos) << same.err;
  EXPECT_NE(same.err.find((out_ / "a.tif").string()), std::string::npos) << same.err;
  EXPECT_FALSE(fs::exists(out_));
  // A file as MAG_DIR: refused.
  std::ofstream(path("file")) << "x";
  EXPECT_EQ(edges(path("file"), {}).status, 2);
  // MAG_DIR = OUT_DIR when the extensions keep the names apart: the two side by side. MAG_DIR
  // inside IN_DIR: never read back as inputs.
  const Result beside = edges(out_.string(), {});
  EXPECT_EQ(beside.status, 0) << beside.err;
  EXPECT_EQ(files_under(out_), (std::set<std::string>{"a.png", "a.tif", "sub/b.png", "sub/b.tif"}));
  // A magnitude that cannot be written fails its input (the others still run); once the cause is
  // gone, a rerun writes just it.
  const fs::path out2 = dir_ / "out2", mag2 = dir_ / "mag2";
  fs::create_directories(mag2);
  std::ofstream(mag2 / "sub") << "a file where a folder should be";
  const std::vector<std::string> args2{in_.string(),  out2.string(), "-r",
                                       "--magnitude", mag2.string(), "--backend",
                                       "cpu",         "--report",    path("r2.json")};
  const Result broken = run(PDEIMG_EDGES_EXE, args2);
  EXPECT_EQ(broken.status, 1) << broken.err;
  EXPECT_NE(broken.err.find((mag2 / "sub" / "b.tif").string()), std::string::npos) << broken.err;
  EXPECT_NE(broken.out.find("1 done, 0 skipped (exist), 1 failed"), std::string::npos)
      << broken.out;
  EXPECT_EQ(
      test::report_entry(test::parse_json(slurp(path("r2.json"))), (in_ / "sub" / "b.png").string())
          .value("status", ""),
      "failed");
  fs::remove(mag2 / "sub");
  const Result fixed = run(PDEIMG_EDGES_EXE, args2);
  EXPECT_EQ(fixed.status, 0) << fixed.err;
  EXPECT_NE(fixed.out.find("1 done, 1 skipped"), std::string::npos) << fixed.out;
  EXPECT_EQ(files_under(mag2), (std::set<std::string>{"a.tif", "sub/b.tif"}));
  EXPECT_EQ(files_under(out2), (std::set<std::string>{"a.png", "sub/b.png"}));

  const Result inside = edges((in_ / "mag").string(), {});
  EXPECT_EQ(inside.status, 0) << inside.err;
  EXPECT_NE(inside.out.find("2 done, 0 skipped"), std::string::npos) << inside.out;
  EXPECT_EQ(files_under(in_ / "mag"), (std::set<std::string>{"a.tif", "sub/b.tif"}));
  const Result rerun = edges((in_ / "mag").string(), {});
  EXPECT_EQ(rerun.status, 0) << rerun.err;
  EXPECT_NE(rerun.out.find("0 done, 2 skipped (exist), 0 failed, 0 other files ignored"),
            std::string::npos)
      << rerun.out;
}

// What escaped_bytes writes, decoded: "\\" is a backslash, "\xHH" a byte.
std::string unescape_bytes(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size() && s[i + 1] == '\\') {
      out += '\\';
      ++i;
    } else if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] == 'x') {
      out += static_cast<char>(std::stoi(s.substr(i + 2, 2), nullptr, 16));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

// File names are bytes, JSON is UTF-8: a name that is not UTF-8 keeps the report valid JSON, shown
// with U+FFFD for the bad byte, and is given exactly, escaped, beside it ("<key>_bytes").
TEST_F(Batch, NamesThatAreNotUtf8KeepTheReportValidAndAreGivenExactly) {
  fs::create_directories(in_);
  const std::string name = "caf\xe9 \xff\\x.png";  // Latin-1 e-acute, a stray 0xff, a backslash
  const fs::path input = in_ / name;
  io::write_image(input.string(), picture(16, 12, 1, PixelType::kU8, 5));
  io::write_image((in_ / "plain.png").string(), picture(16, 12, 1, PixelType::kU8, 6));
  const Result r = smooth({in_.string(), out_.string(), "--report", path("r.json")});
  ASSERT_EQ(r.status, 0) << r.err;
  const std::string text = slurp(path("r.json"));
  const nlohmann::json j = test::parse_json(text);
  ASSERT_TRUE(j.is_object());
  const std::string shown = app::detail::valid_utf8(input.string());
  EXPECT_NE(shown.find("caf\xef\xbf\xbd \xef\xbf\xbd\\x.png"), std::string::npos) << shown;
  const nlohmann::json e = test::report_entry(j, shown);
  ASSERT_TRUE(e.is_object()) << text;
  EXPECT_EQ(e.value("status", ""), "done") << e;
  EXPECT_EQ(unescape_bytes(e.value("input_bytes", "")), input.string()) << e;
  EXPECT_EQ(unescape_bytes(e.value("output_bytes", "")), (out_ / name).string()) << e;
  EXPECT_TRUE(fs::exists(out_ / name));
  // Valid names get no "_bytes" twin.
  EXPECT_FALSE(test::report_entry(j, (in_ / "plain.png").string()).contains("input_bytes"));

  // The single-file report alike.
  const std::string out = path("caf\xe9.png");
  const Result one = smooth({input.string(), out, "--report", path("one.json")});
  ASSERT_EQ(one.status, 0) << one.err;
  const nlohmann::json s = test::parse_json(slurp(path("one.json")));
  ASSERT_TRUE(s.is_object());
  EXPECT_EQ(unescape_bytes(s.value("input_bytes", "")), input.string()) << s;
  EXPECT_EQ(unescape_bytes(s.value("output_bytes", "")), out) << s;
  EXPECT_EQ(s.value("output", ""), app::detail::valid_utf8(out)) << s;
}

// valid_utf8 keeps well-formed UTF-8 and replaces each byte that starts no well-formed sequence.
TEST(ReportText, InvalidUtf8BytesBecomeReplacementCharacters) {
  using app::detail::valid_utf8;
  const std::string fffd = "\xef\xbf\xbd";
  bool changed = true;
  const std::string good = "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80z";  // a, e-acute, euro, emoji
  EXPECT_EQ(valid_utf8(good, &changed), good);
  EXPECT_FALSE(changed);
  EXPECT_EQ(valid_utf8("\xff", &changed), fffd);
  EXPECT_TRUE(changed);
  EXPECT_EQ(valid_utf8("\xc0\xaf"), fffd + fffd);                        // overlong '/'
  EXPECT_EQ(valid_utf8("\xed\xa0\x80"), fffd + fffd + fffd);             // a surrogate
  EXPECT_EQ(valid_utf8("\xf4\x90\x80\x80"), fffd + fffd + fffd + fffd);  // above U+10FFFF
  EXPECT_EQ(valid_utf8("x\xe2\x82"), "x" + fffd + fffd);                 // truncated at the end
  EXPECT_EQ(app::detail::escaped_bytes("a\\b\xff\n"), "a\\\\b\\xff\\x0a");
}

// The names of write_image's temporary files (src/io/temp_name.hpp).
TEST(TempName, ParsesWhatItMakesAndNothingElse) {
  using io::detail::parse_temp_name;
  using io::detail::temp_name;
  io::detail::TempName t;
  ASSERT_TRUE(parse_temp_name(temp_name("photo", ".png", "node-01", 1234, 7), t));
  EXPECT_EQ(t.host, "node-01");
  EXPECT_EQ(t.pid, 1234);
  // No extension (a report named without one); dots and ".tmp-" inside the stem; big numbers.
  ASSERT_TRUE(parse_temp_name(temp_name("report", "", "h", 5, 0), t));
  EXPECT_EQ(t.host, "h");
  EXPECT_EQ(t.pid, 5);
  ASSERT_TRUE(
      parse_temp_name(temp_name("a.tmp-b.c", ".tif", "gpu_3", 2147483647, 4000000000ul), t));
  EXPECT_EQ(t.host, "gpu_3");
  EXPECT_EQ(t.pid, 2147483647);
  EXPECT_TRUE(parse_temp_name(".x.tmp-vm-77-0.jpeg", t));
  // Long stems are shortened to keep the name within 255 bytes, never inside a UTF-8 character.
  const std::string long_host(64, 'h');
  for (const std::size_t len : {200u, 240u, 251u, 300u}) {
    for (const std::string unit : {std::string("L"), std::string("\xc3\xa9")}) {  // "é": 2 bytes
      std::string stem;
      while (stem.size() < len) stem += unit;
      const std::string name = temp_name(stem, ".png", long_host, 2147483647, 4000000000ul);
      EXPECT_LE(name.size(), 255u) << len;
      ASSERT_TRUE(parse_temp_name(name, t)) << name;
      EXPECT_EQ(t.host, long_host);
      const std::size_t kept = name.find(".tmp-") - 1;
      EXPECT_EQ(name.compare(1, kept, stem, 0, kept), 0);
      EXPECT_EQ(kept % unit.size(), 0u) << "cut inside a character";
      if (stem.size() + 1 + (name.size() - 1 - kept) <= 255) EXPECT_EQ(kept, stem.size());
    }
  }

  for (const char* name : {
           "",
           ".",
           "photo.png",
           ".hidden.png",
           ".photo.png.tmp",
           "photo.tmp-h-1-0.png",       // not hidden
           ".photo.tmp-1234-0.png",     // the old name, without a host
           ".tmp-h-1-0.png",            // no stem
           ".photo.tmp--1-0.png",       // no host
           ".photo.tmp-h.lan-1-0.png",  // a host that was not sanitised
           ".photo.tmp-h-12a-0.png",    // malformed pids
           ".photo.tmp-h--0.png",
           ".photo.tmp-h-0-0.png",
           ".photo.tmp-h-2147483648-0.png",
           ".photo.tmp-h-99999999999-0.png",
           ".photo.tmp-h-+5-0.png",
           ".photo.tmp-h- 5-0.png",
           ".photo.tmp-h-1-x.png",  // malformed counter
           ".photo.tmp-h-1-.png",
           ".photo.tmp-h-1.png",
           ".photo.tmp-h.png",
           ".photo.tmp-.png",
       }) {
    EXPECT_FALSE(parse_temp_name(name, t)) << "'" << name << "'";
  }
  EXPECT_EQ(io::detail::sanitized_host("node1.example.org"), "node1_example_org");
  EXPECT_EQ(io::detail::sanitized_host("a b/c\xc3\xa9-_Z9"), "a_b_c__-_Z9");
  const std::string& host = io::detail::temp_host();
  EXPECT_EQ(io::detail::sanitized_host(host), host);
}

// A process id that no process has now: probing upward from a high number.
pid_t dead_pid() {
  for (pid_t pid = 400000; pid < 2000000000; ++pid) {
    if (::kill(pid, 0) == -1 && errno == ESRCH) return pid;
  }
  return -1;
}

// A SIGKILL leaves write_image's temporary file behind; the next run removes those of this host
// whose process has ended, in the folders it writes to, and nothing else.
TEST_F(Batch, StaleTemporaryFilesOfEndedProcessesOfThisHostAreRemoved) {
  const std::string& host = io::detail::temp_host();
  if (host.empty()) GTEST_SKIP() << "this machine has no host name";
  const pid_t dead = dead_pid();
  ASSERT_GT(dead, 0);
  fs::create_directories(in_ / "sub");
  io::write_image((in_ / "a.png").string(), picture(20, 16, 1, PixelType::kU8, 1));
  io::write_image((in_ / "sub" / "b.png").string(), picture(20, 16, 1, PixelType::kU8, 2));
  fs::create_directories(out_ / "sub");
  fs::create_directories(dir_ / "elsewhere");
  // Files untouched for an hour; one of a dead process written a minute ago may still be another
  // container's (same host name, its own process ids) and stays.
  unsigned long counter = 0;
  const auto temp = [&](const fs::path& folder, const std::string& h, long pid,
                        std::chrono::minutes age = std::chrono::minutes(60)) {
    const fs::path p = folder / io::detail::temp_name("a", ".png", h, pid, ++counter);
    std::ofstream(p, std::ios::binary) << "half an image";
    fs::last_write_time(p, fs::file_time_type::clock::now() - age);
    return p;
  };
  const fs::path stale = temp(out_, host, dead);
  const fs::path stale_sub = temp(out_ / "sub", host, dead);
  const fs::path foreign = temp(out_, host + "-elsewhere", dead);  // shared storage
  const fs::path live = temp(out_, host, ::getpid());              // a run still writing
  const fs::path init = temp(out_, host, 1);  // alive, and maybe another user's (EPERM)
  const fs::path not_output = temp(dir_ / "elsewhere", host, dead);
  const fs::path in_input = temp(in_, host, dead);  // IN_DIR is not written to
  const fs::path recent = temp(out_ / "sub", host, dead, std::chrono::minutes(1));
  std::ofstream(out_ / ".a.png.notes") << "not a temporary file";

  const Result r = smooth({in_.string(), out_.string(), "-r", "-v"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_FALSE(fs::exists(stale));
  EXPECT_FALSE(fs::exists(stale_sub));
  for (const fs::path& kept : {foreign, live, init, not_output, in_input, recent}) {
    EXPECT_TRUE(fs::exists(kept)) << kept;
  }
  EXPECT_TRUE(fs::exists(out_ / ".a.png.notes"));
  EXPECT_NE(r.out.find("2 stale temporary files removed"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("removed '" + stale.string() + "'"), std::string::npos) << r.out;
  EXPECT_EQ(files_under(out_).count("a.png"), 1u);
  EXPECT_EQ(files_under(out_).count("sub/b.png"), 1u);
  // Nothing left to remove: the summary says nothing of it.
  const Result again = smooth({in_.string(), out_.string(), "-r"});
  EXPECT_EQ(again.out.find("stale"), std::string::npos) << again.out;
}

// A single IN OUT run cleans the folders it writes to (OUT's, the extra outputs', the report's)
// of stale temporary files as folder runs do.
TEST_F(Batch, SingleFileRunsRemoveStaleTemporaryFilesToo) {
  const std::string& host = io::detail::temp_host();
  if (host.empty()) GTEST_SKIP() << "this machine has no host name";
  const pid_t dead = dead_pid();
  ASSERT_GT(dead, 0);
  fs::create_directories(dir_ / "out");
  fs::create_directories(dir_ / "mag");
  fs::create_directories(dir_ / "rep");
  io::write_image(path("in.png"), picture(20, 16, 1, PixelType::kU8, 1));
  unsigned long counter = 0;
  const auto temp = [&](const fs::path& folder, long pid) {
    const fs::path p = folder / io::detail::temp_name("x", ".png", host, pid, ++counter);
    std::ofstream(p, std::ios::binary) << "half an image";
    fs::last_write_time(p, fs::file_time_type::clock::now() - std::chrono::minutes(60));
    return p;
  };
  const fs::path stale_out = temp(dir_ / "out", dead), stale_mag = temp(dir_ / "mag", dead),
                 stale_rep = temp(dir_ / "rep", dead), live = temp(dir_ / "out", ::getpid());
  const Result r = run(PDEIMG_EDGES_EXE, {path("in.png"), (dir_ / "out" / "e.png").string(),
                                          "--magnitude", (dir_ / "mag" / "m.tif").string(),
                                          "--report", (dir_ / "rep" / "r.json").string(), "-v"});
  EXPECT_EQ(r.status, 0) << r.err;
  for (const fs::path& p : {stale_out, stale_mag, stale_rep}) EXPECT_FALSE(fs::exists(p)) << p;
  EXPECT_TRUE(fs::exists(live));
  EXPECT_NE(r.out.find("removed '" + stale_out.string() + "'"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace pdeimg
