#include "pdeimg/version.hpp"

#include "pdeimg_build_info.hpp"  // generated at build time by cmake/build_info.cmake

namespace pdeimg {

const char* version() noexcept {
  return PDEIMG_BUILD_VERSION;
}

const char* source_commit() noexcept {
  return PDEIMG_BUILD_SOURCE;
}

}  // namespace pdeimg
