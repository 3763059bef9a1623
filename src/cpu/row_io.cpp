#include "src/cpu/row_io.hpp"

namespace pdeimg {
namespace cpu {

void copy_channel(const ImageView& src, const ImageView& dst, int channel, int threads) {
  dispatch_type(src.type, [&](auto stag) {
    using Ts = decltype(stag);
    dispatch_type(dst.type, [&](auto dtag) {
      using Td = decltype(dtag);
      const int cs = src.channels;
      const int cd = dst.channels;
#if defined(_OPENMP)
#pragma omp parallel for schedule(static) num_threads(threads)
#endif
      for (int y = 0; y < src.height; ++y) {
        const Ts* in = src.row<const Ts>(y);
        Td* out = dst.row<Td>(y);
        for (int x = 0; x < src.width; ++x) {
          const float v =
              detail::SampleTraits<Ts>::to_float(in[static_cast<std::ptrdiff_t>(x) * cs + channel]);
          out[static_cast<std::ptrdiff_t>(x) * cd + channel] =
              detail::SampleTraits<Td>::from_float(v);
        }
      }
    });
  });
  (void)threads;
}

}  // namespace cpu
}  // namespace pdeimg
