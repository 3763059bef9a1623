// CUDA kernels of Canny's primitives: non-maximum suppression with the double threshold, quantile
// thresholds (CUB radix sort, selection on the device), and exact hysteresis by union–find
// connected components.
//
// Hysteresis as connected components: the candidates (labels kWeak/kStrong) are joined with their
// 8-neighbours by a lock-free union–find over a parent array (each root is the smallest index of
// its tree; unions hook the larger root under the smaller with atomicMin and retry when another
// thread moved it first — Playne & Hawick, IEEE TPDS 2018). A component is marked strong when any
// member is strong, and every candidate takes its root's mark. A fixed sequence of five kernels,
// independent of how long the edge chains are: nothing waits for the host and nothing iterates.
#include <cub/device/device_radix_sort.cuh>

#include <cstdint>

#include "kernels/gradient.cuh"
#include "src/cuda/check.hpp"
#include "src/cuda/launch.hpp"

namespace pdeimg {
namespace cuda {
namespace {

constexpr int kBlockX = 32;
constexpr int kBlockY = 8;
constexpr unsigned kStrongBit = 0x80000000u;  // marks a root whose component holds a strong pixel
constexpr unsigned kIndexMask = 0x7fffffffu;

dim3 grid_for(int w, int h) {
  return dim3((w + kBlockX - 1) / kBlockX, (h + kBlockY - 1) / kBlockY);
}

// --- non-maximum suppression and the double threshold --------------------------------------------

template <typename T, GradientOperator Op>
__global__ void canny_nms_kernel(ImageView src, ImageView mag, ImageView mask, float low,
                                 float high, const float* d_thresholds, int np, ImageView labels,
                                 bool missing) {
  const int x = blockIdx.x * blockDim.x + threadIdx.x;
  const int y = blockIdx.y * blockDim.y + threadIdx.y;
  if (x >= src.width || y >= src.height) return;
  if (d_thresholds) {
    low = d_thresholds[0];
    high = d_thresholds[1];
  }
  const int xs[3] = {detail::Reflect::prev(x), x, detail::Reflect::next(x, src.width)};
  const int ys[3] = {detail::Reflect::prev(y), y, detail::Reflect::next(y, src.height)};
  const float raw = detail::view_row<const float>(mag, y)[x];
  const float m = missing ? detail::nms_magnitude(raw) : raw;  // as the CPU's suppression reads it
  std::uint8_t label = detail::kNotEdge;
  // Only candidates need the direction and the window (the CPU computes them for every pixel and
  // discards them; candidate_label gives the same label either way).
  if (m > low && (mask.data == nullptr || detail::view_row<const std::uint8_t>(mask, y)[x] != 0)) {
    // The direction across the edge, recomputed exactly as the magnitude pass did.
    const int nc = src.channels;
    detail::Tensor t;
    float ex = 0.0f, ey = 0.0f;
    for (int c = 0; c < np; ++c) {
      float u[3][3];
      for (int r = 0; r < 3; ++r) {
        const T* row = detail::view_row<const T>(src, ys[r]);
        for (int k = 0; k < 3; ++k)
          u[r][k] =
              detail::SampleTraits<T>::to_float(row[static_cast<std::ptrdiff_t>(xs[k]) * nc + c]);
      }
      if (missing) detail::ghost3x3(u);
      float gx, gy;
      detail::derivatives<Op>(u, &gx, &gy);
      if (np == 1) {
        ex = gx;
        ey = gy;
      } else {
        detail::accumulate(&t, gx, gy);
      }
    }
    if (np > 1) {
      const detail::EdgeVector e = detail::colour_edge(t, np);
      ex = e.ex;
      ey = e.ey;
    }
    detail::Window3 win;
    for (int r = 0; r < 3; ++r) {
      const float* row = detail::view_row<const float>(mag, ys[r]);
      for (int k = 0; k < 3; ++k)
        win.m[r][k] = missing ? detail::nms_magnitude(row[xs[k]]) : row[xs[k]];
    }
    label = detail::candidate_label(m, ex, ey, win, x > 0, y > 0, true, low, high);
  }
  detail::view_row<std::uint8_t>(labels, y)[x] = label;
}

template <typename T, GradientOperator Op>
void launch_nms_typed(const ImageView& src, const ImageView& mag, const ImageView& mask, float low,
                      float high, const float* d_th, int np, const ImageView& labels, bool missing,
                      cudaStream_t s) {
  canny_nms_kernel<T, Op><<<grid_for(src.width, src.height), dim3(kBlockX, kBlockY), 0, s>>>(
      src, mag, mask, low, high, d_th, np, labels, missing);
}

template <typename T>
void launch_nms_op(GradientOperator op, const ImageView& src, const ImageView& mag,
                   const ImageView& mask, float low, float high, const float* d_th, int np,
                   const ImageView& labels, bool missing, cudaStream_t s) {
  switch (op) {
    case GradientOperator::kCentral:
      launch_nms_typed<T, GradientOperator::kCentral>(src, mag, mask, low, high, d_th, np, labels,
                                                      missing, s);
      break;
    case GradientOperator::kScharr:
      launch_nms_typed<T, GradientOperator::kScharr>(src, mag, mask, low, high, d_th, np, labels,
                                                     missing, s);
      break;
    default:
      launch_nms_typed<T, GradientOperator::kSobel>(src, mag, mask, low, high, d_th, np, labels,
                                                    missing, s);
      break;
  }
}

__global__ void threshold_labels_kernel(ImageView values, ImageView labels, float low, float high) {
  const int x = blockIdx.x * blockDim.x + threadIdx.x;
  const int y = blockIdx.y * blockDim.y + threadIdx.y;
  if (x >= values.width || y >= values.height) return;
  const float v = detail::view_row<const float>(values, y)[x];
  detail::view_row<std::uint8_t>(labels, y)[x] = detail::threshold_label(v, low, high);
}

// --- hysteresis: union–find
// ------------------------------------------------------------------------

__device__ __forceinline__ bool is_candidate(std::uint8_t v) {
  return v == detail::kWeak || v == detail::kStrong;
}

__device__ __forceinline__ unsigned parent_of(const unsigned* parent, unsigned i) {
  // Volatile: other threads re-link trees while this one walks them.
  return *reinterpret_cast<const volatile unsigned*>(parent + i);
}

__device__ unsigned find_root(const unsigned* parent, unsigned i) {
  unsigned p = parent_of(parent, i);
  while (p != i) {
    i = p;
    p = parent_of(parent, i);
  }
  return i;
}

/// Joins the trees of a and b. Invariant: parent[i] <= i, and roots only ever get a smaller
/// parent, so every walk ends and no link is lost: when the root `hi` was re-linked by another
/// thread before the atomicMin, `old` is its new parent and the union continues from there.
__device__ void unite(unsigned* parent, unsigned a, unsigned b) {
  while (true) {
    a = find_root(parent, a);
    b = find_root(parent, b);
    if (a == b) return;
    const unsigned hi = a > b ? a : b;
    const unsigned lo = a > b ? b : a;
    const unsigned old = atomicMin(parent + hi, lo);
    if (old == hi) return;
    a = old;
    b = lo;
  }
}

__global__ void uf_init_kernel(unsigned* parent, int w, int h) {
  const int x = blockIdx.x * blockDim.x + threadIdx.x;
  const int y = blockIdx.y * blockDim.y + threadIdx.y;
  if (x >= w || y >= h) return;
  const unsigned i = static_cast<unsigned>(y) * w + x;
  parent[i] = i;
}

__global__ void uf_merge_kernel(ImageView labels, unsigned* parent) {
  const int x = blockIdx.x * blockDim.x + threadIdx.x;
  const int y = blockIdx.y * blockDim.y + threadIdx.y;
  const int w = labels.width;
  if (x >= w || y >= labels.height) return;
  const std::uint8_t* row = detail::view_row<const std::uint8_t>(labels, y);
  if (!is_candidate(row[x])) return;
  const unsigned i = static_cast<unsigned>(y) * w + x;
  // Half of the 8-neighbourhood (W, NW, N, NE): every neighbouring pair is joined once.
  if (x > 0 && is_candidate(row[x - 1])) unite(parent, i, i - 1);
  if (y > 0) {
    const std::uint8_t* up = detail::view_row<const std::uint8_t>(labels, y - 1);
    const unsigned j = i - w;
    if (x > 0 && is_candidate(up[x - 1])) unite(parent, i, j - 1);
    if (is_candidate(up[x])) unite(parent, i, j);
    if (x + 1 < w && is_candidate(up[x + 1])) unite(parent, i, j + 1);
  }
}

__global__ void uf_compress_kernel(ImageView labels, unsigned* parent) {
  const int x = blockIdx.x * blockDim.x + threadIdx.x;
  const int y = blockIdx.y * blockDim.y + threadIdx.y;
  if (x >= labels.width || y >= labels.height) return;
  if (!is_candidate(detail::view_row<const std::uint8_t>(labels, y)[x])) return;
  const unsigned i = static_cast<unsigned>(y) * labels.width + x;
  parent[i] = find_root(parent, i);
}

__global__ void uf_mark_kernel(ImageView labels, unsigned* parent) {
  const int x = blockIdx.x * blockDim.x + threadIdx.x;
  const int y = blockIdx.y * blockDim.y + threadIdx.y;
  if (x >= labels.width || y >= labels.height) return;
  if (detail::view_row<const std::uint8_t>(labels, y)[x] != detail::kStrong) return;
  const unsigned i = static_cast<unsigned>(y) * labels.width + x;
  const unsigned root = parent[i] & kIndexMask;  // a root's own entry may already carry the mark
  if (!(parent_of(parent, root) & kStrongBit)) atomicOr(parent + root, kStrongBit);
}

__global__ void uf_output_kernel(ImageView labels, const unsigned* parent) {
  const int x = blockIdx.x * blockDim.x + threadIdx.x;
  const int y = blockIdx.y * blockDim.y + threadIdx.y;
  if (x >= labels.width || y >= labels.height) return;
  std::uint8_t* row = detail::view_row<std::uint8_t>(labels, y);
  std::uint8_t out = detail::kNotEdge;
  if (is_candidate(row[x])) {
    const unsigned i = static_cast<unsigned>(y) * labels.width + x;
    const unsigned root = parent[i] & kIndexMask;
    if (parent[root] & kStrongBit) out = detail::kEdge;
  }
  row[x] = out;
}

// --- quantiles
// --------------------------------------------------------------------------------------

__global__ void quantile_keys_kernel(ImageView mag, ImageView mask, unsigned* keys) {
  const int x = blockIdx.x * blockDim.x + threadIdx.x;
  const int y = blockIdx.y * blockDim.y + threadIdx.y;
  if (x >= mag.width || y >= mag.height) return;
  const float m = detail::view_row<const float>(mag, y)[x];
  const bool inside = mask.data == nullptr || detail::view_row<const std::uint8_t>(mask, y)[x] != 0;
  unsigned key = detail::kExcludedKey;
  if (inside && m == m) key = m > 0.0f ? __float_as_uint(m) : 0u;
  keys[static_cast<std::size_t>(y) * mag.width + x] = key;
}

/// One thread: counts the kept keys (sorted, kept ones first), then the two quantiles.
__global__ void quantile_thresholds_kernel(const unsigned* sorted, long long total, double q_low,
                                           double q_high, float* out) {
  long long lo = 0, hi = total;
  while (lo < hi) {
    const long long mid = lo + (hi - lo) / 2;
    if (sorted[mid] <= detail::kInfinityKey) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  const long long n = lo;
  const double q[2] = {q_low, q_high};
  for (int k = 0; k < 2; ++k) {
    if (n == 0) {
      out[k] = __int_as_float(0x7f800000);  // +inf: no pixel is above
      continue;
    }
    double frac = 0.0;
    const long long i = detail::quantile_index(q[k], n, &frac);
    const float v_lo = __uint_as_float(sorted[i]);
    const float v_hi = i + 1 < n ? __uint_as_float(sorted[i + 1]) : v_lo;
    out[k] = detail::quantile_value(v_lo, v_hi, frac);
  }
}

}  // namespace

void launch_canny_nms(const ImageView& src, const ImageView& magnitude, const ImageView& mask,
                      float low, float high, const float* d_thresholds, GradientOperator op,
                      int channels, const ImageView& labels, bool missing, void* stream) {
  auto s = static_cast<cudaStream_t>(stream);
  switch (src.type) {
    case PixelType::kU8:
      launch_nms_op<std::uint8_t>(op, src, magnitude, mask, low, high, d_thresholds, channels,
                                  labels, missing, s);
      break;
    case PixelType::kU16:
      launch_nms_op<std::uint16_t>(op, src, magnitude, mask, low, high, d_thresholds, channels,
                                   labels, missing, s);
      break;
    default:
      launch_nms_op<float>(op, src, magnitude, mask, low, high, d_thresholds, channels, labels,
                           missing, s);
      break;
  }
  PDEIMG_LAUNCH_CHECK("canny_nms_kernel");
}

void launch_threshold_labels(const ImageView& values, const ImageView& labels, float low,
                             float high, void* stream) {
  threshold_labels_kernel<<<grid_for(values.width, values.height), dim3(kBlockX, kBlockY), 0,
                            static_cast<cudaStream_t>(stream)>>>(values, labels, low, high);
  PDEIMG_LAUNCH_CHECK("threshold_labels_kernel");
}

void launch_hysteresis(const ImageView& labels, unsigned* d_parent, void* stream) {
  auto s = static_cast<cudaStream_t>(stream);
  const dim3 grid = grid_for(labels.width, labels.height), block(kBlockX, kBlockY);
  uf_init_kernel<<<grid, block, 0, s>>>(d_parent, labels.width, labels.height);
  PDEIMG_LAUNCH_CHECK("uf_init_kernel");
  uf_merge_kernel<<<grid, block, 0, s>>>(labels, d_parent);
  PDEIMG_LAUNCH_CHECK("uf_merge_kernel");
  uf_compress_kernel<<<grid, block, 0, s>>>(labels, d_parent);
  PDEIMG_LAUNCH_CHECK("uf_compress_kernel");
  uf_mark_kernel<<<grid, block, 0, s>>>(labels, d_parent);
  PDEIMG_LAUNCH_CHECK("uf_mark_kernel");
  uf_output_kernel<<<grid, block, 0, s>>>(labels, d_parent);
  PDEIMG_LAUNCH_CHECK("uf_output_kernel");
}

void launch_quantile_keys(const ImageView& magnitude, const ImageView& mask, unsigned* d_keys,
                          void* stream) {
  quantile_keys_kernel<<<grid_for(magnitude.width, magnitude.height), dim3(kBlockX, kBlockY), 0,
                         static_cast<cudaStream_t>(stream)>>>(magnitude, mask, d_keys);
  PDEIMG_LAUNCH_CHECK("quantile_keys_kernel");
}

std::size_t sort_canny_keys(const unsigned* d_in, unsigned* d_out, std::size_t n, void* d_temp,
                            std::size_t temp_bytes, void* stream) {
  std::size_t bytes = temp_bytes;
  PDEIMG_CUDA_CHECK(cub::DeviceRadixSort::SortKeys(d_temp, bytes, d_in, d_out, static_cast<int>(n),
                                                   0, 32, static_cast<cudaStream_t>(stream)));
  return bytes;
}

void launch_quantile_thresholds(const unsigned* d_sorted, std::size_t n, double q_low,
                                double q_high, float* d_out, void* stream) {
  quantile_thresholds_kernel<<<1, 1, 0, static_cast<cudaStream_t>(stream)>>>(
      d_sorted, static_cast<long long>(n), q_low, q_high, d_out);
  PDEIMG_LAUNCH_CHECK("quantile_thresholds_kernel");
}

}  // namespace cuda
}  // namespace pdeimg
