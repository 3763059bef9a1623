// The `morph` app end to end: it runs the built binary on generated files and checks what it
// wrote (the library's result), its reports, and its exit statuses (0 ok, 1 an input failed, 2
// usage error).
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "pdeimg/context.hpp"
#include "pdeimg/io.hpp"
#include "pdeimg/morphology.hpp"
#include "tests/app_runner.hpp"
#include "tests/test_util.hpp"

namespace fs = std::filesystem;

namespace pdeimg {
namespace {

using Result = test::AppResult;

class MorphApp : public test::AppTest {
 protected:
  Result morph(const std::vector<std::string>& args) const { return run(PDEIMG_MORPH_EXE, args); }

  static HostImage picture(int channels, PixelType type) {
    const float top = type == PixelType::kU8 ? 255.0f : type == PixelType::kU16 ? 65535.0f : 1.0f;
    HostImage img = test::random_image(45, 31, channels, type, 0.0f, 0.2f * top, 5);
    for (int y = 8; y < 20; ++y)
      for (int x = 10; x < 30; ++x)
        for (int c = 0; c < channels; ++c) test::set(img, x, y, c, 0.9f * top);
    return img;
  }
};

TEST_F(MorphApp, EveryOperationWritesTheLibraryResult) {
  struct Case {
    const char* ext;
    int channels;
    PixelType type;
  };
  for (const Case c : {Case{".png", 1, PixelType::kU8}, Case{".png", 4, PixelType::kU16},
                       Case{".tif", 3, PixelType::kF32}}) {
    const HostImage in = picture(c.channels, c.type);
    const std::string in_file = path(std::string("in") + c.ext);
    io::write_image(in_file, in);
    Context ctx(Backend::kCpu);
    for (const char* op : {"dilate", "erode", "open", "close", "gradient", "tophat", "blackhat"}) {
      for (const char* shape : {"disc", "upwind-disc", "square"}) {
        const bool upwind = std::string(shape) == "upwind-disc";
        const std::string out_file = path(std::string("out_") + op + shape + c.ext);
        const Result r =
            morph({op, in_file, out_file, "--radius", "2.5", "--shape", upwind ? "disc" : shape,
                   "--scheme", upwind ? "upwind" : "exact", "--backend", "cpu"});
        ASSERT_EQ(r.status, 0) << op << ": " << r.err;
        MorphParams p;
        p.op = parse_morph_op(op);
        p.shape = parse_structuring_element(upwind ? "disc" : shape);
        p.scheme = upwind ? MorphScheme::kUpwind : MorphScheme::kExact;
        p.radius = 2.5;
        HostImage expect(in.width(), in.height(), in.channels(), in.type());
        morphology(in, expect, p, ctx);
        EXPECT_TRUE(test::identical(expect, io::read_image(out_file))) << op << " " << c.ext;
      }
    }
    const std::string out_file = path(std::string("shock") + c.ext);
    const Result r = morph({"shock", in_file, out_file, "--sigma", "1.5", "--time", "2"});
    ASSERT_EQ(r.status, 0) << r.err;
    ShockParams sp;
    sp.sigma = 1.5;
    sp.time = 2;
    HostImage expect(in.width(), in.height(), in.channels(), in.type());
    shock_filter(in, expect, sp, ctx);
    EXPECT_TRUE(test::identical(expect, io::read_image(out_file))) << "shock " << c.ext;
  }
}

// A single-file --report lists the parameters the folder report lists for the same input.
// (test::AppTest::reports_of_both_modes puts IN OUT before the options, where morph expects OP.)
TEST_F(MorphApp, ReportListsTheParametersTheBatchReportLists) {
  fs::create_directories(path("in_dir"));
  io::write_image(path("in_dir/in.png"), picture(3, PixelType::kU8));
  const Result one = morph({"close", path("in_dir/in.png"), path("out.png"), "--radius", "7.5",
                            "--report", path("single.json"), "--backend", "cpu"});
  ASSERT_EQ(one.status, 0) << one.err;
  const Result many = morph({"close", path("in_dir"), path("out_dir"), "--radius", "7.5",
                             "--report", path("batch.json"), "--backend", "cpu"});
  ASSERT_EQ(many.status, 0) << many.err;
  const nlohmann::json single = test::parse_json(test::slurp(path("single.json")));
  const nlohmann::json batch = test::parse_json(test::slurp(path("batch.json")));
  const nlohmann::json params = single["parameters"];
  EXPECT_EQ(params, test::report_entry(batch, path("in_dir/in.png"))["parameters"]) << batch;
  EXPECT_EQ(params["operation"], "close") << params;
  EXPECT_EQ(params["radius"], 7.5) << params;
  EXPECT_EQ(params["steps"], 1) << params;
  EXPECT_EQ(params["dt"], 7.5) << params;
  EXPECT_EQ(params["scheme"], "exact flat disc") << params;
  EXPECT_EQ(params["backend"], "cpu") << params;
  EXPECT_EQ(single["image"]["channels"], 3) << single;
  const Result upwind =
      morph({"close", path("in_dir/in.png"), path("out_upwind.png"), "--radius", "7.5", "--scheme",
             "upwind", "--max-dt", "0.5", "--report", path("upwind.json"), "--backend", "cpu"});
  ASSERT_EQ(upwind.status, 0) << upwind.err;
  const nlohmann::json up = test::parse_json(test::slurp(path("upwind.json")))["parameters"];
  EXPECT_EQ(up["steps"], 15) << up;
  EXPECT_EQ(up["dt"], 0.5) << up;
  EXPECT_EQ(up["scheme"], "rouy-tourin upwind") << up;
}

TEST_F(MorphApp, VerboseSaysWhatWasComputed) {
  io::write_image(path("in.png"), picture(1, PixelType::kU8));
  const Result r = morph({"dilate", path("in.png"), path("out.png"), "--radius", "3", "--shape",
                          "diamond", "-v", "--backend", "cpu"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("dilate by a diamond of radius 3 (exact unit steps): 3 steps"),
            std::string::npos)
      << r.out;
  const Result disc =
      morph({"open", path("in.png"), path("out.png"), "--radius", "4.5", "-v", "--backend", "cpu"});
  ASSERT_EQ(disc.status, 0) << disc.err;
  EXPECT_NE(disc.out.find("open by a disc of radius 4.5 (exact flat disc): one flat max per pass"),
            std::string::npos)
      << disc.out;
}

TEST_F(MorphApp, UsageErrorsExitTwoAndMissingInputsOne) {
  io::write_image(path("in.png"), picture(1, PixelType::kU8));
  const std::string in = path("in.png"), out = path("out.png");
  const std::vector<std::vector<std::string>> bad = {
      {},
      {"dilate", in},
      {"dilate", in, out},                   // no radius
      {"thin", in, out, "--radius", "2"},    // unknown operation
      {"dilate", in, out, "--radius", "0"},  // not positive
      {"dilate", in, out, "--radius", "nan"},
      {"dilate", in, out, "--radius", "2", "--shape", "hexagon"},
      {"dilate", in, out, "--radius", "2", "--scheme", "upwind", "--max-dt", "0.9"},  // > 0.7071
      {"dilate", in, out, "--radius", "2", "--max-dt", "0.5"},  // the exact disc takes no steps
      {"dilate", in, out, "--radius", "2", "--scheme", "weno"},
      {"shock", in, out, "--scheme", "exact"},
      {"dilate", in, out, "--radius", "2", "--sigma", "1"},  // shock's option
      {"shock", in, out, "--radius", "2"},
      {"shock", in, out, "--sigma", "-1"},
      {"dilate", in, out, "--radius", "2", "--non-finite", "missing"},
      {"dilate", in, out, "--radius", "2", "--backend", "opencl"},
  };
  for (const auto& args : bad) {
    std::string line;
    for (const auto& a : args) line += a + " ";
    const Result r = morph(args);
    EXPECT_EQ(r.status, 2) << "morph " << line << "\n" << r.err;
    EXPECT_FALSE(r.err.empty()) << "morph " << line;
  }
  EXPECT_FALSE(fs::exists(out));
  const Result missing = morph({"open", path("nope.png"), out, "--radius", "2"});
  EXPECT_EQ(missing.status, 1) << missing.err;
  EXPECT_NE(missing.err.find("nope.png"), std::string::npos) << missing.err;
  const Result help = morph({"--help"});
  EXPECT_EQ(help.status, 0);
  for (const char* s : {"--radius", "--shape", "--scheme", "--sigma", "--time", "Exit status"})
    EXPECT_NE(help.out.find(s), std::string::npos) << s;
}

TEST_F(MorphApp, FoldersAreProcessedLikeSingleFiles) {
  fs::create_directories(path("in_dir"));
  io::write_image(path("in_dir/a.png"), picture(1, PixelType::kU8));
  io::write_image(path("in_dir/b.png"), picture(3, PixelType::kU8));
  const Result r = morph({"gradient", path("in_dir"), path("out_dir"), "--radius", "1.5",
                          "--report", path("report.json"), "--backend", "cpu"});
  ASSERT_EQ(r.status, 0) << r.err;
  for (const char* name : {"a.png", "b.png"}) {
    const Result one = morph({"gradient", path(std::string("in_dir/") + name),
                              path(std::string("single_") + name), "--radius", "1.5"});
    ASSERT_EQ(one.status, 0) << one.err;
    EXPECT_TRUE(test::identical(io::read_image(path(std::string("out_dir/") + name)),
                                io::read_image(path(std::string("single_") + name))));
  }
  const nlohmann::json report = test::parse_json(test::slurp(path("report.json")));
  const nlohmann::json entry = test::report_entry(report, path("in_dir/a.png"));
  EXPECT_EQ(entry["parameters"]["operation"], "gradient") << report.dump(2);
  EXPECT_EQ(entry["parameters"]["shape"], "disc") << report.dump(2);
  EXPECT_EQ(entry["parameters"]["radius"], 1.5) << report.dump(2);
  EXPECT_EQ(entry["parameters"]["steps"], 1) << report.dump(2);
}

}  // namespace
}  // namespace pdeimg
