// Which pdeimg made a result: the version and the source it was built from (the apps' --version
// and every --report carry both).
#pragma once

namespace pdeimg {

/// The project version, "MAJOR.MINOR.PATCH".
const char* version() noexcept;

/// The git commit the library was built from (12 hex digits, "-dirty" appended when the
/// checkout had uncommitted changes to tracked files), or "unknown" when built outside a git
/// checkout.
const char* source_commit() noexcept;

}  // namespace pdeimg
