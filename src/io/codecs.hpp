// The codec layer of pdeimg::io (src/io/io.cpp is its only user): header inspection per format,
// libjpeg decoding, and the TIFF cases OpenCV 4.6 gets wrong. Every function throws
// pdeimg::Error naming the file; none keeps global state, so all may run on several threads.
//
// Each codec file includes its library's headers (jpeglib.h, png.h, tiffio.h, webp/decode.h) and
// none of OpenCV's: libtiff and OpenCV both define int64/uint64.
#pragma once

#include <cstddef>
#include <cstdio>
#include <string>

#include "pdeimg/error.hpp"
#include "pdeimg/image.hpp"
#include "pdeimg/io.hpp"

namespace pdeimg {
namespace io {
namespace detail {

/// Throws Error(code, "cannot read '<path>': <why>"), the form of every read error.
[[noreturn]] void fail_read(const std::string& path, ErrorCode code, const std::string& why);

/// errno's text; thread-safe, unlike strerror.
std::string errno_text();

/// An open FILE* that closes itself; throws Error(kIo) with errno's text when `path` cannot be
/// opened for reading.
class InputFile {
 public:
  explicit InputFile(const std::string& path);
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;
  ~InputFile();
  std::FILE* get() const noexcept { return file_; }

 private:
  std::FILE* file_ = nullptr;
};

/// Formats told apart by their signature (the first bytes), as OpenCV tells them apart.
enum class Kind {
  kJpeg,
  kPng,
  kTiff,
  kWebp,
  kBmp,
  kPnm,  // P1..P6: PBM, PGM, PPM
  kPfm,
  kHdr,
  kSunRaster,
  kExr,  // OpenCV decodes these; their headers are not inspected
  kJpeg2000,
  kPam,
  kOther,
};

/// The format whose signature `head` (the first `size` bytes of a file) starts with.
Kind sniff(const unsigned char* head, std::size_t size) noexcept;

/// Name of a format for ImageInfo::format and messages ("JPEG", "Sun raster", ...).
const char* format_name(Kind kind) noexcept;

/// "5 channels; pdeimg reads 1 to 4" and "samples are int16; pdeimg reads uint8, uint16 and
/// float32": the wording of these two refusals, shared by OpenCV's results and TIFF headers.
std::string channels_refusal(int channels);
std::string sample_type_refusal(const std::string& type_name);

// --- header inspection (read_info) -------------------------------------------------------------
// Each returns what read_image returns for the file and throws what the header rules out.

ImageInfo jpeg_info(const std::string& path);
ImageInfo png_info(const std::string& path);
ImageInfo webp_info(const std::string& path);
/// BMP, PNM, PFM, Radiance HDR and Sun raster: small fixed headers parsed here, to OpenCV 4.6's
/// rules (src/io/headers.cpp).
ImageInfo parsed_header_info(const std::string& path, Kind kind);

/// How read_image decodes a TIFF.
enum class TiffDecoder {
  kOpenCv,           ///< cv::imread: it reports every damage libtiff reports on this path
  kCheckThenOpenCv,  ///< first tiff_check_data: OpenCV's 8-bit path skips undecodable strips
  kOwn,  ///< tiff_read: grey+alpha, 8-bit RGB with unassociated alpha, planes of > 8 bits
};

struct TiffPlan {
  ImageInfo info;
  TiffDecoder decoder = TiffDecoder::kOpenCv;
  bool check_deflate = false;  ///< Deflate strips: their checksums are verified (tiff_check_data)
  std::string layout;          ///< e.g. "8-bit RGB, 3 samples per pixel, LZW" for messages
};

/// Reads every directory (counting pages) and the first image's tags; throws Error(kUnsupported)
/// for what pdeimg refuses from the header (see read_image) and Error(kIo) for a corrupt one.
TiffPlan tiff_plan(const std::string& path);

// --- decoding ----------------------------------------------------------------------------------

/// Decodes a JPEG through libjpeg as cv::imread(IMREAD_UNCHANGED) does, failing on every libjpeg
/// warning. `expected` is what jpeg_info said (the file must still say so).
HostImage jpeg_read(const std::string& path, const ImageInfo& expected);

/// Before OpenCV decodes a TIFF: verifies the checksums of Deflate strips (plan.check_deflate)
/// and, for TiffDecoder::kCheckThenOpenCv, decodes every strip or tile of the first image with
/// libtiff and discards the result. Throws Error(kIo) on any libtiff error or warning meanwhile.
void tiff_check_data(const std::string& path, const TiffPlan& plan);

/// Decodes a TIFF planned as TiffDecoder::kOwn into `expected`'s shape (checksums included).
HostImage tiff_read(const std::string& path, const ImageInfo& expected);

}  // namespace detail
}  // namespace io
}  // namespace pdeimg
