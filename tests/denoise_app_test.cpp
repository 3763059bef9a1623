// The `denoise` app end to end: it runs the built binary on generated files (gray, colour, alpha;
// 8-bit, 16-bit, float) and checks what it wrote, printed and reported, and its exit status.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "pdeimg/context.hpp"
#include "pdeimg/io.hpp"
#include "pdeimg/perona_malik.hpp"
#include "pdeimg/reaction_diffusion.hpp"
#include "tests/app_runner.hpp"
#include "tests/test_util.hpp"

namespace fs = std::filesystem;

namespace pdeimg {
namespace {

using Result = test::AppResult;
using test::slurp;

class DenoiseApp : public test::AppTest {
 protected:
  /// Runs `denoise args...` with stdout and stderr captured in files of the test folder.
  Result denoise(const std::vector<std::string>& args) const {
    return run(PDEIMG_DENOISE_EXE, args);
  }

  /// A noisy picture: a bright square on a dark ground plus Gaussian noise of 8% of the range
  /// (alpha, when present, is a ramp that must come back unchanged).
  static HostImage noisy_picture(int channels, PixelType type) {
    const float top = type == PixelType::kU8 ? 255.0f : type == PixelType::kU16 ? 65535.0f : 1.0f;
    HostImage img(64, 48, channels, type);
    std::mt19937 rng(3);
    std::normal_distribution<float> n(0.0f, 0.08f * top);
    const int colour = channels == 4 ? 3 : channels;
    for (int y = 0; y < 48; ++y)
      for (int x = 0; x < 64; ++x) {
        for (int c = 0; c < colour; ++c) {
          float v = (x >= 16 && x < 48 && y >= 12 && y < 36 ? 0.7f : 0.25f) * top + n(rng);
          if (type != PixelType::kF32) v = std::min(top, std::max(0.0f, std::round(v)));
          test::set(img, x, y, c, v);
        }
        if (channels == 4)
          test::set(img, x, y, 3, type == PixelType::kF32 ? x / 64.0f : float(x * 3));
      }
    return img;
  }

  static double noise_sd(const ImageView& v, int c) {
    // Deviation inside the flat dark ground (left band), where the clean image is constant.
    double s = 0, s2 = 0, n = 0;
    for (int y = 0; y < 48; ++y)
      for (int x = 0; x < 12; ++x)
        s += test::at(v, x, y, c), s2 += double(test::at(v, x, y, c)) * test::at(v, x, y, c), ++n;
    return std::sqrt(std::max(0.0, s2 / n - (s / n) * (s / n)));
  }
};

using Case = test::FormatCase;

class DenoiseAppKeeps : public DenoiseApp, public ::testing::WithParamInterface<Case> {};

TEST_P(DenoiseAppKeeps, DepthChannelsAlphaAndTheLibraryResult) {
  const Case c = GetParam();
  const HostImage in = noisy_picture(c.channels, c.type);
  const std::string in_file = path(std::string("in") + c.ext),
                    out_file = path(std::string("out") + c.ext);
  io::write_image(in_file, in);
  const Result r = denoise({in_file, out_file, "--backend", "cpu"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(r.out.empty()) << "quiet without -v: " << r.out;
  const HostImage out = io::read_image(out_file);
  ASSERT_EQ(out.type(), c.type);
  ASSERT_EQ(out.channels(), c.channels);
  // Exactly the blind library call: reaction_diffusion with the built-in model by default.
  const HostImage back = io::read_image(in_file);
  HostImage expect(back.width(), back.height(), back.channels(), back.type());
  Context ctx(Backend::kCpu);
  reaction_diffusion(back, expect, ReactionDiffusionParams{}, ctx);
  EXPECT_TRUE(test::identical(out, expect));
  const int colour = c.channels == 4 ? 3 : c.channels;
  for (int ch = 0; ch < colour; ++ch)
    EXPECT_LT(noise_sd(out, ch), 0.5 * noise_sd(in, ch)) << "channel " << ch;
  if (c.channels == 4)
    for (int y = 0; y < 48; ++y)
      for (int x = 0; x < 64; ++x) ASSERT_EQ(test::at(out, x, y, 3), test::at(in, x, y, 3));
  // --method pm: exactly blind perona_malik.
  const Result pm = denoise({in_file, out_file, "--backend", "cpu", "--method", "pm"});
  ASSERT_EQ(pm.status, 0) << pm.err;
  perona_malik(back, expect, PeronaMalikParams{}, ctx);
  EXPECT_TRUE(test::identical(io::read_image(out_file), expect));
  if (c.channels == 4)
    for (int y = 0; y < 48; ++y)
      for (int x = 0; x < 64; ++x) ASSERT_EQ(test::at(out, x, y, 3), test::at(in, x, y, 3));
}

INSTANTIATE_TEST_SUITE_P(Files, DenoiseAppKeeps,
                         ::testing::Values(Case{"gray8_png", ".png", 1, PixelType::kU8},
                                           Case{"colour8_png", ".png", 3, PixelType::kU8},
                                           Case{"rgba8_png", ".png", 4, PixelType::kU8},
                                           Case{"gray16_png", ".png", 1, PixelType::kU16},
                                           Case{"colour16_tif", ".tif", 3, PixelType::kU16},
                                           Case{"grayf32_tif", ".tif", 1, PixelType::kF32},
                                           Case{"rgbaf32_tif", ".tif", 4, PixelType::kF32}),
                         [](const ::testing::TestParamInfo<Case>& i) {
                           return std::string(i.param.name);
                         });

TEST_F(DenoiseApp, VerboseAndReportNameTheMethodModelAndSigma) {
  const HostImage in = noisy_picture(3, PixelType::kU8);
  io::write_image(path("in.png"), in);
  const Result r = denoise(
      {path("in.png"), path("out.png"), "-v", "--report", path("r.json"), "--backend", "cpu"});
  ASSERT_EQ(r.status, 0) << r.err;
  const RdModel& model = RdModel::builtin();
  EXPECT_NE(r.out.find("noise sigma"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("(estimated)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("reaction-diffusion"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(model.name()), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(model.hash()), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(std::to_string(model.stages()) + " stages"), std::string::npos) << r.out;
  const std::string json = slurp(path("r.json"));
  for (const std::string key :
       {std::string("\"method\": \"rd\""), "\"model\": \"" + model.name() + "\"",
        "\"model_hash\": \"" + model.hash() + "\"", std::string("\"noise_estimated\": true"),
        std::string("\"stages\": ") + std::to_string(model.stages()),
        std::string("\"colour\": \"opponent\""), std::string("\"noise_sigma\"")})
    EXPECT_NE(json.find(key), std::string::npos) << key << " missing in\n" << json;
  // Giving the reported sigma reproduces the output (to the rounding of the printed value).
  Context ctx(Backend::kCpu);
  HostImage a(64, 48, 3, PixelType::kU8);
  const ReactionDiffusionReport rep = reaction_diffusion(in, a, ReactionDiffusionParams{}, ctx);
  const Result r2 = denoise({path("in.png"), path("out2.png"), "--noise-sigma",
                             std::to_string(rep.noise_sigma), "--backend", "cpu"});
  ASSERT_EQ(r2.status, 0) << r2.err;
  EXPECT_LE(test::max_abs_diff(io::read_image(path("out.png")), io::read_image(path("out2.png"))),
            1.0);
}

TEST_F(DenoiseApp, ModelFileIsUsedAndAMalformedOneIsAUsageError) {
  const HostImage in = noisy_picture(1, PixelType::kU8);
  io::write_image(path("in.png"), in);
  // The built-in model written to a file gives the same result through --model.
  fs::copy_file(std::string(PDEIMG_SOURCE_DIR) + "/models/default.rdm", path("m.rdm"));
  const Result a = denoise({path("in.png"), path("a.png"), "--backend", "cpu"});
  const Result b = denoise({path("in.png"), path("b.png"), "--backend", "cpu", "--model",
                            path("m.rdm"), "--report", path("b.json")});
  ASSERT_EQ(a.status, 0) << a.err;
  ASSERT_EQ(b.status, 0) << b.err;
  EXPECT_TRUE(test::identical(io::read_image(path("a.png")), io::read_image(path("b.png"))));
  EXPECT_NE(slurp(path("b.json")).find(RdModel::builtin().hash()), std::string::npos);
  // A model cut short: exit 2 before any input is read, the message names the file and line.
  const std::string text = slurp(path("m.rdm"));
  std::ofstream(path("cut.rdm")) << text.substr(0, text.size() / 2);
  const Result cut =
      denoise({path("in.png"), path("c.png"), "--backend", "cpu", "--model", path("cut.rdm")});
  EXPECT_EQ(cut.status, 2) << cut.err;
  EXPECT_NE(cut.err.find("cut.rdm"), std::string::npos) << cut.err;
  EXPECT_FALSE(fs::exists(path("c.png")));
  // Options of the other method are refused.
  EXPECT_EQ(denoise({path("in.png"), path("c.png"), "--method", "pm", "--model", path("m.rdm")})
                .status,
            2);
  const Result k = denoise({path("in.png"), path("c.png"), "--k", "3"});
  EXPECT_EQ(k.status, 2) << k.err;
  EXPECT_NE(k.err.find("--method pm"), std::string::npos) << k.err;
}

TEST_F(DenoiseApp, PeronaMalikVerboseAndReportNameTheParametersUsed) {
  const HostImage in = noisy_picture(3, PixelType::kU8);
  io::write_image(path("in.png"), in);
  const Result r = denoise({path("in.png"), path("out.png"), "-v", "--report", path("r.json"),
                            "--backend", "cpu", "--method", "pm"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("noise sigma"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("(estimated)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("K "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("rational"), std::string::npos) << r.out;
  const std::string json = slurp(path("r.json"));
  for (const char* key : {"\"noise_sigma\"", "\"noise_estimated\": true", "\"k\"", "\"steps\"",
                          "\"dt\"", "\"time\"", "\"diffusivity\": \"rational\"", "\"milliseconds\"",
                          "\"compute\"", "\"backend\": \"cpu\"", "\"type\": \"uint8\""})
    EXPECT_NE(json.find(key), std::string::npos) << key << " missing in\n" << json;
  // Giving what the report says reproduces the output exactly (no estimate needed).
  Context ctx(Backend::kCpu);
  HostImage a(64, 48, 3, PixelType::kU8);
  const PeronaMalikReport rep = perona_malik(in, a, PeronaMalikParams{}, ctx);
  const Result r2 = denoise({path("in.png"), path("out2.png"), "--noise-sigma",
                             std::to_string(rep.noise_sigma), "--backend", "cpu", "--method", "pm"});
  ASSERT_EQ(r2.status, 0) << r2.err;
  EXPECT_LE(test::max_abs_diff(io::read_image(path("out.png")), io::read_image(path("out2.png"))),
            1.0);
}

TEST_F(DenoiseApp, ReportListsTheParametersTheBatchReportLists) {
  io::write_image(path("in.png"), noisy_picture(4, PixelType::kU16));
  const Reports r = reports_of_both_modes(PDEIMG_DENOISE_EXE, path("in.png"),
                                          {"--backend", "cpu", "--method", "pm", "--diffusivity", "tukey"});
  EXPECT_EQ(r.parameters["noise_estimated"], true) << r.parameters;
  EXPECT_EQ(r.parameters["diffusivity"], "tukey") << r.parameters;
  EXPECT_EQ(r.parameters["time_from_noise"], true) << r.parameters;
  EXPECT_EQ(r.parameters["channels_diffused"], 3) << r.parameters;
  EXPECT_EQ(r.parameters["colour"], "coupled") << r.parameters;
  EXPECT_EQ(r.parameters["backend"], "cpu") << r.parameters;
  // Explicit K and steps: no noise needed, the time not from the noise.
  const Reports e = reports_of_both_modes(PDEIMG_DENOISE_EXE, path("in.png"),
                                          {"--backend", "cpu", "--method", "pm", "--k", "3000", "--steps", "4"});
  EXPECT_EQ(e.parameters["noise_estimated"], false) << e.parameters;
  EXPECT_EQ(e.parameters["contrast"], "absolute") << e.parameters;
  EXPECT_EQ(e.parameters["k"], 3000) << e.parameters;
  EXPECT_EQ(e.parameters["steps"], 4) << e.parameters;
  EXPECT_EQ(e.parameters["time_from_noise"], false) << e.parameters;
}

TEST_F(DenoiseApp, ReportNamingTheInputOrTheOutputIsAUsageError) {
  io::write_image(path("in.png"), noisy_picture(1, PixelType::kU8));
  expect_report_naming_an_image_refused(PDEIMG_DENOISE_EXE, path("in.png"), path("out.png"), {});
}

TEST_F(DenoiseApp, OptionsReachTheLibrary) {
  const HostImage in = noisy_picture(3, PixelType::kU16);
  io::write_image(path("in.png"), in);
  const std::vector<std::string> opts = {
      "--k",          "4000", "--steps",      "7",   "--diffusivity", "tukey",
      "--neighbours", "8",    "--regularize", "1.5", "--per-channel", "--dt",
      "0.3"};
  std::vector<std::string> args{path("in.png"), path("out.png"), "--backend", "cpu", "--method",
                                "pm"};
  args.insert(args.end(), opts.begin(), opts.end());
  const Result r = denoise(args);
  ASSERT_EQ(r.status, 0) << r.err;
  PeronaMalikParams p;
  p.contrast = ContrastMode::kAbsolute;
  p.k = 4000;
  p.steps = 7;
  p.diffusivity = Diffusivity::kTukey;
  p.neighbourhood = Neighbourhood::k8;
  p.regularization = 1.5;
  p.colour = ColourMode::kPerChannel;
  p.dt = 0.3;
  Context ctx(Backend::kCpu);
  HostImage expect(64, 48, 3, PixelType::kU16);
  perona_malik(in, expect, p, ctx);
  EXPECT_TRUE(test::identical(io::read_image(path("out.png")), expect));
  // --time, --k-factor, --k-quantile, --noise-sigma.
  for (const std::vector<std::string>& extra :
       {std::vector<std::string>{"--time", "1.3", "--k-factor", "0.9", "--noise-sigma", "5000"},
        std::vector<std::string>{"--k-quantile", "0.8", "--steps", "3", "--diffusivity",
                                 "exponential"}}) {
    std::vector<std::string> a{path("in.png"), path("out3.png"), "--backend", "cpu", "--method",
                               "pm"};
    a.insert(a.end(), extra.begin(), extra.end());
    const Result rr = denoise(a);
    EXPECT_EQ(rr.status, 0) << rr.err;
  }
}

TEST_F(DenoiseApp, BadInputBehavesLikeSmooth) {
  const HostImage in = noisy_picture(1, PixelType::kU8);
  io::write_image(path("in.png"), in);
  const std::string before = slurp(path("in.png"));
  // Usage errors: exit 2, nothing written, the input untouched.
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{path("in.png"), path("in.png")},
        std::vector<std::string>{path("in.png"), path("out.png"), "--steps", "3", "--time", "1"},
        std::vector<std::string>{path("in.png"), path("out.png"), "--method", "pm", "--dt", "0.3"},
        std::vector<std::string>{path("in.png"), path("out.png"), "--method", "bm3d"},
        std::vector<std::string>{path("in.png"), path("out.png"), "--model", path("none.rdm")},
        std::vector<std::string>{path("in.png"), path("out.png"), "--k", "3", "--k-factor", "1"},
        std::vector<std::string>{path("in.png"), path("out.png"), "--diffusivity", "gauss"},
        std::vector<std::string>{path("in.png"), path("out.png"), "--noise-sigma", "-1"},
        std::vector<std::string>{path("in.png"), path("out.png"), "--regularize", "nan"},
        std::vector<std::string>{path("in.png"), path("out.xyz")},
        std::vector<std::string>{path("in.png"), path("nofolder/out.png")},
        std::vector<std::string>{path("in.png")}}) {
    const Result r = denoise(args);
    EXPECT_EQ(r.status, 2) << args.back() << ": " << r.err;
    EXPECT_FALSE(r.err.empty());
  }
  EXPECT_FALSE(fs::exists(path("out.png")));
  EXPECT_EQ(slurp(path("in.png")), before);
  const Result dt = denoise({path("in.png"), path("out.png"), "--method", "pm", "--dt", "0.3"});
  EXPECT_NE(dt.err.find("0.25"), std::string::npos) << "the message names the bound: " << dt.err;
  // Input failures: exit 1.
  const Result missing = denoise({path("missing.png"), path("out.png")});
  EXPECT_EQ(missing.status, 1) << missing.err;
  EXPECT_NE(missing.err.find("missing.png"), std::string::npos);
  std::ofstream(path("corrupt.png")) << "not a png";
  EXPECT_EQ(denoise({path("corrupt.png"), path("out.png")}).status, 1);
  // A float image cannot go to PNG: refused before computing, exit 1, nothing written.
  io::write_image(path("f.tif"), noisy_picture(1, PixelType::kF32));
  const Result f = denoise({path("f.tif"), path("f.png")});
  EXPECT_EQ(f.status, 1) << f.err;
  EXPECT_FALSE(fs::exists(path("f.png")));
  // --help: exit 0, documents the noise scale.
  const Result h = denoise({"--help"});
  EXPECT_EQ(h.status, 0);
  EXPECT_NE(h.out.find("--noise-sigma"), std::string::npos);
  EXPECT_NE(h.out.find("65535"), std::string::npos);
}

}  // namespace
}  // namespace pdeimg
