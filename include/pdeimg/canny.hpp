// Canny edge detection: smoothing, gradient, non-maximum suppression, double threshold and exact
// hysteresis, on both backends with identical results (heat smoothing up to sigma 16).
#pragma once

#include <limits>

#include "pdeimg/context.hpp"
#include "pdeimg/gradient.hpp"
#include "pdeimg/heat.hpp"
#include "pdeimg/image.hpp"
#include "pdeimg/perona_malik.hpp"

namespace pdeimg {

/// How canny smooths the image before differentiating it.
enum class CannySmoothing {
  kHeat,         ///< heat equation to Gaussian-equivalent `sigma` (default; sigma 0: none)
  kPeronaMalik,  ///< Perona–Malik diffusion with `perona_malik` (edge-preserving)
  kNone,         ///< differentiate the input as it is
};

/// How CannyParams::low and ::high are read.
enum class ThresholdMode {
  /// Magnitudes on the scale of the unnormalised 3x3 Sobel operator applied to the image's own
  /// intensity values (0..255 for uint8, 0..65535 for uint16, the stored values for float32):
  /// the convention of cv::Canny (with L2gradient) and scikit-image's canny, so thresholds carry
  /// over from those tools. A step of height h gives a Sobel magnitude of 4h on the pixels beside
  /// it before smoothing (smoothing lowers and widens it). With the Scharr or central operators
  /// the magnitude is rescaled to this scale (x1/4 and x4, exact powers of two; see
  /// GradientOperator), so the same thresholds keep meaning the same contrast.
  kAbsolute,
  /// Quantiles in [0, 1] of the gradient magnitude over the pixels inside the mask (NaN
  /// magnitudes left out), with linear interpolation between order statistics (numpy's default):
  /// 0.9 puts the threshold above 90 % of the pixels.
  kQuantile,
};

const char* to_string(CannySmoothing s) noexcept;
/// Parses "heat", "perona-malik" (or "perona_malik") or "none"; Error(kInvalidArgument) otherwise.
CannySmoothing parse_canny_smoothing(const std::string& name);

/// The most explicit heat steps canny's smoothing takes (sigma 16 at heat_smooth's default step of
/// 1/8); longer diffusion times run FED or spectral (CannyParams::sigma).
constexpr int kCannyMaxExplicitSteps = 1024;

/// Parameters of canny().
struct CannyParams {
  CannySmoothing smoothing = CannySmoothing::kHeat;
  /// kHeat: standard deviation in pixels of the equivalent Gaussian (>= 0; diffusion time
  /// T = sigma² / 2, in heat_steps_for(T) explicit steps of heat_smooth's default size while they
  /// number at most kCannyMaxExplicitSteps - sigma up to 16 - so that both backends give the same
  /// edge map bit for bit; longer times run heat_smooth's automatic choice, FED or spectral, whose
  /// cost hardly grows with sigma, and the backends then agree to about 1e-5 of the range). 0
  /// differentiates the input directly.
  double sigma = 1.0;
  /// kPeronaMalik: the diffusion's parameters (defaults: noise estimated, K and time from it).
  PeronaMalikParams perona_malik;
  GradientOperator op = GradientOperator::kSobel;
  ThresholdMode thresholds = ThresholdMode::kAbsolute;
  /// A pixel is a candidate when its magnitude is > low and a local maximum along the gradient,
  /// strong when also > high; candidates 8-connected (through candidates) to a strong pixel are
  /// edges. 0 <= low <= high. Absolute: NaN (default) means 10 % (low) and 20 % (high) of the
  /// sample type's full range: 25.5 / 51 for uint8, 6553.5 / 13107 for uint16, 0.1 / 0.2 for
  /// float32 (data scaled to [0, 1]), as scikit-image does. Quantile: in [0, 1]; NaN means
  /// 0.8 / 0.9. Thresholds are compared in float32 (rounded from these doubles).
  double low = std::numeric_limits<double>::quiet_NaN();
  double high = std::numeric_limits<double>::quiet_NaN();
  /// Whether the alpha channel of 2- and 4-channel images takes part (it does not by default).
  AlphaMode alpha = AlphaMode::kPreserve;
  /// Non-finite samples of a float input: refused (default) or missing data (see NonFinite):
  /// smoothing and derivatives leave them out, a missing pixel is never an edge (its magnitude,
  /// when asked for, is NaN), and its neighbours may be. Overrides perona_malik.non_finite.
  NonFinite non_finite = NonFinite::kRefuse;
};

/// Optional images of canny(); empty views are skipped. Same size as src, where src is.
struct CannyImages {
  /// uint8, 1 channel: pixels where it is 0 are never edges and are left out of quantiles.
  /// The gradient is still computed across the whole image.
  ImageView mask;
  /// float32, 1 channel: receives the gradient magnitude that was thresholded (after smoothing,
  /// on the Sobel scale; for colour the vector gradient, see GradientImages::magnitude).
  ImageView magnitude;
};

/// What canny did.
struct CannyReport {
  Backend backend = Backend::kCpu;
  CannySmoothing smoothing = CannySmoothing::kHeat;
  int smoothing_steps = 0;      ///< diffusion steps (0: not smoothed, or spectral)
  double smoothing_time = 0.0;  ///< diffusion time T in pixel² (heat: sigma² / 2)
  /// kHeat: the scheme heat_smooth ran (kExplicit up to kCannyMaxExplicitSteps steps).
  HeatScheme smoothing_scheme = HeatScheme::kExplicit;
  PeronaMalikReport perona_malik;  ///< filled for kPeronaMalik
  /// The absolute thresholds compared with the magnitude (Sobel scale, float32). For device views
  /// with quantile thresholds these stay on the device and are NaN here (canny never waits for
  /// the stream); host views always report them.
  float low = 0.0f;
  float high = 0.0f;
};

/// Canny edge detection of `src` (uint8, uint16 or float32; 1..4 channels) into `edges` (uint8,
/// 1 channel, same size): 255 on edges, 0 elsewhere.
///
/// Steps: smoothing (params.smoothing), the gradient (params.op; colour: the vector gradient, see
/// GradientImages::magnitude), non-maximum suppression — a pixel survives if its magnitude is at
/// least the magnitudes interpolated linearly between the two neighbours on each side along the
/// gradient direction (strictly greater on the left or upper side, so a two-pixel plateau keeps
/// one pixel) — a double threshold, and hysteresis that is exact: a candidate is an edge if and
/// only if it is 8-connected through candidates to a strong pixel, however long the path.
/// Reflecting boundaries throughout: edges reach the image border; no frame is skipped.
///
/// The CPU and CUDA backends give bit-identical edge maps: smoothing, magnitude and suppression
/// are the same float operations, rounded the same way, on both - with heat smoothing up to
/// kCannyMaxExplicitSteps explicit steps (sigma 16); longer smoothing runs FED or spectral, on
/// which the backends agree to about 1e-5 of the range, so edge pixels at a threshold may differ
/// (with Perona–Malik smoothing, as far as perona_malik's two backends agree). Host views run
/// synchronously; device views need the CUDA backend and are queued on ctx's stream without any
/// wait for the host (Perona–Malik with automatic K waits for its statistics, see perona_malik).
///
///   pdeimg::HostImage edges(in.width(), in.height(), 1, pdeimg::PixelType::kU8);
///   pdeimg::CannyParams p;  p.sigma = 2.0;  p.low = 40;  p.high = 100;   // uint8 photo
///   pdeimg::canny(in, edges, p, ctx);
CannyReport canny(const ImageView& src, const ImageView& edges, const CannyParams& params,
                  Context& ctx);
/// canny with a mask and/or the magnitude written out (see CannyImages).
CannyReport canny(const ImageView& src, const ImageView& edges, const CannyImages& images,
                  const CannyParams& params, Context& ctx);

/// Throws Error(kInvalidArgument) naming the parameter and its value when `params` are out of
/// their documented ranges, whatever the image: unknown enum values; kHeat with a sigma that is
/// negative, not finite or (when > 0) refused by validate(const HeatParams&) (too small);
/// kPeronaMalik with parameters validate(const PeronaMalikParams&) refuses; a threshold that is
/// neither NaN (the default) nor, absolute, finite and >= 0, nor, quantile, in [0, 1]; low > high,
/// given both, or given one quantile against the other's default (0.8 / 0.9). The absolute defaults
/// depend on the image's sample type: a single absolute threshold is refused here only when no
/// type's default for the other fits (low above 13107, high below 0.1), otherwise by canny() for
/// the images whose default does not fit. canny() checks exactly this first; an app calls it to
/// refuse a bad command line before reading any file.
void validate(const CannyParams& params);

/// Double threshold with exact 8-connected hysteresis on any float32 1-channel map `values`:
/// edges (uint8, 1 channel) = 255 where value > low and 8-connected through values > low to a
/// value > high, else 0. canny() uses this after non-maximum suppression; it is exposed for maps
/// computed elsewhere. 0 <= low <= high, finite. NaN values are never edges.
void hysteresis_threshold(const ImageView& values, const ImageView& edges, float low, float high,
                          Context& ctx);

}  // namespace pdeimg
