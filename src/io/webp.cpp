// WebP header through libwebp's WebPGetFeatures, given the same first 32 bytes OpenCV 4.6's
// WebPDecoder gives it, so that the answer (size, alpha) is the one OpenCV decodes by.
#include <cstdint>
#include <cstdio>
#include <string>

#include <webp/decode.h>

#include "src/io/codecs.hpp"

namespace pdeimg {
namespace io {
namespace detail {

ImageInfo webp_info(const std::string& path) {
  constexpr std::size_t kHeaderBytes = 32;  // OpenCV's WEBP_HEADER_SIZE
  InputFile file(path);
  std::uint8_t head[kHeaderBytes] = {};
  const std::size_t n = std::fread(head, 1, kHeaderBytes, file.get());
  if (n < kHeaderBytes) fail_read(path, ErrorCode::kIo, "truncated WebP header");
  WebPBitstreamFeatures features;
  const VP8StatusCode status = WebPGetFeatures(head, n, &features);
  if (status != VP8_STATUS_OK) {
    fail_read(path, ErrorCode::kIo,
              "corrupt WebP header (libwebp status " + std::to_string(status) + ")");
  }
  if (features.has_animation) {
    fail_read(path, ErrorCode::kUnsupported,
              "an animated WebP; pdeimg reads still images (OpenCV 4.6 decodes no animation)");
  }
  ImageInfo info;
  info.format = format_name(Kind::kWebp);
  info.width = features.width;
  info.height = features.height;
  info.channels = features.has_alpha ? 4 : 3;
  info.type = PixelType::kU8;
  return info;
}

}  // namespace detail
}  // namespace io
}  // namespace pdeimg
