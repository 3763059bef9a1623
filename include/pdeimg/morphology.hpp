// Mathematical morphology by PDEs: dilation, erosion and what is built on them (opening, closing,
// morphological gradient, top-hats), and the shock filter, as Hamilton–Jacobi equations.
#pragma once

#include <string>

#include "pdeimg/context.hpp"
#include "pdeimg/heat.hpp"
#include "pdeimg/image.hpp"

namespace pdeimg {

/// The flat structuring element B of radius r. Dilation by rB is the solution at time t = r of
/// u_t = H(∇u), H the support function of B (erosion: u_t = -H(∇u)).
enum class StructuringElement {
  kDisc,     ///< Euclidean disc {|x| <= r}: H = |∇u| (default)
  kDiamond,  ///< {|x| + |y| <= r}: H = max(|u_x|, |u_y|)
  kSquare,   ///< {max(|x|, |y|) <= r}, side 2r + 1: H = |u_x| + |u_y|
};
/// "disc", "diamond", "square".
const char* to_string(StructuringElement shape) noexcept;
/// Parses "disc" (also "disk"), "diamond" or "square" (case-insensitive); Error(kInvalidArgument)
/// otherwise.
StructuringElement parse_structuring_element(const std::string& name);

/// How the disc is computed (the square and diamond are always exact: see morphology()).
enum class MorphScheme {
  /// Default. The exact flat dilation by the digital disc {i² + j² <= r²}: the Hopf–Lax formula
  /// u(x, r) = max_{|z| <= r} u(x + z) of u_t = |∇u| evaluated over the lattice points of the
  /// disc. A max (min) of input samples, so 8/16-bit stay integer, opening <= u <= closing and
  /// opening idempotence hold exactly, and it commutes with every increasing contrast change.
  /// A real r acts through the set it selects (r < 1: the pixel itself); edges move by whole
  /// pixels. CPU: O(r) max per pixel; CUDA: O(r²) (a direct sum).
  kExact,
  /// Rouy–Tourin upwind steps of size <= max_dt: grey-level interpolating, slightly dissipative
  /// (opening <= u only to about 10% of the range on fine texture; docs/architecture.md).
  kUpwind,
};
/// "exact", "upwind".
const char* to_string(MorphScheme scheme) noexcept;
/// Parses "exact" or "upwind" (case-insensitive); Error(kInvalidArgument) otherwise.
MorphScheme parse_morph_scheme(const std::string& name);

/// The morphological operation. Dilation D and erosion E by the same element; open = D(E(u)),
/// close = E(D(u)), gradient = D(u) - E(u), top-hat = u - open(u), black-hat = close(u) - u.
enum class MorphOp { kDilate, kErode, kOpen, kClose, kGradient, kTopHat, kBlackHat };
/// "dilate", "erode", "open", "close", "gradient", "tophat", "blackhat".
const char* to_string(MorphOp op) noexcept;
/// Parses the names of to_string(MorphOp) (case-insensitive); Error(kInvalidArgument) otherwise.
MorphOp parse_morph_op(const std::string& name);

/// Parameters of morphology().
struct MorphParams {
  MorphOp op = MorphOp::kDilate;
  StructuringElement shape = StructuringElement::kDisc;
  /// The radius r of the element in pixels (> 0, finite, at most 1e8); any real number. For the
  /// disc it is the time of the Hamilton–Jacobi equation.
  double radius = 1.0;
  /// The disc's scheme; the square and diamond ignore it.
  MorphScheme scheme = MorphScheme::kExact;
  /// Largest step of the disc's upwind scheme (MorphScheme::kUpwind only), in (0, 1/sqrt(2)] (its
  /// monotonicity bound). The library takes n = ceil(r / max_dt) equal steps. The default 1/2 keeps
  /// the thresholded disc closest to pi r² (docs/architecture.md); 1/sqrt(2) takes 30% fewer steps.
  /// The diamond and the square ignore it: they take floor(r) exact unit steps and one step of the
  /// fraction.
  double max_dt = 0.5;
  AlphaMode alpha = AlphaMode::kPreserve;
  /// Non-finite samples of a float input: only NonFinite::kRefuse; kMissing is
  /// Error(kUnsupported) (a hole rule for maxima is not defined yet).
  NonFinite non_finite = NonFinite::kRefuse;
};

/// What morphology() did.
struct MorphReport {
  Backend backend = Backend::kCpu;
  MorphOp op = MorphOp::kDilate;
  StructuringElement shape = StructuringElement::kDisc;
  double radius = 0.0;
  /// Steps of one dilation or erosion (open, close and gradient take two of them): 1 for the
  /// exact disc (one flat max over the digital disc, `dt` = r); ceil(r / max_dt) for the upwind
  /// disc; floor(r) unit steps for the diamond and square (computed as one flat max) plus one step
  /// of the fraction r - floor(r), if any, whose size is `last_dt`.
  int steps = 0;
  /// Their size: r for the exact disc, r / steps for the upwind disc; 1 for the diamond's and
  /// square's unit steps.
  double dt = 0.0;
  double last_dt = 0.0;  ///< size of the last step (= dt except for a fractional radius)
  /// "exact flat disc" or "rouy-tourin upwind" (disc), "exact unit steps" (diamond, square).
  const char* scheme = "";
};

/// Applies `params.op` with the flat structuring element `params.shape` of radius
/// `params.radius` to `src`, writing `dst`, by explicit upwind schemes for u_t = ±H(∇u)
/// (kernels/morphology.cuh) with reflecting boundaries (so the border behaves like OpenCV's
/// default for dilate and erode: outside pixels never win a max or min).
///
/// Disc, MorphScheme::kExact (default): the flat max (min) over the digital disc
/// {i² + j² <= r²} of any real radius (r < 1: the pixel itself), computed in the input's own
/// type (8/16-bit stay integer) in O(r) operations per pixel; a bright pixel becomes a set of
/// area within 3.2% of pi r² for r = 3..40. Disc, kUpwind: Rouy–Tourin upwind, n = ceil(r /
/// max_dt) steps of r/n, monotone for dt <= 1/sqrt(2): grey-level, never beyond the input's
/// range, slightly dissipative (docs/architecture.md has the measured figures of both).
/// Diamond and square: floor(r) unit steps that are exactly the max (min) of the 5-point cross
/// resp. 3x3 block (computed as one flat max over their union), so an integer radius equals a
/// flat (2r+1)² square (OpenCV MORPH_RECT) resp. diamond exactly; a fractional rest f is one
/// upwind step of size f. Colour channels are processed independently; alpha is copied unless
/// AlphaMode::kProcess. The upwind steps compute in float32 and convert to dst's type (rounded,
/// saturated) at the end. src and dst: same size and channels, dst may alias src exactly; host
/// views run synchronously, device views are queued on ctx's stream (CUDA backend). Results are
/// deterministic and identical for any thread count.
///
///   pdeimg::MorphParams p;  p.op = pdeimg::MorphOp::kOpen;  p.radius = 7.5;
///   pdeimg::MorphReport r = pdeimg::morphology(in, out, p, ctx);  // r.steps == 1 (exact disc)
MorphReport morphology(const ImageView& src, const ImageView& dst, const MorphParams& params,
                       Context& ctx);

/// Shorthands for morphology() with op kDilate / kErode.
MorphReport dilate(const ImageView& src, const ImageView& dst, double radius,
                   StructuringElement shape, Context& ctx);
MorphReport erode(const ImageView& src, const ImageView& dst, double radius,
                  StructuringElement shape, Context& ctx);

/// Throws Error(kInvalidArgument) naming the parameter and value when `params` are out of range:
/// unknown op, shape or alpha mode, a radius not in (0, 1e8] or not finite, max_dt outside
/// (0, 1/sqrt(2)]; Error(kUnsupported) for NonFinite::kMissing. morphology() checks exactly this
/// before looking at the images; an app calls it to refuse a command line before reading a file.
void validate(const MorphParams& params);

/// Parameters of shock_filter().
struct ShockParams {
  /// Standard deviation (pixels, >= 0) of the Gaussian through which the sign of the Laplacian is
  /// taken (Alvarez & Mazorra 1994); 0: the Laplacian of u itself (Osher & Rudin 1990).
  double sigma = 1.0;
  /// Evolution time in pixels (> 0): how far, at most, an edge moves (the dilation/erosion radius).
  double time = 3.0;
  /// Largest explicit step, in (0, 1/sqrt(2)] (monotonicity bound of the upwind scheme).
  double max_dt = 0.5;
  AlphaMode alpha = AlphaMode::kPreserve;
  /// Only NonFinite::kRefuse; kMissing is Error(kUnsupported).
  NonFinite non_finite = NonFinite::kRefuse;
};

/// What shock_filter() did.
struct ShockReport {
  Backend backend = Backend::kCpu;
  int steps = 0;            ///< explicit steps
  double dt = 0.0;          ///< their size (time / steps)
  double time = 0.0;        ///< evolution time
  double sigma = 0.0;       ///< pre-smoothing
  int smoothing_steps = 0;  ///< heat steps of each pre-smoothing (0 for sigma 0, or spectral)
  /// The scheme of each pre-smoothing (heat_smooth's automatic choice; kExplicit for sigma 0).
  HeatScheme smoothing_scheme = HeatScheme::kExplicit;
};

/// Sharpens `src` into `dst` with the shock filter u_t = -sign(Δ(G_σ * u)) |∇u|: each step
/// smooths u with a Gaussian of `sigma` (heat_smooth, default step), takes the sign of the
/// smoothed image's 5-point Laplacian, and makes one upwind dilation step where it is negative,
/// an erosion step where it is positive. n = ceil(time / max_dt) steps. The scheme is monotone in
/// each branch, so no value leaves the input's range (no overshoot). Colour channels are
/// filtered independently; alpha as AlphaMode says. Same views, types, aliasing and
/// synchronisation rules as morphology(). Costs a Gaussian per step.
///
///   pdeimg::ShockParams p;  p.sigma = 2.0;  p.time = 4.0;
///   pdeimg::ShockReport r = pdeimg::shock_filter(in, out, p, ctx);  // r.steps == 8
ShockReport shock_filter(const ImageView& src, const ImageView& dst, const ShockParams& params,
                         Context& ctx);

/// Throws Error(kInvalidArgument) for a sigma that is negative or not finite, a time not in
/// (0, 1e8], max_dt outside (0, 1/sqrt(2)], an unknown alpha mode; Error(kUnsupported) for
/// NonFinite::kMissing. shock_filter() checks exactly this first.
void validate(const ShockParams& params);

}  // namespace pdeimg
