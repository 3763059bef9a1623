// Helpers shared by the tests: deterministic images, comparisons, backend parameterisation.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "pdeimg/context.hpp"
#include "pdeimg/error.hpp"
#include "pdeimg/image.hpp"

namespace pdeimg {
namespace test {

/// Reads sample (x, y, c) of a host view as float.
inline float at(const ImageView& v, int x, int y, int c = 0) {
  const std::size_t i = static_cast<std::size_t>(x) * v.channels + c;
  switch (v.type) {
    case PixelType::kU8:
      return v.row<const std::uint8_t>(y)[i];
    case PixelType::kU16:
      return v.row<const std::uint16_t>(y)[i];
    default:
      return v.row<const float>(y)[i];
  }
}

inline void set(const ImageView& v, int x, int y, int c, float value) {
  const std::size_t i = static_cast<std::size_t>(x) * v.channels + c;
  switch (v.type) {
    case PixelType::kU8:
      v.row<std::uint8_t>(y)[i] = static_cast<std::uint8_t>(value);
      break;
    case PixelType::kU16:
      v.row<std::uint16_t>(y)[i] = static_cast<std::uint16_t>(value);
      break;
    default:
      v.row<float>(y)[i] = value;
      break;
  }
}

/// Uniform random samples in [lo, hi] (integers for integer types), fixed seed.
inline HostImage random_image(int w, int h, int c, PixelType type, float lo, float hi,
                              unsigned seed = 1) {
  HostImage img(w, h, c, type);
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int k = 0; k < c; ++k) {
        float v = dist(rng);
        if (type != PixelType::kF32) v = std::round(v);
        set(img, x, y, k, v);
      }
  return img;
}

/// Largest |a - b| over all samples (views of equal shape).
inline double max_abs_diff(const ImageView& a, const ImageView& b) {
  double m = 0;
  for (int y = 0; y < a.height; ++y)
    for (int x = 0; x < a.width; ++x)
      for (int c = 0; c < a.channels; ++c)
        m = std::max(m, std::fabs(static_cast<double>(at(a, x, y, c)) - at(b, x, y, c)));
  return m;
}

/// True when every sample is bitwise equal.
inline bool identical(const ImageView& a, const ImageView& b) {
  if (a.width != b.width || a.height != b.height || a.channels != b.channels || a.type != b.type)
    return false;
  for (int y = 0; y < a.height; ++y)
    if (std::memcmp(a.row<const char>(y), b.row<const char>(y), a.row_bytes()) != 0) return false;
  return true;
}

/// Largest |img - ref| over the channels of a reference given as samples [c][y][x] (float or
/// double), as the naive reference implementations of the tests return them.
template <typename T>
double max_diff_to_reference(const ImageView& img, const std::vector<std::vector<T>>& ref) {
  double m = 0;
  for (std::size_t c = 0; c < ref.size(); ++c)
    for (int y = 0; y < img.height; ++y)
      for (int x = 0; x < img.width; ++x)
        m = std::max(
            m, std::fabs(double(at(img, x, y, int(c))) - ref[c][std::size_t(y) * img.width + x]));
  return m;
}

inline double mean(const ImageView& v, int c = 0) {
  double s = 0;
  for (int y = 0; y < v.height; ++y)
    for (int x = 0; x < v.width; ++x) s += at(v, x, y, c);
  return s / (static_cast<double>(v.width) * v.height);
}

/// Expects `f` to throw an Error with `code` whose message contains `needle`.
inline void expect_error(const std::function<void()>& f, ErrorCode code,
                         const std::string& needle) {
  try {
    f();
    ADD_FAILURE() << "expected an Error mentioning '" << needle << "'";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), code) << e.what();
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

/// Sets an environment variable for the lifetime of the object (then unsets it).
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) { setenv(name, value, 1); }
  ~ScopedEnv() { unsetenv(name_); }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
};

/// True when a CUDA device is usable. With PDEIMG_REQUIRE_CUDA=1 (the device check sets it),
/// a missing device is a failure rather than a skip.
inline bool cuda_available() {
  return cuda_device_count() > 0;
}

inline bool cuda_required() {
  const char* e = std::getenv("PDEIMG_REQUIRE_CUDA");
  return e != nullptr && std::string(e) == "1";
}

/// Skips the current test, with the reason, when `backend` cannot run here.
#define PDEIMG_SKIP_IF_UNAVAILABLE(backend)                                                      \
  do {                                                                                           \
    if ((backend) == ::pdeimg::Backend::kCuda && !::pdeimg::test::cuda_available()) {            \
      if (::pdeimg::test::cuda_required()) FAIL() << "PDEIMG_REQUIRE_CUDA=1 but no CUDA device"; \
      GTEST_SKIP() << (::pdeimg::cuda_compiled() ? "no CUDA device on this machine"              \
                                                 : "built without CUDA");                        \
    }                                                                                            \
  } while (0)

inline std::string backend_name(const ::testing::TestParamInfo<Backend>& info) {
  return to_string(info.param);
}

}  // namespace test
}  // namespace pdeimg

namespace pdeimg {
/// Lets GoogleTest print backends by name in parameterised test names and failures.
inline void PrintTo(Backend b, std::ostream* os) {
  *os << to_string(b);
}
}  // namespace pdeimg
