// pdeimg::io: reading and writing image files (OpenCV imgcodecs at the edge), keeping bit depth
// and channel count. Link pdeimg::io; OpenCV stays a private dependency of this library.
#pragma once

#include <cstdint>
#include <string>

#include "pdeimg/image.hpp"

namespace pdeimg {
namespace io {

/// What a file's header says about the image read_image would return, without decoding pixels.
struct ImageInfo {
  /// "PNG", "JPEG", "TIFF", "WebP", "BMP", "PNM" (PBM/PGM/PPM), "PFM", "Radiance HDR",
  /// "Sun raster"; formats whose header read_info does not inspect are named too ("OpenEXR",
  /// "JPEG 2000", "PAM") or "other" (any further format OpenCV recognises).
  std::string format;
  int width = 0;     ///< pixels; 0 when the header was not inspected (see known())
  int height = 0;    ///< pixels; 0 when not inspected
  int channels = 0;  ///< 1..4 exactly as read_image returns them; 0 when not inspected
  PixelType type = PixelType::kU8;  ///< as read_image returns it; meaningful only when known()
  /// Full-resolution images in the file: TIFF directories that are not reduced-resolution
  /// versions of another (NewSubfileType bit 0); 1 for every other format.
  int pages = 1;

  /// True when width, height, channels and type come from the header.
  bool known() const noexcept { return width > 0; }
  /// width x height x channels, the number of samples read_image would allocate; 0 when unknown.
  std::uint64_t samples() const noexcept {
    return static_cast<std::uint64_t>(width) * static_cast<std::uint64_t>(height) *
           static_cast<std::uint64_t>(channels);
  }
};

/// Describes the image in `path` from its header alone, exactly as read_image would return it:
/// width, height, channels (OpenCV's IMREAD_UNCHANGED rules: a palette PNG gives 3 channels, or 4
/// with a transparency chunk; grey+alpha PNG and TIFF give 4, B,G,R,A; a 24-bit JPEG 3, B,G,R;
/// CMYK JPEG 3), sample type, page count and format. Reads a few hundred bytes for most formats
/// (TIFF: every directory, to count pages); never decodes pixels or allocates for them.
///
/// Inspected through the codec libraries (libjpeg's jpeg_read_header, libpng's png_read_info,
/// libtiff's directories, libwebp's WebPGetFeatures) or by parsing the fixed header (BMP,
/// PBM/PGM/PPM, PFM, Radiance HDR, Sun raster). Other formats OpenCV reads (OpenEXR, JPEG 2000,
/// PAM, ...) return known() == false: their size is learnt only by decoding, and only OpenCV's own
/// limit of 2^30 pixels (environment variable OPENCV_IO_MAX_IMAGE_PIXELS) guards that decode.
///
/// Throws what read_image throws for the file itself (missing, a folder, empty, unreadable, not
/// an image) and for what the header already rules out: Error(kUnsupported) for a sample type
/// other than uint8, uint16 and float32 (int16, float64, ...), more than 4 channels, or a variant
/// OpenCV does not decode; Error(kIo) for a header that is corrupt or truncated. It succeeds for
/// a multi-page TIFF (pages > 1) and for any size, which read_image refuses.
///
///   const pdeimg::io::ImageInfo info = pdeimg::io::read_info("scan.tif");
///   // info.width 2048, height 2048, channels 1, type kU16, pages 1, format "TIFF"
ImageInfo read_info(const std::string& path);

/// The default memory guard: 2^30 samples (1 GiB of uint8, 4 GiB of float32), which is also the
/// most pixels OpenCV 4.6 decodes.
inline constexpr std::uint64_t kDefaultMaxSamples = std::uint64_t{1} << 30;

/// Options of read_image.
struct ReadOptions {
  /// Largest image read_image accepts, in samples (width x height x channels as returned); 0: no
  /// limit of pdeimg's own. Checked from the header, before any pixel memory is allocated, for
  /// every format read_info inspects; for the others after decoding (OpenCV's 2^30-pixel limit
  /// guards that decode). Over the limit: Error(kLimitExceeded).
  std::uint64_t max_samples = kDefaultMaxSamples;
  /// How messages name the limit, e.g. "--max-pixels" when an app sets it from its option.
  std::string limit_name = "io::ReadOptions::max_samples";
};

/// Reads an image file as stored: no colour conversion, no depth conversion, no EXIF rotation
/// (OpenCV's IMREAD_UNCHANGED). Sample types uint8, uint16 and float32 are kept; channels 1..4.
/// OpenCV 4.6 decodes, except where it is wrong or too trusting: JPEG is decoded by libjpeg and
/// a few TIFF layouts by libtiff directly (below).
///
/// Channel order is OpenCV's: a colour file reads as B,G,R (and A last when present), and
/// write_image expects the same order, so a read/write round trip keeps colours. Every pdeimg
/// operation treats colour channels symmetrically and alpha as the last channel, so the order
/// never changes a result.
///
/// Refused, never read partially or approximately:
///  - Size: more samples than `options.max_samples`. Error(kLimitExceeded) naming the file, its
///    size and the limit by its `limit_name` ("cannot read 'x.png': 32768x32768, 4 channels:
///    4294967296 samples, more than the limit of 1073741824 samples (--max-pixels)"), from the
///    header before any pixel memory is allocated: a 1 MB PNG of 32768x32768 zeros costs
///    milliseconds (see ReadOptions for formats without an inspected header). With the limit
///    off, OpenCV still decodes at most 2^20 pixels a side and 2^30 pixels (JPEG excepted).
///  - Pages: a TIFF of more than one full-resolution image, Error(kUnsupported) "a TIFF of 3
///    pages; pdeimg reads one image per file". Reduced-resolution directories (NewSubfileType
///    bit 0: thumbnails, overviews) are not pages and are skipped; a TIFF whose first directory
///    is one is refused (OpenCV would return the thumbnail).
///  - Damage: Error(kIo) "corrupt or truncated ..." with the decoder's words where it has them.
///    JPEG: every libjpeg warning fails the file ("libjpeg: Premature end of JPEG file"), where
///    OpenCV returns a truncated JPEG with its missing part grey. TIFF: an 8-bit image is first
///    decoded strip by strip with libtiff and any libtiff error or warning fails it (OpenCV's
///    8-bit path skips a strip it cannot decode); the Adler-32 sums of Deflate strips are
///    verified (libtiff does not). PNG's CRCs, OpenEXR's checks and the truncation of any format
///    are caught by OpenCV's decoders. What no decoder can see: a changed byte in uncompressed
///    pixels (BMP, PNM, PFM, Sun raster, uncompressed TIFF) or in lossy WebP data is a changed
///    pixel, and in JPEG or LZW data it is caught only where it breaks the code (usually).
///  - Layouts: Error(kUnsupported) naming them: samples other than uint8, uint16 and float32
///    ("samples are int16; pdeimg reads uint8, uint16 and float32"), more than 4 channels
///    ("5 channels; pdeimg reads 1 to 4"), a grey TIFF with more than one extra sample, a
///    white-is-zero grey+alpha TIFF, and variants OpenCV or libjpeg do not decode (4-bit grey
///    TIFF, 12-bit JPEG), named from the header.
///
/// Read unlike cv::imread, on purpose:
///  - a grey+alpha TIFF gives 4 channels B,G,R,A with the grey replicated, as OpenCV does for a
///    grey+alpha PNG (OpenCV drops a TIFF's alpha); the alpha is as stored (an associated,
///    premultiplied alpha is not undone);
///  - an 8-bit RGBA TIFF with unassociated alpha keeps its colours (OpenCV premultiplies them);
///  - a 16- or 32-bit TIFF in separate planes is read right (OpenCV fills all but the first plane
///    of it from uninitialised memory).
/// Everything else is bit-identical to cv::imread(path, IMREAD_UNCHANGED), JPEG included: grey
/// gives 1 channel, colour B,G,R, CMYK and YCCK B,G,R by OpenCV's conversion.
///
/// Throws Error(kIo) naming the file when it does not exist, is not a regular file, is empty,
/// cannot be opened, is not in a format OpenCV recognises, or is corrupt or truncated;
/// Error(kUnsupported) and Error(kLimitExceeded) as above; Error(kOutOfMemory) when the pixels
/// cannot be allocated.
///
/// Thread-safe: the batch apps decode on several threads at once; the codec libraries' error
/// handlers keep their state per call.
///
///   pdeimg::HostImage img = pdeimg::io::read_image("scan.tif");  // e.g. 2048x2048 1ch uint16
///   pdeimg::io::ReadOptions upload;
///   upload.max_samples = 100'000'000;
///   upload.limit_name = "--max-pixels";
///   img = pdeimg::io::read_image("upload.png", upload);  // refuses a 32768x32768 PNG bomb
HostImage read_image(const std::string& path, const ReadOptions& options = {});

/// Writes a host image to `path`; the format follows the extension (case-insensitive).
///
/// The format must hold the image exactly as it is (OpenCV would otherwise convert silently, e.g.
/// a float image to 8 bits in a PNG, or drop alpha in a BMP):
///
///   extension            sample types               channels
///   .png                 uint8, uint16              1, 3, 4
///   .tif .tiff           uint8, uint16, float32     1, 3, 4   (lossless: LZW; float32
///                                                             uncompressed, as OpenCV 4.6
///                                                             writes it whatever is asked)
///   .jpg .jpeg .jpe      uint8                      1, 3      (lossy, quality 95)
///   .bmp .dib            uint8                      1, 3
///   .webp                uint8                      3, 4
///   .pgm / .ppm / .pnm   uint8, uint16              1 / 3 / 1 or 3
///   .pfm                 float32                    1, 3
///   .exr                 float32                    1, 3, 4
///   .hdr .pic            float32                    3         (lossy RGBE)
///
/// Other extensions OpenCV knows are passed to it as they are, and whatever it refuses is
/// reported; it may convert the depth of such formats. No format holds 2 channels.
///
/// The file is written to a temporary file in the same folder (".<stem>.tmp-<host>-<pid>-<n><ext>")
/// and renamed over `path` only once complete, so `path` is never left truncated and a failed write
/// leaves neither the temporary file nor a changed `path` behind. When `path` is a symbolic
/// link, the file it points to is replaced. The new file gets default permissions (umask).
///
/// Temp-and-rename protects against the process dying mid-write; without an fsync (not done: it
/// would cost milliseconds per file in batch runs) it does not protect against power loss.
///
/// Throws Error(kInvalidArgument) for a malformed or device view, Error(kUnsupported) naming the
/// path when the format cannot hold the image (see check_writable), Error(kIo) naming the path
/// when the folder does not exist, the path is a folder, or encoding or renaming fails.
void write_image(const std::string& path, const ImageView& image);

/// Throws what write_image would throw, before writing anything, when the format chosen by the
/// extension of `path` cannot hold an image of this type and channel count, or OpenCV has no
/// writer for it: Error(kUnsupported) naming `path`, the format and what it can hold. Looks at
/// the name only. Lets an app refuse early, before computing a result it could not save.
void check_writable(const std::string& path, PixelType type, int channels);

/// True when OpenCV has an encoder for the extension of `path` (e.g. ".png"); looks at the name
/// only, never at the file.
bool has_writer(const std::string& path);

/// True when `a` and `b` name the same file: the same inode when both exist (so hard links and
/// symbolic links are caught), else the same lexically normalised absolute path after resolving
/// the parts that exist. Never throws; a path that cannot be examined compares by its name.
bool same_file(const std::string& a, const std::string& b) noexcept;

/// A short description for messages and logs: "512x512 3ch uint8".
std::string describe(const ImageView& image);

}  // namespace io
}  // namespace pdeimg
