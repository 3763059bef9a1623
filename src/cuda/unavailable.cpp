// Backend entry points for builds without CUDA: each says so with Error(kBackendUnavailable).
#include <string>

#include "pdeimg/error.hpp"
#include "src/backend.hpp"

namespace pdeimg {
namespace cuda {
namespace {
[[noreturn]] void unavailable(const char* op) {
  throw Error(ErrorCode::kBackendUnavailable,
              std::string(op) + ": CUDA backend unavailable: pdeimg was built without CUDA");
}
}  // namespace

void heat_smooth(const ImageView&, const ImageView&, const detail::HeatPlan&, Context&) {
  unavailable("heat_smooth");
}

}  // namespace cuda
}  // namespace pdeimg
