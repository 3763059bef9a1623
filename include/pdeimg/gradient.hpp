// Image gradients: central-difference, Sobel and Scharr derivatives, their magnitude and direction,
// and for colour images the vector gradient (Di Zenzo's colour structure tensor).
#pragma once

#include <string>

#include "pdeimg/context.hpp"
#include "pdeimg/heat.hpp"  // AlphaMode
#include "pdeimg/image.hpp"

namespace pdeimg {

/// Derivative operators. All are unnormalised 3x3 stencils on the image's own intensity values
/// with reflecting boundaries (the mirror pixel outside the image equals the border pixel, as in
/// every pdeimg operation), so every pixel, border included, gets a derivative. x grows to the
/// right and y downwards (along rows), so dy > 0 where the image brightens downwards.
///
///   operator   d/dx stencil (d/dy: its transpose)    unit step   ramp of slope 1   scale vs Sobel
///   kCentral   [-1 0 1]                              1           2                 1/4
///   kSobel     [-1 0 1; -2 0 2; -1 0 1]              4           8                 1
///   kScharr    [-3 0 3; -10 0 10; -3 0 3]            16          32                4
///
/// "unit step": the magnitude on each of the two pixels beside a straight step of height 1;
/// "ramp": the magnitude on a linear ramp rising by 1 per pixel. The Sobel scale is the one of
/// cv::Sobel / cv::Canny and of scikit-image's canny (on the same intensity values).
enum class GradientOperator {
  kCentral,  ///< central differences, no smoothing across (noise-sensitive, thinnest response)
  kSobel,    ///< Sobel (default): differences smoothed 1-2-1 across
  kScharr,   ///< Scharr: differences smoothed 3-10-3 across, the most rotation-invariant
};

/// "central", "sobel" or "scharr".
const char* to_string(GradientOperator op) noexcept;
/// Parses "central", "sobel" or "scharr" (case-insensitive); Error(kInvalidArgument) otherwise.
GradientOperator parse_gradient_operator(const std::string& name);
/// Response of `op` to a linear ramp of slope 1: 2, 8 or 32 (see GradientOperator).
double gradient_gain(GradientOperator op) noexcept;

/// Parameters of gradient().
struct GradientParams {
  GradientOperator op = GradientOperator::kSobel;
  /// Whether the alpha channel of 2- and 4-channel images enters the magnitude and direction.
  /// It never does by default; dx and dy always hold every channel's derivative.
  AlphaMode alpha = AlphaMode::kPreserve;
  /// Non-finite samples of a float input: refused (default) or missing data (see NonFinite): a
  /// missing neighbour reads as the centre, and a missing pixel gets NaN derivatives, magnitude
  /// and direction. Derivatives beyond the float range saturate at the largest float.
  NonFinite non_finite = NonFinite::kRefuse;
};

/// Where gradient() writes. Every member is optional (an empty view is skipped); each given one
/// is float32, has src's size, and lies where src does (host or device).
struct GradientImages {
  ImageView dx;  ///< d/dx of every channel: src's channel count
  ImageView dy;  ///< d/dy of every channel: src's channel count
  /// 1 channel. One processed channel: sqrt(dx² + dy²). Several (colour): the vector gradient
  /// sqrt(λmax) of the colour structure tensor averaged over the processed channels,
  /// [mean dx², mean dx dy; mean dx dy, mean dy²] (Di Zenzo 1986): the rate of change along the
  /// direction in which the colour changes fastest. Averaging (not summing) keeps the scale of
  /// one channel: a grey picture stored as RGB has the magnitude of the grey one.
  ImageView magnitude;
  /// 1 channel, radians. One channel: atan2(dy, dx) in (-π, π]. Colour: the orientation of
  /// λmax's eigenvector, 0.5 atan2(2 mean dx dy, mean dx² - mean dy²) in (-π/2, π/2] (a colour
  /// edge has no sign). May differ from the other backend's by a few units in the last place
  /// (atan2 is not correctly rounded); magnitudes agree bit for bit.
  ImageView direction;
};

/// Derivatives of `src` (uint8, uint16 or float32; 1..4 channels) with `params.op`, computed in
/// float32 on the input's own intensity values (no rescaling of 8- or 16-bit data).
///
/// Host views run synchronously on either backend; device views need the CUDA backend and are
/// queued asynchronously on ctx's stream. At least one output must be given.
///
///   pdeimg::HostImage mag(in.width(), in.height(), 1, pdeimg::PixelType::kF32);
///   pdeimg::GradientImages out;  out.magnitude = mag;
///   pdeimg::gradient(in, out, pdeimg::GradientParams{}, ctx);  // Sobel magnitude
void gradient(const ImageView& src, const GradientImages& out, const GradientParams& params,
              Context& ctx);

}  // namespace pdeimg
