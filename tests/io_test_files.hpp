// Test files io_test needs and OpenCV cannot write: TIFFs of any layout and several pages, PNGs
// of every colour type, JPEGs in every colour space, hand-made headers that lie about the size,
// a valid 32768x32776 JPEG made in milliseconds, and damaged copies of files. Written with the
// codec libraries directly (libtiff, libpng, libjpeg) or byte by byte.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace pdeimg {
namespace test {

/// The tag values the tests use (tiff.h and png.h stay out of io_test.cpp, which includes OpenCV:
/// libtiff and OpenCV both define int64).
namespace tiff {
constexpr int kMinIsWhite = 0, kMinIsBlack = 1, kRgb = 2, kPalette = 3, kCmyk = 5;
constexpr int kUint = 1, kInt = 2, kFloat = 3;
constexpr int kContig = 1, kSeparate = 2;
constexpr int kNone = 1, kLzw = 5, kJpeg = 7, kDeflate = 8, kPackBits = 32773;
constexpr int kUnspecified = 0, kAssociatedAlpha = 1, kUnassociatedAlpha = 2;
constexpr unsigned kReducedImage = 1;
}  // namespace tiff
namespace png {
constexpr int kGrey = 0, kRgb = 2, kPalette = 3, kGreyAlpha = 4, kRgba = 6;
}  // namespace png

std::string read_bytes(const std::string& path);
void write_bytes(const std::string& path, const std::string& bytes);

/// One TIFF directory. The samples are a deterministic pattern unless `data` is given (stored
/// samples in native byte order, rows of interleaved samples, or plane after plane).
struct TiffImage {
  int width = 13;
  int height = 7;
  int bits = 8;
  int samples = 1;
  int photometric = 1;    // PHOTOMETRIC_MINISBLACK
  int sample_format = 1;  // SAMPLEFORMAT_UINT
  int planar = 1;         // PLANARCONFIG_CONTIG
  int compression = 1;    // COMPRESSION_NONE
  int tile = 0;           // 0: strips; else the tile side (a multiple of 16)
  int rows_per_strip = 3;
  int extra_sample = -1;  // kind of the samples beyond the colour ones (EXTRASAMPLE_*); -1: none
  std::uint32_t subfile_type = 0;  // NewSubfileType (1: reduced-resolution version)
  std::vector<unsigned char> data;
};

/// Writes `pages` as the directories of one TIFF (a BigTIFF when `big`) with libtiff; throws
/// std::runtime_error when libtiff refuses.
void write_tiff(const std::string& path, const std::vector<TiffImage>& pages, bool big = false);

/// The stored samples write_tiff writes for `image` (its `data`, or the pattern).
std::vector<unsigned char> tiff_samples(const TiffImage& image);

/// True when this libtiff can encode `compression` (e.g. COMPRESSION_JPEG).
bool tiff_codec_available(int compression);

/// The bytes of the TIFF at `path` (little-endian, strips, one image) laid out with the
/// directory before the pixel data, as scanners and cameras write it. libtiff (and so
/// cv::imwrite) writes the directory last, where any truncation removes it.
std::string tiff_with_directory_first(const std::string& path);

/// What libtiff says while decoding every strip or tile of the first image of `path` (its
/// first error, or else its first warning from the data); empty when it decodes silently.
std::string libtiff_complaint(const std::string& path);

/// What libjpeg says while decoding `path` (its first error or warning); empty when it decodes
/// silently.
std::string libjpeg_complaint(const std::string& path);

/// A PNG written by libpng. color_type and bit_depth as in png.h; palette images get
/// `palette_size` entries of colours (or greys when `grey_palette`), of which the first
/// `transparent` get tRNS entries (for grey and RGB: transparent > 0 adds a tRNS colour).
struct PngImage {
  int width = 13;
  int height = 7;
  int color_type = 0;
  int bit_depth = 8;
  int palette_size = 16;
  bool grey_palette = false;
  int transparent = 0;
};
void write_png(const std::string& path, const PngImage& image);

enum class JpegColour { kGrey, kYCbCr, kRgb, kCmyk, kYcck };

/// A JPEG written by libjpeg from a deterministic pattern: `colour` is the colour space stored
/// in the file (kGrey from 1 input component, kYCbCr and kRgb from RGB input, kCmyk and kYcck
/// from CMYK input).
struct JpegImage {
  int width = 13;
  int height = 7;
  JpegColour colour = JpegColour::kYCbCr;
  bool progressive = false;
  int quality = 90;
  int restart_rows = 0;  // restart interval in MCU rows; 0: none
};
void write_jpeg(const std::string& path, const JpegImage& image);

/// A valid baseline grey JPEG of width x height pixels of value 128 (any size up to 65535),
/// made without encoding: with the standard Huffman tables an all-zero 8x8 block is the 6 bits
/// 00 1010, so the entropy-coded data is that pattern repeated. 12 MB for 32768x32776, in
/// milliseconds; decoding it would need 1 GiB and seconds.
std::string uniform_grey_jpeg(int width, int height);

/// Headers that claim width x height (x3 channels, x4 for PNG and TIFF with alpha) and end
/// where the pixel data would begin, for each inspected format: "png", "jpeg", "tiff", "webp",
/// "bmp", "ppm", "pfm", "hdr", "ras". Decoding any of them fails; only a check made from the
/// header alone can answer first.
std::string lying_header(const std::string& format, int width, int height, bool alpha = false);

/// A BMP written byte by byte: header size 40 (or 12 for OS/2, 124 for V5), the given bits per
/// pixel and compression (3: BI_BITFIELDS with 5-6-5 masks), a palette of greys or colours for
/// up to 8 bits.
std::string bmp_bytes(int header_size, int bits, int compression, int width, int height,
                      bool colour_palette);

/// A Sun raster written byte by byte: `bits` 1, 8, 24 or 32, type 1 (standard), with a colour
/// map of `map_entries` greys or colours (0: none).
std::string sun_raster_bytes(int bits, int width, int height, int map_entries, bool colour_map);

}  // namespace test
}  // namespace pdeimg
