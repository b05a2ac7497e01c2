// QuantizeLinear and DequantizeLinear at every granularity the spec has: per tensor (scalar
// scale), per axis (1-D scale along `axis`) and blocked (opset 21+: the scale has x's shape
// with ceil(D/block_size) along `axis`). Quantized types: 8/16-bit ints, int32 (dequantize),
// packed int4/uint4/int2/uint2, the float8 formats and float4e2m1; scales float, float16,
// bfloat16 (and float8e8m0 from opset 24). Division rounds to the precision the spec names
// (the scale's type, numpy's promotion of x and scale, or the `precision` attribute), then
// rounds half to even and saturates.
#include "execution_providers/cpu/quantization/quant_common.h"
#include "execution_providers/cpu/quantization/quantize_fast.h"

namespace ferry::ep::cpu {
namespace {

using quant::Reader;

/// Where the scale / zero point of each element lies: x is viewed as [outer, dim, inner] around
/// `axis`; per-tensor uses index 0, per-axis the index along dim, blocked (o, a / block, i).
struct QuantLayout {
  enum Mode { kTensor, kAxis, kBlocked } mode = kTensor;
  int64_t outer = 1, dim = 1, inner = 1, block = 0, scale_dim = 1;

  int64_t param_index(int64_t o, int64_t a, int64_t i) const {
    switch (mode) {
      case kTensor: return 0;
      case kAxis: return a;
      default: return (o * scale_dim + a / block) * inner + i;
    }
  }
};

QuantLayout make_layout(const Tensor& x, const Tensor& scale, const Tensor* zero_point, int64_t axis_attr,
                        int64_t block_size, const char* scale_name) {
  QuantLayout l;
  const std::string sname = scale_name;
  if (zero_point && zero_point->shape() != scale.shape() &&
      !(zero_point->element_count() == 1 && scale.element_count() == 1))
    throw Error(ErrorCode::kInvalidArgument, "zero point " + zero_point->describe() + " must have the shape of " +
                                                 sname + " " + scale.describe());
  const auto& xs = x.shape();
  const int64_t rank = static_cast<int64_t>(xs.size());
  if (block_size < 0)
    throw Error(ErrorCode::kInvalidArgument, "attribute 'block_size' must be >= 0, got " + std::to_string(block_size));
  if (block_size == 0 && (scale.rank() == 0 || (scale.rank() == 1 && scale.element_count() == 1))) {
    l.inner = x.element_count();
    return l;
  }
  if (rank == 0)
    throw Error(ErrorCode::kInvalidArgument, sname + " " + scale.describe() + " must be a scalar for a scalar input");
  if (axis_attr < -rank || axis_attr >= rank)
    throw Error(ErrorCode::kInvalidArgument, "attribute 'axis' " + std::to_string(axis_attr) +
                                                 " is out of range for input " + x.describe());
  const int64_t axis = axis_attr < 0 ? axis_attr + rank : axis_attr;
  const size_t ax = static_cast<size_t>(axis);
  l.outer = product(xs, 0, ax);
  l.dim = xs[ax];
  l.inner = product(xs, ax + 1, xs.size());
  if (block_size == 0) {
    if (scale.rank() != 1 || scale.dim(0) != l.dim)
      throw Error(ErrorCode::kInvalidArgument,
                  sname + " " + scale.describe() + " must be a scalar or a 1-D tensor of length " +
                      std::to_string(l.dim) + " (input " + x.describe() + " along axis " + std::to_string(axis) + ")");
    l.mode = QuantLayout::kAxis;
    return l;
  }
  bool ok = static_cast<int64_t>(scale.rank()) == rank;
  for (size_t d = 0; ok && d < xs.size(); ++d) {
    if (d == ax) ok = scale.dim(d) == (xs[d] + block_size - 1) / block_size;
    else ok = scale.dim(d) == xs[d];
  }
  if (!ok)
    throw Error(ErrorCode::kInvalidArgument,
                "blocked quantization with block_size " + std::to_string(block_size) + " along axis " +
                    std::to_string(axis) + " of input " + x.describe() + " needs " + sname +
                    " of the input's shape with ceil(" + std::to_string(l.dim) + "/" + std::to_string(block_size) +
                    ") on that axis, got " + scale.describe());
  l.mode = QuantLayout::kBlocked;
  l.block = block_size;
  l.scale_dim = scale.dim(ax);
  return l;
}

Reader require_reader(const Tensor& t, const char* name) {
  Reader r = quant::reader_for(t.dtype());
  if (!r)
    throw Error(ErrorCode::kNotImplemented, std::string("input '") + name + "' has unsupported element type " +
                                                std::string(dtype_name(t.dtype())));
  return r;
}

/// Runs fn(begin, end) over rows [0, outer*dim); serially when the output is packed (two
/// elements share a byte).
template <typename F>
void for_rows(const KernelContext& ctx, const QuantLayout& l, bool packed, F&& fn) {
  const int64_t rows = l.outer * l.dim;
  if (packed) return fn(int64_t{0}, rows);
  ctx.thread_pool().parallel_for(rows, static_cast<double>(l.inner) * 4, fn);
}

struct QuantizeAttributes {
  int64_t axis;         // "axis": 1
  bool saturate;        // "saturate": 1 (float8 outputs)
  int64_t block_size;   // "block_size": 0 (opset 21+)
  int64_t output_dtype; // "output_dtype": 0 = from y_zero_point, else uint8 (opset 21+)
  int64_t precision;    // "precision": 0 = from the scale (opset 23+)
  explicit QuantizeAttributes(const ir::Node& n)
      : axis(n.get_int("axis", 1)), saturate(n.get_int("saturate", 1) != 0), block_size(n.get_int("block_size", 0)),
        output_dtype(n.get_int("output_dtype", 0)), precision(n.get_int("precision", 0)) {}
};

class QuantizeLinear final : public Kernel {
 public:
  explicit QuantizeLinear(const KernelInfo& info) : attrs_(info.node()) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& x = ctx.required_input(0);
    const Tensor& scale = ctx.required_input(1);
    const Tensor* zp = ctx.input(2);
    DataType out_dt = DataType::kUInt8;
    if (zp) {
      out_dt = zp->dtype();
      if (attrs_.output_dtype != 0 && attrs_.output_dtype != static_cast<int64_t>(out_dt))
        throw Error(ErrorCode::kInvalidArgument, "attribute 'output_dtype' " + std::to_string(attrs_.output_dtype) +
                                                     " disagrees with y_zero_point's type " +
                                                     std::string(dtype_name(out_dt)));
    } else if (attrs_.output_dtype != 0) {
      out_dt = static_cast<DataType>(attrs_.output_dtype);
    }
    int64_t lo = 0, hi = 0;
    const bool is_int = quant::int_range(out_dt, lo, hi) && out_dt != DataType::kInt32;
    const MiniFloatFormat* mf = minifloat_format(out_dt);
    if (!is_int && !mf)
      throw Error(ErrorCode::kNotImplemented,
                  "output type " + std::string(dtype_name(out_dt)) + " is not a quantized type");
    const Reader rx = require_reader(x, "x");
    const Reader rs = require_reader(scale, "y_scale");
    const Reader rz = zp ? require_reader(*zp, "y_zero_point") : nullptr;
    const QuantLayout l = make_layout(x, scale, zp, attrs_.axis, attrs_.block_size, "y_scale");
    // The type the division is rounded to.
    DataType div_dt;
    if (attrs_.precision != 0) div_dt = static_cast<DataType>(attrs_.precision);
    else if (x.dtype() == scale.dtype() && x.dtype() != DataType::kInt32) div_dt = x.dtype();
    else if (x.dtype() == DataType::kInt32 || scale.dtype() == DataType::kInt32) div_dt = DataType::kDouble;
    else div_dt = DataType::kFloat;

    const int bits = packed_int_bits(out_dt);
    const bool packed = bits != 0 || (mf && mf->total_bits == 4);
    Tensor& y = ctx.allocate_output(0, out_dt, x.shape());
    if (packed && y.byte_size() > 0) std::memset(y.raw_data(), 0, y.byte_size());
    const void* px = x.raw_data();
    const void* ps = scale.raw_data();
    const void* pz = zp ? zp->raw_data() : nullptr;
    void* py = y.raw_data();
    const bool saturate = attrs_.saturate;
    if (x.dtype() == DataType::kFloat && scale.dtype() == DataType::kFloat && div_dt == DataType::kFloat &&
        l.mode == QuantLayout::kTensor && (out_dt == DataType::kUInt8 || out_dt == DataType::kInt8)) {
      const float s = scale.data<float>()[0];
      const int32_t z = zp ? static_cast<int32_t>(rz(pz, 0)) : 0;
      const float* xf = x.data<float>();
      ctx.thread_pool().parallel_for(x.element_count(), 4.0, [&](int64_t begin, int64_t end) {
        if (out_dt == DataType::kUInt8) quant::quantize_u8(xf + begin, end - begin, s, z, static_cast<uint8_t*>(py) + begin);
        else quant::quantize_s8(xf + begin, end - begin, s, z, static_cast<int8_t*>(py) + begin);
      });
      return;
    }
    for_rows(ctx, l, packed, [&](int64_t begin, int64_t end) {
      for (int64_t row = begin; row < end; ++row) {
        const int64_t o = row / l.dim, a = row % l.dim;
        for (int64_t i = 0; i < l.inner; ++i) {
          const int64_t e = row * l.inner + i;
          const int64_t p = l.param_index(o, a, i);
          const double s = quant::round_to(div_dt, rs(ps, p));
          const double q = quant::round_to(div_dt, quant::round_to(div_dt, rx(px, e)) / s);
          const double z = rz ? rz(pz, p) : 0.0;
          if (is_int) {
            const double r = std::nearbyint(q);
            quant::write_int(out_dt, py, e, quant::round_clamp(std::isnan(r) ? r : r + z, lo, hi));
          } else {
            set_minifloat_code(static_cast<uint8_t*>(py), e, *mf, float_to_minifloat(q + z, *mf, saturate));
          }
        }
      }
    });
  }

 private:
  QuantizeAttributes attrs_;
};

struct DequantizeAttributes {
  int64_t axis;          // "axis": 1
  int64_t block_size;    // "block_size": 0 (opset 21+)
  int64_t output_dtype;  // "output_dtype": 0 = x_scale's type (opset 23+)
  explicit DequantizeAttributes(const ir::Node& n)
      : axis(n.get_int("axis", 1)), block_size(n.get_int("block_size", 0)), output_dtype(n.get_int("output_dtype", 0)) {}
};

class DequantizeLinear final : public Kernel {
 public:
  explicit DequantizeLinear(const KernelInfo& info) : attrs_(info.node()) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& x = ctx.required_input(0);
    const Tensor& scale = ctx.required_input(1);
    const Tensor* zp = ctx.input(2);
    if (zp && zp->dtype() != x.dtype())
      throw Error(ErrorCode::kInvalidArgument, "x_zero_point " + zp->describe() + " must have x's type " +
                                                   std::string(dtype_name(x.dtype())));
    DataType out_dt = attrs_.output_dtype != 0 ? static_cast<DataType>(attrs_.output_dtype) : scale.dtype();
    if (out_dt != DataType::kFloat && out_dt != DataType::kFloat16 && out_dt != DataType::kBFloat16)
      throw Error(ErrorCode::kInvalidArgument,
                  "output type " + std::string(dtype_name(out_dt)) +
                      " is not float, float16 or bfloat16 (set 'output_dtype' when x_scale is float8e8m0)");
    const Reader rx = require_reader(x, "x");
    const Reader rs = require_reader(scale, "x_scale");
    const Reader rz = zp ? require_reader(*zp, "x_zero_point") : nullptr;
    const QuantLayout l = make_layout(x, scale, zp, attrs_.axis, attrs_.block_size, "x_scale");
    Tensor& y = ctx.allocate_output(0, out_dt, x.shape());
    const void* px = x.raw_data();
    const void* ps = scale.raw_data();
    const void* pz = zp ? zp->raw_data() : nullptr;
    void* py = y.raw_data();
    if ((x.dtype() == DataType::kUInt8 || x.dtype() == DataType::kInt8) && scale.dtype() == DataType::kFloat &&
        out_dt == DataType::kFloat && l.mode == QuantLayout::kTensor) {
      const float s = scale.data<float>()[0];
      const int32_t z = zp ? static_cast<int32_t>(rz(pz, 0)) : 0;
      float* yf = y.data<float>();
      ctx.thread_pool().parallel_for(x.element_count(), 2.0, [&](int64_t begin, int64_t end) {
        if (x.dtype() == DataType::kUInt8) quant::dequantize_u8(x.data<uint8_t>() + begin, end - begin, s, z, yf + begin);
        else quant::dequantize_s8(x.data<int8_t>() + begin, end - begin, s, z, yf + begin);
      });
      return;
    }
    for_rows(ctx, l, false, [&](int64_t begin, int64_t end) {
      for (int64_t row = begin; row < end; ++row) {
        const int64_t o = row / l.dim, a = row % l.dim;
        for (int64_t i = 0; i < l.inner; ++i) {
          const int64_t e = row * l.inner + i;
          const int64_t p = l.param_index(o, a, i);
          const float dx = static_cast<float>(rx(px, e) - (rz ? rz(pz, p) : 0.0));
          quant::write_float(out_dt, py, e, dx * static_cast<float>(rs(ps, p)));
        }
      }
    });
  }

 private:
  DequantizeAttributes attrs_;
};

const std::vector<DataType> kQuantizedTypes = {
    DataType::kUInt8, DataType::kInt8, DataType::kUInt16, DataType::kInt16, DataType::kInt32,
    DataType::kUInt4, DataType::kInt4, DataType::kUInt2, DataType::kInt2, DataType::kFloat8E4M3FN,
    DataType::kFloat8E4M3FNUZ, DataType::kFloat8E5M2, DataType::kFloat8E5M2FNUZ, DataType::kFloat4E2M1};

}  // namespace

void register_quantize_linear_kernels(KernelRegistry& r) {
  r.add("QuantizeLinear", {10, 13, 19, 21, 23, 24, 25, 28}, make_kernel<QuantizeLinear>, kQuantizedTypes);
  r.add("DequantizeLinear", {10, 13, 19, 21, 23, 24, 25, 28}, make_kernel<DequantizeLinear>, kQuantizedTypes);
}

}  // namespace ferry::ep::cpu
