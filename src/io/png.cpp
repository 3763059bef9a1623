// PNG header through libpng (png_read_info reads the chunks before the first IDAT), with OpenCV
// 4.6's IMREAD_UNCHANGED channel rules. Pixels are decoded by OpenCV: it reports every damage
// libpng reports (a CRC error in a critical chunk, a zlib error, missing data), which the
// damage tests in tests/io_test.cpp confirm.
#include <csetjmp>
#include <cstring>
#include <string>

#include <png.h>

#include "src/io/codecs.hpp"

namespace pdeimg {
namespace io {
namespace detail {
namespace {

// libpng's error_ptr: per call, so threads never share it.
struct PngMessages {
  char text[256];
};

void on_error(png_structp png, png_const_charp message) {
  auto* m = static_cast<PngMessages*>(png_get_error_ptr(png));
  std::strncpy(m->text, message != nullptr ? message : "unknown error", sizeof m->text - 1);
  png_longjmp(png, 1);
}

// Header warnings concern ancillary chunks (e.g. "iCCP: known incorrect sRGB profile"), never
// the size or layout: not a reason to refuse the file.
void on_warning(png_structp, png_const_charp) {}

struct PngHeader {
  png_uint_32 width = 0, height = 0;
  int bit_depth = 0, color_type = 0, num_trans = 0;
};

// Only trivially destructible locals: libpng leaves through longjmp.
bool read_header(png_structp png, png_infop info, std::FILE* file, PngHeader* h) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_init_io(png, file);
  png_read_info(png, info);
  png_get_IHDR(png, info, &h->width, &h->height, &h->bit_depth, &h->color_type, nullptr, nullptr,
               nullptr);
  png_bytep trans = nullptr;
  png_color_16p trans_values = nullptr;
  int num_trans = 0;
  if (png_get_tRNS(png, info, &trans, &num_trans, &trans_values) != 0) h->num_trans = num_trans;
  return true;
}

class PngReader {
 public:
  PngReader() {
    png_ = png_create_read_struct(PNG_LIBPNG_VER_STRING, &messages_, on_error, on_warning);
    if (png_ != nullptr) info_ = png_create_info_struct(png_);
  }
  PngReader(const PngReader&) = delete;
  PngReader& operator=(const PngReader&) = delete;
  ~PngReader() { png_destroy_read_struct(&png_, info_ != nullptr ? &info_ : nullptr, nullptr); }
  bool ok() const noexcept { return png_ != nullptr && info_ != nullptr; }
  png_structp png() const noexcept { return png_; }
  png_infop info() const noexcept { return info_; }
  const char* text() const noexcept { return messages_.text; }

 private:
  PngMessages messages_{};
  png_structp png_ = nullptr;
  png_infop info_ = nullptr;
};

}  // namespace

ImageInfo png_info(const std::string& path) {
  InputFile file(path);
  PngReader reader;
  if (!reader.ok()) fail_read(path, ErrorCode::kOutOfMemory, "cannot create a libpng reader");
  PngHeader h;
  if (!read_header(reader.png(), reader.info(), file.get(), &h)) {
    fail_read(path, ErrorCode::kIo,
              std::string("corrupt or truncated PNG header (libpng: ") + reader.text() + ")");
  }
  ImageInfo info;
  info.format = format_name(Kind::kPng);
  info.width = static_cast<int>(h.width);  // libpng limits both to 2^31 - 1
  info.height = static_cast<int>(h.height);
  // OpenCV 4.6, IMREAD_UNCHANGED: palette and RGB give B,G,R, plus A when a tRNS chunk is
  // present; grey+alpha and RGBA give B,G,R,A; grey gives 1 channel (a grey tRNS is ignored).
  switch (h.color_type) {
    case PNG_COLOR_TYPE_RGB:
    case PNG_COLOR_TYPE_PALETTE:
      info.channels = h.num_trans > 0 ? 4 : 3;
      break;
    case PNG_COLOR_TYPE_GRAY_ALPHA:
    case PNG_COLOR_TYPE_RGB_ALPHA:
      info.channels = 4;
      break;
    default:
      info.channels = 1;
      break;
  }
  info.type = h.bit_depth == 16 ? PixelType::kU16 : PixelType::kU8;
  return info;
}

}  // namespace detail
}  // namespace io
}  // namespace pdeimg
