// TIFF through libtiff: the page count and the first image's layout for read_info, the rules of
// which TIFFs pdeimg refuses, a check that every strip decodes, and a decoder for the two layouts
// OpenCV 4.6 reads wrongly.
//
// What OpenCV 4.6 does with a TIFF (measured with files written by libtiff for every photometric
// interpretation, 1..64 bits, 1..6 samples, both planar configurations, and by reading its
// decoder, modules/imgcodecs/src/grfmt_tiff.cpp):
//  - it reads the first directory and ignores the others (a multi-page file loses its pages);
//  - grey with extra samples reads as grey: a grey+alpha file loses its alpha;
//  - results of 8 bits come from libtiff's RGBA interface (TIFFReadRGBAStrip/Tile), which skips a
//    strip it cannot decode and leaves it black, so a damaged LZW or Deflate strip is accepted;
//    it also premultiplies an unassociated alpha into the colours;
//  - 16-, 32- and 64-bit results come from TIFFReadEncodedStrip/Tile with every error checked,
//    but separate planes (PlanarConfiguration 2) are read as if interleaved: the first plane
//    fills the image and the rest is uninitialised memory;
//  - more than 4 samples per pixel fail deep in the decoder ("corrupt or truncated" to the user).
// So pdeimg counts pages and refuses more than one; decodes itself grey+alpha, 8-bit RGB with an
// unassociated alpha, and separate planes of more than 8 bits; decodes every strip of an 8-bit
// TIFF once with libtiff before OpenCV does (any libtiff error or warning fails the file); and
// names refused layouts from the header.
//
// Deflate (zlib) strips end with an Adler-32 checksum that libtiff does not look at once a strip
// has its bytes, so a changed byte can decode silently. Each Deflate strip is therefore inflated
// here to its end, which checks the sum (tiff_check_data, and tiff_read).
//
// libtiff's error and warning handlers are set per open file (TIFFOpenExt with TIFFOpenOptions,
// libtiff >= 4.5) and write into that call's TiffMessages: threads never share them, and
// OpenCV's process-wide handlers are never consulted for our files.
#include <algorithm>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include <tiffio.h>
#include <zlib.h>

#include "src/io/codecs.hpp"

namespace pdeimg {
namespace io {
namespace detail {
namespace {

struct TiffMessages {
  char error[512];
  char warning[512];
  int errors;
  int warnings;
  bool in_data;  // warnings count while pixels are decoded; the directory's are about tags
};

int on_error(TIFF*, void* user, const char*, const char* fmt, va_list ap) {
  auto* m = static_cast<TiffMessages*>(user);
  if (m->errors++ == 0) std::vsnprintf(m->error, sizeof m->error, fmt, ap);
  return 1;  // handled: libtiff's process-wide handlers (OpenCV's) are not called
}

int on_warning(TIFF*, void* user, const char*, const char* fmt, va_list ap) {
  auto* m = static_cast<TiffMessages*>(user);
  if (m->in_data && m->warnings++ == 0) std::vsnprintf(m->warning, sizeof m->warning, fmt, ap);
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

  /// From here on a warning fails the file too.
  void begin_data() noexcept { messages_.in_data = true; }
  /// Throws when libtiff reported an error, or a warning while decoding pixels.
  void check(const std::string& where) const {
    if (messages_.errors > 0 || messages_.warnings > 0) corrupt(where);
  }
  [[noreturn]] void corrupt(const std::string& where) const {
    const char* said = messages_.errors > 0     ? messages_.error
                       : messages_.warnings > 0 ? messages_.warning
                                                : "no message";
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
  if (l.grey && l.samples == 2) {  // grey+alpha: B,G,R,A like a grey+alpha PNG
    if (l.photometric == PHOTOMETRIC_MINISWHITE) {
      refuse(path,
             "a grey+alpha TIFF whose grey is white-is-zero; pdeimg reads grey+alpha "
             "with black as zero");
    }
    if (l.bits == 8 && uint) {
      info.type = PixelType::kU8;
    } else if (l.bits == 16 && uint) {
      info.type = PixelType::kU16;
    } else if (l.bits == 32 && l.format == SAMPLEFORMAT_IEEEFP) {
      info.type = PixelType::kF32;
    } else {
      refuse(path, "a grey+alpha TIFF of " + sample_name(l.bits, l.format) +
                       " samples; pdeimg reads grey+alpha of uint8, uint16 and float32");
    }
    info.channels = 4;
    plan.decoder = TiffDecoder::kOwn;
    return plan;
  }
  if (l.grey && l.samples > 2) {
    refuse(path, "a grey TIFF with " + std::to_string(l.samples - 1) +
                     " extra samples per pixel; pdeimg reads grey, grey+alpha, RGB and RGB+alpha");
  }
  if (l.photometric == PHOTOMETRIC_PALETTE && l.samples != 1) {
    refuse(path, "a palette TIFF with extra samples; pdeimg reads palette images without them");
  }
  if (l.photometric == PHOTOMETRIC_RGB && l.samples == 4 && l.bits == 8 && uint &&
      l.extra == EXTRASAMPLE_UNASSALPHA) {
    // OpenCV's RGBA interface would premultiply the colours by this alpha.
    info.channels = 4;
    info.type = PixelType::kU8;
    plan.decoder = TiffDecoder::kOwn;
    return plan;
  }

  // OpenCV 4.6's rules (TiffDecoder::readHeader). More than 8 bits in a layout it does not read
  // directly goes through the RGBA interface as 8 bits.
  int bits = l.bits;
  if (bits > 8 &&
      (l.photometric > PHOTOMETRIC_RGB || (l.samples != 1 && l.samples != 3 && l.samples != 4)))
    bits = 8;
  const int wanted = l.grey ? 1 : l.samples;
  // OpenCV 4.6 reads the first of separate planes as if interleaved and the rest of its result
  // from uninitialised memory, for every result of more than 8 bits: decoded here instead.
  const bool separate_colour = l.planar == PLANARCONFIG_SEPARATE && l.samples > 1;
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
      plan.decoder = TiffDecoder::kCheckThenOpenCv;
      return plan;
    case 10:
    case 12:
    case 14:
    case 16:
      if (!uint) refuse(path, sample_type_refusal(sample_name(16, l.format)));
      info.type = PixelType::kU16;
      info.channels = wanted;
      if (separate_colour) {
        if (bits != 16) {
          refuse(path, "a TIFF of " + std::to_string(bits) +
                           "-bit samples in separate planes, which OpenCV 4.6 decodes wrongly");
        }
        plan.decoder = TiffDecoder::kOwn;
      }
      return plan;
    case 32:
    case 64:
      if (bits == 64 || l.format != SAMPLEFORMAT_IEEEFP)
        refuse(path, sample_type_refusal(sample_name(bits, l.format)));
      info.type = PixelType::kF32;
      info.channels = wanted;
      if (separate_colour) plan.decoder = TiffDecoder::kOwn;
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

// Decodes every strip or tile of the current directory in file order, handing each to
// `place(data, row_bytes, x, y, width, height, plane)`. Any libtiff error or warning meanwhile
// throws, naming the strip or tile.
template <typename Place>
void for_each_chunk(TiffFile& t, const Layout& l, Place&& place) {
  TIFF* tif = t.get();
  const int planes = l.planar == PLANARCONFIG_SEPARATE ? l.samples : 1;
  t.begin_data();
  if (TIFFIsTiled(tif)) {
    std::uint32_t tw = 0, th = 0;
    TIFFGetField(tif, TIFFTAG_TILEWIDTH, &tw);
    TIFFGetField(tif, TIFFTAG_TILELENGTH, &th);
    const tmsize_t size = TIFFTileSize(tif);
    if (tw == 0 || th == 0 || size <= 0) t.corrupt("tile layout");
    std::vector<unsigned char> buffer(static_cast<std::size_t>(size));
    const std::size_t row_bytes = static_cast<std::size_t>(TIFFTileRowSize(tif));
    for (int plane = 0; plane < planes; ++plane)
      for (std::uint32_t y = 0; y < l.height; y += th)
        for (std::uint32_t x = 0; x < l.width; x += tw) {
          const ttile_t tile = TIFFComputeTile(tif, x, y, 0, static_cast<tsample_t>(plane));
          const std::string where = "data in tile " + std::to_string(tile);
          if (TIFFReadEncodedTile(tif, tile, buffer.data(), size) != size) t.corrupt(where);
          t.check(where);
          place(buffer.data(), row_bytes, x, y, std::min(tw, l.width - x),
                std::min(th, l.height - y), plane);
        }
    return;
  }
  std::uint32_t rows_per_strip = 0;
  TIFFGetFieldDefaulted(tif, TIFFTAG_ROWSPERSTRIP, &rows_per_strip);
  if (rows_per_strip == 0 || rows_per_strip > l.height) rows_per_strip = l.height;
  const tmsize_t size = TIFFStripSize(tif);
  if (size <= 0) t.corrupt("strip layout");
  std::vector<unsigned char> buffer(static_cast<std::size_t>(size));
  const std::size_t row_bytes = static_cast<std::size_t>(TIFFScanlineSize(tif));
  for (int plane = 0; plane < planes; ++plane)
    for (std::uint32_t y = 0; y < l.height; y += rows_per_strip) {
      const std::uint32_t rows = std::min(rows_per_strip, l.height - y);
      const tstrip_t strip = TIFFComputeStrip(tif, y, static_cast<tsample_t>(plane));
      const std::string where = "data in strip " + std::to_string(strip);
      if (TIFFReadEncodedStrip(tif, strip, buffer.data(), size) != TIFFVStripSize(tif, rows))
        t.corrupt(where);
      t.check(where);
      place(buffer.data(), row_bytes, 0u, y, l.width, rows, plane);
    }
}

bool deflate(const Layout& l) {
  return l.compression == COMPRESSION_ADOBE_DEFLATE || l.compression == COMPRESSION_DEFLATE;
}

// Inflates every strip or tile of a Deflate-compressed image to the end of its zlib stream,
// which makes zlib check the stream's Adler-32 sum; throws naming the first that fails.
void verify_deflate(const TiffFile& t, const Layout& l) {
  if (!deflate(l)) return;
  TIFF* tif = t.get();
  const bool tiled = TIFFIsTiled(tif) != 0;
  const std::uint32_t n = tiled ? TIFFNumberOfTiles(tif) : TIFFNumberOfStrips(tif);
  std::vector<unsigned char> raw, out(std::size_t{1} << 16);
  for (std::uint32_t i = 0; i < n; ++i) {
    const std::string where = std::string(tiled ? "tile " : "strip ") + std::to_string(i);
    const auto size = static_cast<tmsize_t>(TIFFGetStrileByteCount(tif, i));
    if (size <= 0) t.corrupt("data in " + where);
    raw.resize(static_cast<std::size_t>(size));
    const tmsize_t got = tiled ? TIFFReadRawTile(tif, i, raw.data(), size)
                               : TIFFReadRawStrip(tif, i, raw.data(), size);
    if (got != size) t.corrupt("data in " + where);
    z_stream z{};
    if (inflateInit(&z) != Z_OK) fail_read(t.path(), ErrorCode::kOutOfMemory, "cannot start zlib");
    z.next_in = raw.data();
    z.avail_in = static_cast<uInt>(raw.size());
    int r = Z_OK;
    do {
      z.next_out = out.data();
      z.avail_out = static_cast<uInt>(out.size());
      r = inflate(&z, Z_NO_FLUSH);
    } while (r == Z_OK);
    const std::string said = z.msg != nullptr ? z.msg : "the stream ends early";
    inflateEnd(&z);
    if (r != Z_STREAM_END) {
      fail_read(t.path(), ErrorCode::kIo,
                "corrupt or truncated TIFF data in " + where + " (zlib: " + said + ")");
    }
  }
}

// Copies `samples` interleaved samples per pixel (the first being stored sample `first`) of a
// chunk into `out`, sample s going to every output channel whose bit is set in targets[s].
template <typename T>
void put(const unsigned char* data, std::size_t row_bytes, std::uint32_t x0, std::uint32_t y0,
         std::uint32_t w, std::uint32_t h, int samples, int first, const unsigned* targets,
         const ImageView& out) {
  const int nc = out.channels;
  for (std::uint32_t y = 0; y < h; ++y) {
    const T* src = reinterpret_cast<const T*>(data + y * row_bytes);
    T* dst = out.row<T>(static_cast<int>(y0 + y)) + static_cast<std::size_t>(x0) * nc;
    for (std::uint32_t x = 0; x < w; ++x, src += samples, dst += nc)
      for (int k = 0; k < samples; ++k)
        for (int c = 0; c < nc; ++c)
          if (targets[first + k] & (1u << c)) dst[c] = src[k];
  }
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
  plan.check_deflate = deflate(l);
  return plan;
}

void tiff_check_data(const std::string& path, const TiffPlan& plan) {
  TiffFile t(path);
  const Layout l = read_layout(t);
  verify_deflate(t, l);
  if (plan.decoder == TiffDecoder::kCheckThenOpenCv) {
    for_each_chunk(t, l,
                   [](const unsigned char*, std::size_t, std::uint32_t, std::uint32_t,
                      std::uint32_t, std::uint32_t, int) {});
  }
}

HostImage tiff_read(const std::string& path, const ImageInfo& expected) {
  TiffFile t(path);
  const Layout l = read_layout(t);
  const TiffPlan plan = plan_for(path, l);
  if (plan.decoder != TiffDecoder::kOwn || plan.info.width != expected.width ||
      plan.info.height != expected.height || plan.info.channels != expected.channels ||
      plan.info.type != expected.type) {
    fail_read(path, ErrorCode::kIo, "the file changed while it was being read");
  }
  HostImage img(expected.width, expected.height, expected.channels, expected.type);
  const ImageView out = img.view();
  // Stored sample -> output channels (bits): grey+alpha -> B,G,R + A; R,G,B(,A) -> B,G,R(,A).
  static const unsigned kGreyAlpha[2] = {0x7, 0x8};
  static const unsigned kRgba[4] = {0x4, 0x2, 0x1, 0x8};
  const unsigned* targets = l.samples == 2 ? kGreyAlpha : kRgba;
  verify_deflate(t, l);
  const bool separate = l.planar == PLANARCONFIG_SEPARATE;
  const int samples = separate ? 1 : l.samples;
  for_each_chunk(t, l,
                 [&](const unsigned char* data, std::size_t row_bytes, std::uint32_t x,
                     std::uint32_t y, std::uint32_t w, std::uint32_t h, int plane) {
                   const int first = separate ? plane : 0;
                   switch (expected.type) {
                     case PixelType::kU8:
                       put<std::uint8_t>(data, row_bytes, x, y, w, h, samples, first, targets, out);
                       break;
                     case PixelType::kU16:
                       put<std::uint16_t>(data, row_bytes, x, y, w, h, samples, first, targets,
                                          out);
                       break;
                     case PixelType::kF32:
                       put<float>(data, row_bytes, x, y, w, h, samples, first, targets, out);
                       break;
                   }
                 });
  return img;
}

}  // namespace detail
}  // namespace io
}  // namespace pdeimg
