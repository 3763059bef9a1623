// pdeimg::Error: the one exception type the library throws.
#pragma once

#include <stdexcept>
#include <string>

namespace pdeimg {

/// What kind of failure an Error reports.
enum class ErrorCode {
  kInvalidArgument,     ///< A parameter or image shape is out of its documented range.
  kUnsupported,         ///< A valid request this build or data type does not support.
  kBackendUnavailable,  ///< The requested backend (e.g. CUDA) is not built in or has no device.
  kCuda,         ///< A CUDA runtime call or kernel launch failed; the message has CUDA's text.
  kIo,           ///< Reading or writing a file failed (pdeimg::io only).
  kOutOfMemory,  ///< An allocation failed.
  kLimitExceeded,  ///< An input is larger than a limit the caller set (e.g. io::ReadOptions).
  kCancelled,      ///< The caller's progress callback asked the operation to stop.
  kResource,       ///< The system refused a resource other than memory (e.g. a thread).
};

/// Human-readable name of an ErrorCode ("invalid argument", ...).
const char* to_string(ErrorCode code) noexcept;

/// Thrown by every pdeimg function on failure. The message names the offending argument and its
/// value (or the failing CUDA call and CUDA's error text). Nothing in pdeimg calls exit().
class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ErrorCode code() const noexcept { return code_; }

 private:
  ErrorCode code_;
};

}  // namespace pdeimg
