// TIFF through libtiff: the page count and the first image's layout for read_info, and the
// rules of which TIFFs pdeimg refuses from the header, following what OpenCV 4.6 decodes
// (measured with files written by libtiff for every photometric interpretation, 1..64 bits,
// 1..6 samples, both planar configurations, and by reading its decoder,
// modules/imgcodecs/src/grfmt_tiff.cpp). OpenCV reads grey with extra samples as grey, so a
// grey+alpha TIFF would lose its alpha: refused here. More than 4 samples per pixel fail deep in
// its decoder ("corrupt or truncated" to the user): named here.
//
// libtiff's error and warning handlers are set per open file (TIFFOpenExt with TIFFOpenOptions,
// libtiff >= 4.5) and write into that call's TiffMessages: threads never share them, and
// OpenCV's process-wide handlers are never consulted for our files.
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <string>

#include <tiffio.h>

#include "src/io/codecs.hpp"

namespace pdeimg {
namespace io {
namespace detail {
namespace {

struct TiffMessages {
  char error[512];
  int errors;
};

int on_error(TIFF*, void* user, const char*, const char* fmt, va_list ap) {
  auto* m = static_cast<TiffMessages*>(user);
  if (m->errors++ == 0) std::vsnprintf(m->error, sizeof m->error, fmt, ap);
  return 1;  // handled: libtiff's process-wide handlers (OpenCV's) are not called
}

// The directory's warnings are about tags (unknown, or of an unexpected type): not a reason to
// refuse the file.
int on_warning(TIFF*, void*, const char*, const char*, va_list) {
  return 1;
}

class TiffFile {
 public:
  explicit TiffFile(const std::string& path) : path_(path) {
    TIFFOpenOptions* options = TIFFOpenOptionsAlloc();
    if (options == nullptr)
      fail_read(path, ErrorCode::kOutOfMemory, "cannot create a libtiff reader");
    TIFFOpenOptionsSetErrorHandlerExtR(options, on_error, &messages_);
    TIFFOpenOptionsSetWarningHandlerExtR(options, on_warning, &messages_);
    tif_ = TIFFOpenExt(path.c_str(), "r", options);
    TIFFOpenOptionsFree(options);
    if (tif_ == nullptr) corrupt("header");
  }
  TiffFile(const TiffFile&) = delete;
  TiffFile& operator=(const TiffFile&) = delete;
  ~TiffFile() {
    if (tif_ != nullptr) TIFFClose(tif_);
  }
  TIFF* get() const noexcept { return tif_; }
  const std::string& path() const noexcept { return path_; }
  bool had_error() const noexcept { return messages_.errors > 0; }

  [[noreturn]] void corrupt(const std::string& where) const {
    const char* said = messages_.errors > 0 ? messages_.error : "no message";
    fail_read(path_, ErrorCode::kIo,
              "corrupt or truncated TIFF " + where + " (libtiff: " + said + ")");
  }

 private:
  std::string path_;
  TiffMessages messages_{};
  TIFF* tif_ = nullptr;
};

// The first image's tags that decide how it is read.
struct Layout {
  std::uint32_t width = 0, height = 0;
  std::uint16_t photometric = 0, bits = 1, samples = 1, format = SAMPLEFORMAT_UINT;
  std::uint16_t planar = PLANARCONFIG_CONTIG, compression = COMPRESSION_NONE;
  std::uint16_t extra = EXTRASAMPLE_UNSPECIFIED;  // the kind of the first extra sample
  bool grey = false;
};

Layout read_layout(const TiffFile& t) {
  TIFF* tif = t.get();
  Layout l;
  if (!TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &l.width) ||
      !TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &l.height) ||
      !TIFFGetField(tif, TIFFTAG_PHOTOMETRIC, &l.photometric)) {
    fail_read(t.path(), ErrorCode::kIo,
              "corrupt TIFF header (no image width, length or photometric interpretation)");
  }
  l.grey = l.photometric == PHOTOMETRIC_MINISWHITE || l.photometric == PHOTOMETRIC_MINISBLACK;
  // Without the tags OpenCV assumes 1 bit (bilevel) and 1 or 3 samples.
  if (!TIFFGetField(tif, TIFFTAG_BITSPERSAMPLE, &l.bits)) l.bits = 1;
  if (!TIFFGetField(tif, TIFFTAG_SAMPLESPERPIXEL, &l.samples)) l.samples = l.grey ? 1 : 3;
  TIFFGetField(tif, TIFFTAG_SAMPLEFORMAT, &l.format);
  TIFFGetField(tif, TIFFTAG_PLANARCONFIG, &l.planar);
  TIFFGetField(tif, TIFFTAG_COMPRESSION, &l.compression);
  std::uint16_t count = 0;
  std::uint16_t* kinds = nullptr;
  if (TIFFGetField(tif, TIFFTAG_EXTRASAMPLES, &count, &kinds) && count > 0) l.extra = kinds[0];
  return l;
}

std::string photometric_name(std::uint16_t p) {
  switch (p) {
    case PHOTOMETRIC_MINISWHITE:
      return "grey (white is zero)";
    case PHOTOMETRIC_MINISBLACK:
      return "grey";
    case PHOTOMETRIC_RGB:
      return "RGB";
    case PHOTOMETRIC_PALETTE:
      return "palette";
    case PHOTOMETRIC_SEPARATED:
      return "CMYK";
    case PHOTOMETRIC_YCBCR:
      return "YCbCr";
    case PHOTOMETRIC_CIELAB:
      return "CIE L*a*b*";
    default:
      return "photometric " + std::to_string(p);
  }
}

std::string compression_name(std::uint16_t c) {
  switch (c) {
    case COMPRESSION_NONE:
      return "uncompressed";
    case COMPRESSION_LZW:
      return "LZW";
    case COMPRESSION_ADOBE_DEFLATE:
    case COMPRESSION_DEFLATE:
      return "Deflate";
    case COMPRESSION_PACKBITS:
      return "PackBits";
    case COMPRESSION_JPEG:
    case COMPRESSION_OJPEG:
      return "JPEG";
    default:
      return "compression " + std::to_string(c);
  }
}

std::string describe(const Layout& l) {
  return std::to_string(l.bits) + "-bit " + photometric_name(l.photometric) + ", " +
         std::to_string(l.samples) + " sample" + (l.samples == 1 ? "" : "s") + " per pixel" +
         (l.planar == PLANARCONFIG_SEPARATE ? " in separate planes" : "") + ", " +
         compression_name(l.compression);
}

// "int16", "float64", "uint32": the name read_image's messages give a sample type.
std::string sample_name(int bits, std::uint16_t format) {
  const std::string b = std::to_string(bits);
  switch (format) {
    case SAMPLEFORMAT_UINT:
      return "uint" + b;
    case SAMPLEFORMAT_INT:
      return "int" + b;
    case SAMPLEFORMAT_IEEEFP:
      return "float" + b;
    default:
      return b + "-bit of sample format " + std::to_string(format);
  }
}

[[noreturn]] void refuse(const std::string& path, const std::string& why) {
  fail_read(path, ErrorCode::kUnsupported, why);
}

// The type and channels read_image returns for the first image, or a refusal from the header.
TiffPlan plan_for(const std::string& path, const Layout& l) {
  TiffPlan plan;
  plan.layout = describe(l);
  ImageInfo& info = plan.info;
  info.format = format_name(Kind::kTiff);
  if (l.width == 0 || l.height == 0 || l.width > 0x7fffffffu || l.height > 0x7fffffffu) {
    fail_read(path, ErrorCode::kIo,
              "corrupt TIFF header (size " + std::to_string(l.width) + "x" +
                  std::to_string(l.height) + ")");
  }
  info.width = static_cast<int>(l.width);
  info.height = static_cast<int>(l.height);
  if (l.samples > 4) refuse(path, channels_refusal(l.samples));
  const bool uint = l.format == SAMPLEFORMAT_UINT;

  if (l.photometric == PHOTOMETRIC_LOGLUV && l.samples == 3) {  // OpenCV decodes it to float
    info.channels = 3;
    info.type = PixelType::kF32;
    return plan;
  }
  if (l.grey && l.samples == 2) {
    refuse(path,
           "a grey+alpha TIFF, whose alpha OpenCV 4.6 would drop; save it as a grey+alpha "
           "PNG or as RGBA");
  }
  if (l.grey && l.samples > 2) {
    refuse(path, "a grey TIFF with " + std::to_string(l.samples - 1) +
                     " extra samples per pixel; pdeimg reads grey, RGB and RGB+alpha");
  }
  if (l.photometric == PHOTOMETRIC_PALETTE && l.samples != 1) {
    refuse(path, "a palette TIFF with extra samples; pdeimg reads palette images without them");
  }
  // OpenCV 4.6's rules (TiffDecoder::readHeader). More than 8 bits in a layout it does not read
  // directly goes through the RGBA interface as 8 bits.
  int bits = l.bits;
  if (bits > 8 &&
      (l.photometric > PHOTOMETRIC_RGB || (l.samples != 1 && l.samples != 3 && l.samples != 4)))
    bits = 8;
  const int wanted = l.grey ? 1 : l.samples;
  switch (bits) {
    case 1:
    case 8:
      if (!uint) refuse(path, sample_type_refusal(sample_name(8, l.format)));
      if (bits == 1 && !l.grey && l.photometric != PHOTOMETRIC_PALETTE) {
        refuse(path, "a bilevel " + photometric_name(l.photometric) +
                         " TIFF; OpenCV 4.6 decodes 1-bit grey and palette images only");
      }
      info.type = PixelType::kU8;
      info.channels = bits == 8 && l.photometric == PHOTOMETRIC_PALETTE ? 3 : wanted;
      return plan;
    case 10:
    case 12:
    case 14:
    case 16:
      if (!uint) refuse(path, sample_type_refusal(sample_name(16, l.format)));
      info.type = PixelType::kU16;
      info.channels = wanted;
      return plan;
    case 32:
    case 64:
      if (bits == 64 || l.format != SAMPLEFORMAT_IEEEFP)
        refuse(path, sample_type_refusal(sample_name(bits, l.format)));
      info.type = PixelType::kF32;
      info.channels = wanted;
      return plan;
    default:
      break;
  }
  if (l.photometric == PHOTOMETRIC_PALETTE) {
    refuse(path, "a " + std::to_string(bits) +
                     "-bit palette TIFF; OpenCV 4.6 decodes 1- and 8-bit palettes only");
  }
  refuse(path, std::to_string(bits) +
                   "-bit samples; OpenCV 4.6 decodes TIFF of 1, 8, 10, 12, 14, 16 and 32 bits");
}

}  // namespace

TiffPlan tiff_plan(const std::string& path) {
  TiffFile t(path);
  TIFF* tif = t.get();
  int pages = 0;
  bool first_reduced = false;
  for (int dir = 0;; ++dir) {
    std::uint32_t subfile = 0;
    TIFFGetField(tif, TIFFTAG_SUBFILETYPE, &subfile);
    if (subfile & FILETYPE_REDUCEDIMAGE) {
      if (dir == 0) first_reduced = true;
    } else {
      ++pages;
    }
    if (!TIFFReadDirectory(tif)) break;
  }
  if (t.had_error()) t.corrupt("directory");
  if (first_reduced) {
    refuse(path,
           "its first image is a reduced-resolution copy of another (NewSubfileType 1); "
           "pdeimg reads the first image of a TIFF and would return the thumbnail");
  }
  if (!TIFFSetDirectory(tif, 0) || t.had_error()) t.corrupt("directory");
  const Layout l = read_layout(t);
  TiffPlan plan = plan_for(path, l);
  plan.info.pages = pages;
  return plan;
}

}  // namespace detail
}  // namespace io
}  // namespace pdeimg
