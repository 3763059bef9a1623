// The `edges` app end to end: runs the built binary on generated files and checks what it wrote,
// what it printed and its exit status (0 ok, 1 an input failed, 2 usage error).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "pdeimg/canny.hpp"
#include "pdeimg/context.hpp"
#include "pdeimg/io.hpp"
#include "tests/app_runner.hpp"
#include "tests/test_util.hpp"

namespace fs = std::filesystem;

namespace pdeimg {
namespace {

using test::at;
using test::identical;

using Result = test::AppResult;
using test::slurp;

class EdgesApp : public test::AppTest {
 protected:
  /// Runs `edges args...` with stdout and stderr captured in files of the test folder.
  Result edges(const std::vector<std::string>& args) const { return run(PDEIMG_EDGES_EXE, args); }

  /// A bright square and a disc on a dark ramp, in the given type and channels.
  static HostImage picture(int channels, PixelType type) {
    const float top = type == PixelType::kU8 ? 255.0f : type == PixelType::kU16 ? 65535.0f : 1.0f;
    HostImage img(90, 70, channels, type);
    for (int y = 0; y < 70; ++y)
      for (int x = 0; x < 90; ++x) {
        float v = 0.1f * top * x / 90;
        if (x >= 10 && x < 40 && y >= 15 && y < 50) v = 0.8f * top;
        if (std::hypot(x - 65.0, y - 35.0) < 14) v = 0.6f * top;
        for (int c = 0; c < channels; ++c)
          test::set(img, x, y, c, type == PixelType::kF32 ? v : std::round(v));
      }
    return img;
  }

  static HostImage library_edges(const HostImage& in, const CannyParams& p,
                                 HostImage* mag = nullptr) {
    Context ctx(Backend::kCpu);
    HostImage out(in.width(), in.height(), 1, PixelType::kU8);
    CannyImages extra;
    if (mag) {
      *mag = HostImage(in.width(), in.height(), 1, PixelType::kF32);
      extra.magnitude = *mag;
    }
    canny(in, out, extra, p, ctx);
    return out;
  }
};

TEST_F(EdgesApp, WritesAn8BitEdgeMapEqualToTheLibrarysForEveryInputType) {
  struct Case {
    const char* ext;
    int channels;
    PixelType type;
  };
  for (const Case& c : {Case{".png", 1, PixelType::kU8}, Case{".png", 3, PixelType::kU8},
                        Case{".png", 1, PixelType::kU16}, Case{".tif", 1, PixelType::kF32},
                        Case{".tif", 3, PixelType::kF32}}) {
    const HostImage in = picture(c.channels, c.type);
    io::write_image(path(std::string("in") + c.ext), in);
    const Result r = edges({path(std::string("in") + c.ext), path("out.png"), "--backend", "cpu"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_TRUE(r.err.empty()) << r.err;
    const HostImage out = io::read_image(path("out.png"));
    ASSERT_EQ(out.type(), PixelType::kU8);
    ASSERT_EQ(out.channels(), 1);
    ASSERT_EQ(out.width(), 90);
    EXPECT_TRUE(identical(out, library_edges(in, CannyParams{}))) << c.ext << " " << c.channels;
    long long n = 0;
    for (int y = 0; y < 70; ++y)
      for (int x = 0; x < 90; ++x) {
        ASSERT_TRUE(at(out, x, y) == 0 || at(out, x, y) == 255);
        n += at(out, x, y) != 0;
      }
    EXPECT_GT(n, 150) << "the square and the disc have edges";
  }
}

TEST_F(EdgesApp, OptionsReachTheLibrary) {
  const HostImage in = picture(1, PixelType::kU8);
  io::write_image(path("in.png"), in);
  CannyParams p;
  p.sigma = 2.0;
  p.low = 10;
  p.high = 30;
  p.op = GradientOperator::kScharr;
  ASSERT_EQ(edges({path("in.png"), path("a.png"), "--sigma", "2", "--low", "10", "--high", "30",
                   "--operator", "scharr", "--magnitude", path("m.tif")})
                .status,
            0);
  HostImage mag;
  EXPECT_TRUE(identical(io::read_image(path("a.png")), library_edges(in, p, &mag)));
  EXPECT_TRUE(identical(io::read_image(path("m.tif")), mag));

  CannyParams q;
  q.thresholds = ThresholdMode::kQuantile;
  q.low = 0.7;
  q.high = 0.95;
  q.sigma = 0;
  ASSERT_EQ(
      edges({path("in.png"), path("b.png"), "-q", "--low", "0.7", "--high", "0.95", "-s", "0"})
          .status,
      0);
  EXPECT_TRUE(identical(io::read_image(path("b.png")), library_edges(in, q)));

  CannyParams pm;
  pm.smoothing = CannySmoothing::kPeronaMalik;
  const Result r = edges({path("in.png"), path("c.png"), "--smooth", "perona-malik", "-v"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("perona-malik"), std::string::npos) << r.out;
  EXPECT_TRUE(identical(io::read_image(path("c.png")), library_edges(in, pm)));
}

TEST_F(EdgesApp, VerboseReportsThresholdsAndCount) {
  io::write_image(path("in.png"), picture(1, PixelType::kU8));
  const Result r =
      edges({path("in.png"), path("out.png"), "-v", "--backend", "cpu", "--threads", "1"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("backend cpu"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("thresholds low 25.5 high 51"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("edge pixels"), std::string::npos) << r.out;
}

TEST_F(EdgesApp, ReportListsTheParametersTheBatchReportListsAndTheMagnitude) {
  const HostImage in = picture(3, PixelType::kU16);
  io::write_image(path("in.png"), in);
  const Reports r = reports_of_both_modes(
      PDEIMG_EDGES_EXE, path("in.png"), {"--backend", "cpu", "-q", "--low", "0.75"},
      {"--magnitude", path("m.tif")}, {"--magnitude", path("mags")});
  const nlohmann::json& q_params = r.parameters;
  EXPECT_EQ(q_params["smoothing"], "heat") << q_params;
  EXPECT_EQ(q_params["smoothing_time"], 0.5) << q_params;
  EXPECT_EQ(q_params["sigma"], 1) << q_params;
  EXPECT_EQ(q_params["smoothing_scheme"], "explicit") << q_params;
  EXPECT_EQ(q_params["operator"], "sobel") << q_params;
  EXPECT_EQ(q_params["thresholds"], "quantile") << q_params;
  EXPECT_EQ(q_params["low_quantile"], 0.75) << q_params;
  EXPECT_EQ(q_params["high_quantile"], 0.9) << q_params;
  EXPECT_TRUE(q_params["low"].is_number() && q_params["high"].is_number()) << q_params;
  EXPECT_EQ(q_params["backend"], "cpu") << q_params;
  // The magnitude next to the edge map: listed in the report, the library's own.
  EXPECT_EQ(r.single["extra_outputs"], nlohmann::json({{"magnitude", path("m.tif")}})) << r.single;
  CannyParams q;
  q.thresholds = ThresholdMode::kQuantile;
  q.low = 0.75;
  HostImage mag;
  EXPECT_TRUE(identical(io::read_image(path("single.png")), library_edges(in, q, &mag)));
  EXPECT_TRUE(identical(io::read_image(path("m.tif")), mag));
  // Perona–Malik smoothing reports its K; absolute default thresholds their values.
  const Reports pm = reports_of_both_modes(PDEIMG_EDGES_EXE, path("in.png"),
                                           {"--backend", "cpu", "--smooth", "perona-malik"});
  EXPECT_EQ(pm.parameters["smoothing"], "perona-malik") << pm.parameters;
  EXPECT_TRUE(pm.parameters["k"].is_number()) << pm.parameters;
  EXPECT_FALSE(pm.parameters.contains("sigma")) << pm.parameters;
  EXPECT_EQ(pm.parameters["thresholds"], "absolute") << pm.parameters;
  EXPECT_EQ(pm.parameters["low"], 6553.5) << pm.parameters;
  EXPECT_EQ(pm.parameters["high"], 13107) << pm.parameters;
}

TEST_F(EdgesApp, ReportNamingTheInputTheOutputOrTheMagnitudeIsAUsageError) {
  io::write_image(path("in.png"), picture(1, PixelType::kU8));
  expect_report_naming_an_image_refused(PDEIMG_EDGES_EXE, path("in.png"), path("out.png"),
                                        {"--magnitude", path("m.tif")}, {path("m.tif")});
}

TEST_F(EdgesApp, BadInputAndUsageErrors) {
  io::write_image(path("in.png"), picture(1, PixelType::kU8));
  const std::string in = path("in.png");
  const std::string before = slurp(in);
  // Exit 2: usage.
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{in, in},
        {in, path("out.xyz")},
        {in, path("nofolder/out.png")},
        {in, path("out.png"), "--low", "50", "--high", "20"},
        {in, path("out.png"), "--low", "-1"},
        {in, path("out.png"), "-q", "--high", "1.5"},
        {in, path("out.png"), "--operator", "prewitt"},
        {in, path("out.png"), "--smooth", "median"},
        {in, path("out.png"), "--sigma", "-1"},
        {in, path("out.png"), "--magnitude", path("m.png")},
        {in, path("out.png"), "--magnitude", path("out.png")},
        {in},
        {in, path("out.png"), "--bogus"}}) {
    const Result r = edges(args);
    EXPECT_EQ(r.status, 2) << args.back() << ": " << r.err;
    EXPECT_FALSE(r.err.empty());
  }
  EXPECT_EQ(slurp(in), before) << "the input must never change";
  EXPECT_FALSE(fs::exists(path("out.png")));
  // Exit 1: the input is missing or not an image.
  EXPECT_EQ(edges({path("missing.png"), path("out.png")}).status, 1);
  std::ofstream(path("junk.png")) << "not an image";
  const Result r = edges({path("junk.png"), path("out.png")});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("junk.png"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(path("out.png")));
}

TEST_F(EdgesApp, CudaWithoutADeviceIsAUsageError) {
  if (cuda_device_count() > 0) GTEST_SKIP() << "a CUDA device is present";
  io::write_image(path("in.png"), picture(1, PixelType::kU8));
  const Result r = edges({path("in.png"), path("out.png"), "--backend", "cuda"});
  EXPECT_EQ(r.status, 2) << r.err;
}

}  // namespace
}  // namespace pdeimg
