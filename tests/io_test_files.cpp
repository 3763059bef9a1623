// Writers of the test files io_test needs (see io_test_files.hpp). libtiff, libpng and libjpeg
// are used directly; errors inside libpng and libjpeg leave through longjmp into functions that
// hold only trivially destructible locals.
#include "tests/io_test_files.hpp"

#include <algorithm>
#include <csetjmp>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

#include <jpeglib.h>
#include <png.h>
#include <tiffio.h>
#include <zlib.h>

namespace pdeimg {
namespace test {

std::string read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary);
  f << bytes;
  if (!f) throw std::runtime_error("cannot write " + path);
}

namespace {

// Little-endian and big-endian byte appenders.
void le16(std::string& s, unsigned v) {
  s += static_cast<char>(v & 0xff);
  s += static_cast<char>((v >> 8) & 0xff);
}
void le32(std::string& s, std::uint32_t v) {
  le16(s, v & 0xffff);
  le16(s, v >> 16);
}

// One 12-byte TIFF directory entry (little-endian): tag, field type, count, value or offset.
void tiff_entry(std::string& s, unsigned tag, unsigned type, std::uint32_t count,
                std::uint32_t value) {
  le16(s, tag);
  le16(s, type);
  le32(s, count);
  le32(s, value);
}
void be16(std::string& s, unsigned v) {
  s += static_cast<char>((v >> 8) & 0xff);
  s += static_cast<char>(v & 0xff);
}
void be32(std::string& s, std::uint32_t v) {
  be16(s, v >> 16);
  be16(s, v & 0xffff);
}

int colour_samples(int photometric) {
  switch (photometric) {
    case PHOTOMETRIC_RGB:
    case PHOTOMETRIC_YCBCR:
    case PHOTOMETRIC_CIELAB:
      return 3;
    case PHOTOMETRIC_SEPARATED:
      return 4;
    default:
      return 1;
  }
}

}  // namespace

// --- TIFF --------------------------------------------------------------------------------------

std::vector<unsigned char> tiff_samples(const TiffImage& im) {
  if (!im.data.empty()) return im.data;
  const bool separate = im.planar == PLANARCONFIG_SEPARATE;
  const int planes = separate ? im.samples : 1;
  const int per_chunk = separate ? 1 : im.samples;
  const std::size_t row_bytes = (static_cast<std::size_t>(im.width) * per_chunk * im.bits + 7) / 8;
  std::vector<unsigned char> out(row_bytes * im.height * planes);
  if (im.bits != 8 && im.bits != 16 && im.bits != 32) {
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = static_cast<unsigned char>(i * 37 + 11);
    return out;
  }
  for (int p = 0; p < planes; ++p)
    for (int y = 0; y < im.height; ++y)
      for (int x = 0; x < im.width; ++x)
        for (int k = 0; k < per_chunk; ++k) {
          const int s = separate ? p : k;
          const std::size_t i =
              (static_cast<std::size_t>(p) * im.height + y) * im.width * per_chunk +
              static_cast<std::size_t>(x) * per_chunk + k;
          if (im.bits == 8) {
            out[i] = static_cast<unsigned char>(x * 7 + y * 13 + s * 50);
          } else if (im.bits == 16) {
            const auto v = static_cast<std::uint16_t>(x * 1000 + y * 77 + s * 3000);
            std::memcpy(&out[i * 2], &v, 2);
          } else if (im.sample_format == SAMPLEFORMAT_IEEEFP) {
            const float v = static_cast<float>(x) * 0.5f - static_cast<float>(y) + 100.0f * s;
            std::memcpy(&out[i * 4], &v, 4);
          } else {
            const auto v = static_cast<std::uint32_t>(x * 100000 + y * 7 + s);
            std::memcpy(&out[i * 4], &v, 4);
          }
        }
  return out;
}

bool tiff_codec_available(int compression) {
  return TIFFIsCODECConfigured(static_cast<std::uint16_t>(compression)) != 0;
}

void write_tiff(const std::string& path, const std::vector<TiffImage>& pages, bool big) {
  TIFF* tif = TIFFOpen(path.c_str(), big ? "w8" : "w");
  if (tif == nullptr) throw std::runtime_error("libtiff cannot create " + path);
  const auto fail = [&](const std::string& why) {
    TIFFClose(tif);
    throw std::runtime_error("libtiff: " + why + " for " + path);
  };
  for (const TiffImage& im : pages) {
    TIFFSetField(tif, TIFFTAG_IMAGEWIDTH, static_cast<std::uint32_t>(im.width));
    TIFFSetField(tif, TIFFTAG_IMAGELENGTH, static_cast<std::uint32_t>(im.height));
    TIFFSetField(tif, TIFFTAG_BITSPERSAMPLE, static_cast<std::uint16_t>(im.bits));
    TIFFSetField(tif, TIFFTAG_SAMPLESPERPIXEL, static_cast<std::uint16_t>(im.samples));
    TIFFSetField(tif, TIFFTAG_PHOTOMETRIC, static_cast<std::uint16_t>(im.photometric));
    TIFFSetField(tif, TIFFTAG_SAMPLEFORMAT, static_cast<std::uint16_t>(im.sample_format));
    TIFFSetField(tif, TIFFTAG_PLANARCONFIG, static_cast<std::uint16_t>(im.planar));
    TIFFSetField(tif, TIFFTAG_COMPRESSION, static_cast<std::uint16_t>(im.compression));
    if (im.subfile_type != 0) TIFFSetField(tif, TIFFTAG_SUBFILETYPE, im.subfile_type);
    const int extras = im.samples - colour_samples(im.photometric);
    if (im.extra_sample >= 0 && extras > 0) {
      std::vector<std::uint16_t> kinds(static_cast<std::size_t>(extras),
                                       static_cast<std::uint16_t>(im.extra_sample));
      TIFFSetField(tif, TIFFTAG_EXTRASAMPLES, static_cast<std::uint16_t>(extras), kinds.data());
    }
    if (im.photometric == PHOTOMETRIC_PALETTE) {
      const int n = 1 << im.bits;
      std::vector<std::uint16_t> r(n), g(n), b(n);
      for (int i = 0; i < n; ++i) {
        r[i] = static_cast<std::uint16_t>(i * 65535 / (n - 1));
        g[i] = static_cast<std::uint16_t>(65535 - r[i]);
        b[i] = static_cast<std::uint16_t>((i * 4099) & 0xffff);
      }
      TIFFSetField(tif, TIFFTAG_COLORMAP, r.data(), g.data(), b.data());
    }
    if (im.compression == COMPRESSION_JPEG) TIFFSetField(tif, TIFFTAG_JPEGQUALITY, 90);

    const std::vector<unsigned char> data = tiff_samples(im);
    const bool separate = im.planar == PLANARCONFIG_SEPARATE;
    const int planes = separate ? im.samples : 1;
    const int per_chunk = separate ? 1 : im.samples;
    const std::size_t row_bytes =
        (static_cast<std::size_t>(im.width) * per_chunk * im.bits + 7) / 8;
    const std::size_t plane_bytes = row_bytes * im.height;
    if (im.tile > 0) {
      TIFFSetField(tif, TIFFTAG_TILEWIDTH, static_cast<std::uint32_t>(im.tile));
      TIFFSetField(tif, TIFFTAG_TILELENGTH, static_cast<std::uint32_t>(im.tile));
      const std::size_t pixel_bytes = static_cast<std::size_t>(per_chunk) * im.bits / 8;
      std::vector<unsigned char> tile(static_cast<std::size_t>(im.tile) * im.tile * pixel_bytes);
      for (int p = 0; p < planes; ++p)
        for (int y0 = 0; y0 < im.height; y0 += im.tile)
          for (int x0 = 0; x0 < im.width; x0 += im.tile) {
            std::fill(tile.begin(), tile.end(), 0);
            const int w = std::min(im.tile, im.width - x0), h = std::min(im.tile, im.height - y0);
            for (int y = 0; y < h; ++y)
              std::memcpy(&tile[static_cast<std::size_t>(y) * im.tile * pixel_bytes],
                          &data[p * plane_bytes + (y0 + y) * row_bytes + x0 * pixel_bytes],
                          w * pixel_bytes);
            const ttile_t t = TIFFComputeTile(tif, x0, y0, 0, static_cast<tsample_t>(p));
            if (TIFFWriteEncodedTile(tif, t, tile.data(), static_cast<tmsize_t>(tile.size())) < 0)
              fail("TIFFWriteEncodedTile");
          }
    } else {
      TIFFSetField(tif, TIFFTAG_ROWSPERSTRIP, static_cast<std::uint32_t>(im.rows_per_strip));
      for (int p = 0; p < planes; ++p)
        for (int y = 0; y < im.height; y += im.rows_per_strip) {
          const int rows = std::min(im.rows_per_strip, im.height - y);
          const tstrip_t s = TIFFComputeStrip(tif, y, static_cast<tsample_t>(p));
          std::vector<unsigned char> strip(&data[p * plane_bytes + y * row_bytes],
                                           &data[p * plane_bytes + (y + rows) * row_bytes]);
          if (TIFFWriteEncodedStrip(tif, s, strip.data(), static_cast<tmsize_t>(strip.size())) < 0)
            fail("TIFFWriteEncodedStrip");
        }
    }
    if (!TIFFWriteDirectory(tif)) fail("TIFFWriteDirectory");
  }
  TIFFClose(tif);
}

std::string tiff_with_directory_first(const std::string& path) {
  TIFF* t = TIFFOpen(path.c_str(), "r");
  if (t == nullptr) throw std::runtime_error("libtiff cannot open " + path);
  std::uint32_t w = 0, h = 0, rps = 0;
  std::uint16_t bits = 8, spp = 1, compression = 1, photometric = 1, predictor = 1, format = 1;
  std::uint16_t extra_count = 0;
  std::uint16_t* extra = nullptr;
  TIFFGetField(t, TIFFTAG_IMAGEWIDTH, &w);
  TIFFGetField(t, TIFFTAG_IMAGELENGTH, &h);
  TIFFGetFieldDefaulted(t, TIFFTAG_BITSPERSAMPLE, &bits);
  TIFFGetFieldDefaulted(t, TIFFTAG_SAMPLESPERPIXEL, &spp);
  TIFFGetField(t, TIFFTAG_COMPRESSION, &compression);
  TIFFGetField(t, TIFFTAG_PHOTOMETRIC, &photometric);
  TIFFGetFieldDefaulted(t, TIFFTAG_ROWSPERSTRIP, &rps);
  TIFFGetFieldDefaulted(t, TIFFTAG_PREDICTOR, &predictor);
  TIFFGetFieldDefaulted(t, TIFFTAG_SAMPLEFORMAT, &format);
  TIFFGetField(t, TIFFTAG_EXTRASAMPLES, &extra_count, &extra);
  const std::uint16_t extra_kind = extra_count > 0 ? extra[0] : 0;
  std::vector<std::string> strips;
  for (tstrip_t i = 0; i < TIFFNumberOfStrips(t); ++i) {
    std::string s(static_cast<std::size_t>(TIFFRawStripSize(t, i)), '\0');
    TIFFReadRawStrip(t, i, &s[0], static_cast<tmsize_t>(s.size()));
    strips.push_back(s);
  }
  TIFFClose(t);

  const std::uint32_t n = static_cast<std::uint32_t>(strips.size());
  const std::uint16_t entries = extra_count > 0 ? 13 : 12;
  const std::uint32_t bits_at = 8 + 2 + entries * 12 + 4;
  const std::uint32_t offsets_at = bits_at + 2 * spp;
  const std::uint32_t counts_at = offsets_at + 4 * n;
  const std::uint32_t data_at = counts_at + 4 * n;
  std::string o = "II*";
  o += '\0';
  le32(o, 8);
  le16(o, entries);
  const auto entry = [&o](unsigned tag, unsigned type, std::uint32_t count, std::uint32_t value) {
    tiff_entry(o, tag, type, count, value);
  };
  entry(256, 4, 1, w);
  entry(257, 4, 1, h);
  entry(258, 3, spp, spp <= 2 ? bits | (spp == 2 ? bits << 16 : 0) : bits_at);
  entry(259, 3, 1, compression);
  entry(262, 3, 1, photometric);
  entry(273, 4, n, n == 1 ? data_at : offsets_at);
  entry(277, 3, 1, spp);
  entry(278, 4, 1, rps);
  entry(279, 4, n, n == 1 ? static_cast<std::uint32_t>(strips[0].size()) : counts_at);
  entry(284, 3, 1, 1);
  entry(317, 3, 1, predictor);
  if (extra_count > 0) entry(338, 3, 1, extra_kind);
  entry(339, 3, 1, format);
  le32(o, 0);
  for (int i = 0; i < spp; ++i) le16(o, bits);
  std::uint32_t at = data_at;
  for (const std::string& s : strips) {
    le32(o, at);
    at += static_cast<std::uint32_t>(s.size());
  }
  for (const std::string& s : strips) le32(o, static_cast<std::uint32_t>(s.size()));
  for (const std::string& s : strips) o += s;
  return o;
}

namespace {

struct Complaints {
  char first[512];
  bool any;
};

int complain(TIFF*, void* user, const char*, const char* fmt, va_list ap) {
  auto* c = static_cast<Complaints*>(user);
  if (!c->any) std::vsnprintf(c->first, sizeof c->first, fmt, ap);
  c->any = true;
  return 1;
}

int ignore(TIFF*, void*, const char*, const char*, va_list) {
  return 1;
}

}  // namespace

std::string libtiff_complaint(const std::string& path) {
  Complaints c{};
  TIFFOpenOptions* o = TIFFOpenOptionsAlloc();
  TIFFOpenOptionsSetErrorHandlerExtR(o, complain, &c);
  TIFFOpenOptionsSetWarningHandlerExtR(o, ignore, nullptr);  // tag remarks
  TIFF* t = TIFFOpenExt(path.c_str(), "r", o);
  TIFFOpenOptionsFree(o);
  if (t == nullptr) return c.any ? c.first : "cannot open";
  std::vector<unsigned char> buffer(static_cast<std::size_t>(
      std::max<tmsize_t>(TIFFIsTiled(t) ? TIFFTileSize(t) : TIFFStripSize(t), 1)));
  const std::uint32_t n = TIFFIsTiled(t) ? TIFFNumberOfTiles(t) : TIFFNumberOfStrips(t);
  for (std::uint32_t i = 0; i < n && !c.any; ++i) {
    const tmsize_t r = TIFFIsTiled(t) ? TIFFReadEncodedTile(t, i, buffer.data(), -1)
                                      : TIFFReadEncodedStrip(t, i, buffer.data(), -1);
    if (r < 0 && !c.any) return "read failed";
  }
  TIFFClose(t);
  return c.any ? c.first : "";
}

namespace {

struct JpegComplaints {
  jpeg_error_mgr mgr;
  std::jmp_buf jump;
  char first[JMSG_LENGTH_MAX];
  bool any;
};

void jpeg_complain_exit(j_common_ptr cinfo) {
  auto* c = reinterpret_cast<JpegComplaints*>(cinfo->err);
  if (!c->any) (*cinfo->err->format_message)(cinfo, c->first);
  c->any = true;
  std::longjmp(c->jump, 1);
}

void jpeg_complain(j_common_ptr cinfo, int level) {
  auto* c = reinterpret_cast<JpegComplaints*>(cinfo->err);
  if (level < 0 && !c->any) {
    (*cinfo->err->format_message)(cinfo, c->first);
    c->any = true;
  }
}

bool jpeg_decode_all(jpeg_decompress_struct* d, JpegComplaints* c, std::FILE* f, JSAMPLE* row) {
  if (setjmp(c->jump)) return false;
  jpeg_stdio_src(d, f);
  jpeg_read_header(d, TRUE);
  jpeg_start_decompress(d);
  while (d->output_scanline < d->output_height) jpeg_read_scanlines(d, &row, 1);
  jpeg_finish_decompress(d);
  return true;
}

}  // namespace

std::string libjpeg_complaint(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return "cannot open";
  jpeg_decompress_struct d{};
  JpegComplaints c{};
  d.err = jpeg_std_error(&c.mgr);
  c.mgr.error_exit = jpeg_complain_exit;
  c.mgr.emit_message = jpeg_complain;
  jpeg_create_decompress(&d);
  std::vector<JSAMPLE> row(65536 * 4);
  jpeg_decode_all(&d, &c, f, row.data());
  jpeg_destroy_decompress(&d);
  std::fclose(f);
  return c.any ? c.first : "";
}

// --- PNG ---------------------------------------------------------------------------------------

namespace {

void png_fail(png_structp png, png_const_charp) {
  png_longjmp(png, 1);
}
void png_quiet(png_structp, png_const_charp) {}

bool png_encode(png_structp png, png_infop info, std::FILE* f, const PngImage* im,
                const png_color* palette, const png_byte* alphas, const png_color_16* colour,
                png_bytep* rows) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_init_io(png, f);
  png_set_IHDR(png, info, static_cast<png_uint_32>(im->width), static_cast<png_uint_32>(im->height),
               im->bit_depth, im->color_type, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
               PNG_FILTER_TYPE_DEFAULT);
  if (im->color_type == PNG_COLOR_TYPE_PALETTE) png_set_PLTE(png, info, palette, im->palette_size);
  if (im->transparent > 0) {
    if (im->color_type == PNG_COLOR_TYPE_PALETTE) {
      png_set_tRNS(png, info, alphas, im->transparent, nullptr);
    } else {
      png_set_tRNS(png, info, nullptr, 0, colour);
    }
  }
  png_write_info(png, info);
  png_write_image(png, rows);
  png_write_end(png, info);
  return true;
}

}  // namespace

void write_png(const std::string& path, const PngImage& im) {
  const int channels = im.color_type == PNG_COLOR_TYPE_RGB          ? 3
                       : im.color_type == PNG_COLOR_TYPE_RGB_ALPHA  ? 4
                       : im.color_type == PNG_COLOR_TYPE_GRAY_ALPHA ? 2
                                                                    : 1;
  const std::size_t row_bytes =
      (static_cast<std::size_t>(im.width) * channels * im.bit_depth + 7) / 8;
  std::vector<png_byte> data(row_bytes * im.height, 0);
  std::vector<png_bytep> rows(im.height);
  for (int y = 0; y < im.height; ++y) {
    png_byte* row = &data[y * row_bytes];
    rows[y] = row;
    if (im.color_type == PNG_COLOR_TYPE_PALETTE || im.bit_depth < 8) {
      const int per_byte = 8 / std::min(im.bit_depth, 8);
      const int levels =
          im.color_type == PNG_COLOR_TYPE_PALETTE ? im.palette_size : 1 << im.bit_depth;
      for (int x = 0; x < im.width; ++x) {
        const int v = (x + 2 * y) % levels;
        if (im.bit_depth == 8) {
          row[x] = static_cast<png_byte>(v);
        } else {
          const int shift = 8 - im.bit_depth * (x % per_byte + 1);
          row[x / per_byte] = static_cast<png_byte>(row[x / per_byte] | v << shift);
        }
      }
    } else {
      for (std::size_t i = 0; i < row_bytes; ++i)
        row[i] = static_cast<png_byte>(i * 31 + static_cast<std::size_t>(y) * 7);
    }
  }
  std::vector<png_color> palette(256);
  std::vector<png_byte> alphas(256);
  for (int i = 0; i < 256; ++i) {
    const auto v = static_cast<png_byte>(i * 255 / std::max(1, im.palette_size - 1));
    palette[i] = im.grey_palette
                     ? png_color{v, v, v}
                     : png_color{v, static_cast<png_byte>(255 - v), static_cast<png_byte>(i * 40)};
    alphas[i] = static_cast<png_byte>(i * 40);
  }
  png_color_16 colour{};
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) throw std::runtime_error("cannot create " + path);
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, png_fail, png_quiet);
  png_infop info = png_create_info_struct(png);
  const bool ok =
      png_encode(png, info, f, &im, palette.data(), alphas.data(), &colour, rows.data());
  png_destroy_write_struct(&png, &info);
  std::fclose(f);
  if (!ok) throw std::runtime_error("libpng cannot write " + path);
}

// --- JPEG --------------------------------------------------------------------------------------

namespace {

struct JpegFailure {
  jpeg_error_mgr mgr;
  std::jmp_buf jump;
};

void jpeg_fail(j_common_ptr cinfo) {
  std::longjmp(reinterpret_cast<JpegFailure*>(cinfo->err)->jump, 1);
}

// Encodes rows of `components` samples into `f` or, when f is null, into *mem / *mem_size.
bool jpeg_encode(jpeg_compress_struct* c, JpegFailure* err, std::FILE* f, unsigned char** mem,
                 unsigned long* mem_size, const JpegImage* im, int components, J_COLOR_SPACE in,
                 J_COLOR_SPACE stored, const JSAMPLE* data) {
  if (setjmp(err->jump)) return false;
  if (f != nullptr) {
    jpeg_stdio_dest(c, f);
  } else {
    jpeg_mem_dest(c, mem, mem_size);
  }
  c->image_width = static_cast<JDIMENSION>(im->width);
  c->image_height = static_cast<JDIMENSION>(im->height);
  c->input_components = components;
  c->in_color_space = in;
  jpeg_set_defaults(c);
  jpeg_set_colorspace(c, stored);
  jpeg_set_quality(c, im->quality, TRUE);
  if (im->progressive) jpeg_simple_progression(c);
  c->restart_in_rows = im->restart_rows;
  jpeg_start_compress(c, TRUE);
  while (c->next_scanline < c->image_height) {
    JSAMPROW row = const_cast<JSAMPLE*>(data) +
                   static_cast<std::size_t>(c->next_scanline) * im->width * components;
    jpeg_write_scanlines(c, &row, 1);
  }
  jpeg_finish_compress(c);
  return true;
}

std::string encode_jpeg(const std::string& path, const JpegImage& im) {
  int components = 3;
  J_COLOR_SPACE in = JCS_RGB, stored = JCS_YCbCr;
  switch (im.colour) {
    case JpegColour::kGrey:
      components = 1;
      in = stored = JCS_GRAYSCALE;
      break;
    case JpegColour::kYCbCr:
      break;
    case JpegColour::kRgb:
      stored = JCS_RGB;
      break;
    case JpegColour::kCmyk:
      components = 4;
      in = stored = JCS_CMYK;
      break;
    case JpegColour::kYcck:
      components = 4;
      in = JCS_CMYK;
      stored = JCS_YCCK;
      break;
  }
  std::vector<JSAMPLE> data(static_cast<std::size_t>(im.width) * im.height * components);
  for (int y = 0; y < im.height; ++y)
    for (int x = 0; x < im.width; ++x)
      for (int k = 0; k < components; ++k)
        data[(static_cast<std::size_t>(y) * im.width + x) * components + k] = static_cast<JSAMPLE>(
            (x * (3 + k) + y * (5 + 2 * k) + ((x / 4 + y / 3) % 2) * 90) & 255);
  jpeg_compress_struct c{};
  JpegFailure err{};
  c.err = jpeg_std_error(&err.mgr);
  err.mgr.error_exit = jpeg_fail;
  jpeg_create_compress(&c);
  std::FILE* f = nullptr;
  if (!path.empty()) {
    f = std::fopen(path.c_str(), "wb");
    if (f == nullptr) throw std::runtime_error("cannot create " + path);
  }
  unsigned char* mem = nullptr;
  unsigned long mem_size = 0;
  const bool ok =
      jpeg_encode(&c, &err, f, &mem, &mem_size, &im, components, in, stored, data.data());
  jpeg_destroy_compress(&c);
  if (f != nullptr) std::fclose(f);
  std::string bytes;
  if (mem != nullptr) {
    bytes.assign(reinterpret_cast<char*>(mem), mem_size);
    std::free(mem);
  }
  if (!ok) throw std::runtime_error("libjpeg cannot encode a test JPEG");
  return bytes;
}

// Offset of the first marker 0xFF <code> at or after `from` (the headers before the scan).
std::size_t find_marker(const std::string& j, unsigned char code, std::size_t from = 2) {
  for (std::size_t i = from; i + 1 < j.size(); ++i)
    if (static_cast<unsigned char>(j[i]) == 0xff && static_cast<unsigned char>(j[i + 1]) == code)
      return i;
  throw std::runtime_error("test JPEG without marker");
}

// The JPEG headers through the end of the SOS segment, with SOF0 saying width x height.
std::string headers_of(const std::string& j, int width, int height) {
  std::string h = j;
  const std::size_t sof = find_marker(h, 0xc0);
  h[sof + 5] = static_cast<char>(height >> 8);
  h[sof + 6] = static_cast<char>(height & 0xff);
  h[sof + 7] = static_cast<char>(width >> 8);
  h[sof + 8] = static_cast<char>(width & 0xff);
  const std::size_t sos = find_marker(h, 0xda, sof);
  const std::size_t len =
      (static_cast<unsigned char>(h[sos + 2]) << 8) | static_cast<unsigned char>(h[sos + 3]);
  return h.substr(0, sos + 2 + len);
}

}  // namespace

void write_jpeg(const std::string& path, const JpegImage& im) {
  encode_jpeg(path, im);
}

std::string uniform_grey_jpeg(int width, int height) {
  JpegImage small;
  small.width = small.height = 8;
  small.colour = JpegColour::kGrey;
  std::string j = encode_jpeg("", small);
  std::string out = headers_of(j, width, height);
  // 00 (DC difference 0) then 1010 (end of block), per block; padded with ones.
  const std::uint64_t blocks = static_cast<std::uint64_t>((width + 7) / 8) * ((height + 7) / 8);
  const std::uint64_t bits = blocks * 6;
  std::string data(static_cast<std::size_t>((bits + 7) / 8), '\0');
  const unsigned char pattern[3] = {0x28, 0xa2, 0x8a};  // four blocks: 001010 x4
  for (std::size_t i = 0; i + 3 <= data.size(); i += 3) std::memcpy(&data[i], pattern, 3);
  for (std::uint64_t b = blocks / 4 * 24; b < data.size() * 8ull; ++b) {  // the tail, bit by bit
    const std::uint64_t in_block = (b % 6);
    const bool one = b >= bits ? true : (in_block == 2 || in_block == 4);
    unsigned char& byte = reinterpret_cast<unsigned char&>(data[b / 8]);
    const unsigned mask = 0x80u >> (b % 8);
    byte = static_cast<unsigned char>(one ? byte | mask : byte & ~mask);
  }
  out += data;
  out += "\xff\xd9";
  return out;
}

// --- headers that lie -------------------------------------------------------------------------

namespace {

std::string png_chunk(const char* type, const std::string& payload) {
  std::string c;
  be32(c, static_cast<std::uint32_t>(payload.size()));
  const std::string body = std::string(type, 4) + payload;
  c += body;
  be32(c, static_cast<std::uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(body.data()),
                                           static_cast<uInt>(body.size()))));
  return c;
}

}  // namespace

std::string bmp_bytes(int header_size, int bits, int compression, int width, int height,
                      bool colour_palette) {
  const int entries = bits <= 8 ? 1 << bits : 0;
  const int entry_bytes = header_size == 12 ? 3 : 4;
  const int row = ((width * bits + 31) / 32) * 4;
  const int offset = 14 + header_size + entries * entry_bytes + (compression == 3 ? 12 : 0);
  std::string o = "BM";
  le32(o, static_cast<std::uint32_t>(offset + row * height));
  le32(o, 0);
  le32(o, static_cast<std::uint32_t>(offset));
  le32(o, static_cast<std::uint32_t>(header_size));
  if (header_size == 12) {
    le16(o, static_cast<unsigned>(width));
    le16(o, static_cast<unsigned>(height));
    le16(o, 1);
    le16(o, static_cast<unsigned>(bits));
  } else {
    le32(o, static_cast<std::uint32_t>(width));
    le32(o, static_cast<std::uint32_t>(height));
    le16(o, 1);
    le16(o, static_cast<unsigned>(bits));
    le32(o, static_cast<std::uint32_t>(compression));
    le32(o, static_cast<std::uint32_t>(row * height));
    le32(o, 2835);
    le32(o, 2835);
    le32(o, 0);
    le32(o, 0);
    o += std::string(static_cast<std::size_t>(header_size - 40), '\0');
  }
  if (compression == 3) {
    le32(o, 0xf800);
    le32(o, 0x7e0);
    le32(o, 0x1f);
  }
  for (int i = 0; i < entries; ++i) {
    const auto v = static_cast<char>(i * 255 / (entries - 1));
    o += v;
    o += colour_palette ? static_cast<char>(255 - i * 255 / (entries - 1)) : v;
    o += v;
    if (entry_bytes == 4) o += '\0';
  }
  for (int i = 0; i < row * height; ++i) o += static_cast<char>((i * 29) & 0x77);
  return o;
}

std::string sun_raster_bytes(int bits, int width, int height, int map_entries, bool colour_map) {
  const int row = ((width * bits + 15) / 16) * 2;
  std::string o = "\x59\xA6\x6A\x95";
  be32(o, static_cast<std::uint32_t>(width));
  be32(o, static_cast<std::uint32_t>(height));
  be32(o, static_cast<std::uint32_t>(bits));
  be32(o, static_cast<std::uint32_t>(row * height));
  be32(o, 1);  // standard
  be32(o, map_entries > 0 ? 1 : 0);
  be32(o, static_cast<std::uint32_t>(map_entries * 3));
  for (int plane = 0; plane < 3; ++plane)
    for (int i = 0; i < map_entries; ++i)
      o += static_cast<char>(colour_map ? (i * 37 + plane * 80) & 255
                                        : i * 255 / std::max(1, map_entries - 1));
  for (int i = 0; i < row * height; ++i)
    o += static_cast<char>((i * 13) % std::max(2, map_entries));
  return o;
}

std::string lying_header(const std::string& format, int width, int height, bool alpha) {
  const auto w = static_cast<std::uint32_t>(width), h = static_cast<std::uint32_t>(height);
  if (format == "png") {
    std::string ihdr;
    be32(ihdr, w);
    be32(ihdr, h);
    ihdr += '\x08';
    ihdr += alpha ? '\x06' : '\x02';
    ihdr += std::string(3, '\0');
    std::string o = "\x89PNG\r\n\x1a\n" + png_chunk("IHDR", ihdr);
    be32(o, 100000);  // an IDAT that would hold 100000 bytes, and its first two
    o += "IDAT\x78\x9c";
    return o;
  }
  if (format == "jpeg") {
    JpegImage im;
    im.colour = JpegColour::kYCbCr;
    return headers_of(encode_jpeg("", im), width, height);
  }
  if (format == "tiff") {
    const std::uint16_t spp = alpha ? 4 : 3;
    std::string o = "II*";
    o += '\0';
    le32(o, 8);
    const std::uint16_t entries = alpha ? 11 : 10;
    le16(o, entries);
    const std::uint32_t bits_at = 8 + 2 + entries * 12 + 4;
    const auto entry = [&o](unsigned tag, unsigned type, std::uint32_t count, std::uint32_t value) {
      tiff_entry(o, tag, type, count, value);
    };
    entry(256, 4, 1, w);
    entry(257, 4, 1, h);
    entry(258, 3, spp, bits_at);
    entry(259, 3, 1, 1);
    entry(262, 3, 1, 2);
    entry(273, 4, 1, 4096);
    entry(277, 3, 1, spp);
    entry(278, 4, 1, h);
    entry(279, 4, 1, w * h * spp);
    entry(284, 3, 1, 1);
    if (alpha) entry(338, 3, 1, 2);
    le32(o, 0);
    for (int i = 0; i < spp; ++i) le16(o, 8);
    return o;
  }
  if (format == "webp") {  // a lossy VP8 key frame header; width and height below 2^14
    // Frame tag 0x000210: key frame, version 0, shown, first partition of 16 bytes; start code.
    std::string vp8("\x10\x02\x00\x9d\x01\x2a", 6);
    le16(vp8, w & 0x3fff);
    le16(vp8, h & 0x3fff);
    vp8 += std::string(8, '\0');  // OpenCV's signature check reads 32 bytes
    std::string o = "RIFF";
    le32(o, 4 + 8 + 1000000);
    o += "WEBPVP8 ";
    le32(o, 1000000);
    return o + vp8;
  }
  if (format == "bmp")
    return bmp_bytes(40, 24, 0, 1, 1, false).substr(0, 54).replace(18, 8, [&] {
      std::string s;
      le32(s, w);
      le32(s, h);
      return s;
    }());
  if (format == "ppm") return "P6\n" + std::to_string(w) + " " + std::to_string(h) + "\n255\n";
  if (format == "pfm") return "PF\n" + std::to_string(w) + " " + std::to_string(h) + "\n-1.0\n";
  if (format == "hdr")
    return "#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y " + std::to_string(h) + " +X " +
           std::to_string(w) + "\n";
  if (format == "ras")
    return sun_raster_bytes(24, 1, 1, 0, false).substr(0, 32).replace(4, 8, [&] {
      std::string s;
      be32(s, w);
      be32(s, h);
      return s;
    }());
  throw std::runtime_error("lying_header: unknown format " + format);
}

}  // namespace test
}  // namespace pdeimg
