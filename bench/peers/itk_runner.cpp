// ITK side of the peer comparison (bench/peers/peers.py drives it; bench/peers/run.sh builds it).
//
//   itk_runner --threads N
//
// reads one command a line from stdin and answers one line on stdout:
//
//   OP IN OUT WIDTH HEIGHT [key=value ...]   ->   ok SECONDS      (or: error MESSAGE)
//
// IN and OUT are raw little-endian float32 images (WIDTH x HEIGHT, row-major, no header). SECONDS
// is the time of the filter's Update() alone: no file I/O, no copies in or out. OP is one of
//
//   grad_ad   GradientAnisotropicDiffusionImageFilter   iterations= conductance= timestep=
//   curv_ad   CurvatureAnisotropicDiffusionImageFilter  iterations= conductance= timestep=
//   gauss_rec SmoothingRecursiveGaussianImageFilter     sigma=
//   gauss_disc DiscreteGaussianImageFilter              sigma= maxerror= maxwidth=
//   canny     CannyEdgeDetectionImageFilter             sigma= low= high= (ITK's gradient scale)
//   dilate    GrayscaleDilateImageFilter, flat element  radius= shape=ball|disc|polygon lines=
//
// Spacing is 1 and every filter works in pixels. The first line printed names the ITK version and
// the thread count.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "itkCannyEdgeDetectionImageFilter.h"
#include "itkCurvatureAnisotropicDiffusionImageFilter.h"
#include "itkDiscreteGaussianImageFilter.h"
#include "itkFlatStructuringElement.h"
#include "itkGradientAnisotropicDiffusionImageFilter.h"
#include "itkGrayscaleDilateImageFilter.h"
#include "itkImage.h"
#include "itkMultiThreaderBase.h"
#include "itkSmoothingRecursiveGaussianImageFilter.h"
#include "itkVersion.h"

namespace {

using Image = itk::Image<float, 2>;

Image::Pointer read_raw(const std::string& path, int w, int h) {
  Image::Pointer img = Image::New();
  Image::RegionType region;
  region.SetSize({{static_cast<itk::SizeValueType>(w), static_cast<itk::SizeValueType>(h)}});
  img->SetRegions(region);
  img->Allocate();
  std::ifstream f(path, std::ios::binary);
  const std::streamsize bytes = static_cast<std::streamsize>(w) * h * sizeof(float);
  if (!f.read(reinterpret_cast<char*>(img->GetBufferPointer()), bytes))
    throw std::runtime_error("cannot read " + path);
  return img;
}

void write_raw(const std::string& path, const Image* img) {
  const auto size = img->GetLargestPossibleRegion().GetSize();
  std::ofstream f(path, std::ios::binary);
  const std::streamsize bytes = static_cast<std::streamsize>(size[0] * size[1] * sizeof(float));
  if (!f.write(reinterpret_cast<const char*>(img->GetBufferPointer()), bytes))
    throw std::runtime_error("cannot write " + path);
}

double now_s() {
  using Clock = std::chrono::steady_clock;
  return std::chrono::duration<double>(Clock::now().time_since_epoch()).count();
}

using Args = std::map<std::string, std::string>;

double num(const Args& a, const std::string& key, double fallback) {
  auto it = a.find(key);
  return it == a.end() ? fallback : std::atof(it->second.c_str());
}

/// Runs `filter` on `in`, returns the seconds its Update() took; the output stays in `out`.
template <typename Filter>
double run_filter(Filter* filter, const Image::Pointer& in, Image::Pointer& out) {
  filter->SetInput(in);
  const double t0 = now_s();
  filter->Update();
  const double t = now_s() - t0;
  out = filter->GetOutput();
  return t;
}

template <typename Filter>
double diffusion(const Image::Pointer& in, Image::Pointer& out, const Args& a) {
  typename Filter::Pointer f = Filter::New();
  f->SetNumberOfIterations(static_cast<unsigned>(num(a, "iterations", 5)));
  f->SetConductanceParameter(num(a, "conductance", 1.0));
  f->SetTimeStep(num(a, "timestep", 0.125));
  f->SetUseImageSpacing(false);
  return run_filter(f.GetPointer(), in, out);
}

double command(const std::string& op, const Image::Pointer& in, Image::Pointer& out,
               const Args& a) {
  if (op == "grad_ad")
    return diffusion<itk::GradientAnisotropicDiffusionImageFilter<Image, Image>>(in, out, a);
  if (op == "curv_ad")
    return diffusion<itk::CurvatureAnisotropicDiffusionImageFilter<Image, Image>>(in, out, a);
  if (op == "gauss_rec") {
    auto f = itk::SmoothingRecursiveGaussianImageFilter<Image, Image>::New();
    f->SetSigma(num(a, "sigma", 1.0));
    f->SetNormalizeAcrossScale(false);
    return run_filter(f.GetPointer(), in, out);
  }
  if (op == "gauss_disc") {
    auto f = itk::DiscreteGaussianImageFilter<Image, Image>::New();
    const double s = num(a, "sigma", 1.0);
    f->SetVariance(s * s);
    f->SetMaximumError(num(a, "maxerror", 0.001));
    f->SetMaximumKernelWidth(static_cast<int>(num(a, "maxwidth", 256)));
    f->SetUseImageSpacing(false);
    return run_filter(f.GetPointer(), in, out);
  }
  if (op == "canny") {
    auto f = itk::CannyEdgeDetectionImageFilter<Image, Image>::New();
    const double s = num(a, "sigma", 1.0);
    f->SetVariance(s * s);
    f->SetMaximumError(num(a, "maxerror", 0.01));
    f->SetLowerThreshold(static_cast<float>(num(a, "low", 1.0)));
    f->SetUpperThreshold(static_cast<float>(num(a, "high", 2.0)));
    return run_filter(f.GetPointer(), in, out);
  }
  if (op == "dilate") {
    using SE = itk::FlatStructuringElement<2>;
    SE::RadiusType r;
    r.Fill(static_cast<itk::SizeValueType>(num(a, "radius", 1)));
    const auto shape = a.count("shape") ? a.at("shape") : std::string("ball");
    SE se;
    if (shape == "polygon") {
      se = SE::Polygon(r, static_cast<unsigned>(num(a, "lines", 0)));
    } else if (shape == "disc") {
      // The digital disc {i^2 + j^2 <= radius^2}, the element pdeimg's exact disc and
      // skimage.morphology.disk use; not decomposable, like Ball.
      se.SetRadius(r);
      const long rad = static_cast<long>(r[0]);
      for (unsigned i = 0; i < se.Size(); ++i) {
        const auto o = se.GetOffset(i);
        se[i] = o[0] * o[0] + o[1] * o[1] <= rad * rad;
      }
      se.SetDecomposable(false);
    } else if (shape == "ball") {
      se = SE::Ball(r);
    } else {
      throw std::runtime_error("unknown shape " + shape);
    }
    auto f = itk::GrayscaleDilateImageFilter<Image, Image, SE>::New();
    f->SetKernel(se);
    return run_filter(f.GetPointer(), in, out);
  }
  throw std::runtime_error("unknown op " + op);
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 0;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
      threads = std::atoi(argv[++i]);
    else {
      std::fprintf(stderr, "usage: %s [--threads N]  (commands on stdin)\n", argv[0]);
      return 2;
    }
  }
  if (threads > 0) {
    itk::MultiThreaderBase::SetGlobalMaximumNumberOfThreads(threads);
    itk::MultiThreaderBase::SetGlobalDefaultNumberOfThreads(threads);
  }
  std::printf("itk %s threads %u\n", itk::Version::GetITKVersion(),
              itk::MultiThreaderBase::GetGlobalDefaultNumberOfThreads());
  std::fflush(stdout);
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line.empty()) continue;
    try {
      std::istringstream ss(line);
      std::string op, in_path, out_path;
      int w = 0, h = 0;
      if (!(ss >> op >> in_path >> out_path >> w >> h) || w <= 0 || h <= 0)
        throw std::runtime_error("bad command: " + line);
      Args a;
      std::string kv;
      while (ss >> kv) {
        const auto eq = kv.find('=');
        if (eq == std::string::npos) throw std::runtime_error("bad argument " + kv);
        a[kv.substr(0, eq)] = kv.substr(eq + 1);
      }
      Image::Pointer in = read_raw(in_path, w, h), out;
      const double t = command(op, in, out, a);
      write_raw(out_path, out.GetPointer());
      std::printf("ok %.6f\n", t);
    } catch (const std::exception& e) {
      std::string msg = e.what();
      for (char& c : msg)
        if (c == '\n') c = ' ';
      std::printf("error %s\n", msg.c_str());
    }
    std::fflush(stdout);
  }
  return 0;
}
