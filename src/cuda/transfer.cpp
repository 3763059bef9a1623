#include "src/cuda/transfer.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <cstring>

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
  if (end == env || *end != '\0' || mib > 4096) return kDefaultStagingMiB << 20;
  return static_cast<std::size_t>(mib) << 20;
}

/// The context's staging buffers, each able to hold at least one row of `row_bytes`; nullptr
/// when staging is off or page-locked memory could not be had (from then on copies are direct).
detail::PinnedStaging* staging(Context& ctx, std::size_t row_bytes) {
  detail::PinnedStaging& s = ctx.impl().pinned;
  if (!s.initialised) {
    s.initialised = true;
    s.bytes = staging_bytes_setting();
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

}  // namespace

void upload(const ImageView& host, const ImageView& device, Context& ctx) {
  const std::size_t row = host.row_bytes();
  detail::PinnedStaging* s = is_pinned(host.data) ? nullptr : staging(ctx, row);
  if (s == nullptr) {
    copy_2d(device.data, device.pitch, host.data, host.pitch, row, host.height,
            CopyKind::kHostToDevice, ctx.stream(), false);
    return;
  }
  const int rows_per_chunk = static_cast<int>(
      std::min<std::size_t>(s->bytes / row, static_cast<std::size_t>(host.height)));
  int k = 0;
  for (int y0 = 0; y0 < host.height; y0 += rows_per_chunk, k ^= 1) {
    const int rows = std::min(rows_per_chunk, host.height - y0);
    claim(*s, k);
    auto* staged = static_cast<char*>(s->buffer[k]);
    for (int y = 0; y < rows; ++y) {
      std::memcpy(staged + static_cast<std::size_t>(y) * row, host.row<const char>(y0 + y), row);
    }
    copy_2d(device.row<char>(y0), device.pitch, staged, row, row, rows, CopyKind::kHostToDevice,
            ctx.stream(), false);
    release(*s, k, ctx);
  }
}

void download(const ImageView& device, const ImageView& host, Context& ctx) {
  const std::size_t row = host.row_bytes();
  detail::PinnedStaging* s = is_pinned(host.data) ? nullptr : staging(ctx, row);
  if (s == nullptr) {
    copy_2d(host.data, host.pitch, device.data, device.pitch, row, host.height,
            CopyKind::kDeviceToHost, ctx.stream(), true);
    return;
  }
  const int rows_per_chunk = static_cast<int>(
      std::min<std::size_t>(s->bytes / row, static_cast<std::size_t>(host.height)));
  const int chunks = (host.height + rows_per_chunk - 1) / rows_per_chunk;
  // Chunk i goes through buffer i % 2. Queue a chunk's copy, then drain the previous chunk while
  // the copy engine works on it.
  auto queue = [&](int i) {
    const int k = i & 1, y0 = i * rows_per_chunk;
    const int rows = std::min(rows_per_chunk, host.height - y0);
    claim(*s, k);
    copy_2d(s->buffer[k], row, device.row<const char>(y0), device.pitch, row, rows,
            CopyKind::kDeviceToHost, ctx.stream(), false);
    release(*s, k, ctx);
  };
  auto drain = [&](int i) {
    const int k = i & 1, y0 = i * rows_per_chunk;
    const int rows = std::min(rows_per_chunk, host.height - y0);
    claim(*s, k);
    const auto* staged = static_cast<const char*>(s->buffer[k]);
    for (int y = 0; y < rows; ++y) {
      std::memcpy(host.row<char>(y0 + y), staged + static_cast<std::size_t>(y) * row, row);
    }
  };
  queue(0);
  for (int i = 0; i < chunks; ++i) {
    if (i + 1 < chunks) queue(i + 1);
    drain(i);
  }
  synchronize(ctx.stream());  // reports a failure of earlier asynchronous work here
}

}  // namespace cuda
}  // namespace pdeimg
