#include "src/cpu/row_io.hpp"

#include "src/cpu/thread_pool.hpp"

namespace pdeimg {
namespace cpu {

void copy_channel(const ImageView& src, const ImageView& dst, int channel, ThreadPool& pool) {
  dispatch_type(src.type, [&](auto stag) {
    using Ts = decltype(stag);
    dispatch_type(dst.type, [&](auto dtag) {
      using Td = decltype(dtag);
      const int cs = src.channels;
      const int cd = dst.channels;
      parallel_rows(pool, src.height, static_cast<std::size_t>(src.width),
                    [&](int y0, int y1, int) {
                      for (int y = y0; y < y1; ++y) {
                        const Ts* in = src.row<const Ts>(y);
                        Td* out = dst.row<Td>(y);
                        for (int x = 0; x < src.width; ++x) {
                          const float v = detail::SampleTraits<Ts>::to_float(
                              in[static_cast<std::ptrdiff_t>(x) * cs + channel]);
                          out[static_cast<std::ptrdiff_t>(x) * cd + channel] =
                              detail::SampleTraits<Td>::from_float(v);
                        }
                      }
                    });
    });
  });
}

}  // namespace cpu
}  // namespace pdeimg
