// Copies of whole images between host views and device views for the CUDA backend. Internal
// header.
//
// Pageable host memory cannot be read or written by the copy engines directly: the driver copies
// it through its own page-locked buffer, and such a copy does not overlap other work the way a copy
// from page-locked memory does. So each Context keeps two page-locked buffers
// (detail::PinnedStaging) and moves pageable images through them in chunks of whole rows: while
// the copy engine moves one chunk, the host fills or drains the other. Host memory that is already
// page-locked is copied directly. With two contexts on one device (the batch apps' workers), the
// transfers of one image then overlap the kernels of the other.
//
// PDEIMG_STAGING_MB sets the size of each buffer in MiB (default 4; 0: no staging, copy pageable
// memory directly), read when a context first copies a host image.
#pragma once

#include "pdeimg/context.hpp"
#include "pdeimg/image.hpp"

namespace pdeimg {
namespace cuda {

/// Copies `host` into `device` (same shape and type) on ctx's stream; the copy is complete for
/// work queued after it. Pageable `host` memory may be reused as soon as this returns; page-locked
/// memory is read by the queued copy itself, so it must stay unchanged until the stream has passed
/// this point (every operation on host views waits for its stream before returning).
void upload(const ImageView& host, const ImageView& device, Context& ctx);

/// Copies `device` into `host` (same shape and type) after the work queued on ctx's stream;
/// returns when `host` holds the data.
void download(const ImageView& device, const ImageView& host, Context& ctx);

}  // namespace cuda
}  // namespace pdeimg
