// Images: a pitched non-owning view, and owning host and device images.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace pdeimg {

/// Pixel sample types. Computation is always float32; results are converted back to the
/// output's type (rounded to nearest, saturated) only at the end of an operation.
enum class PixelType { kU8, kU16, kF32 };

/// Where a buffer lives.
enum class Location { kHost, kDevice };

/// Size in bytes of one sample of `type`.
constexpr std::size_t sample_size(PixelType type) noexcept {
  return type == PixelType::kU8 ? 1 : type == PixelType::kU16 ? 2 : 4;
}

const char* to_string(PixelType type) noexcept;

/// A non-owning, pitched view of an image with interleaved channels (1..4).
/// Row y starts at `static_cast<char*>(data) + y * pitch`; `pitch` is always in bytes and at least
/// width * channels * sample_size(type). Views are cheap to copy and are passed by value.
/// For 2 and 4 channels the last channel is alpha (see each operation's `alpha` parameter).
struct ImageView {
  void* data = nullptr;
  int width = 0;
  int height = 0;
  int channels = 1;
  std::size_t pitch = 0;  ///< bytes between the starts of consecutive rows
  PixelType type = PixelType::kF32;
  Location location = Location::kHost;

  bool empty() const noexcept { return data == nullptr || width <= 0 || height <= 0; }
  std::size_t row_bytes() const noexcept {
    return static_cast<std::size_t>(width) * channels * sample_size(type);
  }
  template <typename T>
  T* row(int y) const noexcept {
    return reinterpret_cast<T*>(static_cast<char*>(data) + static_cast<std::size_t>(y) * pitch);
  }
  /// The region of interest [x, x+w) x [y, y+h), sharing this view's memory and pitch.
  /// Throws Error(kInvalidArgument) if the region does not lie inside the view.
  ImageView roi(int x, int y, int w, int h) const;
};

/// Throws Error(kInvalidArgument) naming `what` if `view` is malformed (null data, non-positive
/// size, channels outside 1..4, pitch smaller than a row).
void validate(const ImageView& view, const char* what);

/// What an operation does with the non-finite samples (NaN, +infinity, -infinity) of a float32
/// input. Finite inputs never give non-finite results, whatever their range: an input whose
/// magnitudes would overflow float32 arithmetic (beyond about 1e18 for gradients and statistics,
/// 1e37 for smoothing) is computed scaled by an exact power of two and scaled back, saturating at
/// the largest float; values over 2^60 times smaller than its largest magnitude then lose
/// precision (float32 underflow).
enum class NonFinite {
  /// Refuse the input: Error(kInvalidArgument) naming how many samples are not finite and where
  /// the first is (the default: one NaN would otherwise spread a little further with every step).
  kRefuse,
  /// Missing data (e.g. a NoData mask stored as NaN): left out of every stencil and statistic and
  /// written to the output as they were. In a stencil, a missing neighbour counts as a copy of the
  /// stencil's centre: the zero-flux condition of the image border, so a hole is a boundary that
  /// nothing diffuses across. Where channels are coupled (colour Perona–Malik, the colour
  /// gradient), a pixel with any missing colour sample is missing as a whole.
  kMissing,
};
/// "refuse" or "missing".
const char* to_string(NonFinite mode) noexcept;
/// Parses "refuse" or "missing" (case-insensitive); Error(kInvalidArgument) otherwise.
NonFinite parse_non_finite(const std::string& name);

/// The non-finite samples of an image: how many, and the first in row-major order.
struct NonFiniteCount {
  long long count = 0;
  int x = -1;
  int y = -1;
  int channel = -1;
};
/// Counts the non-finite samples of the first `channels` channels (all when <= 0) of a host view;
/// 0 for uint8 and uint16 images. Lets a caller refuse or report an input before computing.
NonFiniteCount count_non_finite(const ImageView& image, int channels = 0);

/// An image in host memory that owns its pixels (rows are contiguous: pitch == row_bytes()).
class HostImage {
 public:
  HostImage() = default;
  /// Allocates width x height x channels samples of `type`, zero-initialised.
  HostImage(int width, int height, int channels, PixelType type);

  ImageView view() const noexcept { return view_; }
  operator ImageView() const noexcept { return view_; }  // NOLINT: a view of *this
  int width() const noexcept { return view_.width; }
  int height() const noexcept { return view_.height; }
  int channels() const noexcept { return view_.channels; }
  PixelType type() const noexcept { return view_.type; }
  bool empty() const noexcept { return view_.empty(); }
  template <typename T>
  T* row(int y) const noexcept {
    return view_.row<T>(y);
  }
  /// A deep copy of any host view (contiguous rows).
  static HostImage copy_of(const ImageView& src);

 private:
  std::shared_ptr<void> storage_;
  ImageView view_{};
};

class Context;

/// An image in CUDA device memory (cudaMallocPitch) that owns its pixels. It remembers its device
/// and allocates, copies and frees there whatever device the calling thread has made current
/// (the thread's current device is left as it was). Operations accept its view only with a
/// Context of the same device (Error(kInvalidArgument) otherwise). Constructing one in a build
/// without CUDA, or on a machine without a device, throws Error(kBackendUnavailable).
///
///   pdeimg::Context gpu1(pdeimg::Backend::kCuda, 1);
///   pdeimg::DeviceImage img(640, 480, 3, pdeimg::PixelType::kU8, gpu1);  // on device 1
class DeviceImage {
 public:
  DeviceImage() = default;
  /// On the calling thread's current CUDA device (device 0 unless the thread called
  /// cudaSetDevice).
  DeviceImage(int width, int height, int channels, PixelType type);
  /// On the device of `ctx` (a CUDA context).
  DeviceImage(int width, int height, int channels, PixelType type, const Context& ctx);
  /// The CUDA device ordinal the pixels live on (-1 for an empty image).
  int device() const noexcept { return device_; }

  ImageView view() const noexcept { return view_; }
  operator ImageView() const noexcept { return view_; }  // NOLINT: a view of *this
  int width() const noexcept { return view_.width; }
  int height() const noexcept { return view_.height; }
  int channels() const noexcept { return view_.channels; }
  PixelType type() const noexcept { return view_.type; }
  bool empty() const noexcept { return view_.empty(); }

  /// Synchronous copies between a host view and this image; shapes and types must match. They run
  /// on the legacy default stream of the image's device, so they start after the work queued on
  /// that device's contexts (their streams are blocking ones) and such work queued later starts
  /// after them.
  void upload(const ImageView& host);
  void download(const ImageView& host) const;

 private:
  void allocate(int width, int height, int channels, PixelType type, int device);
  std::shared_ptr<void> storage_;
  ImageView view_{};
  int device_ = -1;
};

}  // namespace pdeimg
