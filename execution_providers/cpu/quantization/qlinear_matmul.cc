// Integer matrix products with numpy batch broadcasting: MatMulInteger (int32 accumulation of
// (a - a_zero_point)(b - b_zero_point)), QLinearMatMul (the same, requantized with
// a_scale * b_scale / y_scale, computed in the scales' type as the spec's reference does), and
// DynamicQuantizeLinear (uint8 with scale and zero point from the data's range).
// Where the CPU has VNNI, a constant 2-D int8-representable B (and, for QLinearMatMul, constant
// scales) runs on oneDNN instead (int8_dnnl.h); these loops are the fallback and the tests' check.
#include <Eigen/Core>

#include "execution_providers/cpu/quantization/int8_dnnl.h"
#include "execution_providers/cpu/quantization/quant_common.h"
#include "execution_providers/cpu/quantization/quantize_fast.h"

namespace ferry::ep::cpu {
namespace {

using IntMatrix = Eigen::Matrix<int32_t, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// The geometry of a batched matmul a @ b under numpy rules.
struct MatMulPlan {
  int64_t m = 1, k = 1, n = 1;
  bool a_vec = false, b_vec = false;
  std::vector<int64_t> out_shape;
  std::vector<std::pair<int64_t, int64_t>> batches;  ///< (a batch index, b batch index) per output batch
  int64_t a_batches = 1, b_batches = 1;

  MatMulPlan(const std::vector<int64_t>& as, const std::vector<int64_t>& bs, const ir::Node& node) {
    if (as.empty() || bs.empty())
      throw Error(ErrorCode::kInvalidArgument, "inputs A " + shape_to_string(as) + " and B " + shape_to_string(bs) +
                                                   " must have rank >= 1");
    std::vector<int64_t> a = as, b = bs;
    a_vec = a.size() == 1;
    b_vec = b.size() == 1;
    if (a_vec) a.insert(a.begin(), 1);
    if (b_vec) b.push_back(1);
    m = a[a.size() - 2];
    k = a.back();
    n = b.back();
    if (b[b.size() - 2] != k)
      throw Error(ErrorCode::kInvalidArgument, "inner dimensions of A " + shape_to_string(as) + " and B " +
                                                   shape_to_string(bs) + " differ");
    const std::vector<int64_t> ab(a.begin(), a.end() - 2), bb(b.begin(), b.end() - 2);
    const std::vector<int64_t> batch = broadcast_shape(ab, bb, node);
    a_batches = product(ab);
    b_batches = product(bb);
    const int64_t count = product(batch);
    const size_t rank = batch.size();
    for (int64_t o = 0; o < count; ++o) {
      int64_t rem = o, ai = 0, bi = 0, astride = 1, bstride = 1;
      for (size_t d = rank; d-- > 0;) {
        const int64_t idx = rem % batch[d];
        rem /= batch[d];
        const size_t da = d + ab.size() - rank, db = d + bb.size() - rank;
        if (d >= rank - ab.size()) {
          if (ab[da] != 1) ai += idx * astride;
          astride *= ab[da];
        }
        if (d >= rank - bb.size()) {
          if (bb[db] != 1) bi += idx * bstride;
          bstride *= bb[db];
        }
      }
      batches.emplace_back(ai, bi);
    }
    out_shape = batch;
    if (!a_vec) out_shape.push_back(m);
    if (!b_vec) out_shape.push_back(n);
  }
};

/// Input t minus its zero point as int32. The zero point is a scalar (one element), or per row
/// of A / per column of B: `rows_axis` true means one value per row ([M], or [..., M, 1]),
/// false one per column ([N], or [..., 1, N]).
std::vector<int32_t> centered(const Tensor& t, const Tensor* zp, bool per_row, const char* name) {
  const quant::Reader rt = quant::reader_for(t.dtype());
  if (!rt || (t.dtype() != DataType::kUInt8 && t.dtype() != DataType::kInt8))
    throw Error(ErrorCode::kNotImplemented, std::string("input '") + name + "' must be int8 or uint8, got " + t.describe());
  const int64_t count = t.element_count();
  std::vector<int32_t> out(static_cast<size_t>(count));
  const std::vector<int64_t>& s = t.shape();
  const int64_t cols = s.back();
  const int64_t rows_per_batch = s.size() >= 2 ? s[s.size() - 2] : 1;
  quant::Reader rz = nullptr;
  int64_t zcount = 0;
  if (zp) {
    if (zp->dtype() != t.dtype())
      throw Error(ErrorCode::kInvalidArgument, std::string("zero point of '") + name + "' " + zp->describe() +
                                                   " must have its type " + std::string(dtype_name(t.dtype())));
    rz = quant::reader_for(zp->dtype());
    zcount = zp->element_count();
    const int64_t per = per_row ? rows_per_batch : cols;
    if (zcount != 1 && zcount != per && zcount != count / std::max<int64_t>(cols * rows_per_batch, 1) * per)
      throw Error(ErrorCode::kInvalidArgument, std::string("zero point of '") + name + "' " + zp->describe() +
                                                   " must be a scalar or one value per " + (per_row ? "row" : "column") +
                                                   " of " + t.describe());
  }
  const void* pt = t.raw_data();
  const void* pz = zp ? zp->raw_data() : nullptr;
  for (int64_t i = 0; i < count; ++i) {
    int32_t z = 0;
    if (rz) {
      int64_t zi = 0;
      if (zcount > 1) {
        const int64_t row = i / cols, col = i % cols;
        const int64_t per = per_row ? rows_per_batch : cols;
        const int64_t batch = row / rows_per_batch;
        zi = (per_row ? row % rows_per_batch : col) + (zcount > per ? batch * per : 0);
      }
      z = static_cast<int32_t>(rz(pz, zi));
    }
    out[static_cast<size_t>(i)] = static_cast<int32_t>(rt(pt, i)) - z;
  }
  return out;
}

/// Runs the integer product of every batch into `out` (int32, plan.out_shape).
void integer_matmul(const KernelContext& ctx, const MatMulPlan& p, const std::vector<int32_t>& a,
                    const std::vector<int32_t>& b, int32_t* out) {
  const int64_t mk = p.m * p.k, kn = p.k * p.n, mn = p.m * p.n;
  ctx.thread_pool().parallel_for(static_cast<int64_t>(p.batches.size()), static_cast<double>(mn * p.k),
                                 [&](int64_t begin, int64_t end) {
    for (int64_t o = begin; o < end; ++o) {
      const auto [ai, bi] = p.batches[static_cast<size_t>(o)];
      Eigen::Map<const IntMatrix> am(a.data() + ai * mk, p.m, p.k);
      Eigen::Map<const IntMatrix> bm(b.data() + bi * kn, p.k, p.n);
      Eigen::Map<IntMatrix> om(out + o * mn, p.m, p.n);
      om.noalias() = am * bm;
    }
  });
}

class MatMulInteger final : public Kernel {
 public:
  explicit MatMulInteger(const KernelInfo& info) : dnnl_(DnnlInt8MatMul::create(info, false)) {}

  void compute(KernelContext& ctx) const override {
    if (dnnl_) return dnnl_->run(ctx);
    const Tensor& a = ctx.required_input(0);
    const Tensor& b = ctx.required_input(1);
    const MatMulPlan plan(a.shape(), b.shape(), ctx.node());
    const std::vector<int32_t> ac = centered(a, ctx.input(2), true, "A");
    const std::vector<int32_t> bc = centered(b, ctx.input(3), false, "B");
    Tensor& y = ctx.allocate_output(0, DataType::kInt32, plan.out_shape);
    integer_matmul(ctx, plan, ac, bc, y.data<int32_t>());
  }

 private:
  std::unique_ptr<DnnlInt8MatMul> dnnl_;  // null: the loops below
};

class QLinearMatMul final : public Kernel {
 public:
  explicit QLinearMatMul(const KernelInfo& info) : dnnl_(DnnlInt8MatMul::create(info, true)) {}

  void compute(KernelContext& ctx) const override {
    if (dnnl_) return dnnl_->run(ctx);
    const Tensor& a = ctx.required_input(0);
    const Tensor& a_scale = ctx.required_input(1);
    const Tensor& b = ctx.required_input(3);
    const Tensor& b_scale = ctx.required_input(4);
    const Tensor& y_scale = ctx.required_input(6);
    const Tensor* y_zp = ctx.input(7);
    const MatMulPlan plan(a.shape(), b.shape(), ctx.node());
    const std::vector<int32_t> ac = centered(a, ctx.input(2), true, "a");
    const std::vector<int32_t> bc = centered(b, ctx.input(5), false, "b");
    std::vector<int32_t> acc(static_cast<size_t>(product(plan.out_shape)));
    integer_matmul(ctx, plan, ac, bc, acc.data());
    const DataType out_dt = y_zp ? y_zp->dtype() : a.dtype();
    int64_t lo = 0, hi = 0;
    if (!quant::int_range(out_dt, lo, hi) || (out_dt != DataType::kUInt8 && out_dt != DataType::kInt8))
      throw Error(ErrorCode::kNotImplemented, "output type " + std::string(dtype_name(out_dt)) + " is not int8 or uint8");
    const quant::Reader rs_a = quant::reader_for(a_scale.dtype()), rs_b = quant::reader_for(b_scale.dtype()),
                        rs_y = quant::reader_for(y_scale.dtype());
    if (!rs_a || !rs_b || !rs_y)
      throw Error(ErrorCode::kNotImplemented, "scales must be float, float16 or bfloat16");
    if (a_scale.element_count() != 1 || y_scale.element_count() != 1 || (y_zp && y_zp->element_count() != 1))
      throw Error(ErrorCode::kInvalidArgument, "a_scale, y_scale and y_zero_point must be scalars, got " +
                                                   a_scale.describe() + ", " + y_scale.describe());
    if (b_scale.element_count() != 1 && b_scale.element_count() != plan.n)
      throw Error(ErrorCode::kInvalidArgument, "b_scale " + b_scale.describe() + " must be a scalar or have " +
                                                   std::to_string(plan.n) + " values (one per column)");
    // The multiplier in the scales' type, per column.
    const DataType st = a_scale.dtype();
    std::vector<double> mult(static_cast<size_t>(plan.n));
    for (int64_t j = 0; j < plan.n; ++j) {
      const double ab = quant::round_to(st, rs_a(a_scale.raw_data(), 0) *
                                                rs_b(b_scale.raw_data(), b_scale.element_count() == 1 ? 0 : j));
      mult[static_cast<size_t>(j)] = quant::round_to(st, ab / rs_y(y_scale.raw_data(), 0));
    }
    const double z = y_zp ? quant::reader_for(y_zp->dtype())(y_zp->raw_data(), 0) : 0.0;
    Tensor& y = ctx.allocate_output(0, out_dt, plan.out_shape);
    void* py = y.raw_data();
    for (size_t i = 0; i < acc.size(); ++i)
      quant::write_int(out_dt, py, static_cast<int64_t>(i),
                       quant::round_clamp(acc[i] * mult[i % static_cast<size_t>(plan.n)] + z, lo, hi));
  }

 private:
  std::unique_ptr<DnnlInt8MatMul> dnnl_;  // null: the loops above
};

class DynamicQuantizeLinear final : public Kernel {
 public:
  explicit DynamicQuantizeLinear(const KernelInfo&) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& x = ctx.required_input(0);
    if (x.dtype() != DataType::kFloat)
      throw Error(ErrorCode::kNotImplemented, "input 'x' must be float, got " + x.describe());
    const float* px = x.data<float>();
    float mx = 0, mn = 0;
    quant::min_max(px, x.element_count(), mn, mx);
    const float scale = (mx == mn ? 1.0f : mx - mn) / 255.0f;
    const float initial_zp = 0.0f - mn / scale;
    const float zp = std::nearbyint(std::clamp(initial_zp, 0.0f, 255.0f));
    uint8_t* y = ctx.allocate_output(0, DataType::kUInt8, x.shape()).data<uint8_t>();
    ctx.thread_pool().parallel_for(x.element_count(), 4.0, [&](int64_t begin, int64_t end) {
      quant::quantize_u8(px + begin, end - begin, scale, static_cast<int32_t>(zp), y + begin);
    });
    ctx.allocate_output(1, DataType::kFloat, {}).data<float>()[0] = scale;
    ctx.allocate_output(2, DataType::kUInt8, {}).data<uint8_t>()[0] = static_cast<uint8_t>(zp);
  }
};

const std::vector<DataType> kInt8Types = {DataType::kInt8, DataType::kUInt8};

/// Capability: a and b are int8/uint8 (QLinearMatMul-21's float8 inputs are not implemented).
bool int8_inputs(const ir::Node& node, int64_t) {
  for (size_t i : {size_t{0}, size_t{3}}) {
    const ir::Value* v = node.input(i);
    if (v && v->dtype() != DataType::kInt8 && v->dtype() != DataType::kUInt8 && v->dtype() != DataType::kUndefined)
      return false;
  }
  return true;
}

}  // namespace

void register_qlinear_matmul_kernels(KernelRegistry& r) {
  r.add("MatMulInteger", {10}, make_kernel<MatMulInteger>, kInt8Types);
  r.add("QLinearMatMul", {10, 21}, make_kernel<QLinearMatMul>, kInt8Types).supports = int8_inputs;
  r.add("DynamicQuantizeLinear", {11}, make_kernel<DynamicQuantizeLinear>, {DataType::kFloat});
}

}  // namespace ferry::ep::cpu
