#include "execution_providers/cpu/dnnl/dnnl_runtime.h"
#include "execution_providers/cpu/quantization/int8_dnnl.h"
#include "execution_providers/cpu/quantization/quant_common.h"

namespace ferry::ep::cpu {

using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

struct DnnlInt8MatMul::Primitive {
  dnnl::matmul matmul;
  dnnl::memory::desc src, acc, scratch;  // the product is int32 (QLinear: add_zero_point makes Y)
  dnnl::memory weights;  // B - b_zero_point, packed for this primitive
};

namespace {
// Input positions: QLinearMatMul a, a_scale, a_zp, b, b_scale, b_zp, y_scale, y_zp;
// MatMulInteger A, B, a_zp, b_zp.
struct Slots {
  size_t a_zp, b, b_zp, y_zp;
};
constexpr Slots kQLinear{2, 3, 5, 7};
constexpr Slots kInteger{2, 1, 3, SIZE_MAX};
}  // namespace

DnnlInt8MatMul::~DnnlInt8MatMul() = default;

std::unique_ptr<DnnlInt8MatMul> DnnlInt8MatMul::create(const KernelInfo& info, bool qlinear) {
  if (!int8_dnnl_available()) return nullptr;
  const Slots s = qlinear ? kQLinear : kInteger;
  const ir::Type* at = info.input_type(0);
  const Tensor* b = info.constant_input(s.b);
  if (at == nullptr || (at->elem != DataType::kUInt8 && at->elem != DataType::kInt8) || b == nullptr ||
      b->rank() != 2 || b->element_count() == 0)
    return nullptr;
  const bool b_zp_given = info.node().input(s.b_zp) != nullptr;
  const Tensor* b_zp = info.constant_input(s.b_zp);
  if (b_zp_given && b_zp == nullptr) return nullptr;
  bool a_zp = false, y_zp = false;
  const DataType a_zp_type = scalar_zero_point(info, s.a_zp, a_zp);
  // QLinearMatMul: a scalar a_zero_point only; MatMulInteger compensates a per-row one.
  if (qlinear && a_zp && a_zp_type != at->elem) return nullptr;
  std::unique_ptr<DnnlInt8MatMul> k(new DnnlInt8MatMul(qlinear));
  Int8Weights& bt = k->b_;
  if (!center_int8(*b, b_zp, 1, bt)) return nullptr;
  const int64_t kk = b->dim(0), n = b->dim(1);
  bt.src = at->elem;
  bt.dst = DataType::kInt32;
  if (qlinear) {
    const DataType y_type = scalar_zero_point(info, s.y_zp, y_zp);
    if (y_zp && y_type != DataType::kUInt8 && y_type != DataType::kInt8) return nullptr;
    bt.dst = y_zp ? y_type : at->elem;
    if (!qlinear_scales(info.constant_input(1), info.constant_input(4), info.constant_input(6), n, bt.scales))
      return nullptr;
  } else {
    k->col_sums_.assign(static_cast<size_t>(n), 0);
    for (int64_t i = 0; i < kk; ++i)
      for (int64_t j = 0; j < n; ++j) k->col_sums_[static_cast<size_t>(j)] += bt.data[static_cast<size_t>(i * n + j)];
  }
  // Rows of A known: make (and pack for) the primitive now.
  if (at->shape.has_rank && at->shape.rank() >= 1) {
    int64_t rows = 1;
    for (size_t d = 0; d + 1 < at->shape.rank(); ++d)
      rows = at->shape.dims[d].is_constant() && rows > 0 ? rows * at->shape.dims[d].value() : -1;
    try {
      k->primitive_for(rows > 0 ? rows : 64, a_zp && a_zp_type == at->elem);
    } catch (const dnnl::error&) {
      return nullptr;
    }
  }
  info.mark_prepacked(s.b);
  if (b_zp != nullptr) info.mark_prepacked(s.b_zp);
  return k;
}

std::shared_ptr<const DnnlInt8MatMul::Primitive> DnnlInt8MatMul::primitive_for(int64_t rows, bool a_zp) const {
  std::vector<int64_t> key = {rows, a_zp};
  std::lock_guard<std::mutex> lock(mutex_);
  if (auto it = primitives_.find(key); it != primitives_.end()) return it->second;
  const int64_t kk = b_.shape[0], n = b_.shape[1];
  auto p = std::make_shared<Primitive>();
  p->src = dnnl::memory::desc({rows, kk}, dnnl_int_type(b_.src), tag::ab);
  p->acc = dnnl::memory::desc({rows, n}, dt::s32, tag::ab);
  const dnnl::memory::desc wei_md({kk, n}, dt::s8, tag::any);
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);  // thread_scratch: no allocation per run
  if (qlinear_) attr.set_output_scales(b_.scales.size() == 1 ? 0 : 1 << 1, b_.scales);
  if (a_zp) attr.set_zero_points(DNNL_ARG_SRC, 0, {DNNL_RUNTIME_S32_VAL});
  const dnnl::engine& eng = dnnl_rt::engine();
  // oneDNN would add the output zero point before rounding (round(v + z)); ONNX rounds first
  // (round(v) + z), which differs on ties: the product is int32 and add_zero_point adds z.
  const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(p->src, wei_md, p->acc), attr, eng);
  p->matmul = dnnl::matmul(pd);
  p->scratch = pd.scratchpad_desc();
  for (const auto& [other_key, other] : primitives_)
    if (other->weights.get_desc() == pd.weights_desc()) p->weights = other->weights;
  if (!p->weights) {
    const dnnl::memory plain(dnnl::memory::desc({kk, n}, dt::s8, tag::ab), eng, const_cast<int8_t*>(b_.data.data()));
    p->weights = dnnl_rt::reorder_to(plain, pd.weights_desc());
  }
  primitives_.emplace(std::move(key), p);
  return p;
}

void DnnlInt8MatMul::run(KernelContext& ctx) const {
  const Slots s = qlinear_ ? kQLinear : kInteger;
  const Tensor& a = ctx.required_input(0);
  const int64_t kk = b_.shape[0], n = b_.shape[1];
  if (a.dtype() != b_.src || a.rank() < 1 || a.dim(a.rank() - 1) != kk)
    fail(ctx, ErrorCode::kInvalidArgument, "A " + a.describe() + " must be " + std::string(dtype_name(b_.src)) +
                                               " with inner dimension " + std::to_string(kk) + " (B " +
                                               shape_to_string(b_.shape) + ")");
  std::vector<int64_t> out_shape(a.shape().begin(), a.shape().end() - 1);
  out_shape.push_back(n);
  const int64_t rows = product(out_shape) / n;
  const Tensor* a_zp = ctx.input(s.a_zp);
  const Tensor* y_zp = qlinear_ ? ctx.input(s.y_zp) : nullptr;
  // MatMulInteger's a_zero_point may be one per row of A (per batch, or for all batches).
  const bool per_row = !qlinear_ && a_zp != nullptr && a_zp->element_count() != 1;
  const int64_t rows_per_batch = a.rank() >= 2 ? a.dim(a.rank() - 2) : 1;
  if (per_row && (a_zp->dtype() != b_.src || (a_zp->element_count() != rows_per_batch && a_zp->element_count() != rows)))
    fail(ctx, ErrorCode::kInvalidArgument, "a_zero_point " + a_zp->describe() + " must be a scalar or one " +
                                               std::string(dtype_name(b_.src)) + " per row of A " + a.describe());
  int32_t za = per_row ? 0 : read_zero_point(ctx, a_zp, b_.src, "a_zero_point");
  int32_t zy = read_zero_point(ctx, y_zp, b_.dst, "y_zero_point");
  Tensor& y = ctx.allocate_output(0, b_.dst, out_shape);
  if (rows == 0) return;
  const bool src_zp = a_zp != nullptr && !per_row;
  std::shared_ptr<const Primitive> p;
  try {
    p = primitive_for(rows, src_zp);
  } catch (const dnnl::error& e) {
    fail(ctx, ErrorCode::kNotImplemented, "oneDNN has no int8 matmul for A " + a.describe() + ", B " +
                                              shape_to_string(b_.shape) + ": " + e.what());
  }
  const dnnl::engine& eng = dnnl_rt::engine();
  const dnnl::memory::desc scalar({1}, dt::s32, tag::x);
  std::unordered_map<int, dnnl::memory> args = {
      {DNNL_ARG_SRC, dnnl::memory(p->src, eng, const_cast<void*>(a.raw_data()))},
      {DNNL_ARG_WEIGHTS, p->weights},
      {DNNL_ARG_SCRATCHPAD, dnnl::memory(p->scratch, eng, thread_scratch(2, p->scratch.get_size()))},
      {DNNL_ARG_DST, qlinear_ ? dnnl::memory(p->acc, eng, thread_scratch(1, p->acc.get_size()))
                              : dnnl::memory(p->acc, eng, y.raw_data())}};
  if (src_zp) args.emplace(DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_SRC, dnnl::memory(scalar, eng, &za));
  dnnl_rt::execute(ctx, p->matmul, args);
  if (qlinear_)
    add_zero_point(ctx, static_cast<const int32_t*>(args.at(DNNL_ARG_DST).get_data_handle()), rows * n, zy, b_.dst,
                   y.raw_data());
  if (per_row) {
    // (A - za[r]) (B - zb) = A (B - zb) - za[r] * colsum(B - zb)
    const quant::Reader rz = quant::reader_for(a_zp->dtype());
    int32_t* py = y.data<int32_t>();
    const int64_t zcount = a_zp->element_count();
    for (int64_t r = 0; r < rows; ++r) {
      const int32_t z = static_cast<int32_t>(rz(a_zp->raw_data(), zcount == rows ? r : r % rows_per_batch));
      for (int64_t j = 0; j < n; ++j) py[r * n + j] -= z * col_sums_[static_cast<size_t>(j)];
    }
  }
}

}  // namespace ferry::ep::cpu
