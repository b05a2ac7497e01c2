// MaxRoiPool (1, 22): max pooling of X [N, C, H, W] over each region of interest
// rois [R, 5] = (batch index, x1, y1, x2, y2), into pooled_shape bins; output [R, C, ph, pw].
// Coordinates scale by spatial_scale and round to the nearest pixel, regions are inclusive and
// at least one pixel, and an empty bin is 0 (Caffe's and onnxruntime's arithmetic).
#include <algorithm>
#include <cmath>

#include "execution_providers/cpu/common.h"
#include "execution_providers/cpu/families.h"
#include "execution_providers/cpu/nn/float_compute.h"

namespace ferry::ep::cpu {

namespace {

struct MaxRoiPoolAttributes {
  int64_t pooled_h, pooled_w;  // "pooled_shape": required
  float spatial_scale;         // "spatial_scale": 1.0
  explicit MaxRoiPoolAttributes(const ir::Node& n) : spatial_scale(n.get_float("spatial_scale", 1.0f)) {
    const std::vector<int64_t> ps = n.get_ints("pooled_shape", {});
    if (ps.size() != 2 || ps[0] < 1 || ps[1] < 1 || ps[0] > (int64_t(1) << 20) || ps[1] > (int64_t(1) << 20))
      throw Error(ErrorCode::kInvalidModel, "attribute 'pooled_shape' must be 2 values [height, width] in [1, 2^20], got " +
                                                shape_to_string(ps));
    pooled_h = ps[0];
    pooled_w = ps[1];
  }
};

class MaxRoiPool final : public Kernel {
 public:
  explicit MaxRoiPool(const KernelInfo& info) : a_(info.node()) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& x = ctx.required_input(0);
    const Tensor& rois = ctx.required_input(1);
    if (x.rank() != 4 || rois.rank() != 2 || rois.dim(1) != 5 || rois.dtype() != x.dtype())
      fail(ctx, ErrorCode::kInvalidArgument, "expected X [N,C,H,W] and rois [R,5] of the same element type, got " +
                                                 x.describe() + " and " + rois.describe());
    const int64_t r = rois.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3);
    const int64_t ph = a_.pooled_h, pw = a_.pooled_w;
    visit_dtype(FloatHalfTypes{}, x.dtype(), "input 'X'", [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* px = x.data<T>();
      const T* pr = rois.data<T>();
      for (int64_t n = 0; n < r; ++n) {
        const double b = static_cast<double>(to_compute(pr[n * 5]));
        if (!(b >= 0 && b < static_cast<double>(x.dim(0))))
          fail(ctx, ErrorCode::kInvalidArgument, "rois[" + std::to_string(n) + "] has batch index " + std::to_string(b) +
                                                     ", outside [0, " + std::to_string(x.dim(0)) + ")");
      }
      T* py = ctx.allocate_output(0, x.dtype(), {r, c, ph, pw}).template data<T>();
      ctx.thread_pool().parallel_for(r * c, static_cast<double>(h * w), [&](int64_t t0, int64_t t1) {
        for (int64_t t = t0; t < t1; ++t) {
          const int64_t n = t / c, ch = t % c;
          const T* roi = pr + n * 5;
          const int64_t b = static_cast<int64_t>(to_compute(roi[0]));
          auto coord = [&](int i) {
            // Scaled in the element's compute type (float for float), as onnxruntime does.
            const auto scaled = to_compute(roi[i]) * static_cast<compute_t<T>>(a_.spatial_scale);
            const double v = std::round(static_cast<double>(scaled));
            return static_cast<int64_t>(std::clamp(v, -1e15, 1e15));
          };
          const int64_t sw = coord(1), sh = coord(2), ew = coord(3), eh = coord(4);
          const double bin_h = static_cast<double>(std::max<int64_t>(eh - sh + 1, 1)) / static_cast<double>(ph);
          const double bin_w = static_cast<double>(std::max<int64_t>(ew - sw + 1, 1)) / static_cast<double>(pw);
          const T* plane = px + (b * c + ch) * h * w;
          T* out = py + t * ph * pw;
          for (int64_t i = 0; i < ph; ++i) {
            const int64_t hs = std::clamp(static_cast<int64_t>(std::floor(static_cast<double>(i) * bin_h)) + sh, int64_t(0), h);
            const int64_t he = std::clamp(static_cast<int64_t>(std::ceil(static_cast<double>(i + 1) * bin_h)) + sh, int64_t(0), h);
            for (int64_t j = 0; j < pw; ++j) {
              const int64_t ws = std::clamp(static_cast<int64_t>(std::floor(static_cast<double>(j) * bin_w)) + sw, int64_t(0), w);
              const int64_t we = std::clamp(static_cast<int64_t>(std::ceil(static_cast<double>(j + 1) * bin_w)) + sw, int64_t(0), w);
              double m = 0;
              bool any = false;
              for (int64_t y = hs; y < he; ++y)
                for (int64_t xx = ws; xx < we; ++xx) {
                  const double v = static_cast<double>(to_compute(plane[y * w + xx]));
                  if (!any || v > m) m = v;
                  any = true;
                }
              out[i * pw + j] = from_compute<T>(m);
            }
          }
        }
      });
    });
  }

 private:
  MaxRoiPoolAttributes a_;
};

}  // namespace

void register_max_roi_pool_kernels(KernelRegistry& r) {
  r.add("MaxRoiPool", {1, 22}, make_kernel<MaxRoiPool>, FloatHalfTypes::dtypes());
}

}  // namespace ferry::ep::cpu
