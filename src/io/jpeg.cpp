// JPEG header through libjpeg(-turbo) directly (jpeg_read_header), for read_info: OpenCV's
// JpegDecoder returns 1 channel for 1 component and B,G,R for 3 or 4 (CMYK, YCCK). Every libjpeg
// warning (emit_message with a level < 0) fails the file.
//
// Errors leave libjpeg through longjmp. Every setjmp is in a function holding only trivially
// destructible locals, so no destructor is ever skipped; the C++ objects live in the callers.
#include <csetjmp>
#include <cstdio>
#include <string>

#include <jpeglib.h>
// jpeglib.h must come first.
#include <jerror.h>

#include "src/io/codecs.hpp"

namespace pdeimg {
namespace io {
namespace detail {
namespace {

// libjpeg gets &mgr (the first member) as cinfo->err and the callbacks cast it back.
struct ErrorManager {
  jpeg_error_mgr mgr;
  std::jmp_buf jump;
  char text[JMSG_LENGTH_MAX];
  int code;
  bool warning;
};

void on_error(j_common_ptr cinfo) {
  ErrorManager* e = reinterpret_cast<ErrorManager*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, e->text);
  e->code = cinfo->err->msg_code;
  e->warning = false;
  std::longjmp(e->jump, 1);
}

// Level < 0: a warning about the data, which fails the file; >= 0: trace output, ignored.
void on_message(j_common_ptr cinfo, int level) {
  if (level >= 0) return;
  ErrorManager* e = reinterpret_cast<ErrorManager*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, e->text);
  e->code = cinfo->err->msg_code;
  e->warning = true;
  std::longjmp(e->jump, 1);
}

bool unsupported_feature(int code) {
  return code == JERR_BAD_PRECISION || code == JERR_SOF_UNSUPPORTED || code == JERR_NOT_COMPILED ||
         code == JERR_NOTIMPL || code == JERR_CONVERSION_NOTIMPL || code == JERR_ARITH_NOTIMPL;
}

class JpegDecompressor {
 public:
  explicit JpegDecompressor(const std::string& path) : path_(path), file_(path) {
    cinfo_.err = jpeg_std_error(&err_.mgr);
    err_.mgr.error_exit = on_error;
    err_.mgr.emit_message = on_message;
    if (!create()) fail();
    created_ = true;
  }
  JpegDecompressor(const JpegDecompressor&) = delete;
  JpegDecompressor& operator=(const JpegDecompressor&) = delete;
  ~JpegDecompressor() {
    if (created_) jpeg_destroy_decompress(&cinfo_);
  }

  ImageInfo header() {
    if (!read_header()) fail();
    const int n = cinfo_.num_components;
    if (n != 1 && n != 3 && n != 4) {
      fail_read(path_, ErrorCode::kUnsupported,
                "a JPEG of " + std::to_string(n) +
                    " colour components; pdeimg reads grey (1), colour (3) and CMYK (4) JPEG");
    }
    ImageInfo info;
    info.format = format_name(Kind::kJpeg);
    info.width = static_cast<int>(cinfo_.image_width);
    info.height = static_cast<int>(cinfo_.image_height);
    info.channels = n == 1 ? 1 : 3;
    info.type = PixelType::kU8;
    return info;
  }

  [[noreturn]] void fail() const {
    const std::string said = std::string("(libjpeg: ") + err_.text + ")";
    if (err_.warning) fail_read(path_, ErrorCode::kIo, "corrupt or truncated JPEG data " + said);
    if (err_.code == JERR_OUT_OF_MEMORY)
      fail_read(path_, ErrorCode::kOutOfMemory, "out of memory while decoding " + said);
    if (unsupported_feature(err_.code))
      fail_read(path_, ErrorCode::kUnsupported, "a JPEG variant libjpeg does not decode " + said);
    fail_read(path_, ErrorCode::kIo, "corrupt or truncated JPEG data " + said);
  }

  bool create() {
    if (setjmp(err_.jump)) return false;
    jpeg_create_decompress(&cinfo_);
    return true;
  }

  bool read_header() {
    if (setjmp(err_.jump)) return false;
    jpeg_stdio_src(&cinfo_, file_.get());
    jpeg_read_header(&cinfo_, TRUE);
    return true;
  }

  std::string path_;
  InputFile file_;
  jpeg_decompress_struct cinfo_{};
  ErrorManager err_{};
  bool created_ = false;
};

}  // namespace

ImageInfo jpeg_info(const std::string& path) {
  JpegDecompressor jpeg(path);
  return jpeg.header();
}

}  // namespace detail
}  // namespace io
}  // namespace pdeimg
