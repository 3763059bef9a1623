// The `smooth` app end to end: it runs the built binary on generated files and checks what it
// wrote, what it printed and its exit status (0 ok, 1 an input failed, 2 usage error).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <ostream>
#include <string>
#include <vector>

#include "pdeimg/context.hpp"
#include "pdeimg/heat.hpp"
#include "pdeimg/io.hpp"
#include "tests/app_runner.hpp"
#include "tests/test_util.hpp"

namespace fs = std::filesystem;

namespace pdeimg {
namespace {

using test::identical;
using test::random_image;

using Result = test::AppResult;
using test::slurp;

class SmoothApp : public test::AppTest {
 protected:
  /// Runs `smooth args...` with stdout and stderr captured in files of the test folder.
  Result smooth(const std::vector<std::string>& args) const { return run(PDEIMG_SMOOTH_EXE, args); }

  /// The library's own result for the same input: what the app must have written.
  static HostImage library_result(const HostImage& in, double sigma) {
    Context ctx(Backend::kCpu);
    HeatParams p;
    p.sigma = sigma;
    HostImage out(in.width(), in.height(), in.channels(), in.type());
    heat_smooth(in, out, p, ctx);
    return out;
  }

  /// A smooth-ish test picture (a bright square on a ramp plus noise) in the given type.
  static HostImage picture(int channels, PixelType type) {
    const float top = type == PixelType::kU8 ? 255.0f : type == PixelType::kU16 ? 65535.0f : 1.0f;
    HostImage img = random_image(45, 31, channels, type, 0.0f, 0.2f * top, 5);
    for (int y = 8; y < 20; ++y)
      for (int x = 10; x < 30; ++x)
        for (int c = 0; c < channels; ++c) test::set(img, x, y, c, 0.9f * top);
    return img;
  }
};

// --- what it writes ---------------------------------------------------------------------------

using Case = test::FormatCase;

class SmoothAppKeeps : public SmoothApp, public ::testing::WithParamInterface<Case> {};

TEST_P(SmoothAppKeeps, ShapeDepthChannelsAndTheLibraryResult) {
  const Case c = GetParam();
  const HostImage in = picture(c.channels, c.type);
  const std::string in_file = path(std::string("in") + c.ext);
  const std::string out_file = path(std::string("out") + c.ext);
  io::write_image(in_file, in);

  const Result r = smooth({in_file, out_file, "--sigma", "2", "--backend", "cpu"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(r.err.empty()) << r.err;
  const HostImage out = io::read_image(out_file);
  EXPECT_EQ(out.width(), in.width());
  EXPECT_EQ(out.height(), in.height());
  EXPECT_EQ(out.channels(), in.channels());
  EXPECT_EQ(out.type(), in.type());
  const HostImage expect = library_result(in, 2.0);
  EXPECT_TRUE(identical(expect, out)) << "max |diff| " << test::max_abs_diff(expect, out);
  EXPECT_FALSE(identical(in, out)) << "the image was not smoothed";
}

INSTANTIATE_TEST_SUITE_P(Formats, SmoothAppKeeps,
                         ::testing::Values(Case{"png_u8_grey", ".png", 1, PixelType::kU8},
                                           Case{"png_u8_colour", ".png", 3, PixelType::kU8},
                                           Case{"png_u8_alpha", ".png", 4, PixelType::kU8},
                                           Case{"png_u16_grey", ".png", 1, PixelType::kU16},
                                           Case{"png_u16_colour", ".png", 3, PixelType::kU16},
                                           Case{"tif_f32_grey", ".tif", 1, PixelType::kF32},
                                           Case{"tif_f32_colour", ".tif", 3, PixelType::kF32},
                                           Case{"tif_u16_grey", ".tiff", 1, PixelType::kU16},
                                           Case{"bmp_u8_colour", ".bmp", 3, PixelType::kU8}),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return std::string(info.param.name);
                         });

TEST_F(SmoothApp, JpegKeepsShapeDepthAndChannels) {
  io::write_image(path("in.jpg"), picture(3, PixelType::kU8));
  const Result r = smooth({path("in.jpg"), path("out.jpg"), "--sigma", "1"});
  ASSERT_EQ(r.status, 0) << r.err;
  const HostImage out = io::read_image(path("out.jpg"));
  EXPECT_EQ(out.width(), 45);
  EXPECT_EQ(out.height(), 31);
  EXPECT_EQ(out.channels(), 3);
  EXPECT_EQ(out.type(), PixelType::kU8);
}

TEST_F(SmoothApp, TimeAndEquivalentSigmaGiveTheSameFile) {
  const HostImage in = picture(1, PixelType::kU16);
  io::write_image(path("in.png"), in);
  ASSERT_EQ(smooth({path("in.png"), path("a.png"), "--sigma", "3"}).status, 0);
  ASSERT_EQ(smooth({path("in.png"), path("b.png"), "--time", "4.5"}).status, 0);  // T = 3^2 / 2
  EXPECT_TRUE(identical(io::read_image(path("a.png")), io::read_image(path("b.png"))));
}

// --scheme: auto says which solver ran and why; a large sigma goes to the spectral solver.
TEST_F(SmoothApp, SchemeIsChosenAndReported) {
  io::write_image(path("in.png"), picture(1, PixelType::kU8));
  Result r = smooth({path("in.png"), path("out.png"), "--sigma", "40", "-v"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("spectral (exact)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("auto chose spectral"), std::string::npos) << r.out;
  r = smooth({path("in.png"), path("fed.png"), "--sigma", "4", "--scheme", "fed", "-v"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("fed "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(" cycles"), std::string::npos) << r.out;
}

// Any legal output name works, also one whose temporary name would pass 255 bytes.
TEST_F(SmoothApp, LongestLegalOutputNamesAreWritten) {
  io::write_image(path("in.png"), picture(1, PixelType::kU8));
  for (const std::size_t len : {236u, 251u}) {
    const std::string name = std::string(len, 'L') + ".png";
    const Result r = smooth({path("in.png"), path(name), "--sigma", "1"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(io::read_image(path(name)).width(), 45);
  }
}

TEST_F(SmoothApp, ReplacesAnExistingDifferentOutput) {
  io::write_image(path("in.png"), picture(1, PixelType::kU8));
  io::write_image(path("out.png"), HostImage(3, 3, 3, PixelType::kU8));
  ASSERT_EQ(smooth({path("in.png"), path("out.png"), "-s", "1"}).status, 0);
  EXPECT_EQ(io::read_image(path("out.png")).width(), 45);
}

TEST_F(SmoothApp, VerbosePrintsBackendDeviceStepsAndTimes) {
  io::write_image(path("in.png"), picture(1, PixelType::kU8));
  const Result r = smooth({path("in.png"), path("out.png"), "--sigma", "2", "--backend", "cpu",
                           "--threads", "1", "--scheme", "explicit", "-v"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("backend cpu"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("CPU (1 thread)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("45x31 1ch uint8"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(std::to_string(heat_steps_for(2.0)) + " steps"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(" ms"), std::string::npos) << r.out;
  // Quiet without -v.
  EXPECT_TRUE(smooth({path("in.png"), path("out2.png"), "--sigma", "2"}).out.empty());
}

// --- the report: what the batch report says for the same input ------------------------------

TEST_F(SmoothApp, ReportListsTheParametersTheBatchReportLists) {
  io::write_image(path("in.png"), picture(3, PixelType::kU16));
  const Reports r = reports_of_both_modes(PDEIMG_SMOOTH_EXE, path("in.png"),
                                          {"--sigma", "1.5", "--backend", "cpu"});
  // T = 1.5^2 / 2, exactly.
  EXPECT_EQ(r.parameters["time"], 1.125) << r.parameters;
  EXPECT_EQ(r.parameters["sigma"], 1.5) << r.parameters;
  EXPECT_EQ(r.parameters["steps"], heat_steps_for(1.125)) << r.parameters;
  EXPECT_EQ(r.parameters["backend"], "cpu") << r.parameters;
  EXPECT_EQ(r.single["image"]["channels"], 3) << r.single;
  EXPECT_EQ(r.single["image"]["type"], "uint16") << r.single;
}

TEST_F(SmoothApp, ReportNamingTheInputOrTheOutputIsAUsageError) {
  io::write_image(path("in.png"), picture(1, PixelType::kU8));
  expect_report_naming_an_image_refused(PDEIMG_SMOOTH_EXE, path("in.png"), path("out.png"),
                                        {"--sigma", "1"});
}

TEST_F(SmoothApp, VersionNamesTheLibraryAndItsSource) {
  const Result r = smooth({"--version"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find(std::string("smooth (pdeimg ") + version() + ", source " + source_commit()),
            std::string::npos)
      << r.out;
}

TEST_F(SmoothApp, HelpExitsZeroAndDocumentsTheOptions) {
  const Result r = smooth({"--help"});
  EXPECT_EQ(r.status, 0);
  for (const char* s : {"--sigma", "--time", "--backend", "-v", "Exit status"}) {
    EXPECT_NE(r.out.find(s), std::string::npos) << s << " missing from:\n" << r.out;
  }
}

// --- usage errors: exit 2, nothing written --------------------------------------------------

TEST_F(SmoothApp, UsageErrorsExitTwo) {
  io::write_image(path("in.png"), picture(1, PixelType::kU8));
  const std::string in = path("in.png");
  const std::string out = path("out.png");
  const std::vector<std::vector<std::string>> bad = {
      {},                                        // no arguments
      {in},                                      // no OUT
      {in, out},                                 // neither --sigma nor --time
      {in, out, "--sigma", "1", "--time", "2"},  // both
      {in, out, "--sigma", "0"},                 // not positive
      {in, out, "--sigma", "-1"},
      {in, out, "--sigma", "nan"},
      {in, out, "--time", "abc"},
      {in, out, "--sigma", "1", "--backend", "opencl"},  // unknown backend
      {in, out, "--sigma", "1", "--threads", "-3"},
      {in, out, "--sigma", "1", "--threads", "2147483647"},  // at most 1024
      {in, out, "--sigma", "1", "--frobnicate"},             // unknown option
      {in, out, "extra", "--sigma", "1"},                    // too many positionals
      {in, out, "--sigma", "1e6", "--scheme", "explicit"},   // more than 1e9 steps
      {in, out, "--sigma", "1", "--scheme", "implicit"},     // no such scheme
      {in, path("out.notaformat"), "--sigma", "1"},          // no writer for the extension
      {in, path("no/such/dir/out.png"), "--sigma", "1"},
  };
  for (const auto& args : bad) {
    std::string line;
    for (const auto& a : args) line += a + " ";
    const Result r = smooth(args);
    EXPECT_EQ(r.status, 2) << "smooth " << line << "\n" << r.err;
    EXPECT_FALSE(r.err.empty()) << "smooth " << line << ": no message";
  }
  EXPECT_FALSE(fs::exists(out));
  const Result r = smooth({in, out, "--sigma", "1", "--backend", "opencl"});
  EXPECT_NE(r.err.find("backend"), std::string::npos) << r.err;
  const Result both = smooth({in, out, "--sigma", "1", "--time", "2"});
  EXPECT_NE(both.err.find("exactly one of --sigma and --time"), std::string::npos) << both.err;
}

TEST_F(SmoothApp, NeverWritesOverItsInput) {
  io::write_image(path("in.png"), picture(3, PixelType::kU8));
  const std::string before = slurp(path("in.png"));
  const auto mtime = fs::last_write_time(path("in.png"));
  std::vector<std::string> same_names = {path("in.png"),
                                         (dir_ / "." / "x" / ".." / "in.png").string()};
  std::error_code ec;
  fs::create_symlink(dir_ / "in.png", dir_ / "link.png", ec);
  if (!ec) same_names.push_back(path("link.png"));
  fs::create_hard_link(dir_ / "in.png", dir_ / "hard.png", ec);
  if (!ec) same_names.push_back(path("hard.png"));
  for (const auto& out : same_names) {
    const Result r = smooth({path("in.png"), out, "--sigma", "2"});
    EXPECT_EQ(r.status, 2) << out;
    EXPECT_NE(r.err.find("input file"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(out), std::string::npos) << r.err;
  }
  EXPECT_EQ(slurp(path("in.png")), before);
  EXPECT_EQ(fs::last_write_time(path("in.png")), mtime);
}

// --- failed inputs: exit 1, the file named ------------------------------------------------

TEST_F(SmoothApp, MissingInputExitsOneNamingIt) {
  const Result r = smooth({path("nothere.png"), path("out.png"), "--sigma", "1"});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find(path("nothere.png")), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("does not exist"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(path("out.png")));
}

TEST_F(SmoothApp, CorruptInputExitsOneNamingIt) {
  io::write_image(path("good.png"), picture(3, PixelType::kU8));
  const std::string bytes = slurp(path("good.png"));
  {
    std::ofstream f(path("bad.png"), std::ios::binary);
    f << bytes.substr(0, bytes.size() / 2);
  }
  {
    std::ofstream f(path("text.tif"), std::ios::binary);
    f << "not an image at all";
  }
  for (const char* name : {"bad.png", "text.tif"}) {
    const Result r = smooth({path(name), path("out.png"), "--sigma", "1"});
    EXPECT_EQ(r.status, 1) << name;
    EXPECT_NE(r.err.find(path(name)), std::string::npos) << r.err;
  }
  EXPECT_FALSE(fs::exists(path("out.png")));
}

// --max-pixels: an input larger than the limit fails from its header (exit 1, naming the option),
// in a single-file and in a folder run; 0 turns the limit off.
TEST_F(SmoothApp, InputsOverMaxPixelsFailNamingTheLimit) {
  io::write_image(path("in.png"), picture(3, PixelType::kU8));  // 45 x 31 x 3 = 4185 samples
  Result r = smooth({path("in.png"), path("out.png"), "--sigma", "1", "--max-pixels", "4184"});
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_NE(r.err.find("4185 samples, more than the limit of 4184 samples (--max-pixels)"),
            std::string::npos)
      << r.err;
  EXPECT_FALSE(fs::exists(path("out.png")));
  r = smooth({path("in.png"), path("out.png"), "--sigma", "1", "--max-pixels", "4185"});
  EXPECT_EQ(r.status, 0) << r.err;
  r = smooth({path("in.png"), path("out2.png"), "--sigma", "1", "--max-pixels", "0"});
  EXPECT_EQ(r.status, 0) << r.err;
  fs::create_directories(path("folder"));
  io::write_image(path("folder/a.png"), picture(3, PixelType::kU8));
  io::write_image(path("folder/b.png"), random_image(10, 10, 1, PixelType::kU8, 0, 255, 1));
  r = smooth({path("folder"), path("outs"), "--sigma", "1", "--max-pixels", "1000", "-q"});
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_NE(r.err.find("--max-pixels"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(path("outs/a.png")));
  EXPECT_TRUE(fs::exists(path("outs/b.png")));
}

// A float input with NaN or infinite samples fails by default, naming how many, where the first
// is and the option that accepts them; with --non-finite missing they are left out and written
// back unchanged, and the rest is smoothed to finite values.
TEST_F(SmoothApp, NonFiniteSamplesFailOrAreMissingDataWithTheOption) {
  HostImage in = picture(1, PixelType::kF32);
  in.row<float>(4)[7] = std::numeric_limits<float>::quiet_NaN();
  in.row<float>(20)[3] = -std::numeric_limits<float>::infinity();
  io::write_image(path("in.tif"), in);
  Result r = smooth({path("in.tif"), path("out.tif"), "--sigma", "2"});
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_NE(r.err.find("2 non-finite samples (NaN or infinity), the first at x 7, y 4, channel 0; "
                       "give --non-finite missing"),
            std::string::npos)
      << r.err;
  EXPECT_FALSE(fs::exists(path("out.tif")));
  r = smooth({path("in.tif"), path("out.tif"), "--sigma", "2", "--non-finite", "missing"});
  ASSERT_EQ(r.status, 0) << r.err;
  const HostImage out = io::read_image(path("out.tif"));
  for (int y = 0; y < out.height(); ++y)
    for (int x = 0; x < out.width(); ++x) {
      const float v = out.row<float>(y)[x];
      if (x == 7 && y == 4) {
        EXPECT_TRUE(std::isnan(v));
      } else if (x == 3 && y == 20) {
        EXPECT_EQ(v, -std::numeric_limits<float>::infinity());
      } else {
        ASSERT_TRUE(std::isfinite(v)) << x << "," << y;
      }
    }
  r = smooth({path("in.tif"), path("out.tif"), "--sigma", "2", "--non-finite", "zero"});
  EXPECT_EQ(r.status, 2) << r.err;

  // Finite but huge (one 1e38 pixel; GDAL's NoData value -3.4e38): finite results, exit 0.
  HostImage huge = picture(1, PixelType::kF32);
  huge.row<float>(10)[10] = 1e38f;
  huge.row<float>(10)[11] = -3.4e38f;
  io::write_image(path("huge.tif"), huge);
  r = smooth({path("huge.tif"), path("huge_out.tif"), "--sigma", "2"});
  ASSERT_EQ(r.status, 0) << r.err;
  const HostImage smoothed = io::read_image(path("huge_out.tif"));
  for (int y = 0; y < smoothed.height(); ++y)
    for (int x = 0; x < smoothed.width(); ++x)
      ASSERT_TRUE(std::isfinite(smoothed.row<float>(y)[x])) << x << "," << y;
}

TEST_F(SmoothApp, OutputFormatThatCannotHoldTheDepthExitsOne) {
  io::write_image(path("deep.png"), picture(1, PixelType::kU16));
  const Result r = smooth({path("deep.png"), path("out.jpg"), "--sigma", "1"});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find(path("out.jpg")), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("uint16"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(path("out.jpg")));
}

// --- backends -------------------------------------------------------------------------------

// Decision: a backend this machine cannot run is a usage error (exit 2): nothing was processed,
// and the same command works on a machine with a device.
TEST_F(SmoothApp, CudaBackendWithoutADeviceIsAUsageErrorNotACrash) {
  const HostImage in = picture(1, PixelType::kF32);
  io::write_image(path("in.tif"), in);
  const Result r = smooth({path("in.tif"), path("out.tif"), "--sigma", "2", "--backend", "cuda"});
  if (cuda_device_count() > 0) {
    ASSERT_EQ(r.status, 0) << r.err;
    const HostImage out = io::read_image(path("out.tif"));
    EXPECT_LE(test::max_abs_diff(library_result(in, 2.0), out), 1e-5);
    return;
  }
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_NE(r.err.find("cuda"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(path("out.tif")));
}

}  // namespace
}  // namespace pdeimg
