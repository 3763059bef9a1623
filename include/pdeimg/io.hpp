// pdeimg::io: reading and writing image files (OpenCV imgcodecs at the edge), keeping bit depth
// and channel count. Link pdeimg::io; OpenCV stays a private dependency of this library.
#pragma once

#include <string>

#include "pdeimg/image.hpp"

namespace pdeimg {
namespace io {

/// Reads an image file as stored: no colour conversion, no depth conversion, no EXIF rotation
/// (OpenCV's IMREAD_UNCHANGED). Sample types uint8, uint16 and float32 are kept; channels 1..4.
///
/// Channel order is OpenCV's: a colour file reads as B,G,R (and A last when present), and
/// write_image expects the same order, so a read/write round trip keeps colours. Every pdeimg
/// operation treats colour channels symmetrically and alpha as the last channel, so the order
/// never changes a result. A grey+alpha file is read by OpenCV as 4 channels (BGRA).
/// Multi-page files (TIFF) give their first page.
///
/// Throws Error(kIo) naming the file when it does not exist, is not a regular file, is empty,
/// cannot be opened, is not in a format OpenCV recognises, or cannot be decoded (corrupt or
/// truncated); Error(kUnsupported) naming the file when it decodes to another sample type (int16,
/// int32, float64, ...) or to more than 4 channels.
///
///   pdeimg::HostImage img = pdeimg::io::read_image("scan.tif");  // e.g. 2048x2048 1ch uint16
HostImage read_image(const std::string& path);

/// Writes a host image to `path`; the format follows the extension (case-insensitive).
///
/// The format must hold the image exactly as it is (OpenCV would otherwise convert silently, e.g.
/// a float image to 8 bits in a PNG, or drop alpha in a BMP):
///
///   extension            sample types               channels
///   .png                 uint8, uint16              1, 3, 4
///   .tif .tiff           uint8, uint16, float32     1, 3, 4   (LZW, lossless for all three)
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
