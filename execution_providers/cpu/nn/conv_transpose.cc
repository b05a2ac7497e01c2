// ConvTranspose for any number of spatial dims with groups, strides, dilations, pads,
// output_padding, output_shape and auto_pad. Float runs on oneDNN deconvolution (dnnl/deconv_dnnl.h,
// W prepacked when constant) or on sgemm + col2im (conv_transpose_gemm.h), see prefer_dnnl; double
// and the half types per (image, group) one Eigen GEMM
//   col [M/g * k, in] = W_g^T [M/g * k, C/g] * X_g [C/g, in]
// and a col2im scatter-add of col into Y.
#include <Eigen/Core>

#include "execution_providers/conv_pool_attributes.h"
#include "execution_providers/cpu/common.h"
#include "execution_providers/cpu/dnnl/deconv_dnnl.h"
#include "execution_providers/cpu/nn/conv_transpose_gemm.h"
#include "execution_providers/cpu/nn/float_compute.h"
#include "execution_providers/cpu/nn/nn_ext.h"

namespace ferry::ep::cpu {
namespace {

struct ConvTransposeAttributes {
  ConvPoolAttributes base;               // kernel_shape strides pads dilations auto_pad group
  std::vector<int64_t> output_padding;   // "output_padding": 0s
  std::vector<int64_t> output_shape;     // "output_shape": computed when absent
  explicit ConvTransposeAttributes(const ir::Node& n)
      : base(n), output_padding(n.get_ints("output_padding")), output_shape(n.get_ints("output_shape")) {}
};

using TransposeGeometry = DeconvGeometry;

TransposeGeometry geometry(const ConvTransposeAttributes& attrs, const std::vector<int64_t>& x_shape,
                           const std::vector<int64_t>& w_shape);

class ConvTranspose final : public Kernel {
 public:
  explicit ConvTranspose(const KernelInfo& info) : attrs_(info.node()) {
    const Tensor* wc = info.constant_input(1);
    if (wc == nullptr || prefer_dnnl(wc->shape())) dnnl_ = DnnlDeconv::create(info, attrs_.base.group, [attrs = attrs_](const std::vector<int64_t>& x,
                                                                         const std::vector<int64_t>& w) {
      return geometry(attrs, x, w);
    });
  }

  void compute(KernelContext& ctx) const override {
    const Tensor& x = ctx.required_input(0);
    const Tensor& w = ctx.required_input(1);
    const Tensor* b = ctx.input_count() > 2 ? ctx.input(2) : nullptr;
    if (b != nullptr && !b->defined()) b = nullptr;
    if (x.rank() < 3 || w.rank() != x.rank() || w.dtype() != x.dtype())
      fail(ctx, ErrorCode::kInvalidArgument, "X and W must have the same rank >= 3 and element type, got X " +
                                                 x.describe() + ", W " + w.describe());
    const int64_t groups = attrs_.base.group, n = x.dim(0), c = x.dim(1);
    if (w.dim(0) != c || c % groups != 0)
      fail(ctx, ErrorCode::kInvalidArgument, "W " + w.describe() + " must have X's " + std::to_string(c) +
                                                 " channels first, divisible by group " + std::to_string(groups));
    const int64_t mg = w.dim(1), m = mg * groups, cg = c / groups;
    if (b != nullptr && (b->element_count() != m || b->dtype() != x.dtype()))
      fail(ctx, ErrorCode::kInvalidArgument, "bias must have " + std::to_string(m) + " elements, got " + b->describe());
    const TransposeGeometry g = geometry(attrs_, x.shape(), w.shape());
    std::vector<int64_t> y_shape = {n, m};
    y_shape.insert(y_shape.end(), g.out.begin(), g.out.end());
    if (x.dtype() == DataType::kFloat) {
      const bool packed = dnnl_ != nullptr && dnnl_->weights_prepacked();
      if ((packed || (dnnl_ != nullptr && prefer_dnnl(w.shape()))) && dnnl_->run(ctx, x, w, b, g) != nullptr) return;
      // oneDNN declined: W (and B) it holds prepacked, back in plain layout.
      const std::vector<float> plain_w = packed ? dnnl_->plain_weights() : std::vector<float>{};
      const float* pb = b == nullptr ? nullptr : packed && dnnl_->bias_prepacked() ? dnnl_->bias().data() : b->data<float>();
      Tensor& y = ctx.allocate_output(0, x.dtype(), y_shape);
      if (y.element_count() > 0)
        conv_transpose_gemm(ctx, x.data<float>(), packed ? plain_w.data() : w.data<float>(), pb, y.data<float>(), n, c,
                            groups, mg, g);
      return;
    }
    visit_dtype(FloatHalfTypes{}, x.dtype(), "input", [&](auto tag) {
      using S = typename decltype(tag)::type;  // storage type; half types compute in float
      using T = compute_t<S>;
      using Mat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
      Tensor& y = ctx.allocate_output(0, x.dtype(), y_shape);
      if (y.element_count() == 0) return;
      const size_t nd = g.in.size();
      const int64_t in_size = product(g.in), out_size = product(g.out), ksize = product(g.kernel);
      std::vector<T> xs, ws, bs, ys;
      auto widen = [](const Tensor& t, std::vector<T>& v) {
        v.resize(static_cast<size_t>(t.element_count()));
        for (size_t i = 0; i < v.size(); ++i) v[i] = to_compute(t.data<S>()[i]);
        return v.data();
      };
      const T* px;
      const T* pw;
      const T* pb = nullptr;
      T* py;
      if constexpr (kIsHalf<S>) {
        px = widen(x, xs);
        pw = widen(w, ws);
        if (b != nullptr) pb = widen(*b, bs);
        ys.resize(static_cast<size_t>(y.element_count()));
        py = ys.data();
      } else {
        px = x.data<T>();
        pw = w.data<T>();
        pb = b != nullptr ? b->data<T>() : nullptr;
        py = y.data<T>();
      }
      ctx.thread_pool().parallel_for(n * groups, static_cast<double>(mg * ksize * in_size * cg),
                                     [&](int64_t t0, int64_t t1) {
        Mat col(mg * ksize, in_size);
        std::vector<int64_t> kidx(nd), iidx(nd);
        for (int64_t t = t0; t < t1; ++t) {
          const int64_t img = t / groups, grp = t % groups;
          Eigen::Map<const Mat> wm(pw + grp * cg * mg * ksize, cg, mg * ksize);
          Eigen::Map<const Mat> xm(px + (img * c + grp * cg) * in_size, cg, in_size);
          col.noalias() = wm.transpose() * xm;
          T* yg = py + (img * m + grp * mg) * out_size;
          for (int64_t oc = 0; oc < mg; ++oc) {
            T* yc = yg + oc * out_size;
            const T bias = pb != nullptr ? pb[grp * mg + oc] : T(0);
            std::fill(yc, yc + out_size, bias);
            for (int64_t k = 0; k < ksize; ++k) {
              int64_t rem = k;
              for (size_t d = nd; d-- > 0;) {
                kidx[d] = rem % g.kernel[d];
                rem /= g.kernel[d];
              }
              const T* src = col.data() + (oc * ksize + k) * in_size;
              std::fill(iidx.begin(), iidx.end(), 0);
              for (int64_t i = 0; i < in_size; ++i) {
                int64_t off = 0;
                bool inside = true;
                for (size_t d = 0; d < nd; ++d) {
                  const int64_t o = iidx[d] * g.stride[d] + kidx[d] * g.dilation[d] - g.pad_begin[d];
                  if (o < 0 || o >= g.out[d]) {
                    inside = false;
                    break;
                  }
                  off = off * g.out[d] + o;
                }
                if (inside) yc[off] += src[i];
                for (size_t d = nd; d-- > 0;) {
                  if (++iidx[d] < g.in[d]) break;
                  iidx[d] = 0;
                }
              }
            }
          }
        }
      });
      if constexpr (kIsHalf<S>)
        for (size_t i = 0; i < ys.size(); ++i) y.data<S>()[i] = from_compute<S>(ys[i]);
    });
  }

 private:
  /// oneDNN's deconvolution for ungrouped overlapping kernels (some kernel dim > its stride; with
  /// stride 1 it is a direct convolution); sgemm + col2im (conv_transpose_gemm.h) for the rest,
  /// where it measured faster (kernel == stride upsampling, grouped / depthwise).
  bool prefer_dnnl(const std::vector<int64_t>& w_shape) const {
    if (attrs_.base.group != 1 || w_shape.size() < 3) return false;
    for (size_t d = 2; d < w_shape.size(); ++d) {
      const size_t i = d - 2;
      const int64_t stride = i < attrs_.base.strides.size() ? attrs_.base.strides[i] : 1;
      if (w_shape[d] > stride) return true;
    }
    return false;
  }

  ConvTransposeAttributes attrs_;
  std::unique_ptr<DnnlDeconv> dnnl_;  // null: the Eigen kernel below serves every call
};


TransposeGeometry geometry(const ConvTransposeAttributes& attrs, const std::vector<int64_t>& x_shape,
                           const std::vector<int64_t>& w_shape) {
  const ConvPoolAttributes& a = attrs.base;
  const size_t nd = x_shape.size() - 2;
  TransposeGeometry g;
  g.in.assign(x_shape.begin() + 2, x_shape.end());
  g.kernel.assign(w_shape.begin() + 2, w_shape.end());
  if (!a.kernel_shape.empty() && a.kernel_shape != g.kernel)
    throw Error(ErrorCode::kInvalidArgument, "kernel_shape " + shape_to_string(a.kernel_shape) + " disagrees with W " +
                                               shape_to_string(w_shape));
  auto list = [&](const std::vector<int64_t>& v, size_t count, int64_t dflt, const char* name) {
    if (v.empty()) return std::vector<int64_t>(count, dflt);
    if (v.size() != count)
      throw Error(ErrorCode::kInvalidArgument, std::string("'") + name + "' has " + std::to_string(v.size()) +
                                                 " values, expected " + std::to_string(count));
    return v;
  };
  g.stride = list(a.strides, nd, 1, "strides");
  g.dilation = list(a.dilations, nd, 1, "dilations");
  const std::vector<int64_t> pads = list(a.auto_pad == AutoPad::kNotSet ? a.pads : std::vector<int64_t>{}, 2 * nd, 0, "pads");
  const std::vector<int64_t> opad = list(attrs.output_padding, nd, 0, "output_padding");
  std::vector<int64_t> oshape = attrs.output_shape;
  if (oshape.size() == nd + 2) oshape.erase(oshape.begin(), oshape.begin() + 2);
  if (!oshape.empty() && oshape.size() != nd)
    throw Error(ErrorCode::kInvalidArgument, "'output_shape' has " + std::to_string(attrs.output_shape.size()) +
                                               " values, expected " + std::to_string(nd));
  g.pad_begin.assign(nd, 0);
  g.out.assign(nd, 0);
  for (size_t d = 0; d < nd; ++d) {
    if (g.stride[d] < 1 || g.dilation[d] < 1)
      throw Error(ErrorCode::kInvalidArgument, "strides and dilations must be >= 1");
    const int64_t eff = (g.kernel[d] - 1) * g.dilation[d] + 1;
    const int64_t full = g.stride[d] * (g.in[d] - 1) + opad[d] + eff;
    const bool same = a.auto_pad == AutoPad::kSameUpper || a.auto_pad == AutoPad::kSameLower;
    if (!oshape.empty() || same) {
      const int64_t target = !oshape.empty() ? oshape[d] : g.in[d] * g.stride[d];
      // Negative total padding (a larger output_shape) grows the output at the end.
      const int64_t total = std::max<int64_t>(0, full - target);
      g.pad_begin[d] = a.auto_pad == AutoPad::kSameUpper ? total / 2 : total - total / 2;
      g.out[d] = target;
    } else {
      g.pad_begin[d] = pads[d];
      g.out[d] = full - pads[d] - pads[d + nd];
    }
    if (g.out[d] < 0)
      throw Error(ErrorCode::kInvalidArgument, "output spatial dim " + std::to_string(d) + " would be " +
                                                 std::to_string(g.out[d]) + " for X " + shape_to_string(x_shape));
  }
  return g;
}

}  // namespace

void register_conv_transpose_kernels(KernelRegistry& r) {
  r.add("ConvTranspose", {1, 11, 22}, make_kernel<ConvTranspose>, FloatHalfTypes::dtypes());
}

}  // namespace ferry::ep::cpu
