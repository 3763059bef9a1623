// Learned reaction–diffusion (Chen & Pock, "Trainable nonlinear reaction diffusion", TPAMI 2017):
// a diffusion whose filters and flux functions were trained to denoise. Perona–Malik is the
// special case with two fixed derivative filters and one fixed flux. The mathematics and the model
// file format are in docs/rd-model-format.md.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "pdeimg/context.hpp"
#include "pdeimg/heat.hpp"  // AlphaMode
#include "pdeimg/image.hpp"

namespace pdeimg {

namespace detail {
struct RdModelData;
}

/// A trained model: up to three networks (gray, luma, chroma), each T stages of N m×m filters,
/// their influence functions and reaction weights. Immutable and cheap to copy (shared).
///
///   const pdeimg::RdModel& m = pdeimg::RdModel::builtin();          // ships with the library
///   pdeimg::RdModel mine = pdeimg::RdModel::load("my.rdm");          // or a file
class RdModel {
 public:
  /// The default model, compiled into the library from models/default.rdm.
  static const RdModel& builtin();
  /// Reads a model file. Throws Error(kIo) when it cannot be read and Error(kInvalidArgument)
  /// naming the file, the line and the problem when it is malformed.
  static RdModel load(const std::string& path);
  /// Parses a model from text; `source` names it in error messages.
  static RdModel parse(const std::string& text, const std::string& source);

  const std::string& name() const noexcept;
  /// FNV-1a 64 of the file's bytes, 16 lower-case hex digits.
  const std::string& hash() const noexcept;
  /// The noise deviation (8-bit units) the networks were trained for.
  double noise() const noexcept;
  bool has_gray() const noexcept;
  bool has_colour() const noexcept;  ///< has both luma and chroma networks
  /// Stages, filters and filter size of the gray network (or of luma when there is no gray).
  int stages() const noexcept;
  int filters() const noexcept;
  int filter_size() const noexcept;

  /// Implementation access (for the backends).
  const detail::RdModelData& data() const noexcept { return *data_; }

 private:
  explicit RdModel(std::shared_ptr<const detail::RdModelData> data) : data_(std::move(data)) {}
  std::shared_ptr<const detail::RdModelData> data_;
};

/// Parameters of reaction_diffusion. All defaults together are the blind denoiser of the
/// `denoise` app.
struct ReactionDiffusionParams {
  /// The model; nullptr uses RdModel::builtin(). The pointee must outlive the call.
  const RdModel* model = nullptr;
  /// Known noise deviation in the image's sample units (0..255 for uint8, 0..65535 for uint16,
  /// stored values for float); 0 estimates it with estimate_noise. Must be >= 0.
  double noise_sigma = 0.0;
  /// Run only the first `stages` stages (0: all). For studies; the models are trained for all.
  int stages = 0;
  AlphaMode alpha = AlphaMode::kPreserve;
  /// Non-finite samples of a float input: only kRefuse is supported (kMissing is
  /// Error(kUnsupported): a learned filter has no zero-flux reading of a hole).
  NonFinite non_finite = NonFinite::kRefuse;
};

/// What reaction_diffusion used: enough to reproduce the result.
struct ReactionDiffusionReport {
  Backend backend = Backend::kCpu;
  std::string model_name;
  std::string model_hash;
  double noise_sigma = 0.0;  ///< the noise deviation used (given or estimated), sample units
  bool noise_estimated = false;
  /// Intensities were multiplied by this: model noise / noise_sigma, limited so that
  /// scale x max|sample| lies in [2^-60, 2^100] (only noise levels more than 2^60 away from the
  /// image's largest magnitude are affected; see docs/architecture.md).
  double scale = 0.0;
  int stages = 0;            ///< stages run (0: no noise, the image was copied unchanged)
  int filters = 0;
  int filter_size = 0;
  bool colour = false;       ///< the opponent-colour path (luma and chroma networks) ran
  int channels = 0;          ///< channels denoised (alpha excluded unless AlphaMode::kProcess)
};

/// Denoises `src` into `dst` with a learned reaction–diffusion model: the noise deviation σ is
/// given or estimated, intensities are scaled by model.noise()/σ, the network's T stages run
/// (u ← u − Σ_i k̄_i ∗ φ_i(k_i ∗ u) − λ (u − f)), and the result is scaled back, so the result
/// is equivariant to scaling image and noise together (8-bit, 16-bit and float agree up to their
/// scale). Colour (3 colour channels) runs the luma network on Y and the chroma network on the
/// two opponent chroma channels of an orthonormal colour transform; alpha is copied unless
/// AlphaMode::kProcess. Reflecting boundaries. Computes in float32; converts to dst's type once.
/// Deterministic. σ = 0 copies src unchanged.
///
/// src and dst must have the same size and channel count; their types may differ; dst may alias
/// src exactly. Host views run synchronously; device views need the CUDA backend (queued on
/// ctx's stream; a noise estimate waits for it once). CPU and CUDA agree within 1e-4 of the
/// image's sample range (float32, different summation order).
ReactionDiffusionReport reaction_diffusion(const ImageView& src, const ImageView& dst,
                                           const ReactionDiffusionParams& params, Context& ctx);

/// Throws Error(kInvalidArgument) naming the parameter when `params` are out of range, and
/// Error(kUnsupported) for NonFinite::kMissing.
void validate(const ReactionDiffusionParams& params);

}  // namespace pdeimg
