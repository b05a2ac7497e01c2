// Conv for any number of spatial dims (1-D/2-D/3-D...), groups (depthwise included), strides,
// dilations, explicit pads or auto_pad, optional bias. Per (image, group): im2col into a
// scratch buffer (skipped for 1x1, stride-1, unpadded convs) and one Eigen GEMM
//   Y_g [M/g, out] = W_g [M/g, C/g * k] * col [C/g * k, out].
// Many (image, group) pairs run as parallel tasks; few are parallelised inside instead
// (im2col over rows, GEMM over column blocks). 2-D depthwise convs (one input and one output
// channel per group) skip im2col and GEMM and run a direct loop over in-bounds windows.
// float16 and bfloat16 run through float and round once. conv_forward (fused/conv_gemm_compute.h)
// is the whole computation; ferry.FusedConv falls back to it too and then finishes the output.
// The Conv kernel runs float on oneDNN instead (dnnl/conv_dnnl.h) and keeps this path for double,
// float16, bfloat16 and what oneDNN does not take (4+ spatial dims).
#include <Eigen/Core>

#include "execution_providers/conv_pool_attributes.h"
#include "execution_providers/cpu/common.h"
#include "execution_providers/cpu/dnnl/conv_dnnl.h"
#include "execution_providers/cpu/families.h"
#include "execution_providers/cpu/fused/conv_gemm_compute.h"
#include "execution_providers/cpu/nn/float_compute.h"
#include "execution_providers/cpu/nn/window.h"

namespace ferry::ep::cpu {
namespace {

/// Fills rows [row_begin, row_end) of the im2col matrix for one image and one group: row r is
/// (channel r / kernel_size, kernel offset r % kernel_size); columns are output positions.
template <typename T>
void im2col(const T* x, const SpatialGeometry& g, T* col, int64_t row_begin, int64_t row_end) {
  const size_t nd = g.in.size();
  const int64_t ksize = g.kernel_size(), out_size = g.out_size(), in_size = g.in_size();
  const int64_t out_last = g.out[nd - 1], in_last = g.in[nd - 1];
  const int64_t s_last = g.stride[nd - 1];
  std::vector<int64_t> kidx(nd), oidx(nd);
  for (int64_t r = row_begin; r < row_end; ++r) {
    const T* xc = x + (r / ksize) * in_size;
    int64_t rem = r % ksize;
    for (size_t d = nd; d-- > 0;) {
      kidx[d] = rem % g.kernel[d];
      rem /= g.kernel[d];
    }
    T* dst = col + r * out_size;
    const int64_t lines = out_size / out_last;
    std::fill(oidx.begin(), oidx.end(), 0);
    const int64_t off_last = kidx[nd - 1] * g.dilation[nd - 1] - g.pad_begin[nd - 1];
    for (int64_t line = 0; line < lines; ++line) {
      // Input offset of this output line, or -1 when it lies in the padding.
      int64_t base = 0;
      bool inside = true;
      for (size_t d = 0; d + 1 < nd; ++d) {
        const int64_t i = oidx[d] * g.stride[d] + kidx[d] * g.dilation[d] - g.pad_begin[d];
        if (i < 0 || i >= g.in[d]) inside = false;
        base = base * g.in[d] + i;
      }
      T* out_line = dst + line * out_last;
      if (!inside) {
        std::fill(out_line, out_line + out_last, T(0));
      } else {
        const T* in_line = xc + base * in_last;
        for (int64_t o = 0; o < out_last; ++o) {
          const int64_t i = o * s_last + off_last;
          out_line[o] = (i >= 0 && i < in_last) ? in_line[i] : T(0);
        }
      }
      for (size_t d = nd - 1; d-- > 0;) {
        if (++oidx[d] < g.out[d]) break;
        oidx[d] = 0;
      }
    }
  }
}

template <typename T> Tensor to_float_tensor(const Tensor& t) {
  Tensor out = Tensor::empty(DataType::kFloat, t.shape());
  const T* src = t.data<T>();
  float* dst = out.data<float>();
  for (int64_t i = 0; i < t.element_count(); ++i) dst[i] = to_float(src[i]);
  return out;
}

template <typename T>
void run_conv(KernelContext& ctx, const ConvPoolAttributes& attrs, const T* x, const T* w, const T* bias, T* y,
              const SpatialGeometry& g, int64_t n, int64_t c, int64_t m) {
  using Mat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  const int64_t groups = attrs.group, cg = c / groups, mg = m / groups;
  const int64_t ksize = g.kernel_size(), out_size = g.out_size(), in_size = g.in_size();
  const int64_t rows = cg * ksize;  // im2col rows = GEMM inner dim
  bool direct = true;  // 1x1, stride 1, no padding: X itself is the col matrix
  for (size_t d = 0; d < g.in.size(); ++d)
    direct = direct && g.kernel[d] == 1 && g.stride[d] == 1 && g.pad_begin[d] == 0 && g.pad_end[d] == 0;
  const auto& pool = ctx.thread_pool();
  const double gemm_cost = static_cast<double>(mg * rows * out_size);

  // One (image, group) pair, with `col` scratch of rows * out_size (unused when direct).
  auto one = [&](int64_t task, T* col, bool inner_parallel) {
    const int64_t img = task / groups, grp = task % groups;
    const T* xg = x + (img * c + grp * cg) * in_size;
    T* yg = y + (img * m + grp * mg) * out_size;
    const T* src = xg;
    if (!direct) {
      if (inner_parallel)
        pool.parallel_for(rows, static_cast<double>(out_size) * 2,
                          [&](int64_t r0, int64_t r1) { im2col(xg, g, col, r0, r1); });
      else
        im2col(xg, g, col, 0, rows);
      src = col;
    }
    Eigen::Map<const Mat> wm(w + grp * mg * rows, mg, rows);
    Eigen::Map<const Mat> cm(src, rows, out_size);
    Eigen::Map<Mat> ym(yg, mg, out_size);
    auto columns = [&](int64_t c0, int64_t c1) {
      ym.middleCols(c0, c1 - c0).noalias() = wm * cm.middleCols(c0, c1 - c0);
      if (bias != nullptr)
        for (int64_t i = 0; i < mg; ++i) ym.row(i).segment(c0, c1 - c0).array() += bias[grp * mg + i];
    };
    if (inner_parallel)
      pool.parallel_for(out_size, static_cast<double>(mg * rows), columns);
    else
      columns(0, out_size);
  };

  if (cg == 1 && mg == 1 && g.in.size() == 2) {
    const auto rows_r = window_ranges(g, 0), cols_r = window_ranges(g, 1);
    const int64_t kh = g.kernel[0], kw = g.kernel[1], dh = g.dilation[0], dw = g.dilation[1], w_in = g.in[1];
    pool.parallel_for(n * c, static_cast<double>(out_size * ksize), [&](int64_t p0, int64_t p1) {
      for (int64_t p = p0; p < p1; ++p) {
        const int64_t ch = p % c;
        const T* xp = x + p * in_size;
        const T* wp = w + ch * kh * kw;
        T* yp = y + p * out_size;
        const T b = bias != nullptr ? bias[ch] : T(0);
        for (const WindowRange& rh : rows_r)
          for (const WindowRange& rw : cols_r) {
            T sum = b;
            for (int64_t i = rh.lo; i < rh.hi; ++i) {
              const T* row = xp + (rh.start + i * dh) * w_in + rw.start;
              const T* wrow = wp + i * kw;
              for (int64_t j = rw.lo; j < rw.hi; ++j) sum += row[j * dw] * wrow[j];
            }
            *yp++ = sum;
          }
      }
    });
    return;
  }

  const int64_t tasks = n * groups;
  const size_t col_elems = direct ? 0 : static_cast<size_t>(rows * out_size);
  if (tasks >= 2 * static_cast<int64_t>(std::max(1, pool.num_threads())) || tasks * gemm_cost < 65536) {
    pool.parallel_for(tasks, gemm_cost, [&](int64_t t0, int64_t t1) {
      std::vector<T> col(col_elems);
      for (int64_t t = t0; t < t1; ++t) one(t, col.data(), false);
    });
  } else {
    std::vector<T> col(col_elems);
    for (int64_t t = 0; t < tasks; ++t) one(t, col.data(), true);
  }
}

}  // namespace

Tensor& conv_forward(KernelContext& ctx, const ConvPoolAttributes& attrs, const Tensor& x, const Tensor& w,
                     const Tensor* b) {
  if (x.rank() < 3 || w.rank() != x.rank() || w.dtype() != x.dtype())
    fail(ctx, ErrorCode::kInvalidArgument,
         "X and W must have the same rank >= 3 and element type, got X " + x.describe() + ", W " +
             w.describe());
  const int64_t n = x.dim(0), c = x.dim(1), m = w.dim(0), groups = attrs.group;
  if (c % groups != 0 || m % groups != 0 || w.dim(1) != c / groups)
    fail(ctx, ErrorCode::kInvalidArgument,
         "channels do not match: X " + x.describe() + ", W " + w.describe() + ", group " +
             std::to_string(groups) + " (need W.shape[1] == C / group and M % group == 0)");
  if (b != nullptr && (b->element_count() != m || b->dtype() != x.dtype()))
    fail(ctx, ErrorCode::kInvalidArgument, "bias must have " + std::to_string(m) + " elements, got " + b->describe());
  const std::vector<int64_t> in(x.shape().begin() + 2, x.shape().end());
  std::vector<int64_t> kernel(w.shape().begin() + 2, w.shape().end());
  if (!attrs.kernel_shape.empty() && attrs.kernel_shape != kernel)
    fail(ctx, ErrorCode::kInvalidArgument, "kernel_shape " + shape_to_string(attrs.kernel_shape) +
                                               " disagrees with W " + w.describe());
  const SpatialGeometry g = resolve_geometry(attrs, in, kernel, false, ctx.node());
  std::vector<int64_t> y_shape = {n, m};
  y_shape.insert(y_shape.end(), g.out.begin(), g.out.end());

  Tensor& y = ctx.allocate_output(0, x.dtype(), y_shape);
  if (y.element_count() == 0) return y;
  visit_dtype(FloatHalfTypes{}, x.dtype(), "input", [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (kIsHalf<T>) {
      // float16 / bfloat16: convert to float, compute, round the result once.
      const Tensor xf = to_float_tensor<T>(x), wf = to_float_tensor<T>(w);
      const Tensor bf = b ? to_float_tensor<T>(*b) : Tensor();
      Tensor yf = Tensor::empty(DataType::kFloat, y_shape);
      run_conv<float>(ctx, attrs, xf.data<float>(), wf.data<float>(), b ? bf.data<float>() : nullptr,
                      yf.data<float>(), g, n, c, m);
      const float* src = yf.data<float>();
      T* dst = y.data<T>();
      for (int64_t i = 0; i < y.element_count(); ++i) dst[i] = from_compute<T>(src[i]);
    } else {
      run_conv<T>(ctx, attrs, x.data<T>(), w.data<T>(), b ? b->data<T>() : nullptr, y.data<T>(), g, n, c, m);
    }
  });
  return y;
}

namespace {

/// float Conv runs on oneDNN (dnnl/conv_dnnl.h, weights prepacked when constant); other types,
/// and shapes oneDNN does not take, run conv_forward.
class Conv final : public Kernel {
 public:
  explicit Conv(const KernelInfo& info) : attrs_(info.node()), dnnl_(DnnlConv::create(info, attrs_, {}, false)) {}

  void compute(KernelContext& ctx) const override {
    const Tensor* b = ctx.input_count() > 2 ? ctx.input(2) : nullptr;
    if (b != nullptr && !b->defined()) b = nullptr;
    const Tensor& x = ctx.required_input(0);
    const Tensor& w = ctx.required_input(1);
    if (dnnl_ != nullptr && dnnl_->run(ctx, x, w, b, nullptr) != nullptr) return;
    conv_forward(ctx, attrs_, x, w, b);
  }

 private:
  ConvPoolAttributes attrs_;
  std::unique_ptr<DnnlConv> dnnl_;
};

}  // namespace

void register_conv_kernels(KernelRegistry& r) {
  r.add("Conv", {1, 11, 22}, make_kernel<Conv>, FloatHalfTypes::dtypes());
}

}  // namespace ferry::ep::cpu
