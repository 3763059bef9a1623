// gradient(): validation and dispatch above the backends.
#include "pdeimg/gradient.hpp"

#include <algorithm>
#include <cctype>
#include <string>

#include "pdeimg/error.hpp"
#include "src/backend.hpp"
#include "src/context_impl.hpp"
#include "src/finite.hpp"
#include "src/validate.hpp"
#include "src/work_image.hpp"

namespace pdeimg {

const char* to_string(GradientOperator op) noexcept {
  switch (op) {
    case GradientOperator::kCentral:
      return "central";
    case GradientOperator::kSobel:
      return "sobel";
    case GradientOperator::kScharr:
      return "scharr";
  }
  return "unknown";
}

GradientOperator parse_gradient_operator(const std::string& name) {
  std::string s = name;
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  if (s == "central") return GradientOperator::kCentral;
  if (s == "sobel") return GradientOperator::kSobel;
  if (s == "scharr") return GradientOperator::kScharr;
  throw Error(ErrorCode::kInvalidArgument,
              "operator: expected central, sobel or scharr, got '" + name + "'");
}

double gradient_gain(GradientOperator op) noexcept {
  return op == GradientOperator::kCentral ? 2.0 : op == GradientOperator::kScharr ? 32.0 : 8.0;
}

void gradient(const ImageView& src, const GradientImages& out, const GradientParams& params,
              Context& ctx) {
  validate(src, "gradient: src");
  const int w = src.width, h = src.height;
  struct Target {
    const ImageView* view;
    const char* name;
    int channels;
  };
  const Target targets[] = {{&out.dx, "dx", src.channels},
                            {&out.dy, "dy", src.channels},
                            {&out.magnitude, "magnitude", 1},
                            {&out.direction, "direction", 1}};
  bool any = false;
  for (const Target& t : targets) {
    if (t.view->data == nullptr) continue;
    detail::check_image(*t.view, "gradient", t.name, w, h, t.channels, PixelType::kF32,
                        src.location);
    if (detail::overlaps(*t.view, src)) {
      throw Error(ErrorCode::kInvalidArgument,
                  std::string("gradient: ") + t.name + " overlaps src; use a separate buffer");
    }
    for (const Target& u : targets) {
      if (u.view != t.view && u.view->data != nullptr && detail::overlaps(*t.view, *u.view)) {
        throw Error(ErrorCode::kInvalidArgument, std::string("gradient: ") + t.name + " overlaps " +
                                                     u.name + "; use separate buffers");
      }
    }
    any = true;
  }
  if (!any) {
    throw Error(ErrorCode::kInvalidArgument,
                "gradient: no output given (set dx, dy, magnitude or direction)");
  }
  const ImageView& first = out.dx.data          ? out.dx
                           : out.dy.data        ? out.dy
                           : out.magnitude.data ? out.magnitude
                                                : out.direction;
  detail::check_location(src, first, ctx, "gradient");
  for (const Target& t : targets) detail::check_device(*t.view, ctx, "gradient", t.name);
  const detail::DeviceScope device_scope(ctx);

  detail::GradientPlan plan;
  plan.op = params.op;
  plan.channels = detail::processed_channels(src.channels, params.alpha == AlphaMode::kPreserve);
  plan.scale = 1.0f;
  // Non-finite samples: refused, or missing data; huge inputs scaled so that squared derivatives
  // stay finite, and the derivatives and magnitude scaled back (saturating; src/finite.hpp).
  const detail::GuardedInput in = detail::guard_input(src, src.channels, params.non_finite,
                                                      detail::kGradientRangeLog2, "gradient", ctx);
  plan.missing = in.scan.non_finite.count > 0;
  if (ctx.backend() == Backend::kCuda) {
    cuda::gradient(in.view, out, plan, ctx);
  } else {
    cpu::gradient(in.view, out, plan, ctx);
  }
  if (in.exponent != 0) {
    for (const ImageView* v : {&out.dx, &out.dy, &out.magnitude}) {
      if (v->data != nullptr) detail::scale_samples(*v, *v, in.exponent, ctx);
    }
  }
}

}  // namespace pdeimg
