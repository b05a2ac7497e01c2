// Integer convolutions over any spatial rank: ConvInteger (int32 accumulation of
// (x - x_zero_point) * (w - w_zero_point)) and QLinearConv (the same plus an int32 bias,
// requantized with x_scale * w_scale / y_scale, w_scale and w_zero_point per tensor or per
// output channel). Per (image, group): im2col of the centered input, then an int32 GEMM.
// Where the CPU has VNNI, constant int8-representable weights (and, for QLinearConv, constant
// scales) run on oneDNN instead (int8_dnnl.h); these loops are the fallback and the tests' check.
#include <Eigen/Core>

#include "execution_providers/conv_pool_attributes.h"
#include "execution_providers/cpu/quantization/int8_dnnl.h"
#include "execution_providers/cpu/quantization/quant_common.h"

namespace ferry::ep::cpu {
namespace {

using IntMatrix = Eigen::Matrix<int32_t, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// t minus its zero point (scalar, or one per outer index of t when `per_channel`).
std::vector<int32_t> centered(const Tensor& t, const Tensor* zp, bool per_channel, const char* name) {
  if (t.dtype() != DataType::kUInt8 && t.dtype() != DataType::kInt8)
    throw Error(ErrorCode::kNotImplemented, std::string("input '") + name + "' must be int8 or uint8, got " + t.describe());
  const quant::Reader rt = quant::reader_for(t.dtype());
  const int64_t count = t.element_count();
  const int64_t channels = t.rank() > 0 ? t.dim(0) : 1;
  const int64_t per = channels > 0 ? count / channels : 0;
  quant::Reader rz = nullptr;
  if (zp) {
    if (zp->dtype() != t.dtype())
      throw Error(ErrorCode::kInvalidArgument, std::string("zero point of '") + name + "' " + zp->describe() +
                                                   " must have its type " + std::string(dtype_name(t.dtype())));
    if (zp->element_count() != 1 && !(per_channel && zp->rank() == 1 && zp->dim(0) == channels))
      throw Error(ErrorCode::kInvalidArgument, std::string("zero point of '") + name + "' " + zp->describe() +
                                                   (per_channel ? " must be a scalar or have one value per output channel"
                                                                : " must be a scalar"));
    rz = quant::reader_for(zp->dtype());
  }
  std::vector<int32_t> out(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) {
    const int32_t z = rz ? static_cast<int32_t>(rz(zp->raw_data(), zp->element_count() == 1 ? 0 : i / per)) : 0;
    out[static_cast<size_t>(i)] = static_cast<int32_t>(rt(t.raw_data(), i)) - z;
  }
  return out;
}

/// Integer convolution of centered x [N, C, in...] with centered w [M, C/group, k...]; returns
/// the int32 accumulator [N, M, out...] and sets out_shape.
std::vector<int32_t> integer_conv(const KernelContext& ctx, const ConvPoolAttributes& attrs, const Tensor& x,
                                  const std::vector<int32_t>& xc, const Tensor& w, const std::vector<int32_t>& wc,
                                  std::vector<int64_t>& out_shape) {
  if (x.rank() < 3 || w.rank() != x.rank())
    throw Error(ErrorCode::kInvalidArgument, "inputs x " + x.describe() + " and w " + w.describe() +
                                                 " must have the same rank >= 3");
  const int64_t n = x.dim(0), c = x.dim(1), m = w.dim(0), group = attrs.group;
  if (c % group != 0 || m % group != 0 || w.dim(1) * group != c)
    throw Error(ErrorCode::kInvalidArgument, "x " + x.describe() + " and w " + w.describe() + " disagree with group " +
                                                 std::to_string(group));
  const std::vector<int64_t> in(x.shape().begin() + 2, x.shape().end());
  std::vector<int64_t> kernel(w.shape().begin() + 2, w.shape().end());
  if (!attrs.kernel_shape.empty() && attrs.kernel_shape != kernel)
    throw Error(ErrorCode::kInvalidArgument, "attribute 'kernel_shape' disagrees with w " + w.describe());
  const SpatialGeometry g = resolve_geometry(attrs, in, kernel, false, ctx.node());
  out_shape = {n, m};
  out_shape.insert(out_shape.end(), g.out.begin(), g.out.end());
  const int64_t cg = c / group, mg = m / group, ksize = g.kernel_size(), osize = g.out_size(), isize = g.in_size();
  const int64_t rows = cg * ksize;
  const size_t nd = in.size();
  std::vector<int32_t> out(static_cast<size_t>(n * m * osize));
  ctx.thread_pool().parallel_for(n * group, static_cast<double>(rows * osize * mg), [&](int64_t begin, int64_t end) {
    IntMatrix col(rows, osize);
    std::vector<int64_t> kidx(nd), oidx(nd);
    for (int64_t task = begin; task < end; ++task) {
      const int64_t img = task / group, grp = task % group;
      const int32_t* xg = xc.data() + (img * c + grp * cg) * isize;
      for (int64_t r = 0; r < rows; ++r) {
        const int64_t ch = r / ksize;
        int64_t kr = r % ksize;
        for (size_t d = nd; d-- > 0;) {
          kidx[d] = kr % g.kernel[d];
          kr /= g.kernel[d];
        }
        std::fill(oidx.begin(), oidx.end(), 0);
        for (int64_t o = 0; o < osize; ++o) {
          int64_t off = 0;
          bool inside = true;
          for (size_t d = 0; d < nd; ++d) {
            const int64_t pos = oidx[d] * g.stride[d] - g.pad_begin[d] + kidx[d] * g.dilation[d];
            if (pos < 0 || pos >= g.in[d]) { inside = false; break; }
            off = off * g.in[d] + pos;
          }
          col(r, o) = inside ? xg[ch * isize + off] : 0;
          for (size_t d = nd; d-- > 0;) {
            if (++oidx[d] < g.out[d]) break;
            oidx[d] = 0;
          }
        }
      }
      Eigen::Map<const IntMatrix> wm(wc.data() + grp * mg * rows, mg, rows);
      Eigen::Map<IntMatrix> om(out.data() + (img * m + grp * mg) * osize, mg, osize);
      om.noalias() = wm * col;
    }
  });
  return out;
}

class ConvInteger final : public Kernel {
 public:
  explicit ConvInteger(const KernelInfo& info) : attrs_(info.node()), dnnl_(DnnlInt8Conv::create(info, attrs_, false)) {}

  void compute(KernelContext& ctx) const override {
    if (dnnl_) return dnnl_->run(ctx);
    const Tensor& x = ctx.required_input(0);
    const Tensor& w = ctx.required_input(1);
    const std::vector<int32_t> xc = centered(x, ctx.input(2), false, "x");
    const std::vector<int32_t> wc = centered(w, ctx.input(3), true, "w");
    std::vector<int64_t> shape;
    const std::vector<int32_t> acc = integer_conv(ctx, attrs_, x, xc, w, wc, shape);
    Tensor& y = ctx.allocate_output(0, DataType::kInt32, shape);
    std::copy(acc.begin(), acc.end(), y.data<int32_t>());
  }

 private:
  ConvPoolAttributes attrs_;
  std::unique_ptr<DnnlInt8Conv> dnnl_;  // null: the loops above
};

class QLinearConv final : public Kernel {
 public:
  explicit QLinearConv(const KernelInfo& info) : attrs_(info.node()), dnnl_(DnnlInt8Conv::create(info, attrs_, true)) {}

  void compute(KernelContext& ctx) const override {
    if (dnnl_) return dnnl_->run(ctx);
    const Tensor& x = ctx.required_input(0);
    const Tensor& x_scale = ctx.required_input(1);
    const Tensor& w = ctx.required_input(3);
    const Tensor& w_scale = ctx.required_input(4);
    const Tensor& y_scale = ctx.required_input(6);
    const Tensor* y_zp = ctx.input(7);
    const Tensor* bias = ctx.input(8);
    const std::vector<int32_t> xc = centered(x, ctx.input(2), false, "x");
    const std::vector<int32_t> wc = centered(w, ctx.input(5), true, "w");
    std::vector<int64_t> shape;
    const std::vector<int32_t> acc = integer_conv(ctx, attrs_, x, xc, w, wc, shape);
    const int64_t m = shape[1], osize = product(shape, 2, shape.size());
    if (bias && (bias->dtype() != DataType::kInt32 || bias->element_count() != m))
      throw Error(ErrorCode::kInvalidArgument, "input 'B' " + bias->describe() + " must be int32 with " +
                                                   std::to_string(m) + " values");
    const quant::Reader rx = quant::reader_for(x_scale.dtype()), rw = quant::reader_for(w_scale.dtype()),
                        ry = quant::reader_for(y_scale.dtype());
    if (!rx || !rw || !ry || !dtype_is_float(x_scale.dtype()))
      throw Error(ErrorCode::kNotImplemented, "scales must be float");
    if (x_scale.element_count() != 1 || y_scale.element_count() != 1 || (y_zp && y_zp->element_count() != 1))
      throw Error(ErrorCode::kInvalidArgument, "x_scale, y_scale and y_zero_point must be scalars, got " +
                                                   x_scale.describe() + ", " + y_scale.describe());
    if (w_scale.element_count() != 1 && w_scale.element_count() != m)
      throw Error(ErrorCode::kInvalidArgument, "w_scale " + w_scale.describe() + " must be a scalar or have " +
                                                   std::to_string(m) + " values (one per output channel)");
    const DataType out_dt = y_zp ? y_zp->dtype() : x.dtype();
    int64_t lo = 0, hi = 0;
    if (!quant::int_range(out_dt, lo, hi) || (out_dt != DataType::kUInt8 && out_dt != DataType::kInt8))
      throw Error(ErrorCode::kNotImplemented, "output type " + std::string(dtype_name(out_dt)) + " is not int8 or uint8");
    const DataType st = x_scale.dtype();
    std::vector<double> mult(static_cast<size_t>(m));
    for (int64_t j = 0; j < m; ++j) {
      const double xw = quant::round_to(st, rx(x_scale.raw_data(), 0) *
                                                rw(w_scale.raw_data(), w_scale.element_count() == 1 ? 0 : j));
      mult[static_cast<size_t>(j)] = quant::round_to(st, xw / ry(y_scale.raw_data(), 0));
    }
    const double z = y_zp ? quant::reader_for(y_zp->dtype())(y_zp->raw_data(), 0) : 0.0;
    Tensor& y = ctx.allocate_output(0, out_dt, shape);
    void* py = y.raw_data();
    for (size_t i = 0; i < acc.size(); ++i) {
      const int64_t ch = static_cast<int64_t>(i) / osize % m;
      const int32_t b = bias ? bias->data<int32_t>()[ch] : 0;
      quant::write_int(out_dt, py, static_cast<int64_t>(i),
                       quant::round_clamp((static_cast<double>(acc[i]) + b) * mult[static_cast<size_t>(ch)] + z, lo, hi));
    }
  }

 private:
  ConvPoolAttributes attrs_;
  std::unique_ptr<DnnlInt8Conv> dnnl_;  // null: the loops above
};

const std::vector<DataType> kInt8Types = {DataType::kInt8, DataType::kUInt8};

}  // namespace

void register_conv_integer_kernels(KernelRegistry& r) {
  r.add("ConvInteger", {10}, make_kernel<ConvInteger>, kInt8Types);
  r.add("QLinearConv", {10}, make_kernel<QLinearConv>, kInt8Types);
}

}  // namespace ferry::ep::cpu
