// pdeimg::io and pdeimg/opencv.hpp: files keep their bit depth and channels exactly, bad files
// and impossible formats are refused with messages naming the file, and failed writes leave
// nothing behind.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include <opencv2/imgcodecs.hpp>

#include "pdeimg/error.hpp"
#include "pdeimg/heat.hpp"
#include "pdeimg/io.hpp"
#include "pdeimg/opencv.hpp"
#include "tests/test_util.hpp"

namespace fs = std::filesystem;

namespace pdeimg {
namespace {

using test::identical;
using test::random_image;

/// A fresh folder per test, removed afterwards.
class IoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = info->name();  // "Case/3" for parameterised tests
    std::replace(name.begin(), name.end(), '/', '_');
    dir_ = fs::temp_directory_path() /
           ("pdeimg_io_test-" + std::to_string(std::random_device{}()) + "-" + name);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  /// Names in the folder, so a test can see that no temporary file was left behind.
  std::vector<std::string> listing() const {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir_))
      names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }

  static std::string bytes_of(const std::string& p) {
    std::ifstream f(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  }
  static void write_bytes(const std::string& p, const std::string& bytes) {
    std::ofstream f(p, std::ios::binary);
    f << bytes;
  }

  /// Expects `fn` to throw pdeimg::Error with `code` and a message containing every fragment.
  template <typename Fn>
  static void expect_error(Fn&& fn, ErrorCode code, const std::vector<std::string>& fragments) {
    try {
      fn();
      ADD_FAILURE() << "expected pdeimg::Error(" << to_string(code) << ")";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), code) << e.what();
      for (const auto& f : fragments)
        EXPECT_NE(std::string(e.what()).find(f), std::string::npos)
            << "message '" << e.what() << "' lacks '" << f << "'";
    }
  }

  fs::path dir_;
};

/// Full-range random integers, or floats spanning signs and magnitudes (not only [0, 1]).
HostImage sample_image(int w, int h, int c, PixelType type, unsigned seed) {
  if (type == PixelType::kU8) return random_image(w, h, c, type, 0, 255, seed);
  if (type == PixelType::kU16) return random_image(w, h, c, type, 0, 65535, seed);
  HostImage img = random_image(w, h, c, type, -1000.0f, 1000.0f, seed);
  img.row<float>(0)[0] = 1e-30f;
  img.row<float>(0)[1] = -3.0e30f;
  img.row<float>(0)[2] = std::numeric_limits<float>::denorm_min();
  return img;
}

// --- round trips ----------------------------------------------------------------------------

struct RoundTrip {
  const char* ext;
  PixelType type;
  int channels;
};

void PrintTo(const RoundTrip& rt, std::ostream* os) {
  *os << rt.ext << " " << rt.channels << "ch " << to_string(rt.type);
}

class IoRoundTrip : public IoTest, public ::testing::WithParamInterface<RoundTrip> {};

TEST_P(IoRoundTrip, ReadsBackExactlyWhatWasWritten) {
  const RoundTrip rt = GetParam();
  // 37x23: odd sizes, rows not a multiple of any alignment.
  const HostImage img = sample_image(37, 23, rt.channels, rt.type, 7);
  const std::string file = path(std::string("img") + rt.ext);
  io::write_image(file, img);
  const HostImage back = io::read_image(file);
  EXPECT_EQ(back.width(), 37);
  EXPECT_EQ(back.height(), 23);
  EXPECT_EQ(back.channels(), rt.channels);
  EXPECT_EQ(back.type(), rt.type);
  EXPECT_TRUE(identical(img, back)) << "max |diff| " << test::max_abs_diff(img, back);
  EXPECT_EQ(listing(), std::vector<std::string>{std::string("img") + rt.ext});
}

std::string round_trip_name(const ::testing::TestParamInfo<RoundTrip>& info) {
  return std::string(info.param.ext + 1) + "_" + to_string(info.param.type) + "_" +
         std::to_string(info.param.channels) + "ch";
}

INSTANTIATE_TEST_SUITE_P(
    Lossless, IoRoundTrip,
    ::testing::Values(
        // 16-bit PNG
        RoundTrip{".png", PixelType::kU16, 1}, RoundTrip{".png", PixelType::kU16, 3},
        RoundTrip{".png", PixelType::kU16, 4},
        // 8-bit PNG, grey, colour, colour + alpha
        RoundTrip{".png", PixelType::kU8, 1}, RoundTrip{".png", PixelType::kU8, 3},
        RoundTrip{".png", PixelType::kU8, 4},
        // float TIFF; 3 channels is the case OpenCV writes as lossy LogLuv unless told otherwise
        RoundTrip{".tif", PixelType::kF32, 1}, RoundTrip{".tif", PixelType::kF32, 3},
        RoundTrip{".tiff", PixelType::kF32, 4}, RoundTrip{".tif", PixelType::kU16, 3},
        RoundTrip{".tif", PixelType::kU8, 1}, RoundTrip{".bmp", PixelType::kU8, 3},
        RoundTrip{".pgm", PixelType::kU16, 1}),
    round_trip_name);

TEST_F(IoTest, JpegKeepsSizeDepthAndChannels) {
  const HostImage img = sample_image(40, 30, 3, PixelType::kU8, 3);
  io::write_image(path("a.jpg"), img);
  const HostImage back = io::read_image(path("a.jpg"));
  EXPECT_EQ(back.width(), 40);
  EXPECT_EQ(back.height(), 30);
  EXPECT_EQ(back.channels(), 3);
  EXPECT_EQ(back.type(), PixelType::kU8);
}

TEST_F(IoTest, UpperCaseExtensionChoosesTheSameFormat) {
  const HostImage img = sample_image(5, 4, 1, PixelType::kU16, 2);
  io::write_image(path("UP.PNG"), img);
  EXPECT_TRUE(identical(img, io::read_image(path("UP.PNG"))));
}

TEST_F(IoTest, WritesARegionOfInterestWithItsPitch) {
  const HostImage big = sample_image(20, 10, 3, PixelType::kU16, 4);
  const ImageView roi = big.view().roi(3, 2, 11, 5);  // pitch > row bytes
  io::write_image(path("roi.png"), roi);
  const HostImage back = io::read_image(path("roi.png"));
  EXPECT_TRUE(identical(HostImage::copy_of(roi), back));
}

TEST_F(IoTest, ReplacesAnExistingOutput) {
  io::write_image(path("out.png"), sample_image(8, 8, 1, PixelType::kU8, 1));
  const HostImage second = sample_image(9, 7, 3, PixelType::kU8, 2);
  io::write_image(path("out.png"), second);
  EXPECT_TRUE(identical(second, io::read_image(path("out.png"))));
  EXPECT_EQ(listing(), std::vector<std::string>{"out.png"});
}

TEST_F(IoTest, WritingThroughASymlinkReplacesItsTarget) {
  io::write_image(path("real.png"), sample_image(4, 4, 1, PixelType::kU8, 1));
  std::error_code ec;
  fs::create_symlink("real.png", dir_ / "link.png", ec);
  if (ec) GTEST_SKIP() << "cannot create symbolic links here: " << ec.message();
  const HostImage img = sample_image(6, 5, 1, PixelType::kU8, 9);
  io::write_image(path("link.png"), img);
  EXPECT_TRUE(fs::is_symlink(dir_ / "link.png"));
  EXPECT_TRUE(identical(img, io::read_image(path("real.png"))));
}

// --- refused writes -------------------------------------------------------------------------

TEST_F(IoTest, JpegRefusesSixteenBitsNamingTheFileAndTheFix) {
  const HostImage img = sample_image(8, 8, 1, PixelType::kU16, 1);
  const std::string file = path("deep.jpg");
  expect_error([&] { io::write_image(file, img); }, ErrorCode::kUnsupported,
               {file, "JPEG", "uint8", "uint16", ".png"});
  EXPECT_TRUE(listing().empty());
}

TEST_F(IoTest, EightBitFormatsRefuseFloat) {
  const HostImage img = sample_image(8, 8, 3, PixelType::kF32, 1);
  for (const char* name : {"f.png", "f.jpeg", "f.bmp", "f.webp"}) {
    expect_error([&] { io::write_image(path(name), img); }, ErrorCode::kUnsupported,
                 {name, "float32", ".tif"});
  }
  EXPECT_TRUE(listing().empty());
}

TEST_F(IoTest, FormatsWithoutAlphaRefuseFourChannels) {
  const HostImage img = sample_image(8, 8, 4, PixelType::kU8, 1);
  for (const char* name : {"a.jpg", "a.bmp"}) {
    expect_error([&] { io::write_image(path(name), img); }, ErrorCode::kUnsupported,
                 {name, "4ch", "alpha"});
  }
}

TEST_F(IoTest, TwoChannelsAreRefusedEverywhere) {
  const HostImage img = sample_image(8, 8, 2, PixelType::kU8, 1);
  for (const char* name : {"g.png", "g.tif"}) {
    expect_error([&] { io::write_image(path(name), img); }, ErrorCode::kUnsupported,
                 {name, "2 channels"});
  }
}

TEST_F(IoTest, UnknownOrMissingExtensionIsRefused) {
  const HostImage img = sample_image(8, 8, 1, PixelType::kU8, 1);
  expect_error([&] { io::write_image(path("x.notaformat"), img); }, ErrorCode::kUnsupported,
               {"x.notaformat", ".notaformat"});
  expect_error([&] { io::write_image(path("noext"), img); }, ErrorCode::kUnsupported,
               {"noext", "extension"});
  EXPECT_FALSE(io::has_writer("x.notaformat"));
  EXPECT_TRUE(io::has_writer("x.tif"));
  EXPECT_TRUE(listing().empty());
}

TEST_F(IoTest, WriteIntoMissingFolderOrOntoAFolderFails) {
  const HostImage img = sample_image(8, 8, 1, PixelType::kU8, 1);
  const std::string missing = path("no/such/folder/out.png");
  expect_error([&] { io::write_image(missing, img); }, ErrorCode::kIo, {missing, "does not exist"});
  fs::create_directory(dir_ / "sub.png");
  expect_error([&] { io::write_image(path("sub.png"), img); }, ErrorCode::kIo,
               {"sub.png", "folder"});
  EXPECT_EQ(listing(), std::vector<std::string>{"sub.png"});
}

TEST_F(IoTest, FailedEncodeLeavesNoTempFileAndKeepsTheOldOutput) {
  // libpng refuses rows wider than 1,000,000 pixels and JPEG wider than 65,500: the failure
  // happens inside the encoder, after write_image has chosen its temporary file.
  io::write_image(path("keep.png"), sample_image(4, 3, 1, PixelType::kU8, 5));
  io::write_image(path("keep.jpg"), sample_image(4, 3, 1, PixelType::kU8, 5));
  const std::string png_before = bytes_of(path("keep.png"));
  const std::string jpg_before = bytes_of(path("keep.jpg"));
  const HostImage wide(1000001, 1, 1, PixelType::kU8);
  expect_error([&] { io::write_image(path("keep.png"), wide); }, ErrorCode::kIo, {"keep.png"});
  const HostImage wide_jpeg(65536, 1, 1, PixelType::kU8);
  expect_error([&] { io::write_image(path("keep.jpg"), wide_jpeg); }, ErrorCode::kIo, {"keep.jpg"});
  EXPECT_EQ(listing(), (std::vector<std::string>{"keep.jpg", "keep.png"}));
  EXPECT_EQ(bytes_of(path("keep.png")), png_before);
  EXPECT_EQ(bytes_of(path("keep.jpg")), jpg_before);
}

TEST_F(IoTest, DeviceViewIsRefused) {
  HostImage host(4, 4, 1, PixelType::kU8);
  ImageView v = host.view();
  v.location = Location::kDevice;  // never dereferenced: refused before any access
  expect_error([&] { io::write_image(path("d.png"), v); }, ErrorCode::kInvalidArgument,
               {"d.png", "device"});
}

// --- refused reads --------------------------------------------------------------------------

TEST_F(IoTest, MissingFileNamesTheFile) {
  const std::string file = path("missing.png");
  expect_error([&] { io::read_image(file); }, ErrorCode::kIo, {file, "does not exist"});
}

TEST_F(IoTest, EmptyFileNamesTheFile) {
  const std::string file = path("empty.png");
  write_bytes(file, "");
  expect_error([&] { io::read_image(file); }, ErrorCode::kIo, {file, "empty"});
}

TEST_F(IoTest, TruncatedPngNamesTheFile) {
  const std::string good = path("good.png");
  io::write_image(good, sample_image(64, 64, 3, PixelType::kU8, 3));
  const std::string bytes = bytes_of(good);
  const std::string file = path("truncated.png");
  write_bytes(file,
              bytes.substr(0, bytes.size() / 2));  // valid signature and header, half the data
  expect_error([&] { io::read_image(file); }, ErrorCode::kIo, {file, "corrupt"});
}

TEST_F(IoTest, NonImageFileNamesTheFile) {
  const std::string file = path("text.png");
  write_bytes(file, "this is not a PNG file\n");
  expect_error([&] { io::read_image(file); }, ErrorCode::kIo, {file, "not an image"});
}

TEST_F(IoTest, FolderIsNotAnImage) {
  expect_error([&] { io::read_image(dir_.string()); }, ErrorCode::kIo, {dir_.string(), "folder"});
}

TEST_F(IoTest, UnsupportedSampleTypeNamesTheFileAndTheType) {
  // OpenCV reads 16-bit signed TIFF as CV_16S, which pdeimg does not compute on.
  const std::string file = path("signed.tif");
  cv::Mat m(4, 5, CV_16SC1, cv::Scalar(-7));
  ASSERT_TRUE(cv::imwrite(file, m));
  expect_error([&] { io::read_image(file); }, ErrorCode::kUnsupported, {file, "int16"});
}

// --- helpers --------------------------------------------------------------------------------

TEST_F(IoTest, SameFileSeesThroughSpellingsAndLinks) {
  write_bytes(path("a.png"), "x");
  write_bytes(path("b.png"), "x");
  EXPECT_TRUE(io::same_file(path("a.png"), path("a.png")));
  EXPECT_TRUE(io::same_file(path("a.png"), (dir_ / "." / "sub" / ".." / "a.png").string()));
  EXPECT_FALSE(io::same_file(path("a.png"), path("b.png")));
  // Neither exists: compared by normalised path.
  EXPECT_TRUE(io::same_file(path("new.png"), (dir_ / "." / "new.png").string()));
  EXPECT_FALSE(io::same_file(path("new.png"), path("new2.png")));
  EXPECT_FALSE(io::same_file(path("a.png"), path("new.png")));
  std::error_code ec;
  fs::create_hard_link(dir_ / "a.png", dir_ / "hard.png", ec);
  if (!ec) EXPECT_TRUE(io::same_file(path("a.png"), path("hard.png")));
  fs::create_symlink(dir_ / "a.png", dir_ / "soft.png", ec);
  if (!ec) EXPECT_TRUE(io::same_file(path("soft.png"), path("a.png")));
}

TEST(IoDescribe, SaysSizeChannelsAndType) {
  HostImage img(512, 256, 3, PixelType::kU8);
  EXPECT_EQ(io::describe(img), "512x256 3ch uint8");
  EXPECT_EQ(io::describe(HostImage(7, 9, 1, PixelType::kF32)), "7x9 1ch float32");
}

// --- pdeimg/opencv.hpp ----------------------------------------------------------------------

TEST(OpenCvAdapter, ViewOfSharesPixelsAndPitch) {
  cv::Mat big(10, 20, CV_16UC3, cv::Scalar(1, 2, 3));
  const cv::Mat roi = big(cv::Rect(3, 2, 11, 5));
  const ImageView v = view_of(roi);
  EXPECT_EQ(v.width, 11);
  EXPECT_EQ(v.height, 5);
  EXPECT_EQ(v.channels, 3);
  EXPECT_EQ(v.type, PixelType::kU16);
  EXPECT_EQ(v.pitch, big.step[0]);
  EXPECT_EQ(v.data, static_cast<void*>(roi.data));
  const cv::Mat back = mat_of(v);
  EXPECT_EQ(back.data, roi.data);
  EXPECT_EQ(back.type(), CV_16UC3);
  EXPECT_EQ(back.step[0], big.step[0]);
}

TEST(OpenCvAdapter, ViewOfRefusesWhatPdeimgCannotCompute) {
  EXPECT_THROW(view_of(cv::Mat(4, 4, CV_16SC1)), Error);
  EXPECT_THROW(view_of(cv::Mat(4, 4, CV_64FC1)), Error);
  EXPECT_THROW(view_of(cv::Mat(4, 4, CV_8UC(5))), Error);
  EXPECT_THROW(view_of(cv::Mat()), Error);
  try {
    view_of(cv::Mat(4, 4, CV_64FC1));
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kUnsupported);
    EXPECT_NE(std::string(e.what()).find("CV_64F"), std::string::npos) << e.what();
  }
}

TEST(OpenCvAdapter, HeatSmoothOnMatEqualsTheViewApi) {
  Context ctx(Backend::kCpu);
  HeatParams p;
  p.sigma = 1.5;
  const HostImage in = random_image(33, 17, 3, PixelType::kU8, 0, 255, 11);
  HostImage expect(33, 17, 3, PixelType::kU8);
  heat_smooth(in, expect, p, ctx);

  const cv::Mat src = mat_of(in);
  cv::Mat dst;  // empty: allocated like src
  const HeatReport r = heat_smooth(src, dst, p, ctx);
  EXPECT_EQ(r.steps, heat_steps_for(1.5 * 1.5 / 2));
  ASSERT_EQ(dst.type(), CV_8UC3);
  ASSERT_EQ(dst.size(), src.size());
  EXPECT_TRUE(identical(expect, view_of(dst)));

  cv::Mat wrong(5, 5, CV_8UC1);  // wrong size: reallocated like src
  heat_smooth(src, wrong, p, ctx);
  EXPECT_EQ(wrong.type(), CV_8UC3);
  EXPECT_TRUE(identical(expect, view_of(wrong)));

  cv::Mat f(17, 33, CV_32FC3);  // right shape, other depth: kept, result unrounded
  heat_smooth(src, f, p, ctx);
  EXPECT_EQ(f.type(), CV_32FC3);
  HostImage expect_f(33, 17, 3, PixelType::kF32);
  heat_smooth(in, expect_f, p, ctx);
  EXPECT_TRUE(identical(expect_f, view_of(f)));
}

TEST(OpenCvAdapter, PeronaMalikNoiseAndCannyOnMatEqualTheViewApi) {
  Context ctx(Backend::kCpu);
  const HostImage in = random_image(41, 23, 3, PixelType::kU16, 0, 65535, 13);
  const cv::Mat src = mat_of(in);

  HostImage expect(41, 23, 3, PixelType::kU16);
  const PeronaMalikReport want = perona_malik(in, expect, PeronaMalikParams{}, ctx);
  cv::Mat dst;
  const PeronaMalikReport got = perona_malik(src, dst, PeronaMalikParams{}, ctx);
  ASSERT_EQ(dst.type(), CV_16UC3);
  EXPECT_EQ(got.steps, want.steps);
  EXPECT_EQ(got.k, want.k);
  EXPECT_TRUE(identical(expect, view_of(dst)));

  EXPECT_EQ(estimate_noise(src, ctx).sigma, estimate_noise(in, ctx).sigma);

  CannyParams cp;
  cp.thresholds = ThresholdMode::kQuantile;
  cp.low = 0.7;
  cp.high = 0.9;
  HostImage expect_edges(41, 23, 1, PixelType::kU8);
  canny(in, expect_edges, cp, ctx);
  cv::Mat edges(23, 41, CV_8UC3);  // not an edge map: replaced by one
  canny(src, edges, cp, ctx);
  ASSERT_EQ(edges.type(), CV_8UC1);
  EXPECT_TRUE(identical(expect_edges, view_of(edges)));
}

}  // namespace
}  // namespace pdeimg
