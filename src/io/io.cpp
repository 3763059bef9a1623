// pdeimg::io: OpenCV imgcodecs behind checks that keep bit depth and channel count.
#include "pdeimg/io.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <new>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include <opencv2/imgcodecs.hpp>

#include "pdeimg/error.hpp"
#include "pdeimg/opencv.hpp"
#include "src/io/codecs.hpp"
#include "src/io/temp_name.hpp"

#if defined(_WIN32)
#include <process.h>
#define PDEIMG_GETPID _getpid
#else
#include <unistd.h>
#define PDEIMG_GETPID getpid
#endif

namespace pdeimg {
namespace io {

// --- shared by the codec files (src/io/codecs.hpp) ---------------------------------------------
namespace detail {

std::string errno_text() {
  return std::error_code(errno, std::generic_category()).message();
}

void fail_read(const std::string& path, ErrorCode code, const std::string& why) {
  throw Error(code, "cannot read '" + path + "': " + why);
}

InputFile::InputFile(const std::string& path) : file_(std::fopen(path.c_str(), "rb")) {
  if (file_ == nullptr) fail_read(path, ErrorCode::kIo, errno_text());
}

InputFile::~InputFile() {
  if (file_ != nullptr) std::fclose(file_);
}

Kind sniff(const unsigned char* h, std::size_t n) noexcept {
  const auto starts = [h, n](const char* sig, std::size_t len) {
    return n >= len && std::memcmp(h, sig, len) == 0;
  };
  const auto space = [](unsigned char c) { return std::isspace(c) != 0; };
  if (starts("\xFF\xD8\xFF", 3)) return Kind::kJpeg;
  if (starts("\x89PNG\r\n\x1A\n", 8)) return Kind::kPng;
  if (starts("II*\0", 4) || starts("MM\0*", 4) || starts("II+\0", 4) || starts("MM\0+", 4))
    return Kind::kTiff;  // classic and BigTIFF
  if (n >= 12 && starts("RIFF", 4) && std::memcmp(h + 8, "WEBP", 4) == 0) return Kind::kWebp;
  if (starts("BM", 2)) return Kind::kBmp;
  if (n >= 3 && h[0] == 'P' && space(h[2])) {
    if (h[1] >= '1' && h[1] <= '6') return Kind::kPnm;
    if (h[1] == 'f' || h[1] == 'F') return Kind::kPfm;
    if (h[1] == '7') return Kind::kPam;
  }
  if (starts("#?RGBE", 6) || starts("#?RADIANCE", 10)) return Kind::kHdr;
  if (starts("\x59\xA6\x6A\x95", 4)) return Kind::kSunRaster;
  if (starts("\x76\x2F\x31\x01", 4)) return Kind::kExr;
  if (starts("\0\0\0\x0CjP  \r\n\x87\n", 12) || starts("\xFF\x4F\xFF\x51", 4))
    return Kind::kJpeg2000;
  return Kind::kOther;
}

const char* format_name(Kind kind) noexcept {
  switch (kind) {
    case Kind::kJpeg:
      return "JPEG";
    case Kind::kPng:
      return "PNG";
    case Kind::kTiff:
      return "TIFF";
    case Kind::kWebp:
      return "WebP";
    case Kind::kBmp:
      return "BMP";
    case Kind::kPnm:
      return "PNM";
    case Kind::kPfm:
      return "PFM";
    case Kind::kHdr:
      return "Radiance HDR";
    case Kind::kSunRaster:
      return "Sun raster";
    case Kind::kExr:
      return "OpenEXR";
    case Kind::kJpeg2000:
      return "JPEG 2000";
    case Kind::kPam:
      return "PAM";
    case Kind::kOther:
      break;
  }
  return "other";
}

std::string channels_refusal(int channels) {
  return std::to_string(channels) + " channels; pdeimg reads 1 to 4";
}

std::string sample_type_refusal(const std::string& type_name) {
  return "samples are " + type_name + "; pdeimg reads uint8, uint16 and float32";
}

}  // namespace detail

namespace {

namespace fs = std::filesystem;
using detail::errno_text;
using detail::fail_read;
using detail::Kind;

[[noreturn]] void fail_write(const std::string& path, ErrorCode code, const std::string& why) {
  throw Error(code, "cannot write '" + path + "': " + why);
}

std::string lower_extension(const std::string& path) {
  std::string ext = fs::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext;
}

// What a format holds without OpenCV converting silently. Measured with OpenCV 4.6 by writing
// every depth and channel count and reading it back: imwrite converts unsupported depths to 8 bits
// without a word (PNG, JPEG, BMP, WebP), drops alpha (JPEG, BMP), expands grey (WebP, HDR), and
// fails for 2 channels everywhere.
struct Format {
  const char* name;
  const char* extensions;  // space-separated, lower case
  bool u8, u16, f32;
  unsigned channels;  // bit c set: c channels allowed
};

constexpr unsigned kCh1 = 1u << 1, kCh3 = 1u << 3, kCh4 = 1u << 4;

const Format kFormats[] = {
    {"PNG", ".png", true, true, false, kCh1 | kCh3 | kCh4},
    {"TIFF", ".tif .tiff", true, true, true, kCh1 | kCh3 | kCh4},
    {"JPEG", ".jpg .jpeg .jpe", true, false, false, kCh1 | kCh3},
    {"BMP", ".bmp .dib", true, false, false, kCh1 | kCh3},
    {"WebP", ".webp", true, false, false, kCh3 | kCh4},
    {"PGM", ".pgm", true, true, false, kCh1},
    {"PPM", ".ppm", true, true, false, kCh3},
    {"PNM", ".pnm", true, true, false, kCh1 | kCh3},
    {"PFM", ".pfm", false, false, true, kCh1 | kCh3},
    {"OpenEXR", ".exr", false, false, true, kCh1 | kCh3 | kCh4},
    {"Radiance HDR", ".hdr .pic", false, false, true, kCh3},
};

const Format* find_format(const std::string& ext) {
  if (ext.empty()) return nullptr;
  for (const Format& f : kFormats) {
    const std::string list = std::string(" ") + f.extensions + " ";
    if (list.find(" " + ext + " ") != std::string::npos) return &f;
  }
  return nullptr;
}

std::string holds(const Format& f) {
  std::string types;
  const auto add = [&types](bool on, const char* name) {
    if (!on) return;
    if (!types.empty()) types += ", ";
    types += name;
  };
  add(f.u8, "uint8");
  add(f.u16, "uint16");
  add(f.f32, "float32");
  std::string ch;
  for (int c = 1; c <= 4; ++c) {
    if (!(f.channels & (1u << c))) continue;
    if (!ch.empty()) ch += "/";
    ch += std::to_string(c);
  }
  return std::string(f.name) + " holds " + types + " with " + ch + " channel(s)";
}

std::string describe_type(PixelType type, int channels) {
  return std::to_string(channels) + "ch " + to_string(type);
}

// imwrite parameters per format. TIFF: OpenCV 4.x writes CV_32FC3 as lossy LogLuv (SGILOG)
// unless a compression is given; LZW is what it uses for every other type anyway.
std::vector<int> write_params(const std::string& ext) {
  const Format* f = find_format(ext);
  if (f == nullptr) return {};
  const std::string name = f->name;
  if (name == "TIFF") return {cv::IMWRITE_TIFF_COMPRESSION, 5 /* COMPRESSION_LZW */};
  if (name == "JPEG") return {cv::IMWRITE_JPEG_QUALITY, 95};
  return {};
}

// Removes the temporary file unless the write was committed (renamed into place).
class TempFile {
 public:
  explicit TempFile(fs::path p) : path_(std::move(p)) {}
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  ~TempFile() {
    if (!committed_) {
      std::error_code ec;
      fs::remove(path_, ec);
    }
  }
  const fs::path& path() const noexcept { return path_; }
  void commit() noexcept { committed_ = true; }

 private:
  fs::path path_;
  bool committed_ = false;
};

// ".<stem>.tmp-<host>-<pid>-<n><ext>" in `folder` (src/io/temp_name.hpp), not yet present. The
// extension is kept because OpenCV picks the encoder by it; the leading dot hides the file from
// most listings; host and pid let a later batch run remove the file if this process is killed.
fs::path temp_path(const fs::path& folder, const fs::path& name) {
  static std::atomic<unsigned long> counter{0};
  const long pid = static_cast<long>(PDEIMG_GETPID());
  for (;;) {
    fs::path p = folder / detail::temp_name(name.stem().string(), name.extension().string(),
                                            detail::temp_host(), pid, counter.fetch_add(1));
    std::error_code ec;
    if (!fs::exists(fs::symlink_status(p, ec))) return p;
  }
}

}  // namespace

std::string describe(const ImageView& image) {
  std::string s = std::to_string(image.width) + "x" + std::to_string(image.height) + " " +
                  describe_type(image.type, image.channels);
  if (image.location == Location::kDevice) s += " (device)";
  return s;
}

bool has_writer(const std::string& path) {
  try {
    return cv::haveImageWriter(path);
  } catch (const cv::Exception&) {
    return false;
  }
}

void check_writable(const std::string& path, PixelType type, int channels) {
  const std::string ext = lower_extension(path);
  if (ext.empty()) {
    fail_write(path, ErrorCode::kUnsupported,
               "no file extension to choose an image format by (e.g. .png, .tif)");
  }
  if (channels == 2) {
    fail_write(path, ErrorCode::kUnsupported,
               "no image format OpenCV writes holds 2 channels (grey + alpha); drop the alpha "
               "channel or add colour channels");
  }
  const Format* f = find_format(ext);
  if (f == nullptr) {
    if (!has_writer(path)) {
      fail_write(path, ErrorCode::kUnsupported,
                 "OpenCV has no writer for the extension '" + ext + "'");
    }
    return;  // a format OpenCV knows and this table does not: let it decide
  }
  const bool type_ok = (type == PixelType::kU8 && f->u8) || (type == PixelType::kU16 && f->u16) ||
                       (type == PixelType::kF32 && f->f32);
  const bool channels_ok = channels >= 1 && channels <= 4 && (f->channels & (1u << channels));
  if (!type_ok || !channels_ok) {
    std::string hint;
    if (!type_ok && type == PixelType::kU16) hint = "; use .png or .tif for 16 bits";
    if (!type_ok && type == PixelType::kF32) hint = "; use .tif (or .exr, .pfm) for float32";
    if (type_ok && channels == 4) hint = "; use .png or .tif to keep the alpha channel";
    fail_write(path, ErrorCode::kUnsupported,
               holds(*f) + ", not " + describe_type(type, channels) + hint);
  }
  if (!has_writer(path)) {
    fail_write(path, ErrorCode::kUnsupported,
               std::string("this OpenCV was built without a ") + f->name + " writer");
  }
}

namespace {

// The checks every read starts with: OpenCV reports these only as a failed decode.
void check_input_file(const std::string& path) {
  if (path.empty()) fail_read(path, ErrorCode::kIo, "the file name is empty");
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (st.type() == fs::file_type::not_found) fail_read(path, ErrorCode::kIo, "file does not exist");
  if (ec) fail_read(path, ErrorCode::kIo, ec.message());
  if (fs::is_directory(st)) fail_read(path, ErrorCode::kIo, "is a folder, not an image file");
  if (!fs::is_regular_file(st)) fail_read(path, ErrorCode::kIo, "not a regular file");
  const std::uintmax_t size = fs::file_size(path, ec);
  if (ec) fail_read(path, ErrorCode::kIo, ec.message());
  if (size == 0) fail_read(path, ErrorCode::kIo, "file is empty");
}

struct Inspection {
  Kind kind = Kind::kOther;
  ImageInfo info;
  detail::TiffPlan tiff;
};

// The format by signature, then its header through the codec layer.
Inspection inspect(const std::string& path) {
  check_input_file(path);
  unsigned char head[16] = {};
  std::size_t n = 0;
  {
    const detail::InputFile file(path);  // names errno's reason when it cannot be opened
    n = std::fread(head, 1, sizeof head, file.get());
  }
  Inspection in;
  in.kind = detail::sniff(head, n);
  bool readable = false;
  try {
    readable = cv::haveImageReader(path);  // by signature, like sniff
  } catch (const cv::Exception& e) {
    fail_read(path, ErrorCode::kIo, "OpenCV: " + e.err);
  }
  if (!readable) fail_read(path, ErrorCode::kIo, "not an image in a format OpenCV can read");
  switch (in.kind) {
    case Kind::kJpeg:
      in.info = detail::jpeg_info(path);
      break;
    case Kind::kPng:
      in.info = detail::png_info(path);
      break;
    case Kind::kTiff:
      in.tiff = detail::tiff_plan(path);
      in.info = in.tiff.info;
      break;
    case Kind::kWebp:
      in.info = detail::webp_info(path);
      break;
    case Kind::kBmp:
    case Kind::kPnm:
    case Kind::kPfm:
    case Kind::kHdr:
    case Kind::kSunRaster:
      in.info = detail::parsed_header_info(path, in.kind);
      break;
    default:  // decoded by OpenCV, size unknown until then
      in.info.format = detail::format_name(in.kind);
      break;
  }
  return in;
}

std::string size_text(std::uint64_t width, std::uint64_t height, int channels) {
  return std::to_string(width) + "x" + std::to_string(height) + ", " + std::to_string(channels) +
         (channels == 1 ? " channel" : " channels");
}

void check_limit(const std::string& path, int width, int height, int channels,
                 const ReadOptions& options) {
  const std::uint64_t samples = static_cast<std::uint64_t>(width) *
                                static_cast<std::uint64_t>(height) *
                                static_cast<std::uint64_t>(channels);
  if (options.max_samples == 0 || samples <= options.max_samples) return;
  std::string why = size_text(width, height, channels) + ": " + std::to_string(samples) +
                    " samples, more than the limit of " + std::to_string(options.max_samples) +
                    " samples";
  if (!options.limit_name.empty()) why += " (" + options.limit_name + ")";
  fail_read(path, ErrorCode::kLimitExceeded, why);
}

// OpenCV 4.6's defaults for OPENCV_IO_MAX_IMAGE_WIDTH, _HEIGHT and _PIXELS (loadsave.cpp).
bool beyond_opencv_limits(const ImageInfo& info) {
  constexpr std::uint64_t kMaxSide = std::uint64_t{1} << 20, kMaxPixels = std::uint64_t{1} << 30;
  const auto w = static_cast<std::uint64_t>(info.width),
             h = static_cast<std::uint64_t>(info.height);
  return w > kMaxSide || h > kMaxSide || w * h > kMaxPixels;
}

HostImage read_with_opencv(const std::string& path, const Inspection& in) {
  cv::Mat m;
  try {
    m = cv::imread(path, cv::IMREAD_UNCHANGED);
  } catch (const cv::Exception& e) {
    fail_read(path, ErrorCode::kIo, "OpenCV: " + e.err);
  }
  if (m.empty()) {
    const ImageInfo& info = in.info;
    if (info.known() && beyond_opencv_limits(info)) {
      fail_read(path, ErrorCode::kLimitExceeded,
                size_text(info.width, info.height, info.channels) +
                    ": OpenCV 4.6 decodes at most 2^20 pixels a side and 2^30 pixels "
                    "(environment variables OPENCV_IO_MAX_IMAGE_WIDTH, _HEIGHT and _PIXELS)");
    }
    if (in.kind == Kind::kTiff && in.tiff.decoder == detail::TiffDecoder::kCheckThenOpenCv) {
      fail_read(path, ErrorCode::kUnsupported,
                "OpenCV 4.6 cannot decode this kind of TIFF (" + in.tiff.layout +
                    "), although libtiff decodes its data without error");
    }
    if (in.kind == Kind::kTiff) {
      fail_read(path, ErrorCode::kIo,
                "corrupt, truncated or unsupported TIFF data (" + in.tiff.layout + ")");
    }
    fail_read(path, ErrorCode::kIo, "corrupt or truncated image data");
  }
  const int depth = m.depth();
  if (depth != CV_8U && depth != CV_16U && depth != CV_32F) {
    static const char* const kNames[] = {"uint8", "int8",    "uint16",  "int16",
                                         "int32", "float32", "float64", "float16"};
    const std::string name = depth >= 0 && depth < 8 ? kNames[depth] : std::to_string(depth);
    fail_read(path, ErrorCode::kUnsupported, detail::sample_type_refusal(name));
  }
  if (m.channels() > 4)
    fail_read(path, ErrorCode::kUnsupported, detail::channels_refusal(m.channels()));
  return HostImage::copy_of(view_of(m));
}

}  // namespace

ImageInfo read_info(const std::string& path) {
  return inspect(path).info;
}

HostImage read_image(const std::string& path, const ReadOptions& options) {
  const Inspection in = inspect(path);
  const ImageInfo& info = in.info;
  if (info.pages > 1) {
    fail_read(path, ErrorCode::kUnsupported,
              "a TIFF of " + std::to_string(info.pages) +
                  " pages (full-resolution images); pdeimg reads one image per file, so split "
                  "the pages into files first");
  }
  // From the header, before a byte of pixel memory is allocated.
  if (info.known()) check_limit(path, info.width, info.height, info.channels, options);
  HostImage img;
  try {
    if (in.kind == Kind::kJpeg) {
      img = detail::jpeg_read(path, info);
    } else if (in.kind == Kind::kTiff && in.tiff.decoder == detail::TiffDecoder::kOwn) {
      img = detail::tiff_read(path, info);
    } else {
      if (in.kind == Kind::kTiff &&
          (in.tiff.decoder == detail::TiffDecoder::kCheckThenOpenCv || in.tiff.check_deflate))
        detail::tiff_check_data(path, in.tiff);
      img = read_with_opencv(path, in);
    }
  } catch (const std::bad_alloc&) {
    fail_read(path, ErrorCode::kOutOfMemory, "out of memory while decoding");
  } catch (const Error& e) {
    // HostImage's own allocation failure does not know the file.
    if (e.code() != ErrorCode::kOutOfMemory || std::string(e.what()).rfind("cannot read '", 0) == 0)
      throw;
    fail_read(path, ErrorCode::kOutOfMemory, e.what());
  }
  // Formats whose header was not inspected are checked now; for the others this is the header's
  // answer again.
  check_limit(path, img.width(), img.height(), img.channels(), options);
  return img;
}

void write_image(const std::string& path, const ImageView& image) {
  validate(image, ("write_image('" + path + "')").c_str());
  if (image.location != Location::kHost) {
    throw Error(ErrorCode::kInvalidArgument,
                "write_image('" + path +
                    "'): the image is in device memory; download it to a HostImage first");
  }
  check_writable(path, image.type, image.channels);

  std::error_code ec;
  fs::path target = path;
  // Replace the file a symbolic link points to, not the link (what writing in place would do).
  if (fs::is_symlink(fs::symlink_status(target, ec))) {
    const fs::path resolved = fs::weakly_canonical(target, ec);
    if (!ec) target = resolved;
  }
  const fs::file_status st = fs::status(target, ec);
  if (fs::is_directory(st)) fail_write(path, ErrorCode::kIo, "is a folder");
  const fs::path folder = target.has_parent_path() ? target.parent_path() : fs::path(".");
  if (!fs::is_directory(folder, ec)) {
    fail_write(path, ErrorCode::kIo, "folder '" + folder.string() + "' does not exist");
  }

  TempFile tmp(temp_path(folder, target.filename()));
  bool ok = false;
  try {
    ok = cv::imwrite(tmp.path().string(), mat_of(image), write_params(lower_extension(path)));
  } catch (const cv::Exception& e) {
    fail_write(path, ErrorCode::kIo, "OpenCV: " + e.err);
  } catch (const std::bad_alloc&) {
    fail_write(path, ErrorCode::kOutOfMemory, "out of memory while encoding");
  }
  if (!ok) {
    // imwrite says only "false"; the usual reasons are a full disk or a folder without write
    // permission, which a test open tells apart.
    std::string why = "OpenCV could not encode or write the file";
    if (std::FILE* f = std::fopen(tmp.path().string().c_str(), "ab")) {
      std::fclose(f);
    } else {
      why += " (" + errno_text() + ")";
    }
    fail_write(path, ErrorCode::kIo, why);
  }
  fs::rename(tmp.path(), target, ec);
  if (ec)
    fail_write(path, ErrorCode::kIo,
               "cannot rename the temporary file into place: " + ec.message());
  tmp.commit();
}

bool same_file(const std::string& a, const std::string& b) noexcept {
  try {
    std::error_code ea, eb;
    const fs::path pa(a), pb(b);
    if (fs::exists(pa, ea) && fs::exists(pb, eb)) {
      std::error_code ec;
      const bool eq = fs::equivalent(pa, pb, ec);
      if (!ec) return eq;
    }
    const auto normal = [](const fs::path& p) {
      std::error_code ec;
      fs::path r = fs::weakly_canonical(p, ec);
      if (ec) r = fs::absolute(p, ec).lexically_normal();
      return r;
    };
    return normal(pa) == normal(pb);
  } catch (...) {  // bad_alloc from path arithmetic: fall back to comparing the names
    return a == b;
  }
}

}  // namespace io
}  // namespace pdeimg
