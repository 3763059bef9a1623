// Optional cv::Mat adapters, header-only. Only code that includes this header needs OpenCV (its
// core module: include path and opencv_core at link time); the rest of pdeimg does not.
#pragma once

#include <string>

#include <opencv2/core.hpp>

#include "pdeimg/canny.hpp"
#include "pdeimg/context.hpp"
#include "pdeimg/error.hpp"
#include "pdeimg/heat.hpp"
#include "pdeimg/image.hpp"
#include "pdeimg/noise.hpp"
#include "pdeimg/perona_malik.hpp"

namespace pdeimg {

/// The pdeimg sample type of an OpenCV depth (CV_8U, CV_16U, CV_32F); throws Error(kUnsupported)
/// naming the depth for any other.
inline PixelType pixel_type_of_cv_depth(int depth) {
  switch (depth) {
    case CV_8U:
      return PixelType::kU8;
    case CV_16U:
      return PixelType::kU16;
    case CV_32F:
      return PixelType::kF32;
    default:
      break;
  }
  static const char* const kNames[] = {"CV_8U",  "CV_8S",  "CV_16U", "CV_16S",
                                       "CV_32S", "CV_32F", "CV_64F", "CV_16F"};
  const std::string name =
      depth >= 0 && depth < 8 ? kNames[depth] : "depth " + std::to_string(depth);
  throw Error(ErrorCode::kUnsupported,
              "cv::Mat sample type " + name + " is not supported (use CV_8U, CV_16U or CV_32F)");
}

/// The OpenCV depth of a pdeimg sample type.
inline int cv_depth_of(PixelType type) noexcept {
  return type == PixelType::kU8 ? CV_8U : type == PixelType::kU16 ? CV_16U : CV_32F;
}

/// A host view of `m`'s pixels, without copying. `m` must be a non-empty 2-D matrix of CV_8U,
/// CV_16U or CV_32F with 1..4 interleaved channels (Error(kUnsupported) otherwise; an empty
/// matrix is Error(kInvalidArgument)). Regions of interest work: the view takes m.step as pitch.
///
/// The view shares m's buffer and is valid while that buffer lives (cv::Mat is reference
/// counted: keep a Mat that owns it alive). Like a cv::Mat header, the view can write to the
/// pixels even though `m` is const here.
inline ImageView view_of(const cv::Mat& m) {
  if (m.empty()) throw Error(ErrorCode::kInvalidArgument, "view_of: the cv::Mat is empty");
  if (m.dims != 2) {
    throw Error(ErrorCode::kUnsupported,
                "view_of: cv::Mat has " + std::to_string(m.dims) + " dimensions; images are 2-D");
  }
  if (m.channels() > 4) {
    throw Error(ErrorCode::kUnsupported, "view_of: cv::Mat has " + std::to_string(m.channels()) +
                                             " channels; pdeimg images have 1..4");
  }
  ImageView v;
  v.data = static_cast<void*>(m.data);
  v.width = m.cols;
  v.height = m.rows;
  v.channels = m.channels();
  v.pitch = m.step[0];
  v.type = pixel_type_of_cv_depth(m.depth());
  v.location = Location::kHost;
  return v;
}

/// A cv::Mat header over a host view, without copying and without owning: valid while the
/// view's memory is. Throws Error(kInvalidArgument) for a malformed or device view.
inline cv::Mat mat_of(const ImageView& v) {
  validate(v, "mat_of");
  if (v.location != Location::kHost) {
    throw Error(ErrorCode::kInvalidArgument,
                "mat_of: the view is in device memory; download it to a HostImage first");
  }
  return cv::Mat(v.height, v.width, CV_MAKETYPE(cv_depth_of(v.type), v.channels), v.data, v.pitch);
}

namespace detail {
/// Makes `dst` an output for an operation on `src`: kept when it already has src's size, the
/// channel count `channels` and a depth pdeimg computes (the result is converted to it), else
/// (re)allocated with src's size, `channels` and `depth`.
inline void prepare_output(const cv::Mat& src, cv::Mat& dst, int channels, int depth) {
  const int d = dst.depth();
  const bool reusable = !dst.empty() && dst.dims == 2 && dst.rows == src.rows &&
                        dst.cols == src.cols && dst.channels() == channels &&
                        (d == CV_8U || d == CV_16U || d == CV_32F);
  if (!reusable) dst.create(src.rows, src.cols, CV_MAKETYPE(depth, channels));
}
}  // namespace detail

/// heat_smooth on cv::Mat: `dst` is reused when it has src's size and channels (any supported
/// depth; the result is converted to it), else allocated like src.
///
///   cv::Mat img = cv::imread("in.png", cv::IMREAD_UNCHANGED), out;
///   pdeimg::Context ctx;
///   pdeimg::HeatParams p;  p.sigma = 2.0;
///   pdeimg::heat_smooth(img, out, p, ctx);  // out: same size, type and channels as img
inline HeatReport heat_smooth(const cv::Mat& src, cv::Mat& dst, const HeatParams& params,
                              Context& ctx) {
  const ImageView in = view_of(src);
  detail::prepare_output(src, dst, src.channels(), src.depth());
  return heat_smooth(in, view_of(dst), params, ctx);
}

/// perona_malik on cv::Mat, `dst` as for heat_smooth; with default params, the blind denoiser:
///
///   cv::Mat noisy = cv::imread("in.png", cv::IMREAD_UNCHANGED), clean;
///   pdeimg::perona_malik(noisy, clean, {}, ctx);
inline PeronaMalikReport perona_malik(const cv::Mat& src, cv::Mat& dst,
                                      const PeronaMalikParams& params, Context& ctx) {
  const ImageView in = view_of(src);
  detail::prepare_output(src, dst, src.channels(), src.depth());
  return perona_malik(in, view_of(dst), params, ctx);
}

/// estimate_noise of a cv::Mat.
inline NoiseEstimate estimate_noise(const cv::Mat& image, Context& ctx,
                                    AlphaMode alpha = AlphaMode::kPreserve) {
  return estimate_noise(view_of(image), ctx, alpha);
}

/// canny on cv::Mat: `edges` becomes (or stays, when it already is one of src's size) a
/// single-channel 8-bit map, 255 on edges and 0 elsewhere.
inline CannyReport canny(const cv::Mat& src, cv::Mat& edges, const CannyParams& params,
                         Context& ctx) {
  const ImageView in = view_of(src);
  if (edges.empty() || edges.dims != 2 || edges.rows != src.rows || edges.cols != src.cols ||
      edges.type() != CV_8UC1) {
    edges.create(src.rows, src.cols, CV_8UC1);
  }
  return canny(in, view_of(edges), params, ctx);
}

}  // namespace pdeimg
