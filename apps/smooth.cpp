// smooth IN OUT --sigma S | --time T: heat-equation smoothing of one image (or of folders), keeping
// its bit depth and channels. The numerics are pdeimg::heat_smooth; this file parses the options
// and says how to process one image; batch.hpp reads, calls, writes and reports.
#include <cmath>
#include <string>
#include <vector>

#include "apps/app_common.hpp"
#include "apps/batch.hpp"
#include "pdeimg/error.hpp"
#include "pdeimg/heat.hpp"

int main(int argc, char** argv) {
  using namespace pdeimg;
  using namespace pdeimg::app;

  CLI::App cli{
      "Smooths an image by solving the heat equation u_t = Laplacian(u) for a time T, which "
      "equals a Gaussian blur of standard deviation sigma = sqrt(2 T), with reflecting borders. "
      "Keeps the bit depth (8/16-bit, float) and the channels (1, 3, 4; alpha is copied).",
      "smooth"};
  std::vector<std::string> paths;
  double sigma = 0.0;
  double time = 0.0;
  std::string scheme = "auto";
  add_paths_option(cli, paths);
  CLI::Option* sigma_opt =
      cli.add_option("-s,--sigma", sigma, "equivalent Gaussian standard deviation, pixels")
          ->check(positive_finite());
  CLI::Option* time_opt =
      cli.add_option("-t,--time", time, "diffusion time T, pixels^2")->check(positive_finite());
  cli.add_option("--scheme", scheme,
                 "solver: explicit (Euler steps, cost grows with T), spectral (exact, DCT; cost "
                 "independent of T), fed (fast explicit diffusion cycles), auto (the one estimated "
                 "fastest for the time and image size; -v and --report say which and why)")
      ->check(CLI::IsMember({"auto", "explicit", "spectral", "fed"}, CLI::ignore_case))
      ->capture_default_str();
  CommonOptions common;
  add_common_options(cli, common);
  BatchOptions batch;
  add_batch_options(cli, batch);
  cli.footer(std::string("Give exactly one of --sigma and --time. One image: OUT's format follows "
                         "its extension and must hold IN's bit depth and channels (16-bit: "
                         ".png/.tif, float: .tif); OUT is replaced if it exists.\n") +
             kExitStatusHelp + "\n" + kBatchHelp);

  return run(cli, argc, argv, [&]() -> int {
    if (sigma_opt->count() + time_opt->count() != 1) {
      throw UsageError("give exactly one of --sigma and --time");
    }
    HeatParams params;
    params.sigma = sigma;
    params.time = time;
    params.scheme = parse_heat_scheme(scheme);
    try {
      validate(params);  // what heat_smooth would refuse for every image, before reading any
    } catch (const Error& e) {
      throw UsageError(e.what());
    }
    BatchJob job;
    job.input = input_policy(common);
    params.non_finite = job.input.non_finite;
    job.process = [&params](const HostImage& src, Context& ctx) {
      Processed p;
      p.image = HostImage(src.width(), src.height(), src.channels(), src.type());
      const HeatReport r = heat_smooth(src, p.image, params, ctx);
      const double sigma_used = std::sqrt(2.0 * r.time);
      p.parameters["time"] = r.time;
      p.parameters["sigma"] = sigma_used;
      p.parameters["steps"] = r.steps;
      p.parameters["dt"] = r.dt;
      p.parameters["scheme"] = to_string(r.scheme);
      p.parameters["cycles"] = r.cycles;
      p.parameters["scheme_note"] = r.note;
      p.parameters["backend"] = to_string(r.backend);
      const std::string how =
          r.scheme == HeatScheme::kSpectral
              ? std::string("spectral (exact)")
              : std::string(to_string(r.scheme)) + " " + std::to_string(r.steps) + " steps" +
                    (r.scheme == HeatScheme::kFed ? " in " + std::to_string(r.cycles) + " cycles"
                                                  : " of dt " + format_number(r.dt));
      p.summary = "heat T = " + format_number(r.time) + " (sigma " + format_number(sigma_used) +
                  "): " + how + " on " + to_string(r.backend) + " [" + r.note + "]";
      return p;
    };
    if (is_batch(paths)) return run_batch(cli.get_name(), paths, batch, common, job).exit_status;
    return run_single(cli.get_name(), single_file(paths, batch), batch.report, common, job);
  });
}
