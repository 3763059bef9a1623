// denoise IN OUT: blind denoising of one image (or of folders), keeping its bit depth and channels:
// by default a learned reaction–diffusion (pdeimg::reaction_diffusion with the built-in model), or
// Perona–Malik (--method pm, pdeimg::perona_malik's defaults). This file parses the options and
// says how to process one image; batch.hpp reads, calls, writes and reports.
#include <cctype>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "apps/app_common.hpp"
#include "apps/batch.hpp"
#include "pdeimg/error.hpp"
#include "pdeimg/perona_malik.hpp"
#include "pdeimg/reaction_diffusion.hpp"

namespace {

using namespace pdeimg;
using namespace pdeimg::app;

/// How --method rd processes one image; `params.model` is `model`, kept alive by the job.
std::function<Processed(const HostImage&, Context&)> rd_process(
    const ReactionDiffusionParams& params, std::shared_ptr<const RdModel> model) {
  return [params, model](const HostImage& src, Context& ctx) {
    Processed p;
    p.image = HostImage(src.width(), src.height(), src.channels(), src.type());
    const ReactionDiffusionReport r = reaction_diffusion(src, p.image, params, ctx);
    Json& j = p.parameters;
    j["method"] = "rd";
    j["model"] = r.model_name;
    j["model_hash"] = r.model_hash;
    j["noise_sigma"] = r.noise_sigma;
    j["noise_estimated"] = r.noise_estimated;
    j["scale"] = r.scale;
    j["stages"] = r.stages;
    j["filters"] = r.filters;
    j["filter_size"] = r.filter_size;
    j["colour"] = r.colour ? "opponent" : "none";
    j["channels_denoised"] = r.channels;
    j["backend"] = to_string(r.backend);
    const std::string noise = "noise sigma " + format_number(r.noise_sigma) +
                              (r.noise_estimated ? " (estimated)" : " (given)");
    p.summary =
        std::string(r.stages == 0 ? "nothing to remove, the image is written unchanged: " : "") +
        noise + "; learned reaction-diffusion, model " + r.model_name + " (" + r.model_hash +
        "), " +
        (r.stages == 0
             ? std::string("not run")
             : std::to_string(r.stages) + " stages of " + std::to_string(r.filters) + " filters " +
                   std::to_string(r.filter_size) + "x" + std::to_string(r.filter_size) +
                   (r.colour ? ", opponent colour" : "")) +
        " on " + to_string(r.backend);
    return p;
  };
}

}  // namespace

int main(int argc, char** argv) {
  using namespace pdeimg;
  using namespace pdeimg::app;

  CLI::App cli{
      "Removes noise from an image. Blind: it estimates the noise level. By default (--method rd) "
      "by a learned reaction-diffusion: a few stages of a diffusion whose filters and flux "
      "functions were trained to denoise (built-in model, or --model FILE); colour through an "
      "opponent colour transform. With --method pm by Perona-Malik diffusion u_t = div(g(|grad "
      "u|^2) grad u), with the contrast parameter K and the diffusion time chosen from the noise. "
      "Keeps the bit depth (8/16-bit, float) and the channels (1, 3, 4; alpha is copied "
      "unchanged).",
      "denoise"};
  std::vector<std::string> paths;
  std::string method = "rd", model_path;
  std::string diffusivity = "rational", neighbours = "4";
  double noise_sigma = 0, k = 0, k_factor = 0, k_quantile = 0, time = 0, dt = 0, regularize = 0;
  int steps = 0;
  bool per_channel = false;
  add_paths_option(cli, paths);
  cli.add_option("--method", method,
                 "rd: learned reaction-diffusion (default); pm: Perona-Malik diffusion (the "
                 "options marked [pm] apply to it only)")
      ->check(CLI::IsMember({"rd", "pm"}, CLI::ignore_case))
      ->capture_default_str();
  CLI::Option* model_opt =
      cli.add_option("--model", model_path,
                     "[rd] a model file (docs/rd-model-format.md) instead of the built-in model")
          ->check(CLI::ExistingFile);
  cli.add_option("--noise-sigma", noise_sigma,
                 "the noise standard deviation, if known (default: estimated), in the image's "
                 "sample units: 0..255 for 8-bit data, 0..65535 for 16-bit data (an 8-bit sigma "
                 "of 10 is 2570), the stored values for float data (10/255 = 0.039 for data in "
                 "[0, 1])")
      ->check(positive_finite());
  CLI::Option* k_opt = cli.add_option("--k", k,
                                      "[pm] contrast parameter K, absolute, in sample units "
                                      "(default: from the noise)")
                           ->check(positive_finite());
  CLI::Option* kf_opt =
      cli.add_option("--k-factor", k_factor,
                     "[pm] K = F x the noise deviation of a pixel difference (default, gray: 0.6 "
                     "rational, 1.6 exponential, 1.4 tukey; colour: 0.42 x those)")
          ->check(positive_finite());
  CLI::Option* kq_opt =
      cli.add_option(
             "--k-quantile", k_quantile,
             "[pm] K = this quantile of the image's gradient magnitudes, in (0, 1) (Perona and "
             "Malik used 0.9)")
          ->check(CLI::Range(0.0, 1.0));
  k_opt->excludes(kf_opt)->excludes(kq_opt);
  kf_opt->excludes(kq_opt);
  cli.add_option(
         "--diffusivity", diffusivity,
         "[pm] edge-stopping function g: rational 1/(1+s^2/K^2), exponential exp(-s^2/K^2), "
         "tukey (1-s^2/(5K^2))^2")
      ->check(CLI::IsMember({"exponential", "rational", "tukey"}, CLI::ignore_case))
      ->capture_default_str();
  cli.add_option("--neighbours", neighbours, "[pm] stencil: 4 (axial) or 8 (axial and diagonal)")
      ->check(CLI::IsMember({"4", "8"}))
      ->capture_default_str();
  CLI::Option* steps_opt =
      cli.add_option("--steps", steps, "[pm] number of explicit steps (default: from the noise)")
          ->check(CLI::PositiveNumber);
  CLI::Option* time_opt =
      cli.add_option("--time", time,
                     "[pm] diffusion time T in pixels^2 (default, when noise is "
                     "found: 2 rational, 1 exponential, 0.8 tukey for gray, "
                     "2.5 x those for colour; 0 when none is)")
          ->check(positive_finite());
  steps_opt->excludes(time_opt);
  cli.add_option("--dt", dt,
                 "[pm] time step (default 0.2 with 4 neighbours, 0.25 with 8; at most 0.25 "
                 "resp. 1/3, the stability bound)")
      ->check(positive_finite());
  cli.add_option(
         "--regularize", regularize,
         "[pm] compute g from a copy smoothed by a Gaussian of this sigma in pixels (Catte et "
         "al.); more robust to strong noise, slower")
      ->check(positive_finite());
  std::string scheme = "explicit";
  cli.add_option(
         "--scheme", scheme,
         "[pm] time stepping: explicit (default) or fed (fast explicit diffusion cycles, g held "
         "per cycle; 4 neighbours, CPU; slower than explicit in this version)")
      ->check(CLI::IsMember({"explicit", "fed"}, CLI::ignore_case))
      ->capture_default_str();
  cli.add_flag(
      "--per-channel", per_channel,
      "[pm] give each colour channel its own diffusivity (default: one shared by all colour "
      "channels, so edges stay aligned)");
  CommonOptions common;
  add_common_options(cli, common);
  BatchOptions batch;
  add_batch_options(cli, batch);
  cli.footer(
      std::string("Examples:\n  denoise noisy.png clean.png\n  denoise scan.tif out.tif "
                  "--noise-sigma 2570 -v\n  denoise in.png out.png --method pm --k 12 "
                  "--steps 20 --diffusivity tukey\n  denoise scans/ clean/ --recursive --report "
                  "run.json\nOne image: OUT's format follows its extension and must hold "
                  "IN's bit depth and channels (16-bit: .png/.tif, float: .tif); OUT is "
                  "replaced if it exists.\n") +
      kExitStatusHelp + "\n" + kBatchHelp);

  return run(cli, argc, argv, [&]() -> int {
    for (auto& c : method) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    BatchJob job;
    job.input = input_policy(common);
    if (method == "rd") {
      for (const CLI::Option* o : cli.get_options()) {
        if (o->count() && o->get_description().rfind("[pm]", 0) == 0) {
          throw UsageError(o->get_name() + " applies to --method pm only");
        }
      }
      ReactionDiffusionParams params;
      params.noise_sigma = noise_sigma;
      params.non_finite = job.input.non_finite;
      // Loaded once, before any input is read: a malformed file is a usage error.
      auto model = std::make_shared<RdModel>(RdModel::builtin());
      if (model_opt->count()) {
        try {
          model = std::make_shared<RdModel>(RdModel::load(model_path));
        } catch (const Error& e) {
          throw UsageError(e.what(), false);
        }
      }
      params.model = model.get();
      try {
        validate(params);
      } catch (const Error& e) {
        throw UsageError(e.what());
      }
      job.process = rd_process(params, model);
      if (is_batch(paths)) return run_batch(cli.get_name(), paths, batch, common, job).exit_status;
      return run_single(cli.get_name(), single_file(paths, batch), batch.report, common, job);
    }
    if (model_opt->count()) throw UsageError("--model applies to --method rd only");
    PeronaMalikParams params;
    params.diffusivity = parse_diffusivity(diffusivity);
    params.neighbourhood = neighbours == "8" ? Neighbourhood::k8 : Neighbourhood::k4;
    params.noise_sigma = noise_sigma;
    if (k_opt->count()) {
      params.contrast = ContrastMode::kAbsolute;
      params.k = k;
    } else if (kq_opt->count()) {
      if (!(k_quantile > 0.0 && k_quantile < 1.0)) {
        throw UsageError("--k-quantile must lie strictly between 0 and 1");
      }
      params.contrast = ContrastMode::kQuantile;
      params.k_quantile = k_quantile;
    }
    params.k_noise_factor = k_factor;
    params.steps = steps;
    params.time = time;
    params.dt = dt;
    params.regularization = regularize;
    params.colour = per_channel ? ColourMode::kPerChannel : ColourMode::kCoupled;
    params.scheme = parse_perona_malik_scheme(scheme);
    try {
      validate(params);  // a bad combination is a usage error, found before reading anything
    } catch (const Error& e) {
      throw UsageError(e.what());
    }
    params.non_finite = job.input.non_finite;
    job.process = [&params](const HostImage& src, Context& ctx) {
      Processed p;
      p.image = HostImage(src.width(), src.height(), src.channels(), src.type());
      const PeronaMalikReport r = perona_malik(src, p.image, params, ctx);
      Json& j = p.parameters;
      j["method"] = "pm";
      j["noise_sigma"] = r.noise_sigma;
      j["noise_estimated"] = r.noise_estimated;
      j["diffusivity"] = to_string(r.diffusivity);
      j["neighbours"] = r.neighbourhood == Neighbourhood::k8 ? 8 : 4;
      j["contrast"] = to_string(r.contrast);
      j["k"] = r.k;
      j["steps"] = r.steps;
      j["dt"] = r.dt;
      j["time"] = r.time;
      j["time_from_noise"] = r.time_from_noise;
      j["regularization"] = r.regularization;
      j["colour"] = to_string(r.colour);
      j["channels_diffused"] = r.channels;
      j["backend"] = to_string(r.backend);
      j["scheme"] = to_string(r.scheme);
      j["cycles"] = r.cycles;
      const std::string noise = r.noise_sigma > 0 || r.noise_estimated
                                    ? "noise sigma " + format_number(r.noise_sigma) +
                                          (r.noise_estimated ? " (estimated)" : " (given)")
                                    : std::string("noise not needed");
      p.summary =
          std::string(r.steps == 0 ? "nothing to remove, the image is written unchanged: " : "") +
          noise + ", K " + format_number(r.k) + " (" + to_string(r.contrast) + "), " +
          to_string(r.diffusivity) + ", " + to_string(r.neighbourhood) + "-neighbour, " +
          to_string(r.colour) + " colour" +
          (r.regularization > 0 ? ", regularised sigma " + format_number(r.regularization) : "") +
          "; T = " + format_number(r.time) + (r.time_from_noise ? " (from the noise)" : "") +
          " in " + std::to_string(r.steps) + " steps of dt " + format_number(r.dt) +
          (r.scheme == PeronaMalikScheme::kFed ? " (fed, " + std::to_string(r.cycles) + " cycles)"
                                               : std::string()) +
          " on " + to_string(r.backend);
      return p;
    };
    if (is_batch(paths)) return run_batch(cli.get_name(), paths, batch, common, job).exit_status;
    return run_single(cli.get_name(), single_file(paths, batch), batch.report, common, job);
  });
}
