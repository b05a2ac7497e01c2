// RoiAlign (10: no half-pixel offset; 16+: "half_pixel" by default, "output_half_pixel") with
// avg or max pooling over bilinear samples, following onnxruntime's (and the ONNX reference's)
// arithmetic, max mode's per-corner maximum included.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "execution_providers/cpu/common.h"
#include "execution_providers/cpu/nn/float_compute.h"
#include "execution_providers/cpu/nn/nn_ext.h"

namespace ferry::ep::cpu {
namespace {

struct RoiAlignAttributes {
  bool half_pixel;        // "coordinate_transformation_mode": "half_pixel" (16+); none before
  bool max_mode;          // "mode": "avg"
  int64_t out_h, out_w;   // "output_height", "output_width": 1
  int64_t sampling_ratio; // "sampling_ratio": 0 (adaptive)
  double spatial_scale;   // "spatial_scale": 1.0
  RoiAlignAttributes(const ir::Node& n, int64_t opset)
      : half_pixel(opset >= 16 && n.get_string("coordinate_transformation_mode", "half_pixel") == "half_pixel"),
        max_mode(n.get_string("mode", "avg") == "max"),
        out_h(n.get_int("output_height", 1)),
        out_w(n.get_int("output_width", 1)),
        sampling_ratio(n.get_int("sampling_ratio", 0)),
        spatial_scale(n.get_float("spatial_scale", 1.0f)) {
    const std::string mode = n.get_string("mode", "avg");
    if (mode != "avg" && mode != "max")
      throw Error(ErrorCode::kInvalidModel, "attribute 'mode' is '" + mode + "' (valid: avg, max)");
    if (out_h < 1 || out_w < 1 || sampling_ratio < 0)
      throw Error(ErrorCode::kInvalidModel, "output_height/output_width must be >= 1 and sampling_ratio >= 0");
  }
};

class RoiAlign final : public Kernel {
 public:
  explicit RoiAlign(const KernelInfo& info) : a_(info.node(), info.opset()) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& x = ctx.required_input(0);
    const Tensor& rois = ctx.required_input(1);
    const Tensor& bi = ctx.required_input(2);
    if (x.rank() != 4 || rois.rank() != 2 || rois.dim(1) != 4 || bi.rank() != 1 || bi.dim(0) != rois.dim(0))
      fail(ctx, ErrorCode::kInvalidArgument, "expected X [N,C,H,W], rois [R,4] and batch_indices [R], got " +
                                                 x.describe() + ", " + rois.describe() + ", " + bi.describe());
    const std::vector<int64_t> batch = read_int_list(bi, ctx, "input 'batch_indices'");
    const int64_t r = rois.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3);
    for (int64_t b : batch)
      if (b < 0 || b >= x.dim(0))
        fail(ctx, ErrorCode::kInvalidArgument, "batch index " + std::to_string(b) + " is outside [0, " + std::to_string(x.dim(0)) + ")");
    std::vector<double> roi(static_cast<size_t>(rois.element_count()));
    visit_dtype(FloatHalfTypes{}, rois.dtype(), "input", [&](auto tag) {
      using R = typename decltype(tag)::type;
      for (size_t i = 0; i < roi.size(); ++i) roi[i] = static_cast<double>(to_compute(rois.data<R>()[i]));
    });
    visit_dtype(FloatHalfTypes{}, x.dtype(), "input", [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* px = x.data<T>();
      T* py = ctx.allocate_output(0, x.dtype(), {r, c, a_.out_h, a_.out_w}).template data<T>();
      ctx.thread_pool().parallel_for(r, static_cast<double>(c * a_.out_h * a_.out_w * 16), [&](int64_t r0, int64_t r1) {
        for (int64_t n = r0; n < r1; ++n) one_roi(px, py, n, roi.data() + n * 4, batch[static_cast<size_t>(n)], c, h, w);
      });
    });
  }

 private:
  struct Sample {
    int64_t pos[4];
    double wt[4];
  };

  template <typename T>
  void one_roi(const T* px, T* py, int64_t n, const double* box, int64_t b, int64_t c, int64_t h, int64_t w) const {
    const double off = a_.half_pixel ? 0.5 : 0.0, s = a_.spatial_scale;
    const double sw = box[0] * s - off, sh = box[1] * s - off, ew = box[2] * s - off, eh = box[3] * s - off;
    double rw = ew - sw, rh = eh - sh;
    if (!a_.half_pixel) {
      rw = std::max(rw, 1.0);
      rh = std::max(rh, 1.0);
    }
    const double bh = rh / static_cast<double>(a_.out_h), bw = rw / static_cast<double>(a_.out_w);
    // Samples per bin: sampling_ratio, or adaptive (ceil of the bin size).
    auto grid = [&](double extent, int64_t bins) {
      if (a_.sampling_ratio > 0) return a_.sampling_ratio;
      return static_cast<int64_t>(std::ceil(std::clamp(extent / static_cast<double>(bins), 0.0, 1e6)));
    };
    const int64_t gh = grid(rh, a_.out_h), gw = grid(rw, a_.out_w);
    if (gh * gw * a_.out_h * a_.out_w > (int64_t(1) << 26))
      throw Error(ErrorCode::kInvalidArgument, "roi " + std::to_string(n) + " needs " + std::to_string(gh * gw) +
                                                   " samples per bin; set sampling_ratio or check the roi coordinates");
    const double count = static_cast<double>(std::max<int64_t>(gh * gw, 1));
    std::vector<Sample> samples;
    for (int64_t ph = 0; ph < a_.out_h; ++ph)
      for (int64_t pw = 0; pw < a_.out_w; ++pw)
        for (int64_t iy = 0; iy < gh; ++iy)
          for (int64_t ix = 0; ix < gw; ++ix) {
            double y = sh + static_cast<double>(ph) * bh + (static_cast<double>(iy) + 0.5) * bh / static_cast<double>(gh);
            double xx = sw + static_cast<double>(pw) * bw + (static_cast<double>(ix) + 0.5) * bw / static_cast<double>(gw);
            Sample smp{};
            if (y < -1.0 || y > static_cast<double>(h) || xx < -1.0 || xx > static_cast<double>(w)) {
              samples.push_back(smp);
              continue;
            }
            y = std::max(y, 0.0);
            xx = std::max(xx, 0.0);
            int64_t yl = static_cast<int64_t>(y), xl = static_cast<int64_t>(xx), yh, xh;
            if (yl >= h - 1) {
              yh = yl = h - 1;
              y = static_cast<double>(yl);
            } else {
              yh = yl + 1;
            }
            if (xl >= w - 1) {
              xh = xl = w - 1;
              xx = static_cast<double>(xl);
            } else {
              xh = xl + 1;
            }
            const double ly = y - static_cast<double>(yl), lx = xx - static_cast<double>(xl), hy = 1 - ly, hx = 1 - lx;
            smp = {{yl * w + xl, yl * w + xh, yh * w + xl, yh * w + xh}, {hy * hx, hy * lx, ly * hx, ly * lx}};
            samples.push_back(smp);
          }
    const int64_t per_bin = gh * gw;
    for (int64_t ch = 0; ch < c; ++ch) {
      const T* plane = px + (b * c + ch) * h * w;
      T* out = py + (n * c + ch) * a_.out_h * a_.out_w;
      for (int64_t bin = 0; bin < a_.out_h * a_.out_w; ++bin) {
        double acc = 0;
        bool first = true;
        for (int64_t k = 0; k < per_bin; ++k) {
          const Sample& sp = samples[static_cast<size_t>(bin * per_bin + k)];
          if (a_.max_mode) {
            double v = sp.wt[0] * static_cast<double>(to_compute(plane[sp.pos[0]]));
            for (int j = 1; j < 4; ++j) v = std::max(v, sp.wt[j] * static_cast<double>(to_compute(plane[sp.pos[j]])));
            acc = first ? v : std::max(acc, v);
            first = false;
          } else {
            for (int j = 0; j < 4; ++j) acc += sp.wt[j] * static_cast<double>(to_compute(plane[sp.pos[j]]));
          }
        }
        out[bin] = from_compute<T>(a_.max_mode ? acc : acc / count);
      }
    }
  }

  RoiAlignAttributes a_;
};

}  // namespace

void register_roi_kernels(KernelRegistry& r) {
  r.add("RoiAlign", {10, 16, 22}, make_kernel<RoiAlign>, FloatHalfTypes::dtypes());
}

}  // namespace ferry::ep::cpu
