#include "pdeimg/error.hpp"

namespace pdeimg {

const char* to_string(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::kInvalidArgument:
      return "invalid argument";
    case ErrorCode::kUnsupported:
      return "unsupported";
    case ErrorCode::kBackendUnavailable:
      return "backend unavailable";
    case ErrorCode::kCuda:
      return "CUDA error";
    case ErrorCode::kIo:
      return "I/O error";
    case ErrorCode::kOutOfMemory:
      return "out of memory";
    case ErrorCode::kLimitExceeded:
      return "limit exceeded";
    case ErrorCode::kCancelled:
      return "cancelled";
    case ErrorCode::kResource:
      return "resource unavailable";
  }
  return "unknown error";
}

}  // namespace pdeimg
