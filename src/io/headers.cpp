// The small fixed headers read_info parses itself: BMP, PBM/PGM/PPM, PFM, Radiance HDR and Sun
// raster. Each follows what OpenCV 4.6's decoder (modules/imgcodecs/src/grfmt_*.cpp) accepts and
// the image type it returns for IMREAD_UNCHANGED, including its quirks (a 32-bit BI_RGB BMP reads
// as 3 channels, an OS/2 BMP as grey, a palette of greys as 1 channel); tests/io_test.cpp checks
// each against cv::imread. A header OpenCV would refuse is refused here with the reason.
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>

#include "src/io/codecs.hpp"

namespace pdeimg {
namespace io {
namespace detail {
namespace {

// Bytes of a header, from the start of the file; the end of the file inside the header is an
// error naming the format.
class HeaderReader {
 public:
  HeaderReader(const std::string& path, Kind kind) : path_(path), kind_(kind), file_(path) {}

  int get() {
    const int c = std::getc(file_.get());
    if (c == EOF) truncated();
    return c;
  }
  void skip(long n) {
    if (n > 0 && std::fseek(file_.get(), n - 1, SEEK_CUR) != 0) truncated();
    if (n > 0) get();  // the end of the file inside the skipped bytes shows here
  }
  void read(unsigned char* dst, std::size_t n) {
    if (std::fread(dst, 1, n, file_.get()) != n) truncated();
  }
  std::uint32_t le16() {
    const std::uint32_t a = get();
    return a | static_cast<std::uint32_t>(get()) << 8;
  }
  std::uint32_t le32() {
    const std::uint32_t a = le16();
    return a | le16() << 16;
  }
  std::uint32_t be32() {
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v = v << 8 | static_cast<std::uint32_t>(get());
    return v;
  }
  /// fgets(buf, 128, f): up to 127 bytes, through the first '\n'; false at the end of the file
  /// before any byte.
  bool line(std::string& out) {
    out.clear();
    while (out.size() < 127) {
      const int c = std::getc(file_.get());
      if (c == EOF) break;
      out.push_back(static_cast<char>(c));
      if (c == '\n') break;
    }
    return !out.empty();
  }

  [[noreturn]] void truncated() const {
    fail_read(path_, ErrorCode::kIo, std::string("truncated ") + format_name(kind_) + " header");
  }
  [[noreturn]] void corrupt(const std::string& why) const {
    fail_read(path_, ErrorCode::kIo,
              std::string("corrupt ") + format_name(kind_) + " header (" + why + ")");
  }
  [[noreturn]] void unsupported(const std::string& what) const {
    fail_read(path_, ErrorCode::kUnsupported,
              std::string("a ") + format_name(kind_) + " variant OpenCV 4.6 does not decode (" +
                  what + ")");
  }

 private:
  std::string path_;
  Kind kind_;
  InputFile file_;
};

ImageInfo make_info(Kind kind, long long width, long long height, int channels, PixelType type,
                    const HeaderReader& r) {
  if (width <= 0 || height <= 0 || width > std::numeric_limits<int>::max() ||
      height > std::numeric_limits<int>::max()) {
    r.corrupt("size " + std::to_string(width) + "x" + std::to_string(height));
  }
  ImageInfo info;
  info.format = format_name(kind);
  info.width = static_cast<int>(width);
  info.height = static_cast<int>(height);
  info.channels = channels;
  info.type = type;
  return info;
}

// True when one of the first 2^bpp entries (B, G, R at `stride`-byte steps) is not a grey.
bool colour_palette(const unsigned char* bgr, int stride, int bpp) {
  for (int i = 0; i < (1 << bpp); ++i) {
    const unsigned char* e = bgr + static_cast<std::ptrdiff_t>(i) * stride;
    if (e[0] != e[1] || e[0] != e[2]) return true;
  }
  return false;
}

// grfmt_bmp.cpp. Colour is decided by the palette for up to 8 bits per pixel; 32 bits give
// 4 channels only with BI_BITFIELDS; an OS/2 (12-byte) header always gives grey.
ImageInfo bmp_info(HeaderReader& r) {
  constexpr std::uint32_t kRgb = 0, kRle8 = 1, kRle4 = 2, kBitfields = 3;
  r.skip(10);
  r.le32();  // offset of the pixels
  const auto size = static_cast<std::int32_t>(r.le32());
  if (size <= 0) r.corrupt("header size " + std::to_string(size));
  long long width = 0, height = 0;
  int bpp = 0;
  std::uint32_t compression = kRgb;
  bool colour = false, valid = false;
  if (size >= 36) {
    width = static_cast<std::int32_t>(r.le32());
    height = static_cast<std::int32_t>(r.le32());
    bpp = static_cast<int>(r.le32() >> 16);
    compression = r.le32();
    r.skip(12);
    const auto used = static_cast<std::int32_t>(r.le32());
    r.skip(size - 36);
    valid =
        width > 0 && height != 0 &&
        (((bpp == 1 || bpp == 4 || bpp == 8 || bpp == 24 || bpp == 32) && compression == kRgb) ||
         ((bpp == 16 || bpp == 32) && (compression == kRgb || compression == kBitfields)) ||
         (bpp == 4 && compression == kRle4) || (bpp == 8 && compression == kRle8));
    colour = true;
    if (valid && bpp <= 8) {
      if (used < 0 || used > 256) r.corrupt(std::to_string(used) + " palette entries");
      unsigned char palette[256 * 4] = {};
      r.read(palette, static_cast<std::size_t>(used == 0 ? 1 << bpp : used) * 4);
      colour = colour_palette(palette, 4, bpp);
    } else if (valid && bpp == 16 && compression == kBitfields) {
      const std::uint32_t red = r.le32(), green = r.le32(), blue = r.le32();
      valid =
          blue == 0x1f && ((green == 0x3e0 && red == 0x7c00) || (green == 0x7e0 && red == 0xf800));
    }
  } else if (size == 12) {
    width = r.le16();
    height = r.le16();
    bpp = static_cast<int>(r.le32() >> 16);
    valid =
        width > 0 && height != 0 && (bpp == 1 || bpp == 4 || bpp == 8 || bpp == 24 || bpp == 32);
    if (valid && bpp <= 8) r.skip(3L << bpp);
  } else {
    r.unsupported("header size " + std::to_string(size));
  }
  if (!valid) {
    if (width <= 0 || height == 0)
      r.corrupt("size " + std::to_string(width) + "x" + std::to_string(height));
    r.unsupported(std::to_string(bpp) + " bits per pixel, compression " +
                  std::to_string(compression));
  }
  const int channels = colour ? (bpp == 32 && compression != kRgb ? 4 : 3) : 1;
  return make_info(Kind::kBmp, width, height < 0 ? -height : height, channels, PixelType::kU8, r);
}

// grfmt_pxm.cpp's ReadNumber: skips white space and '#' comments, then reads decimal digits.
long long pnm_number(HeaderReader& r) {
  int c = r.get();
  while (!std::isdigit(c)) {
    if (c == '#') {
      do c = r.get();
      while (c != '\n' && c != '\r');
      c = r.get();
    } else if (std::isspace(c)) {
      while (std::isspace(c)) c = r.get();
    } else {
      r.corrupt(std::string("unexpected byte 0x") + "0123456789abcdef"[c >> 4] +
                "0123456789abcdef"[c & 15]);
    }
  }
  long long v = 0;
  do {
    v = v * 10 + (c - '0');
    if (v > std::numeric_limits<int>::max()) r.corrupt("number too large");
    c = r.get();
  } while (std::isdigit(c));
  return v;
}

// grfmt_pxm.cpp: P1/P4 bitmaps and P2/P5 grey give 1 channel, P3/P6 give 3; a maximum value
// above 255 gives uint16.
ImageInfo pnm_info(HeaderReader& r) {
  r.get();  // 'P'
  const int kind = r.get() - '0';
  const int channels = kind == 3 || kind == 6 ? 3 : 1;
  const long long width = pnm_number(r);
  const long long height = pnm_number(r);
  const long long maxval = kind == 1 || kind == 4 ? 1 : pnm_number(r);
  if (maxval <= 0 || maxval > 65535) r.corrupt("maximum value " + std::to_string(maxval));
  return make_info(Kind::kPnm, width, height, channels,
                   maxval > 255 ? PixelType::kU16 : PixelType::kU8, r);
}

// grfmt_pfm.cpp: "Pf" (1 channel) or "PF" (3), a line feed, then width, height and scale, each
// ended by one white-space byte.
ImageInfo pfm_info(HeaderReader& r) {
  r.get();  // 'P'
  const int channels = r.get() == 'f' ? 1 : 3;
  if (r.get() != '\n') r.corrupt("no line feed after the signature");
  const auto token = [&r] {
    std::string t;
    for (int i = 0; i < 2048; ++i) {
      const int c = r.get();
      if (std::isspace(c)) break;
      t.push_back(static_cast<char>(c));
    }
    return t;
  };
  const long long width = std::atoi(token().c_str());
  const long long height = std::atoi(token().c_str());
  if (std::atof(token().c_str()) == 0.0) r.corrupt("scale 0");
  return make_info(Kind::kPfm, width, height, channels, PixelType::kF32, r);
}

// rgbe.cpp's RGBE_ReadHeader: lines up to a blank one, FORMAT=32-bit_rle_rgbe among them, then
// "-Y <height> +X <width>" (the only orientation OpenCV reads).
ImageInfo hdr_info(HeaderReader& r) {
  std::string line;
  if (!r.line(line)) r.truncated();
  bool rgbe = false;
  for (;;) {
    if (!r.line(line)) r.truncated();
    if (line[0] == '\n') break;
    if (line == "FORMAT=32-bit_rle_rgbe\n") rgbe = true;
  }
  if (!rgbe) r.unsupported("no FORMAT=32-bit_rle_rgbe line");
  if (!r.line(line)) r.truncated();
  int height = 0, width = 0;
  if (std::sscanf(line.c_str(), "-Y %d +X %d", &height, &width) < 2) {
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
    r.unsupported("resolution line '" + line + "'; OpenCV reads \"-Y <height> +X <width>\"");
  }
  return make_info(Kind::kHdr, width, height, 3, PixelType::kF32, r);
}

// grfmt_sunras.cpp: only the old and standard (uncompressed) types are decoded; a colour map
// of greys gives 1 channel; 24 and 32 bits give 3.
ImageInfo sun_raster_info(HeaderReader& r) {
  r.skip(4);
  const auto width = static_cast<std::int32_t>(r.be32());
  const auto height = static_cast<std::int32_t>(r.be32());
  const auto bpp = static_cast<std::int32_t>(r.be32());
  r.skip(4);  // length
  const std::uint32_t type = r.be32(), map_type = r.be32(), map_length = r.be32();
  const std::uint32_t palette_bytes = bpp > 0 && bpp <= 8 ? 3u << bpp : 0;
  if (width <= 0 || height <= 0)
    r.corrupt("size " + std::to_string(width) + "x" + std::to_string(height));
  const bool valid = (bpp == 1 || bpp == 8 || bpp == 24 || bpp == 32) && (type == 0 || type == 1) &&
                     ((map_type == 0 && map_length == 0) ||
                      (map_type == 1 && map_length > 0 && map_length <= palette_bytes));
  if (!valid) {
    r.unsupported("depth " + std::to_string(bpp) + ", type " + std::to_string(type) +
                  (type == 2 ? " (run-length encoded)" : "") + ", colour map type " +
                  std::to_string(map_type) + " of " + std::to_string(map_length) + " bytes");
  }
  int channels = bpp > 8 ? 3 : 1;
  if (map_length != 0) {
    unsigned char map[256 * 3] = {};
    r.read(map, map_length);
    const std::uint32_t n = map_length / 3;  // the map is all reds, then greens, then blues
    unsigned char bgr[256 * 3] = {};
    for (std::uint32_t i = 0; i < n; ++i) {
      bgr[3 * i] = map[i + 2 * n];
      bgr[3 * i + 1] = map[i + n];
      bgr[3 * i + 2] = map[i];
    }
    channels = colour_palette(bgr, 3, bpp) ? 3 : 1;
  }
  return make_info(Kind::kSunRaster, width, height, channels, PixelType::kU8, r);
}

}  // namespace

ImageInfo parsed_header_info(const std::string& path, Kind kind) {
  HeaderReader r(path, kind);
  switch (kind) {
    case Kind::kBmp:
      return bmp_info(r);
    case Kind::kPnm:
      return pnm_info(r);
    case Kind::kPfm:
      return pfm_info(r);
    case Kind::kHdr:
      return hdr_info(r);
    case Kind::kSunRaster:
      return sun_raster_info(r);
    default:
      break;
  }
  fail_read(path, ErrorCode::kInvalidArgument, "internal: no header parser for this format");
}

}  // namespace detail
}  // namespace io
}  // namespace pdeimg
