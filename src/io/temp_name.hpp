// The names of write_image's temporary files, ".<stem>.tmp-<host>-<pid>-<n><ext>": made here for
// src/io/io.cpp (and the batch report), recognised here for the batch runs' removal of the ones a
// killed process left behind (apps/batch.cpp). Header-only so that both share one definition.
//
// The host is in the name because a folder on shared storage is written by processes on several
// machines: only the machine that made a file can tell whether its process still runs.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <string>

#if !defined(_WIN32)
#include <unistd.h>
#endif

namespace pdeimg {
namespace io {
namespace detail {

/// `raw` with every character outside [A-Za-z0-9_-] replaced by '_' ("node1.example.org" ->
/// "node1_example_org"), so that a host name never adds a '.' to a file name.
inline std::string sanitized_host(const std::string& raw) {
  std::string s = raw;
  for (char& c : s) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-';
    if (!ok) c = '_';
  }
  return s;
}

/// This machine's host name, sanitised; empty when the system gives none (the temporary names
/// then never parse, and so are never removed as stale).
inline const std::string& temp_host() {
  static const std::string host = [] {
#if defined(_WIN32)
    const char* name = std::getenv("COMPUTERNAME");
    return sanitized_host(name != nullptr ? name : "");
#else
    char buf[256] = {};
    if (::gethostname(buf, sizeof buf - 1) != 0) return std::string();
    return sanitized_host(buf);
#endif
  }();
  return host;
}

/// The longest file name (bytes) of common file systems (NAME_MAX of ext4, XFS, btrfs, NTFS...).
constexpr std::size_t kMaxNameBytes = 255;

/// ".<stem>.tmp-<host>-<pid>-<n><ext>" (`ext` with its dot, or empty), the stem shortened (at a
/// UTF-8 character boundary) so that the name stays within kMaxNameBytes: an output whose own name
/// is legal must never fail for its temporary's (a 240-byte name once gave "File name too long").
inline std::string temp_name(const std::string& stem, const std::string& ext,
                             const std::string& host, long pid, unsigned long n) {
  const std::string tail =
      ".tmp-" + host + "-" + std::to_string(pid) + "-" + std::to_string(n) + ext;
  const std::size_t room = tail.size() + 2 < kMaxNameBytes ? kMaxNameBytes - 1 - tail.size() : 1;
  std::size_t keep = std::min(stem.size(), room);
  while (keep > 1 && keep < stem.size() && (static_cast<unsigned char>(stem[keep]) & 0xC0) == 0x80)
    --keep;  // not inside a multi-byte character
  return "." + stem.substr(0, keep) + tail;
}

/// Who made a temporary file.
struct TempName {
  std::string host;  ///< sanitised host name, never empty
  long pid = 0;      ///< > 0
};

/// True, with `out` filled, when `filename` (a name, not a path) is a name temp_name() makes with
/// a non-empty stem and host, a process id in [1, 2^31) and a counter. Any other name (an
/// ordinary file, ".hidden.png", the old ".<stem>.tmp-<pid>-<n><ext>" without a host, a pid that
/// is not a decimal number) gives false.
inline bool parse_temp_name(const std::string& filename, TempName& out) {
  if (filename.size() < 2 || filename[0] != '.') return false;
  const auto digits = [](const std::string& s) {
    if (s.empty() || s.size() > 10) return false;
    for (const char c : s)
      if (c < '0' || c > '9') return false;
    return true;
  };
  // The extension: the last '.' and what follows, unless that holds a '-' (then there is none and
  // the last '.' is the one of ".tmp-").
  std::string core = filename;
  const std::size_t last_dot = core.rfind('.');
  if (last_dot != 0 && core.find('-', last_dot) == std::string::npos) core.resize(last_dot);
  // core = ".<stem>.tmp-<host>-<pid>-<n>"; host, pid and n hold no '.'.
  const std::size_t n_dash = core.rfind('-');
  if (n_dash == std::string::npos || !digits(core.substr(n_dash + 1))) return false;
  const std::size_t pid_dash = n_dash == 0 ? std::string::npos : core.rfind('-', n_dash - 1);
  if (pid_dash == std::string::npos) return false;
  const std::string pid = core.substr(pid_dash + 1, n_dash - pid_dash - 1);
  if (!digits(pid)) return false;
  const std::size_t tmp = core.rfind('.', pid_dash);
  static const std::string kTmp = ".tmp-";
  if (tmp == std::string::npos || tmp < 2 || core.compare(tmp, kTmp.size(), kTmp) != 0) {
    return false;
  }
  const std::size_t host_begin = tmp + kTmp.size();
  if (host_begin >= pid_dash) return false;  // no host
  const std::string host = core.substr(host_begin, pid_dash - host_begin);
  if (sanitized_host(host) != host) return false;
  const long long p = std::strtoll(pid.c_str(), nullptr, 10);
  if (p < 1 || p > 2147483647LL) return false;
  out.host = host;
  out.pid = static_cast<long>(p);
  return true;
}

}  // namespace detail
}  // namespace io
}  // namespace pdeimg
