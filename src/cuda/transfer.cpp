#include "src/cuda/transfer.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <string>

#include "pdeimg/error.hpp"
#include "src/context_impl.hpp"
#include "src/cuda/runtime.hpp"

namespace pdeimg {
namespace cuda {
namespace {

constexpr std::size_t kDefaultStagingMiB = 4;

std::size_t staging_bytes_setting() {
  const char* env = std::getenv("PDEIMG_STAGING_MB");
  if (env == nullptr || *env == '\0') return kDefaultStagingMiB << 20;
  char* end = nullptr;
  const unsigned long long mib = std::strtoull(env, &end, 10);
  if (end == env || *end != '\0' || *env == '-' || mib > 4096) {
    throw Error(
        ErrorCode::kInvalidArgument,
        std::string("PDEIMG_STAGING_MB: expected a whole number of MiB from 0 to 4096, got '") +
            env + "'");
  }
  return static_cast<std::size_t>(mib) << 20;
}

/// The context's staging buffers, each able to hold at least one row of `row_bytes`; nullptr
/// when staging is off or page-locked memory could not be had (from then on copies are direct).
detail::PinnedStaging* staging(Context& ctx, std::size_t row_bytes) {
  detail::PinnedStaging& s = ctx.impl().pinned;
  if (!s.initialised) {
    s.bytes = staging_bytes_setting();  // throws for a malformed setting, on every call
    s.initialised = true;
  }
  if (s.bytes == 0) return nullptr;
  if (s.buffer[0] != nullptr && s.bytes >= row_bytes) return &s;
  // First use, or a row wider than a buffer: (re)allocate both, after the copies still using
  // them. release() leaves bytes == 0, so a failure below turns staging off rather than leaving
  // half-built state.
  const std::size_t want = std::max(s.bytes, row_bytes);
  s.release();
  for (int k = 0; k < 2; ++k) s.done[k] = create_event();
  for (int k = 0; k < 2; ++k) {
    s.buffer[k] = malloc_host(want);
    if (s.buffer[k] == nullptr) {
      s.release();
      return nullptr;
    }
  }
  s.bytes = want;
  return &s;
}

/// Waits until buffer k is no longer read or written by a queued copy.
void claim(detail::PinnedStaging& s, int k) {
  if (s.pending[k]) wait_event(s.done[k]);
  s.pending[k] = false;
}

void release(detail::PinnedStaging& s, int k, Context& ctx) {
  record_event(s.done[k], ctx.stream());
  s.pending[k] = true;
}

/// How an image of `host`'s shape goes through ctx's staging buffers: chunk i holds rows
/// [i * rows, min((i + 1) * rows, height)) and uses buffer i % 2. `pinned` is nullptr when the
/// copy goes directly (page-locked host memory, or staging off or unavailable).
struct Chunks {
  detail::PinnedStaging* pinned = nullptr;
  std::size_t row_bytes = 0;
  int rows = 0;
  int count = 0;
  int height = 0;

  Chunks(const ImageView& host, Context& ctx) : row_bytes(host.row_bytes()), height(host.height) {
    if (is_pinned(host.data)) return;
    pinned = staging(ctx, row_bytes);
    if (pinned == nullptr) return;
    rows = static_cast<int>(
        std::min<std::size_t>(pinned->bytes / row_bytes, static_cast<std::size_t>(height)));
    count = (height + rows - 1) / rows;
  }
  int first_row(int i) const { return i * rows; }
  int rows_of(int i) const { return std::min(rows, height - i * rows); }
  char* buffer(int i) const { return static_cast<char*>(pinned->buffer[i & 1]); }
};

}  // namespace

void upload(const ImageView& host, const ImageView& device, Context& ctx) {
  ++ctx.impl().host_uploads;
  const Chunks ch(host, ctx);
  const std::size_t row = ch.row_bytes;
  if (ch.pinned == nullptr) {
    copy_2d(device.data, device.pitch, host.data, host.pitch, row, host.height,
            CopyKind::kHostToDevice, ctx.stream(), false);
    return;
  }
  for (int i = 0; i < ch.count; ++i) {
    const int y0 = ch.first_row(i), rows = ch.rows_of(i);
    claim(*ch.pinned, i & 1);
    for (int y = 0; y < rows; ++y) {
      std::memcpy(ch.buffer(i) + static_cast<std::size_t>(y) * row, host.row<const char>(y0 + y),
                  row);
    }
    copy_2d(device.row<char>(y0), device.pitch, ch.buffer(i), row, row, rows,
            CopyKind::kHostToDevice, ctx.stream(), false);
    release(*ch.pinned, i & 1, ctx);
  }
}

void download(const ImageView& device, const ImageView& host, Context& ctx) {
  const Chunks ch(host, ctx);
  const std::size_t row = ch.row_bytes;
  if (ch.pinned == nullptr) {
    copy_2d(host.data, host.pitch, device.data, device.pitch, row, host.height,
            CopyKind::kDeviceToHost, ctx.stream(), true);
    return;
  }
  // Queue a chunk's copy, then drain the previous chunk while the copy engine works on it.
  auto queue = [&](int i) {
    claim(*ch.pinned, i & 1);
    copy_2d(ch.buffer(i), row, device.row<const char>(ch.first_row(i)), device.pitch, row,
            ch.rows_of(i), CopyKind::kDeviceToHost, ctx.stream(), false);
    release(*ch.pinned, i & 1, ctx);
  };
  auto drain = [&](int i) {
    claim(*ch.pinned, i & 1);
    for (int y = 0; y < ch.rows_of(i); ++y) {
      std::memcpy(host.row<char>(ch.first_row(i) + y),
                  ch.buffer(i) + static_cast<std::size_t>(y) * row, row);
    }
  };
  queue(0);
  for (int i = 0; i < ch.count; ++i) {
    if (i + 1 < ch.count) queue(i + 1);
    drain(i);
  }
  synchronize(ctx.stream());  // reports a failure of earlier asynchronous work here
}

}  // namespace cuda
}  // namespace pdeimg
