// morph OP IN OUT --radius R [--shape disc|diamond|square] [--scheme exact|upwind] | morph shock
// IN OUT [--sigma S]
// [--time T]: morphology by PDEs of one image (or of folders), keeping its bit depth and channels.
// The numerics are pdeimg::morphology and pdeimg::shock_filter; this file parses the options and
// says how to process one image; batch.hpp reads, calls, writes and reports.
#include <cctype>
#include <string>
#include <vector>

#include "apps/app_common.hpp"
#include "apps/batch.hpp"
#include "pdeimg/error.hpp"
#include "pdeimg/morphology.hpp"

int main(int argc, char** argv) {
  using namespace pdeimg;
  using namespace pdeimg::app;

  CLI::App cli{
      "Mathematical morphology by Hamilton-Jacobi PDEs: dilation (u_t = |grad u|), erosion, "
      "opening, closing, morphological gradient, white and black top-hat by a disc, diamond or "
      "square of any real radius; or the shock filter u_t = -sign(Laplacian(G_sigma * u)) "
      "|grad u|, which sharpens blurred edges. Keeps the bit depth (8/16-bit, float) and the "
      "channels (1, 3, 4; each colour channel on its own, alpha is copied).",
      "morph"};
  std::string op_name;
  std::vector<std::string> paths;
  double radius = 0.0;
  std::string shape_name = "disc";
  std::string scheme_name = "exact";
  double max_dt = 0.5;
  double sigma = 1.0;
  double time = 3.0;
  cli.add_option("OP", op_name, "dilate, erode, open, close, gradient, tophat, blackhat or shock")
      ->required();
  add_paths_option(cli, paths);
  CLI::Option* radius_opt =
      cli.add_option("--radius", radius, "radius of the structuring element, pixels (> 0)")
          ->check(positive_finite());
  cli.add_option("--shape", shape_name, "structuring element: disc (default), diamond or square")
      ->check(CLI::IsMember({"disc", "disk", "diamond", "square"}, CLI::ignore_case));
  CLI::Option* scheme_opt =
      cli.add_option("--scheme", scheme_name,
                     "disc: exact (default; the flat max over the digital disc, exact opening "
                     "and closing) or upwind (Rouy-Tourin steps of --max-dt, grey-level "
                     "interpolating)")
          ->check(CLI::IsMember({"exact", "upwind"}, CLI::ignore_case));
  CLI::Option* max_dt_opt =
      cli.add_option("--max-dt", max_dt,
                     "largest step of the upwind scheme (--scheme upwind, shock), at most 0.7071; "
                     "default 0.5")
          ->check(positive_finite());
  CLI::Option* sigma_opt =
      cli.add_option("-s,--sigma", sigma,
                     "shock: Gaussian pre-smoothing of the Laplacian's sign, pixels (>= 0; "
                     "default 1)")
          ->check(non_negative_finite());
  CLI::Option* time_opt =
      cli.add_option("-t,--time", time, "shock: evolution time, pixels (> 0; default 3)")
          ->check(positive_finite());
  CommonOptions common;
  common.missing_supported = false;  // the morphology compositions have no hole rule
  add_common_options(cli, common);
  BatchOptions batch;
  add_batch_options(cli, batch);
  cli.footer(
      std::string("Every OP but shock needs --radius; --sigma and --time are for shock only. "
                  "One image: OUT's format follows its extension and must hold IN's bit "
                  "depth and channels (16-bit: .png/.tif, float: .tif); OUT is replaced if "
                  "it exists.\n") +
      kExitStatusHelp + "\n" + kBatchHelp);

  return run(cli, argc, argv, [&]() -> int {
    BatchJob job;
    job.input = input_policy(common);
    std::string op_lower = op_name;
    for (char& c : op_lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const bool shock = op_lower == "shock";
    if (shock) {
      if (radius_opt->count() > 0) throw UsageError("--radius is not an option of shock");
      if (scheme_opt->count() > 0) throw UsageError("--scheme is not an option of shock");
      ShockParams params;
      params.sigma = sigma;
      params.time = time;
      params.max_dt = max_dt;
      try {
        validate(params);  // what shock_filter would refuse for every image, before reading any
      } catch (const Error& e) {
        throw UsageError(e.what());
      }
      params.non_finite = job.input.non_finite;
      if (params.non_finite == NonFinite::kMissing) {
        throw UsageError("--non-finite missing: not supported by morph (use refuse)");
      }
      job.process = [params](const HostImage& src, Context& ctx) {
        Processed p;
        p.image = HostImage(src.width(), src.height(), src.channels(), src.type());
        const ShockReport r = shock_filter(src, p.image, params, ctx);
        p.parameters["operation"] = "shock";
        p.parameters["sigma"] = r.sigma;
        p.parameters["time"] = r.time;
        p.parameters["steps"] = r.steps;
        p.parameters["dt"] = r.dt;
        p.parameters["smoothing_steps"] = r.smoothing_steps;
        if (r.sigma > 0.0) p.parameters["smoothing_scheme"] = to_string(r.smoothing_scheme);
        p.parameters["backend"] = to_string(r.backend);
        p.summary = "shock filter T = " + format_number(r.time) + ", sigma " +
                    format_number(r.sigma) + ": " + std::to_string(r.steps) + " steps of dt " +
                    format_number(r.dt) + " on " + to_string(r.backend);
        return p;
      };
    } else {
      MorphParams params;
      try {
        params.op = parse_morph_op(op_name);
      } catch (const Error& e) {
        throw UsageError(std::string("OP: ") + e.what() + " (or shock)");
      }
      if (radius_opt->count() == 0) throw UsageError("give --radius for " + op_name);
      if (sigma_opt->count() + time_opt->count() > 0) {
        throw UsageError("--sigma and --time are options of shock only");
      }
      params.radius = radius;
      params.shape = parse_structuring_element(shape_name);
      params.scheme = parse_morph_scheme(scheme_name);
      if (max_dt_opt->count() > 0 &&
          !(params.shape == StructuringElement::kDisc && params.scheme == MorphScheme::kUpwind)) {
        throw UsageError("--max-dt is an option of --scheme upwind (disc) and shock only");
      }
      params.max_dt = max_dt;
      try {
        validate(params);
      } catch (const Error& e) {
        throw UsageError(e.what());
      }
      params.non_finite = job.input.non_finite;
      if (params.non_finite == NonFinite::kMissing) {
        throw UsageError("--non-finite missing: not supported by morph (use refuse)");
      }
      job.process = [params](const HostImage& src, Context& ctx) {
        Processed p;
        p.image = HostImage(src.width(), src.height(), src.channels(), src.type());
        const MorphReport r = morphology(src, p.image, params, ctx);
        p.parameters["operation"] = to_string(r.op);
        p.parameters["shape"] = to_string(r.shape);
        p.parameters["radius"] = r.radius;
        p.parameters["scheme"] = r.scheme;  // the method's name ("exact flat disc", ...)
        p.parameters["steps"] = r.steps;
        p.parameters["dt"] = r.dt;
        p.parameters["last_dt"] = r.last_dt;
        p.parameters["backend"] = to_string(r.backend);
        const bool flat =
            r.shape == StructuringElement::kDisc && params.scheme == MorphScheme::kExact;
        p.summary = std::string(to_string(r.op)) + " by a " + to_string(r.shape) + " of radius " +
                    format_number(r.radius) + " (" + r.scheme + "): " +
                    (flat ? std::string("one flat max")
                          : std::to_string(r.steps) + " steps of dt " + format_number(r.dt)) +
                    " per pass on " + to_string(r.backend);
        return p;
      };
    }
    if (is_batch(paths)) return run_batch(cli.get_name(), paths, batch, common, job).exit_status;
    return run_single(cli.get_name(), single_file(paths, batch), batch.report, common, job);
  });
}
