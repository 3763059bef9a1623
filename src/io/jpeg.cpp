// JPEG through libjpeg(-turbo) directly: the header for read_info, and decoding that fails on
// libjpeg's warnings. OpenCV 4.6 lets libjpeg print "Premature end of JPEG file" and returns the
// image with its missing rows grey; here every warning (emit_message with a level < 0) ends the
// decode with an error naming the file.
//
// The output is what cv::imread(IMREAD_UNCHANGED) returns (OpenCV's JpegDecoder): 1 component ->
// grey, otherwise B,G,R through libjpeg-turbo's JCS_EXT_BGR, and 4 components (CMYK, YCCK) as
// libjpeg's CMYK converted with OpenCV's formula. libjpeg's defaults (ISLOW DCT, fancy upsampling)
// are OpenCV's too, so the pixels are bit-identical (tests/io_test.cpp compares them).
//
// Errors leave libjpeg through longjmp. Every setjmp is in a function holding only trivially
// destructible locals, so no destructor is ever skipped; the C++ objects live in the callers.
#include <csetjmp>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

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

// OpenCV's CMYK -> BGR for libjpeg's (Adobe-inverted) CMYK output: each of C, M, Y becomes
// k - ((255 - v) * k >> 8), stored as B = Y', G = M', R = C'.
void cmyk_to_bgr(const JSAMPLE* cmyk, std::uint8_t* bgr, JDIMENSION width) {
  for (JDIMENSION x = 0; x < width; ++x, cmyk += 4, bgr += 3) {
    const int k = cmyk[3];
    bgr[0] = static_cast<std::uint8_t>(k - ((255 - cmyk[2]) * k >> 8));
    bgr[1] = static_cast<std::uint8_t>(k - ((255 - cmyk[1]) * k >> 8));
    bgr[2] = static_cast<std::uint8_t>(k - ((255 - cmyk[0]) * k >> 8));
  }
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

  void decode(const ImageView& out) {
    std::vector<JSAMPLE> cmyk;
    if (cinfo_.num_components == 4) cmyk.resize(static_cast<std::size_t>(cinfo_.image_width) * 4);
    if (!decompress(out, cmyk.empty() ? nullptr : cmyk.data())) fail();
  }

 private:
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

  // Decodes into `out` (already shaped as header() said); `cmyk` is a row buffer for 4
  // components, else null.
  bool decompress(const ImageView& out, JSAMPLE* cmyk) {
    if (setjmp(err_.jump)) return false;
    if (cinfo_.num_components == 1) {
      cinfo_.out_color_space = JCS_GRAYSCALE;
    } else if (cmyk != nullptr) {
      cinfo_.out_color_space = JCS_CMYK;
    } else {
      cinfo_.out_color_space = JCS_EXT_BGR;
    }
    jpeg_start_decompress(&cinfo_);
    const JDIMENSION height = cinfo_.output_height;
    while (cinfo_.output_scanline < height) {
      const JDIMENSION y = cinfo_.output_scanline;
      std::uint8_t* row = out.row<std::uint8_t>(static_cast<int>(y));
      if (cmyk != nullptr) {
        JSAMPROW rows[1] = {cmyk};
        if (jpeg_read_scanlines(&cinfo_, rows, 1) != 1) return no_rows();
        cmyk_to_bgr(cmyk, row, cinfo_.output_width);
      } else {
        // Straight into the image, up to 8 rows a call.
        JSAMPROW rows[8];
        JDIMENSION n = 0;
        for (; n < 8 && y + n < height; ++n) rows[n] = out.row<JSAMPLE>(static_cast<int>(y + n));
        if (jpeg_read_scanlines(&cinfo_, rows, n) == 0) return no_rows();
      }
    }
    jpeg_finish_decompress(&cinfo_);  // reads up to EOI: a file cut just before it warns here
    return true;
  }

  // jpeg_read_scanlines made no progress (only a suspending data source does that).
  bool no_rows() {
    std::snprintf(err_.text, sizeof err_.text, "no rows decoded at row %u", cinfo_.output_scanline);
    err_.code = 0;
    err_.warning = false;
    return false;
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

HostImage jpeg_read(const std::string& path, const ImageInfo& expected) {
  JpegDecompressor jpeg(path);
  const ImageInfo info = jpeg.header();
  if (info.width != expected.width || info.height != expected.height ||
      info.channels != expected.channels) {
    fail_read(path, ErrorCode::kIo, "the file changed while it was being read");
  }
  HostImage img(info.width, info.height, info.channels, PixelType::kU8);
  jpeg.decode(img.view());
  return img;
}

}  // namespace detail
}  // namespace io
}  // namespace pdeimg
