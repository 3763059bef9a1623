// edges IN OUT: Canny edge detection of one image (or of folders) into an 8-bit 0/255 edge map. The
// numerics are pdeimg::canny; this file parses the options and says how to process one image;
// batch.hpp reads, calls, writes and reports.
#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "apps/app_common.hpp"
#include "apps/batch.hpp"
#include "pdeimg/canny.hpp"
#include "pdeimg/error.hpp"
#include "pdeimg/io.hpp"

int main(int argc, char** argv) {
  using namespace pdeimg;
  using namespace pdeimg::app;

  CLI::App cli{
      "Finds edges with Canny's detector: smoothing (heat equation to a Gaussian-equivalent sigma, "
      "or Perona-Malik diffusion), the gradient, non-maximum suppression and exact hysteresis "
      "between two thresholds. Writes an 8-bit edge map, 255 on edges and 0 elsewhere, of IN's "
      "size. Reads 8/16-bit and float images, grey or colour (colour: the vector gradient of all "
      "colour channels; alpha is ignored).",
      "edges"};
  std::vector<std::string> paths;
  std::string magnitude_path;
  double sigma = 1.0;
  double low = NAN;
  double high = NAN;
  bool quantiles = false;
  std::string op = "sobel";
  std::string smooth = "heat";
  add_paths_option(cli, paths);
  CLI::Option* sigma_opt =
      cli.add_option("-s,--sigma", sigma,
                     "smoothing: with --smooth heat the equivalent Gaussian standard deviation in "
                     "pixels (0: none); with --smooth perona-malik the diffusion time is "
                     "sigma^2/2 when given (else chosen from the noise)")
          ->check(non_negative_finite())
          ->capture_default_str();
  CLI::Option* low_opt = cli.add_option(
      "--low", low,
      "lower threshold: pixels above it continue edges. Absolute: gradient magnitude on the scale "
      "of the 3x3 Sobel operator on IN's own values (as cv::Canny and scikit-image's canny; a "
      "step of height h gives about 4h before smoothing). Default 10% of the type's range (25.5 "
      "for 8-bit, 6553.5 for 16-bit, 0.1 for float), or 0.8 with --quantiles");
  CLI::Option* high_opt = cli.add_option(
      "--high", high,
      "upper threshold: pixels above it start edges. Default 20% of the type's range (51, 13107, "
      "0.2), or 0.9 with --quantiles");
  cli.add_flag("-q,--quantiles", quantiles,
               "read --low and --high as quantiles in [0, 1] of the gradient magnitude (0.9: "
               "above 90% of the pixels)");
  cli.add_option("--operator", op,
                 "derivative operator: sobel, scharr or central (thresholds stay on the Sobel "
                 "scale for all three)")
      ->check(CLI::IsMember({"sobel", "scharr", "central"}, CLI::ignore_case))
      ->capture_default_str();
  cli.add_option("--smooth", smooth,
                 "smoothing before the gradient: heat (Gaussian-equivalent, --sigma) or "
                 "perona-malik (edge-preserving; contrast K from the estimated noise)")
      ->check(CLI::IsMember({"heat", "perona-malik", "perona_malik"}, CLI::ignore_case))
      ->capture_default_str();
  cli.add_option("--magnitude", magnitude_path,
                 "also write the gradient magnitude (after smoothing, Sobel scale) as a float "
                 "TIFF to this file (.tif/.tiff); with folders, MAG_DIR: each input's magnitude "
                 "goes to MAG_DIR under the edge map's relative path, as .tif (created when "
                 "missing; not an input folder)");
  CommonOptions common;
  add_common_options(cli, common);
  BatchOptions batch;
  add_batch_options(cli, batch);
  cli.footer(std::string("OUT is an 8-bit single-channel edge map (e.g. .png); replaced if it "
                         "exists.\n") +
             kExitStatusHelp + "\n" + kBatchHelp);

  return run(cli, argc, argv, [&]() -> int {
    CannyParams params;
    params.smoothing = parse_canny_smoothing(smooth);
    params.op = parse_gradient_operator(op);
    params.sigma = sigma;
    params.thresholds = quantiles ? ThresholdMode::kQuantile : ThresholdMode::kAbsolute;
    params.low = low;
    params.high = high;
    const bool pm_smoothing = params.smoothing == CannySmoothing::kPeronaMalik;
    if (pm_smoothing && sigma_opt->count() > 0) {
      if (!(sigma > 0.0)) throw UsageError("--sigma must be > 0 with --smooth perona-malik");
      params.perona_malik.time = 0.5 * sigma * sigma;
      if (!(params.perona_malik.time > 0.0)) {  // not the automatic time 0
        throw UsageError("--sigma " + format_number(sigma) +
                         " is too small with --smooth perona-malik (the time sigma^2 / 2 is 0)");
      }
    }
    for (const auto& t : {std::make_pair(low_opt, low), std::make_pair(high_opt, high)}) {
      if (t.first->count() == 0) continue;
      if (!std::isfinite(t.second) || t.second < 0.0 || (quantiles && t.second > 1.0)) {
        throw UsageError(t.first->get_name() + " must be " +
                         (quantiles ? "a quantile in [0, 1]" : "a finite magnitude >= 0") +
                         ", got " + format_number(t.second));
      }
    }
    if (low_opt->count() && high_opt->count() && low > high) {
      throw UsageError("--low (" + format_number(low) + ") must not exceed --high (" +
                       format_number(high) + ")");
    }
    try {
      validate(params);  // what canny would refuse for every image, before reading any
    } catch (const Error& e) {
      throw UsageError(e.what());
    }
    BatchJob job;
    job.input = input_policy(common);
    params.non_finite = job.input.non_finite;
    if (!magnitude_path.empty()) {
      job.extra_outputs.push_back(
          {"magnitude", "--magnitude", magnitude_path, ".tif", PixelType::kF32, 1});
    }
    job.output_kind = [](const HostImage&, PixelType& type, int& channels) {
      type = PixelType::kU8;
      channels = 1;
    };
    const bool with_magnitude = !magnitude_path.empty();
    job.process = [&params, with_magnitude](const HostImage& src, Context& ctx) {
      Processed p;
      p.image = HostImage(src.width(), src.height(), 1, PixelType::kU8);
      CannyImages extra;
      if (with_magnitude) {
        p.extras.push_back({0, HostImage(src.width(), src.height(), 1, PixelType::kF32)});
        extra.magnitude = p.extras.back().image;
      }
      const CannyReport r = canny(src, p.image, extra, params, ctx);
      const bool pm = r.smoothing == CannySmoothing::kPeronaMalik;
      const bool quantiles = params.thresholds == ThresholdMode::kQuantile;
      // The quantiles asked for (canny's defaults when not given).
      const double low_q = std::isnan(params.low) ? 0.8 : params.low;
      const double high_q = std::isnan(params.high) ? 0.9 : params.high;
      Json& j = p.parameters;
      j["smoothing"] = to_string(r.smoothing);
      j["smoothing_time"] = r.smoothing_time;
      j["smoothing_steps"] = r.smoothing_steps;
      if (pm) {
        j["k"] = r.perona_malik.k;
      } else {
        j["sigma"] = std::sqrt(2.0 * r.smoothing_time);
        if (r.smoothing_time > 0.0) j["smoothing_scheme"] = to_string(r.smoothing_scheme);
      }
      j["operator"] = to_string(params.op);
      j["thresholds"] = quantiles ? "quantile" : "absolute";
      if (quantiles) {
        j["low_quantile"] = low_q;
        j["high_quantile"] = high_q;
      }
      j["low"] = r.low;
      j["high"] = r.high;
      j["backend"] = to_string(r.backend);
      long long count = 0;
      for (int y = 0; y < p.image.height(); ++y) {
        const std::uint8_t* row = p.image.row<const std::uint8_t>(y);
        for (int x = 0; x < p.image.width(); ++x) count += row[x] != 0;
      }
      std::string smoothing = "no smoothing";
      if (pm) {
        smoothing = "perona-malik K " + format_number(r.perona_malik.k) + ", T " +
                    format_number(r.smoothing_time) + " in " + std::to_string(r.smoothing_steps) +
                    " steps";
      } else if (r.smoothing_time > 0.0) {
        smoothing = "heat T " + format_number(r.smoothing_time) + " (sigma " +
                    format_number(std::sqrt(2.0 * r.smoothing_time)) + ") by " +
                    to_string(r.smoothing_scheme) +
                    (r.smoothing_steps > 0 ? " in " + std::to_string(r.smoothing_steps) + " steps"
                                           : std::string());
      }
      p.summary =
          smoothing + ", " + to_string(params.op) + " gradient, thresholds low " +
          format_number(r.low) + " high " + format_number(r.high) + " (Sobel scale" +
          (quantiles ? ", from quantiles " + format_number(low_q) + "/" + format_number(high_q)
                     : std::string()) +
          "): " + std::to_string(count) + " edge pixels on " + to_string(r.backend);
      return p;
    };
    if (is_batch(paths)) return run_batch(cli.get_name(), paths, batch, common, job).exit_status;

    const SingleFile files = single_file(paths, batch);
    try {
      io::check_writable(files.out, PixelType::kU8, 1);  // the edge map: known before reading
    } catch (const Error& e) {
      throw UsageError(e.what());
    }
    return run_single(cli.get_name(), files, batch.report, common, job);
  });
}
