// pdeimg::io and pdeimg/opencv.hpp: files keep their bit depth and channels exactly, bad files
// and impossible formats are refused with messages naming the file, and failed writes leave
// nothing behind.
#include <gtest/gtest.h>

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <limits>
#include <ostream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <opencv2/imgcodecs.hpp>

#include "pdeimg/error.hpp"
#include "pdeimg/heat.hpp"
#include "pdeimg/io.hpp"
#include "pdeimg/opencv.hpp"
#include "tests/io_test_files.hpp"
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

// --- read_info: the header says what read_image returns -------------------------------------

/// An image of OpenCV type `cv_type` written by cv::imwrite with `params` (formats and depths
/// write_image refuses or does not offer, as well as the ones it does).
struct CvFile {
  const char* name;
  int cv_type;
  std::vector<int> params;
  const char* format;  // ImageInfo::format expected
  bool inspected;      // read_info knows the size
};

void PrintTo(const CvFile& f, std::ostream* os) {
  *os << f.name;
}

cv::Mat sample_mat(int rows, int cols, int cv_type, unsigned seed) {
  cv::Mat m(rows, cols, cv_type);
  cv::RNG rng(seed);
  if (CV_MAT_DEPTH(cv_type) == CV_32F) {
    rng.fill(m, cv::RNG::UNIFORM, 0.0, 4.0);
  } else {
    rng.fill(m, cv::RNG::UNIFORM, 0, CV_MAT_DEPTH(cv_type) == CV_16U ? 65536 : 256);
  }
  return m;
}

/// read_info agrees with read_image, and read_image with cv::imread (pixels included) for the
/// decoders pdeimg leaves to OpenCV or replaces bit for bit (JPEG).
void expect_info_and_pixels_agree(const std::string& file, bool same_pixels_as_opencv = true) {
  SCOPED_TRACE(file);
  const io::ImageInfo info = io::read_info(file);
  io::ReadOptions unlimited;
  unlimited.max_samples = 0;
  const HostImage img = io::read_image(file, unlimited);
  if (info.known()) {
    EXPECT_EQ(info.width, img.width());
    EXPECT_EQ(info.height, img.height());
    EXPECT_EQ(info.channels, img.channels());
    EXPECT_EQ(info.type, img.type());
    EXPECT_EQ(info.samples(), std::uint64_t(img.width()) * img.height() * img.channels());
  }
  EXPECT_EQ(info.pages, 1);
  if (same_pixels_as_opencv) {
    const cv::Mat m = cv::imread(file, cv::IMREAD_UNCHANGED);
    ASSERT_FALSE(m.empty());
    EXPECT_TRUE(test::identical(view_of(m), img)) << "differs from cv::imread";
  }
}

class IoInfo : public IoTest, public ::testing::WithParamInterface<CvFile> {};

TEST_P(IoInfo, AgreesWithReadImageAndOpenCv) {
  const CvFile f = GetParam();
  // Odd sizes; 37 columns is also not a multiple of any block or MCU. (OpenJPEG's default of
  // 6 resolutions needs 32 pixels a side.)
  const bool jp2 = std::string(f.name).find(".jp2") != std::string::npos;
  const cv::Mat m = sample_mat(jp2 ? 35 : 23, jp2 ? 37 : 37, f.cv_type, 5);
  const std::string file = path(f.name);
  ASSERT_TRUE(cv::imwrite(file, m, f.params)) << f.name;
  const io::ImageInfo info = io::read_info(file);
  EXPECT_EQ(info.format, f.format);
  EXPECT_EQ(info.known(), f.inspected);
  if (f.inspected) {
    EXPECT_EQ(info.width, m.cols);
    EXPECT_EQ(info.height, m.rows);
  } else {
    EXPECT_EQ(info.samples(), 0u);
  }
  expect_info_and_pixels_agree(file);
}

std::string cv_file_name(const ::testing::TestParamInfo<CvFile>& info) {
  std::string n = info.param.name;
  std::replace(n.begin(), n.end(), '.', '_');
  return n;
}

INSTANTIATE_TEST_SUITE_P(
    EveryFormatOpenCvWrites, IoInfo,
    ::testing::Values(
        CvFile{"g8.png", CV_8UC1, {}, "PNG", true}, CvFile{"c8.png", CV_8UC3, {}, "PNG", true},
        CvFile{"a8.png", CV_8UC4, {}, "PNG", true}, CvFile{"g16.png", CV_16UC1, {}, "PNG", true},
        CvFile{"c16.png", CV_16UC3, {}, "PNG", true}, CvFile{"a16.png", CV_16UC4, {}, "PNG", true},
        CvFile{"g8.tif", CV_8UC1, {}, "TIFF", true}, CvFile{"c8.tif", CV_8UC3, {}, "TIFF", true},
        CvFile{"a8.tif", CV_8UC4, {}, "TIFF", true}, CvFile{"g16.tif", CV_16UC1, {}, "TIFF", true},
        CvFile{"c16.tif", CV_16UC3, {}, "TIFF", true},
        CvFile{"a16.tif", CV_16UC4, {}, "TIFF", true},
        CvFile{"gf.tif", CV_32FC1, {cv::IMWRITE_TIFF_COMPRESSION, 5}, "TIFF", true},
        CvFile{"cf.tif", CV_32FC3, {cv::IMWRITE_TIFF_COMPRESSION, 5}, "TIFF", true},
        CvFile{"af.tif", CV_32FC4, {cv::IMWRITE_TIFF_COMPRESSION, 5}, "TIFF", true},
        CvFile{"raw8.tif", CV_8UC3, {cv::IMWRITE_TIFF_COMPRESSION, 1}, "TIFF", true},
        CvFile{"raw16.tif", CV_16UC1, {cv::IMWRITE_TIFF_COMPRESSION, 1}, "TIFF", true},
        CvFile{"g.jpg", CV_8UC1, {}, "JPEG", true}, CvFile{"c.jpg", CV_8UC3, {}, "JPEG", true},
        CvFile{"gp.jpg", CV_8UC1, {cv::IMWRITE_JPEG_PROGRESSIVE, 1}, "JPEG", true},
        CvFile{"cp.jpg", CV_8UC3, {cv::IMWRITE_JPEG_PROGRESSIVE, 1}, "JPEG", true},
        CvFile{"rst.jpg", CV_8UC3, {cv::IMWRITE_JPEG_RST_INTERVAL, 2}, "JPEG", true},
        CvFile{"g.bmp", CV_8UC1, {}, "BMP", true}, CvFile{"c.bmp", CV_8UC3, {}, "BMP", true},
        CvFile{"c.webp", CV_8UC3, {}, "WebP", true}, CvFile{"a.webp", CV_8UC4, {}, "WebP", true},
        CvFile{"cl.webp", CV_8UC3, {cv::IMWRITE_WEBP_QUALITY, 101}, "WebP", true},
        CvFile{"al.webp", CV_8UC4, {cv::IMWRITE_WEBP_QUALITY, 101}, "WebP", true},
        CvFile{"g8.pgm", CV_8UC1, {}, "PNM", true}, CvFile{"g16.pgm", CV_16UC1, {}, "PNM", true},
        CvFile{"c8.ppm", CV_8UC3, {}, "PNM", true}, CvFile{"c16.ppm", CV_16UC3, {}, "PNM", true},
        CvFile{"a.pgm", CV_8UC1, {cv::IMWRITE_PXM_BINARY, 0}, "PNM", true},
        CvFile{"b.pbm", CV_8UC1, {}, "PNM", true}, CvFile{"g.pfm", CV_32FC1, {}, "PFM", true},
        CvFile{"c.pfm", CV_32FC3, {}, "PFM", true},
        CvFile{"c.hdr", CV_32FC3, {}, "Radiance HDR", true},
        CvFile{"g.ras", CV_8UC1, {}, "Sun raster", true},
        CvFile{"c.ras", CV_8UC3, {}, "Sun raster", true},
        CvFile{"g.exr", CV_32FC1, {}, "OpenEXR", false},
        CvFile{"c.exr", CV_32FC3, {}, "OpenEXR", false},
        CvFile{"a.exr", CV_32FC4, {}, "OpenEXR", false}, CvFile{"g.pam", CV_8UC1, {}, "PAM", false},
        CvFile{"c.pam", CV_8UC3, {}, "PAM", false},
        CvFile{"c.jp2", CV_8UC3, {}, "JPEG 2000", false}),
    cv_file_name);

TEST_F(IoTest, InfoAgreesForEveryPngColourType) {
  // Palette -> 3 channels, 4 with tRNS; grey+alpha -> 4 (B,G,R,A); grey tRNS ignored; bit
  // depths below 8 expand to 8 bits.
  using test::PngImage;
  namespace pt = test::png;
  struct Case {
    PngImage png;
    int channels;
    PixelType type;
  };
  const auto make = [](int color_type, int depth, int transparent = 0, bool grey_palette = false) {
    PngImage p;
    p.color_type = color_type;
    p.bit_depth = depth;
    p.transparent = transparent;
    p.grey_palette = grey_palette;
    p.palette_size = std::min(16, 1 << depth);
    return p;
  };
  const std::vector<Case> cases = {
      {make(pt::kGrey, 1), 1, PixelType::kU8},
      {make(pt::kGrey, 2), 1, PixelType::kU8},
      {make(pt::kGrey, 4), 1, PixelType::kU8},
      {make(pt::kGrey, 8), 1, PixelType::kU8},
      {make(pt::kGrey, 16), 1, PixelType::kU16},
      {make(pt::kGrey, 8, 1), 1, PixelType::kU8},
      {make(pt::kGrey, 16, 1), 1, PixelType::kU16},
      {make(pt::kGreyAlpha, 8), 4, PixelType::kU8},
      {make(pt::kGreyAlpha, 16), 4, PixelType::kU16},
      {make(pt::kRgb, 8), 3, PixelType::kU8},
      {make(pt::kRgb, 16), 3, PixelType::kU16},
      {make(pt::kRgb, 8, 1), 4, PixelType::kU8},
      {make(pt::kRgb, 16, 1), 4, PixelType::kU16},
      {make(pt::kRgba, 8), 4, PixelType::kU8},
      {make(pt::kRgba, 16), 4, PixelType::kU16},
      {make(pt::kPalette, 1), 3, PixelType::kU8},
      {make(pt::kPalette, 2), 3, PixelType::kU8},
      {make(pt::kPalette, 4), 3, PixelType::kU8},
      {make(pt::kPalette, 8), 3, PixelType::kU8},
      {make(pt::kPalette, 8, 5), 4, PixelType::kU8},
      {make(pt::kPalette, 4, 16), 4, PixelType::kU8},
      {make(pt::kPalette, 8, 0, true), 3, PixelType::kU8},
  };
  int n = 0;
  for (const Case& c : cases) {
    const std::string file = path("p" + std::to_string(n++) + ".png");
    test::write_png(file, c.png);
    const io::ImageInfo info = io::read_info(file);
    EXPECT_EQ(info.channels, c.channels) << file;
    EXPECT_EQ(info.type, c.type) << file;
    expect_info_and_pixels_agree(file);
  }
}

TEST_F(IoTest, InfoAgreesForBmpPnmAndSunRasterVariants) {
  struct Case {
    std::string name, bytes;
    int channels;
  };
  const std::vector<Case> cases = {
      {"os2_24.bmp", test::bmp_bytes(12, 24, 0, 13, 7, false), 1},  // OpenCV reads OS/2 as grey
      {"os2_8.bmp", test::bmp_bytes(12, 8, 0, 13, 7, true), 1},
      {"rgb32.bmp", test::bmp_bytes(40, 32, 0, 13, 7, false), 3},  // BI_RGB: no alpha
      {"bitfields32.bmp", test::bmp_bytes(40, 32, 3, 13, 7, false), 4},
      {"rgb16.bmp", test::bmp_bytes(40, 16, 0, 13, 7, false), 3},
      {"bitfields16.bmp", test::bmp_bytes(40, 16, 3, 13, 7, false), 3},
      {"grey8.bmp", test::bmp_bytes(40, 8, 0, 13, 7, false), 1},
      {"colour8.bmp", test::bmp_bytes(40, 8, 0, 13, 7, true), 3},
      {"grey4.bmp", test::bmp_bytes(40, 4, 0, 13, 7, false), 1},
      {"grey1.bmp", test::bmp_bytes(40, 1, 0, 13, 7, false), 1},
      {"v5.bmp", test::bmp_bytes(124, 24, 0, 13, 7, false), 3},
      {"p1.pbm", "P1\n# a comment\n3 2\n1 0 1\n0 1 0\n", 1},
      {"p2.pgm", "P2\n3 2\n# maximum above 255: 16 bits\n300\n1 2 3\n300 0 7\n", 1},
      {"p3.ppm", "P3 2 1 255 1 2 3 4 5 6\n", 3},
      {"p5.pgm", std::string("P5\n2 1\n1000\n\x01\x02\x03\x04", 16), 1},
      {"grey_map.ras", test::sun_raster_bytes(8, 13, 7, 256, false), 1},
      {"colour_map.ras", test::sun_raster_bytes(8, 13, 7, 200, true), 3},
      {"bits32.ras", test::sun_raster_bytes(32, 13, 7, 0, false), 3},
      {"bits1.ras", test::sun_raster_bytes(1, 13, 7, 0, false), 1},
  };
  for (const Case& c : cases) {
    const std::string file = path(c.name);
    write_bytes(file, c.bytes);
    EXPECT_EQ(io::read_info(file).channels, c.channels) << c.name;
    expect_info_and_pixels_agree(file);
  }
}

TEST_F(IoTest, InfoAgreesForTiffLayoutsOpenCvDecodes) {
  namespace t = test::tiff;
  using test::TiffImage;
  const auto make = [](int photometric, int bits, int samples, int format = t::kUint) {
    TiffImage im;
    im.photometric = photometric;
    im.bits = bits;
    im.samples = samples;
    im.sample_format = format;
    if (samples > (photometric == t::kRgb ? 3 : 1)) im.extra_sample = t::kAssociatedAlpha;
    return im;
  };
  std::vector<TiffImage> cases = {
      make(t::kMinIsBlack, 1, 1),
      make(t::kMinIsWhite, 1, 1),
      make(t::kMinIsBlack, 8, 1),
      make(t::kMinIsWhite, 8, 1),
      make(t::kMinIsBlack, 12, 1),
      make(t::kMinIsBlack, 16, 1),
      make(t::kMinIsBlack, 32, 1, t::kFloat),
      make(t::kRgb, 8, 3),
      make(t::kRgb, 8, 4),
      make(t::kRgb, 16, 3),
      make(t::kRgb, 16, 4),
      make(t::kRgb, 32, 3, t::kFloat),
      make(t::kRgb, 32, 4, t::kFloat),
      make(t::kPalette, 8, 1),
      make(t::kPalette, 1, 1),
      make(t::kCmyk, 8, 4),
  };
  TiffImage planar = make(t::kRgb, 8, 3);  // 8 bits: OpenCV decodes separate planes right
  planar.planar = t::kSeparate;
  cases.push_back(planar);
  TiffImage tiled = make(t::kRgb, 16, 3);
  tiled.width = 37;
  tiled.height = 21;
  tiled.tile = 16;
  cases.push_back(tiled);
  tiled.bits = 8;
  tiled.photometric = t::kMinIsBlack;
  tiled.samples = 1;
  cases.push_back(tiled);
  for (int compression : {t::kLzw, t::kDeflate, t::kPackBits}) {
    TiffImage c = make(t::kRgb, 8, 3);
    c.compression = compression;
    cases.push_back(c);
    c.bits = 16;
    cases.push_back(c);
  }
  TiffImage unspecified = make(t::kRgb, 8, 4);
  unspecified.extra_sample = t::kUnspecified;
  cases.push_back(unspecified);
  int n = 0;
  for (const TiffImage& im : cases) {
    const std::string file = path("t" + std::to_string(n++) + ".tif");
    test::write_tiff(file, {im});
    expect_info_and_pixels_agree(file);
  }
  for (const TiffImage& im : {make(t::kRgb, 8, 3), make(t::kMinIsBlack, 16, 1)}) {
    const std::string file = path("big" + std::to_string(n++) + ".tif");
    test::write_tiff(file, {im}, true);  // BigTIFF: "II+", 64-bit offsets
    EXPECT_EQ(io::read_info(file).format, "TIFF");
    expect_info_and_pixels_agree(file);
  }
}

TEST_F(IoTest, InfoAgreesForTheSampleImagesAndSharedData) {
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(fs::path(PDEIMG_SOURCE_DIR) / "samples" / "images"))
    if (e.path().extension() != ".md") files.push_back(e.path().string());
  const fs::path data = PDEIMG_TEST_DATA_DIR;
  bool have_data = fs::is_directory(data);
  if (have_data) {
    const auto first = [&files](const fs::path& dir, std::size_t n) {
      std::vector<std::string> all;
      for (const auto& e : fs::directory_iterator(dir))
        if (e.path().extension() != ".md") all.push_back(e.path().string());
      std::sort(all.begin(), all.end());
      all.resize(std::min(n, all.size()));
      files.insert(files.end(), all.begin(), all.end());
    };
    first(data / "images", 100);
    first(data / "set12", 3);
    first(data / "kodak24", 3);
    first(data / "bsds500-train", 6);  // baseline colour JPEGs
  }
  for (const std::string& f : files) expect_info_and_pixels_agree(f);
  if (!have_data) GTEST_SKIP() << "checked the samples only: " << data << " is absent";
}

// --- the memory guard -----------------------------------------------------------------------

TEST_F(IoTest, SizeLimitIsCheckedFromTheHeaderBeforeDecoding) {
  // Headers claiming 16000x12000 with no pixel data after them: decoding any of them fails
  // (checked below with the limit off), so a refusal for size can only come from the header.
  io::ReadOptions options;
  options.max_samples = 1000000;
  options.limit_name = "--max-pixels";
  io::ReadOptions unlimited;
  unlimited.max_samples = 0;
  for (const char* format : {"png", "jpeg", "tiff", "webp", "bmp", "ppm", "pfm", "hdr", "ras"}) {
    SCOPED_TRACE(format);
    const std::string file = path(std::string("big.") + format);
    write_bytes(file, test::lying_header(format, 16000, 12000));
    const io::ImageInfo info = io::read_info(file);
    EXPECT_EQ(info.width, 16000);
    EXPECT_EQ(info.height, 12000);
    EXPECT_EQ(info.channels, 3);
    expect_error(
        [&] { io::read_image(file, options); }, ErrorCode::kLimitExceeded,
        {file, "16000x12000, 3 channels: 576000000 samples", "limit of 1000000", "(--max-pixels)"});
    try {
      io::read_image(file, unlimited);
      ADD_FAILURE() << "a header without pixels decoded";
    } catch (const Error& e) {
      EXPECT_NE(e.code(), ErrorCode::kLimitExceeded) << e.what();
    }
  }
}

TEST_F(IoTest, DefaultLimitIsTwoToTheThirtySamplesNamedByTheOption) {
  const std::string file = path("rgba.png");
  write_bytes(file, test::lying_header("png", 32768, 32768, true));
  expect_error([&] { io::read_image(file); }, ErrorCode::kLimitExceeded,
               {file, "32768x32768, 4 channels: 4294967296 samples", "limit of 1073741824",
                "(io::ReadOptions::max_samples)"});
  EXPECT_EQ(io::read_info(file).samples(), 4294967296u);
}

TEST_F(IoTest, LimitAdmitsExactlyMaxSamples) {
  const std::string file = path("small.png");
  io::write_image(file, sample_image(37, 23, 3, PixelType::kU8, 1));
  io::ReadOptions options;
  options.max_samples = 37 * 23 * 3;
  EXPECT_EQ(io::read_image(file, options).width(), 37);
  options.max_samples -= 1;
  expect_error([&] { io::read_image(file, options); }, ErrorCode::kLimitExceeded,
               {"37x23, 3 channels: 2553 samples", "limit of 2552"});
}

long peak_rss_kib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
}

TEST_F(IoTest, ValidHugeJpegIsRefusedInMillisecondsWithoutItsMemory) {
  // The generator makes valid JPEGs: a small one decodes to its uniform grey.
  const std::string small = path("small.jpg");
  write_bytes(small, test::uniform_grey_jpeg(61, 75));
  const cv::Mat m = cv::imread(small, cv::IMREAD_UNCHANGED);
  ASSERT_EQ(m.type(), CV_8UC1);
  ASSERT_EQ(m.cols, 61);
  ASSERT_EQ(m.rows, 75);
  EXPECT_EQ(cv::countNonZero(m != 128), 0);
  EXPECT_TRUE(test::identical(io::read_image(small), view_of(m)));

  // 32768x32776: 2^30 + 2^18 samples, one over the default limit by 262144. A decode would take
  // seconds and 1 GiB.
  const std::string big = path("big.jpg");
  write_bytes(big, test::uniform_grey_jpeg(32768, 32776));
  const long rss_before = peak_rss_kib();
  const auto t0 = std::chrono::steady_clock::now();
  expect_error([&] { io::read_image(big); }, ErrorCode::kLimitExceeded,
               {big, "32768x32776, 1 channel: 1074003968 samples", "limit of 1073741824"});
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_LT(seconds, 0.5);
  EXPECT_LT(peak_rss_kib() - rss_before, 100 * 1024) << "KiB of peak memory grown";
}

TEST_F(IoTest, UninspectedFormatIsCheckedAfterDecoding) {
  const std::string file = path("c.exr");
  ASSERT_TRUE(cv::imwrite(file, sample_mat(30, 40, CV_32FC3, 2)));
  const io::ImageInfo info = io::read_info(file);
  EXPECT_FALSE(info.known());
  EXPECT_EQ(info.format, "OpenEXR");
  io::ReadOptions options;
  options.max_samples = 1000;
  expect_error([&] { io::read_image(file, options); }, ErrorCode::kLimitExceeded,
               {file, "40x30, 3 channels: 3600 samples", "limit of 1000"});
}

// --- JPEG through libjpeg ---------------------------------------------------------------------

TEST_F(IoTest, JpegDecodesBitIdenticallyToOpenCvInEveryColourSpace) {
  using test::JpegColour;
  int n = 0;
  for (const JpegColour colour : {JpegColour::kGrey, JpegColour::kYCbCr, JpegColour::kRgb,
                                  JpegColour::kCmyk, JpegColour::kYcck})
    for (const bool progressive : {false, true})
      for (const auto& size : {std::pair<int, int>{1, 1}, {13, 7}, {321, 257}}) {
        test::JpegImage im;
        im.colour = colour;
        im.progressive = progressive;
        im.width = size.first;
        im.height = size.second;
        im.restart_rows = n % 3 == 2 ? 1 : 0;
        const std::string file = path("j" + std::to_string(n++) + ".jpg");
        test::write_jpeg(file, im);
        const io::ImageInfo info = io::read_info(file);
        EXPECT_EQ(info.channels, colour == JpegColour::kGrey ? 1 : 3) << file;
        expect_info_and_pixels_agree(file);
      }
}

TEST_F(IoTest, TruncatedJpegFailsNamingLibjpegsWarning) {
  // OpenCV returns these with the missing part grey; libjpeg only warns.
  test::JpegImage im;
  im.width = 321;
  im.height = 257;
  const std::string good = path("good.jpg");
  test::write_jpeg(good, im);
  im.progressive = true;
  const std::string progressive = path("progressive.jpg");
  test::write_jpeg(progressive, im);
  for (const std::string& source : {good, progressive}) {
    const std::string bytes = bytes_of(source);
    for (const double keep : {0.2, 0.5, 0.9}) {
      const std::string file = path("cut.jpg");
      write_bytes(file, bytes.substr(0, static_cast<std::size_t>(bytes.size() * keep)));
      expect_error([&] { io::read_image(file); }, ErrorCode::kIo,
                   {file, "corrupt or truncated JPEG data", "libjpeg: Premature end of JPEG file"});
    }
    const std::string file = path("no_eoi.jpg");  // every scan complete, the end marker missing
    write_bytes(file, bytes.substr(0, bytes.size() - 2));
    expect_error([&] { io::read_image(file); }, ErrorCode::kIo,
                 {file, "libjpeg: Premature end of JPEG file"});
  }
}

TEST_F(IoTest, CorruptJpegDataFails) {
  test::JpegImage im;
  im.width = 321;
  im.height = 257;
  const std::string good = path("good.jpg");
  test::write_jpeg(good, im);
  const std::string bytes = bytes_of(good);
  for (const double at : {0.3, 0.5, 0.7}) {
    std::string bad = bytes;
    const std::size_t i = static_cast<std::size_t>(bytes.size() * at);
    bad[i] = static_cast<char>(bad[i] ^ 0xff);
    bad[i + 1] = static_cast<char>(bad[i + 1] ^ 0x55);
    const std::string file = path("flipped.jpg");
    write_bytes(file, bad);
    expect_error([&] { io::read_image(file); }, ErrorCode::kIo,
                 {file, "corrupt or truncated JPEG data (libjpeg: Corrupt JPEG data"});
  }
}

TEST_F(IoTest, JpegVariantLibjpegCannotDecodeIsNamed) {
  const std::string good = path("good.jpg");
  test::write_jpeg(good, test::JpegImage{});
  std::string bytes = bytes_of(good);
  const std::size_t sof = bytes.find("\xff\xc0");
  ASSERT_NE(sof, std::string::npos);
  bytes[sof + 4] = 12;  // sample precision: 12 bits
  const std::string file = path("twelve.jpg");
  write_bytes(file, bytes);
  expect_error([&] { io::read_info(file); }, ErrorCode::kUnsupported,
               {file, "libjpeg: Unsupported JPEG data precision 12"});
  expect_error([&] { io::read_image(file); }, ErrorCode::kUnsupported, {file, "precision 12"});
}

TEST_F(IoTest, DISABLED_JpegDecodeSpeedAgainstOpenCv) {
  // Run: build/tests/io_test --gtest_also_run_disabled_tests --gtest_filter='*JpegDecodeSpeed*'
  cv::Mat m(1024, 1024, CV_8UC3);
  for (int y = 0; y < m.rows; ++y)
    for (int x = 0; x < m.cols; ++x)
      m.at<cv::Vec3b>(y, x) = cv::Vec3b(static_cast<uchar>(x / 4), static_cast<uchar>(y / 4),
                                        static_cast<uchar>((x + y) / 8));
  cv::Mat noise(m.size(), CV_8UC3);
  cv::randu(noise, 0, 32);
  m += noise;
  const std::string file = path("speed.jpg");
  io::write_image(file, view_of(m));  // quality 95
  // Interleaved, so that neither profits from a warmer cache or clock.
  std::vector<double> opencv, pdeimg, header;
  const auto time_ms = [](std::vector<double>& t, const std::function<void()>& f) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    t.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  };
  for (int i = 0; i < 31; ++i) {
    time_ms(opencv, [&] { cv::imread(file, cv::IMREAD_UNCHANGED); });
    time_ms(pdeimg, [&] { io::read_image(file); });
    time_ms(header, [&] { io::read_info(file); });
  }
  const auto median = [](std::vector<double> t) {
    std::nth_element(t.begin(), t.begin() + t.size() / 2, t.end());
    return t[t.size() / 2];
  };
  std::printf(
      "1024x1024 colour JPEG (%zu bytes), median of 31: cv::imread %.2f ms, "
      "io::read_image %.2f ms, io::read_info %.3f ms\n",
      bytes_of(file).size(), median(opencv), median(pdeimg), median(header));
}

// --- damaged files ----------------------------------------------------------------------------

/// One damaged variant of a good file.
struct Damage {
  std::string what;
  std::string bytes;
};

std::vector<Damage> truncations(const std::string& bytes) {
  std::vector<Damage> out;
  for (const double keep : {0.1, 0.5, 0.9})
    out.push_back({"cut to " + std::to_string(int(keep * 100)) + "%",
                   bytes.substr(0, static_cast<std::size_t>(bytes.size() * keep))});
  out.push_back({"last byte cut", bytes.substr(0, bytes.size() - 1)});
  return out;
}

std::vector<Damage> flips(const std::string& bytes) {
  std::vector<Damage> out;
  for (const double at : {0.3, 0.5, 0.7}) {
    std::string b = bytes;
    const std::size_t i = static_cast<std::size_t>(b.size() * at);
    const unsigned char mask[4] = {0xff, 0x55, 0xaa, 0x33};
    for (int k = 0; k < 4; ++k) b[i + k] = static_cast<char>(b[i + k] ^ mask[k]);
    out.push_back({"4 bytes flipped at " + std::to_string(int(at * 100)) + "%", b});
  }
  return out;
}

/// A damaged file must fail with Error(kIo) naming it and saying it is corrupt or truncated.
void expect_damage_refused(const std::string& file, const std::string& what) {
  try {
    const HostImage img = io::read_image(file);
    ADD_FAILURE() << what << ": decoded to " << io::describe(img);
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_EQ(e.code(), ErrorCode::kIo) << what << ": " << m;
    EXPECT_NE(m.find(file), std::string::npos) << m;
    EXPECT_TRUE(m.find("corrupt") != std::string::npos || m.find("truncated") != std::string::npos)
        << what << ": " << m;
  }
}

/// Damage at 15 places through a file: wherever the codec library itself notices (`complaint`
/// non-empty), read_image must fail; where it does not, the damage is invisible to any decoder
/// without a checksum, and the file decodes. Returns how many places it noticed.
int expect_refused_where_noticed(const std::string& good, const std::string& damaged,
                                 const std::function<std::string(const std::string&)>& complaint) {
  const std::string bytes = test::read_bytes(good);
  int noticed = 0;
  for (int k = 1; k < 16; ++k) {
    std::string b = bytes;
    const std::size_t i = b.size() * k / 16;
    const unsigned char mask[4] = {0xff, 0x55, 0xaa, 0x33};
    for (int m = 0; m < 4; ++m) b[i + m] = static_cast<char>(b[i + m] ^ mask[m]);
    test::write_bytes(damaged, b);
    const std::string said = complaint(damaged);
    const std::string what = good + ", 4 bytes flipped at " + std::to_string(k) + "/16";
    if (!said.empty()) {
      ++noticed;
      expect_damage_refused(damaged, what + " (" + said + ")");
    }
  }
  return noticed;
}

TEST_F(IoTest, CorruptJpegFailsWhereverLibjpegNotices) {
  for (const bool progressive : {false, true}) {
    test::JpegImage im;
    im.width = 321;
    im.height = 257;
    im.progressive = progressive;
    const std::string good = path("good.jpg");
    test::write_jpeg(good, im);
    EXPECT_GE(expect_refused_where_noticed(good, path("damaged.jpg"), test::libjpeg_complaint), 8)
        << (progressive ? "progressive" : "baseline");
  }
}

// --- TIFF -------------------------------------------------------------------------------------

TEST_F(IoTest, MultiPageTiffIsRefusedSayingHowManyPages) {
  test::TiffImage page;
  const std::string file = path("pages.tif");
  test::write_tiff(file, {page, page, page});
  EXPECT_EQ(io::read_info(file).pages, 3);
  expect_error([&] { io::read_image(file); }, ErrorCode::kUnsupported,
               {file, "3 pages", "one image per file"});
}

TEST_F(IoTest, ReducedResolutionPagesAreNotPages) {
  namespace t = test::tiff;
  test::TiffImage full;
  full.photometric = t::kRgb;
  full.samples = 3;
  test::TiffImage thumbnail = full;
  thumbnail.width = 7;
  thumbnail.height = 4;
  thumbnail.subfile_type = t::kReducedImage;
  const std::string file = path("overview.tif");
  test::write_tiff(file, {full, thumbnail, thumbnail});
  EXPECT_EQ(io::read_info(file).pages, 1);
  expect_info_and_pixels_agree(file);
  EXPECT_EQ(io::read_image(file).width(), 13);

  const std::string first = path("thumbnail_first.tif");
  test::write_tiff(first, {thumbnail, full});
  expect_error([&] { io::read_image(first); }, ErrorCode::kUnsupported,
               {first, "reduced-resolution"});
}

TEST_F(IoTest, GreyAlphaTiffReadsAsBgraWithTheGreyReplicated) {
  namespace t = test::tiff;
  struct Depth {
    int bits, format;
    PixelType type;
  };
  int n = 0;
  for (const Depth d : {Depth{8, t::kUint, PixelType::kU8}, Depth{16, t::kUint, PixelType::kU16},
                        Depth{32, t::kFloat, PixelType::kF32}})
    for (const int layout : {0, 1, 2}) {  // strips, separate planes, tiles
      test::TiffImage im;
      im.width = 37;
      im.height = 21;
      im.bits = d.bits;
      im.sample_format = d.format;
      im.samples = 2;
      im.extra_sample = n % 2 == 0 ? t::kUnassociatedAlpha : t::kAssociatedAlpha;
      im.compression = n % 3 == 0 ? t::kLzw : t::kNone;
      if (layout == 1) im.planar = t::kSeparate;
      if (layout == 2) im.tile = 16;
      const std::string file = path("ga" + std::to_string(n++) + ".tif");
      test::write_tiff(file, {im});
      const io::ImageInfo info = io::read_info(file);
      EXPECT_EQ(info.channels, 4) << file;
      EXPECT_EQ(info.type, d.type) << file;
      const HostImage img = io::read_image(file);
      ASSERT_EQ(img.channels(), 4) << file;
      ASSERT_EQ(img.type(), d.type) << file;
      // The stored samples, as the test wrote them.
      const std::vector<unsigned char> stored = test::tiff_samples(im);
      const std::size_t bytes = d.bits / 8;
      const auto sample = [&](int x, int y, int s) {
        const std::size_t i = layout == 1 ? (std::size_t(s) * im.height + y) * im.width + x
                                          : (std::size_t(y) * im.width + x) * 2 + s;
        float v = 0;
        if (bytes == 1) v = stored[i];
        if (bytes == 2) {
          std::uint16_t u;
          std::memcpy(&u, &stored[i * 2], 2);
          v = u;
        }
        if (bytes == 4) std::memcpy(&v, &stored[i * 4], 4);
        return v;
      };
      int wrong = 0;
      for (int y = 0; y < im.height; ++y)
        for (int x = 0; x < im.width; ++x)
          for (int c = 0; c < 4; ++c)
            wrong += test::at(img, x, y, c) != sample(x, y, c < 3 ? 0 : 1);
      EXPECT_EQ(wrong, 0) << file;
    }
}

TEST_F(IoTest, RgbaTiffWithUnassociatedAlphaKeepsItsColours) {
  // OpenCV's RGBA interface premultiplies 8-bit colours by an unassociated alpha.
  namespace t = test::tiff;
  test::TiffImage im;
  im.photometric = t::kRgb;
  im.samples = 4;
  im.extra_sample = t::kUnassociatedAlpha;
  const std::string file = path("rgba.tif");
  test::write_tiff(file, {im});
  const HostImage img = io::read_image(file);
  ASSERT_EQ(img.channels(), 4);
  const std::vector<unsigned char> stored = test::tiff_samples(im);
  int wrong = 0;
  for (int y = 0; y < im.height; ++y)
    for (int x = 0; x < im.width; ++x)
      for (int c = 0; c < 4; ++c) {
        const int s = c == 3 ? 3 : 2 - c;  // B,G,R,A from R,G,B,A
        wrong += test::at(img, x, y, c) != stored[(std::size_t(y) * im.width + x) * 4 + s];
      }
  EXPECT_EQ(wrong, 0);
}

TEST_F(IoTest, SeparatePlanesOfMoreThanEightBitsReadLikeInterleavedOnes) {
  // OpenCV 4.6 reads the first plane as if interleaved and leaves the rest uninitialised.
  namespace t = test::tiff;
  int n = 0;
  for (const int bits : {16, 32})
    for (const int samples : {3, 4}) {
      test::TiffImage contig;
      contig.width = 37;
      contig.height = 21;
      contig.photometric = t::kRgb;
      contig.bits = bits;
      contig.sample_format = bits == 32 ? t::kFloat : t::kUint;
      contig.samples = samples;
      contig.extra_sample = t::kUnassociatedAlpha;
      contig.compression = n % 2 == 0 ? t::kNone : t::kDeflate;
      test::TiffImage separate = contig;
      separate.planar = t::kSeparate;
      const std::vector<unsigned char> interleaved = test::tiff_samples(contig);
      const std::size_t bytes = bits / 8;
      separate.data.resize(interleaved.size());
      const std::size_t pixels = std::size_t(contig.width) * contig.height;
      for (std::size_t p = 0; p < pixels; ++p)
        for (int s = 0; s < samples; ++s)
          std::memcpy(&separate.data[(s * pixels + p) * bytes],
                      &interleaved[(p * samples + s) * bytes], bytes);
      const std::string a = path("contig" + std::to_string(n) + ".tif");
      const std::string b = path("separate" + std::to_string(n++) + ".tif");
      test::write_tiff(a, {contig});
      test::write_tiff(b, {separate});
      expect_info_and_pixels_agree(a);  // interleaved: as OpenCV reads it
      const HostImage img = io::read_image(b);
      EXPECT_TRUE(test::identical(img, io::read_image(a))) << b;
      const io::ImageInfo info = io::read_info(b);
      EXPECT_EQ(info.channels, samples);
      EXPECT_EQ(info.type, bits == 32 ? PixelType::kF32 : PixelType::kU16);
    }
}

TEST_F(IoTest, TiffLayoutsPdeimgRefusesAreNamedFromTheHeader) {
  namespace t = test::tiff;
  struct Case {
    const char* name;
    test::TiffImage im;
    std::vector<std::string> says;
  };
  const auto make = [](int photometric, int bits, int samples, int format = t::kUint) {
    test::TiffImage im;
    im.photometric = photometric;
    im.bits = bits;
    im.samples = samples;
    im.sample_format = format;
    return im;
  };
  std::vector<Case> cases = {
      {"five.tif", make(t::kRgb, 8, 5), {"5 channels; pdeimg reads 1 to 4"}},
      {"five16.tif", make(t::kRgb, 16, 5), {"5 channels; pdeimg reads 1 to 4"}},
      {"six_grey.tif", make(t::kMinIsBlack, 32, 6, t::kFloat), {"6 channels; pdeimg reads 1 to 4"}},
      {"grey3.tif", make(t::kMinIsBlack, 8, 3), {"grey TIFF with 2 extra samples"}},
      {"white_alpha.tif", make(t::kMinIsWhite, 8, 2), {"white-is-zero"}},
      {"bilevel_alpha.tif", make(t::kMinIsBlack, 1, 2), {"grey+alpha TIFF of uint1"}},
      {"float64.tif", make(t::kMinIsBlack, 32, 1, t::kFloat), {}},
      {"int8.tif", make(t::kMinIsBlack, 8, 1, t::kInt), {"samples are int8"}},
      {"int32.tif", make(t::kMinIsBlack, 32, 1, t::kInt), {"samples are int32"}},
      {"uint32.tif", make(t::kMinIsBlack, 32, 1, t::kUint), {"samples are uint32"}},
      {"half.tif", make(t::kMinIsBlack, 16, 1, t::kFloat), {"samples are float16"}},
      {"grey4.tif", make(t::kMinIsBlack, 4, 1), {"4-bit samples"}},
      {"palette4.tif", make(t::kPalette, 4, 1), {"4-bit palette"}},
  };
  cases[6].im.bits = 64;  // float64
  cases[6].says = {"samples are float64; pdeimg reads uint8, uint16 and float32"};
  for (const Case& c : cases) {
    const std::string file = path(c.name);
    test::write_tiff(file, {c.im});
    std::vector<std::string> says = c.says;
    says.push_back(file);
    expect_error([&] { io::read_info(file); }, ErrorCode::kUnsupported, says);
    expect_error([&] { io::read_image(file); }, ErrorCode::kUnsupported, says);
  }
}

// --- damage in every format ---------------------------------------------------------------

struct DamageSource {
  const char* name;
  int cv_type;
  std::vector<int> params;
  bool directory_first;  // TIFF: rewritten with its directory before the data
};

TEST_F(IoTest, TruncatedFilesFailInEveryFormat) {
  const std::vector<DamageSource> sources = {
      {"c8.png", CV_8UC3, {}, false},
      {"g16.png", CV_16UC1, {}, false},
      {"raw8.tif", CV_8UC3, {cv::IMWRITE_TIFF_COMPRESSION, 1}, true},
      {"raw16.tif", CV_16UC1, {cv::IMWRITE_TIFF_COMPRESSION, 1}, true},
      {"rawf.tif", CV_32FC3, {cv::IMWRITE_TIFF_COMPRESSION, 1}, true},
      {"lzw8.tif", CV_8UC3, {cv::IMWRITE_TIFF_COMPRESSION, 5}, true},
      {"lzw8g.tif", CV_8UC1, {cv::IMWRITE_TIFF_COMPRESSION, 5}, true},
      {"lzw16.tif", CV_16UC3, {cv::IMWRITE_TIFF_COMPRESSION, 5}, true},
      {"lzwf.tif", CV_32FC1, {cv::IMWRITE_TIFF_COMPRESSION, 5}, true},
      {"end.tif", CV_8UC3, {cv::IMWRITE_TIFF_COMPRESSION, 5}, false},
      {"c.jpg", CV_8UC3, {}, false},
      {"p.jpg", CV_8UC1, {cv::IMWRITE_JPEG_PROGRESSIVE, 1}, false},
      {"g.bmp", CV_8UC1, {}, false},
      {"c.bmp", CV_8UC3, {}, false},
      {"c.webp", CV_8UC3, {}, false},
      {"a.webp", CV_8UC4, {cv::IMWRITE_WEBP_QUALITY, 101}, false},
      {"g.pgm", CV_8UC1, {}, false},
      {"c16.ppm", CV_16UC3, {}, false},
      {"a.pgm", CV_8UC1, {cv::IMWRITE_PXM_BINARY, 0}, false},
      {"c.pfm", CV_32FC3, {}, false},
      {"c.exr", CV_32FC3, {}, false},
      {"c.hdr", CV_32FC3, {}, false},
      {"c.ras", CV_8UC3, {}, false},
  };
  for (const DamageSource& s : sources) {
    const std::string good = path(std::string("good-") + s.name);
    ASSERT_TRUE(cv::imwrite(good, sample_mat(61, 83, s.cv_type, 9), s.params)) << s.name;
    std::string bytes = s.directory_first ? test::tiff_with_directory_first(good) : bytes_of(good);
    if (s.directory_first) {  // the rewritten file is good
      write_bytes(good, bytes);
      expect_info_and_pixels_agree(good);
    }
    for (const Damage& d : truncations(bytes)) {
      const std::string file = path(std::string("damaged-") + s.name);
      write_bytes(file, d.bytes);
      expect_damage_refused(file, std::string(s.name) + ", " + d.what);
    }
  }
}

/// A smooth image (compressed streams that are not noise) of `cv_type`.
cv::Mat smooth_mat(int rows, int cols, int cv_type) {
  cv::Mat m(rows, cols, cv_type);
  for (int y = 0; y < m.rows; ++y)
    for (int x = 0; x < m.cols * m.channels(); ++x) {
      const double v = 20 + (x * 3 + y * 5) % 200;
      if (m.depth() == CV_8U) m.ptr<uchar>(y)[x] = static_cast<uchar>(v);
      if (m.depth() == CV_16U) m.ptr<std::uint16_t>(y)[x] = static_cast<std::uint16_t>(v * 250);
      if (m.depth() == CV_32F) m.ptr<float>(y)[x] = static_cast<float>(v / 100);
    }
  return m;
}

TEST_F(IoTest, FlippedBytesFailInFormatsWithChecksums) {
  // PNG chunks carry CRC-32s; zlib streams (Deflate TIFF strips, OpenEXR's ZIP blocks) end with
  // an Adler-32, which libtiff does not check once a strip has its bytes. Formats without
  // redundancy cannot tell a changed byte from a changed pixel: uncompressed pixels (BMP, PNM,
  // PFM, TIFF), lossy WebP; JPEG and LZW are tested below where their decoders notice.
  const std::vector<DamageSource> sources = {
      {"c8.png", CV_8UC3, {}, false},
      {"a16.png", CV_16UC4, {}, false},
      {"deflate8.tif", CV_8UC3, {cv::IMWRITE_TIFF_COMPRESSION, 8}, false},
      {"deflate16.tif", CV_16UC3, {cv::IMWRITE_TIFF_COMPRESSION, 8}, false},
      {"c.exr", CV_32FC3, {}, false},
  };
  std::vector<std::string> goods;
  for (const DamageSource& s : sources) {
    goods.push_back(path(std::string("good-") + s.name));
    ASSERT_TRUE(cv::imwrite(goods.back(), smooth_mat(83, 61, s.cv_type), s.params)) << s.name;
  }
  // OpenCV writes float TIFF uncompressed whatever it is asked; libtiff writes Deflate.
  namespace t = test::tiff;
  test::TiffImage f;
  f.width = 61;
  f.height = 83;
  f.bits = 32;
  f.sample_format = t::kFloat;
  f.compression = t::kDeflate;
  f.rows_per_strip = 16;
  goods.push_back(path("good-deflatef.tif"));
  test::write_tiff(goods.back(), {f});
  for (const std::string& good : goods) {
    expect_info_and_pixels_agree(good);
    for (const Damage& d : flips(bytes_of(good))) {
      const std::string file = path("damaged-" + fs::path(good).filename().string());
      write_bytes(file, d.bytes);
      expect_damage_refused(file, good + ", " + d.what);
    }
  }
}

TEST_F(IoTest, CorruptLzwTiffFailsWhereverLibtiffNotices) {
  // OpenCV 4.6 accepted 8-bit ones even so: its RGBA interface skips a strip it cannot decode.
  for (const int type : {CV_8UC3, CV_8UC1, CV_16UC3}) {
    const std::string good = path("good-lzw.tif");
    ASSERT_TRUE(cv::imwrite(good, smooth_mat(150, 201, type), {cv::IMWRITE_TIFF_COMPRESSION, 5}));
    EXPECT_GE(expect_refused_where_noticed(good, path("damaged-lzw.tif"), test::libtiff_complaint),
              5)
        << cv::typeToString(type);
  }
}

// --- threads ----------------------------------------------------------------------------------

TEST_F(IoTest, ReadsOnManyThreadsAtOnceKeepTheirOwnErrors) {
  // The decoders' error state is per call: a failing read on one thread never leaks into
  // another's result (the batch apps decode on several threads).
  namespace t = test::tiff;
  test::JpegImage jpeg;
  jpeg.width = 321;
  jpeg.height = 257;
  test::write_jpeg(path("good.jpg"), jpeg);
  const std::string jpeg_bytes = bytes_of(path("good.jpg"));
  write_bytes(path("cut.jpg"), jpeg_bytes.substr(0, jpeg_bytes.size() / 2));
  io::write_image(path("good.png"), sample_image(64, 48, 3, PixelType::kU16, 4));
  test::TiffImage grey_alpha;
  grey_alpha.samples = 2;
  grey_alpha.extra_sample = t::kUnassociatedAlpha;
  grey_alpha.compression = t::kLzw;
  test::write_tiff(path("ga.tif"), {grey_alpha});
  ASSERT_TRUE(cv::imwrite(path("lzw.tif"), sample_mat(83, 61, CV_8UC3, 3),
                          {cv::IMWRITE_TIFF_COMPRESSION, 5}));
  const std::string lzw = test::tiff_with_directory_first(path("lzw.tif"));
  write_bytes(path("bad.tif"), lzw.substr(0, lzw.size() / 2));
  write_bytes(path("big.png"), test::lying_header("png", 32768, 32768, true));

  struct Expect {
    std::string file;
    HostImage image;  // empty: an error of `code`
    ErrorCode code;
  };
  std::vector<Expect> expects;
  for (const char* name : {"good.jpg", "good.png", "ga.tif"})
    expects.push_back({path(name), io::read_image(path(name)), ErrorCode::kIo});
  expects.push_back({path("cut.jpg"), HostImage(), ErrorCode::kIo});
  expects.push_back({path("bad.tif"), HostImage(), ErrorCode::kIo});
  expects.push_back({path("big.png"), HostImage(), ErrorCode::kLimitExceeded});

  // One thread first: each file gives what it should.
  for (const Expect& e : expects) {
    try {
      const HostImage img = io::read_image(e.file);
      EXPECT_FALSE(e.image.empty()) << e.file << " decoded";
    } catch (const Error& err) {
      EXPECT_TRUE(e.image.empty() && err.code() == e.code) << err.what();
    }
  }
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int k = 0; k < 4; ++k)
    threads.emplace_back([&, k] {
      for (int i = 0; i < 20; ++i)
        for (std::size_t j = 0; j < expects.size(); ++j) {
          const Expect& e = expects[(j + k) % expects.size()];
          try {
            const HostImage img = io::read_image(e.file);
            if (e.image.empty() || !test::identical(img, e.image)) ++wrong;
          } catch (const Error& err) {
            if (!e.image.empty() || err.code() != e.code ||
                std::string(err.what()).find(e.file) == std::string::npos)
              ++wrong;
          }
        }
    });
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
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
