// Gemm: Y = alpha * op(A) * op(B) + beta * C, C broadcast unidirectionally to [M, N] (and
// optional from opset 11). Float runs on oneDNN's matmul (dnnl/matmul_dnnl.h: C as its bias or a
// sum post-op, a constant B prepacked at kernel creation); double: row blocks of Y are independent Eigen products on the thread pool.
// gemm_forward (fused/conv_gemm_compute.h) is shared with ferry.FusedGemm.
#include <Eigen/Core>

#include "execution_providers/cpu/common.h"
#include "execution_providers/cpu/dnnl/matmul_dnnl.h"
#include "execution_providers/cpu/families.h"
#include "execution_providers/cpu/fused/conv_gemm_compute.h"

namespace ferry::ep::cpu {

Tensor& gemm_forward(KernelContext& ctx, const GemmAttributes& attrs, const Tensor& a, const Tensor& b,
                     const Tensor* c, const DnnlMatMul* plan, bool* post_ops_applied) {
  if (post_ops_applied != nullptr) *post_ops_applied = false;
  if (a.rank() != 2 || b.rank() != 2 || a.dtype() != b.dtype())
    fail(ctx, ErrorCode::kInvalidArgument,
         "A and B must be 2-D of one element type, got " + a.describe() + " and " + b.describe());
  const int64_t m = attrs.trans_a ? a.dim(1) : a.dim(0);
  const int64_t k = attrs.trans_a ? a.dim(0) : a.dim(1);
  const int64_t kb = attrs.trans_b ? b.dim(1) : b.dim(0);
  const int64_t n = attrs.trans_b ? b.dim(0) : b.dim(1);
  if (k != kb)
    fail(ctx, ErrorCode::kInvalidArgument,
         "inner dims differ: A " + a.describe() + (attrs.trans_a ? " (transposed)" : "") +
             ", B " + b.describe() + (attrs.trans_b ? " (transposed)" : ""));
  // C as [cm, cn] with each 1 or full (unidirectional broadcast).
  int64_t cm = 0, cn = 0;
  const bool use_c = c != nullptr && c->defined() && attrs.beta != 0.0f;
  if (use_c) {
    if (c->rank() > 2) fail(ctx, ErrorCode::kInvalidArgument, "C must have rank <= 2, got " + c->describe());
    cm = c->rank() == 2 ? c->dim(0) : 1;
    cn = c->rank() >= 1 ? c->dim(c->rank() - 1) : 1;
    if ((cm != 1 && cm != m) || (cn != 1 && cn != n) || c->dtype() != a.dtype())
      fail(ctx, ErrorCode::kInvalidArgument,
           "C " + c->describe() + " cannot be broadcast to [" + std::to_string(m) + "," +
               std::to_string(n) + "]");
  }
  Tensor& out = ctx.allocate_output(0, a.dtype(), {m, n});
  if (a.dtype() == DataType::kFloat) {
    const DnnlMatMul& dnnl =
        plan != nullptr ? *plan : shared_dnnl_matmul(attrs.trans_a, attrs.trans_b, attrs.alpha, attrs.beta);
    if (dnnl.run(ctx, a, b, use_c ? c : nullptr, out)) {
      if (post_ops_applied != nullptr) *post_ops_applied = true;
      return out;
    }
  }
  visit_dtype(FloatTypes{}, a.dtype(), "input", [&](auto tag) {
    using T = typename decltype(tag)::type;
    using Mat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    Eigen::Map<const Mat> am(a.data<T>(), a.dim(0), a.dim(1));
    Eigen::Map<const Mat> bm(b.data<T>(), b.dim(0), b.dim(1));
    T* py = out.template data<T>();
    const T alpha = static_cast<T>(attrs.alpha), beta = static_cast<T>(attrs.beta);
    const T* pc = use_c ? c->data<T>() : nullptr;
    ctx.thread_pool().parallel_for(m, static_cast<double>(k * n + n), [&](int64_t r0, int64_t r1) {
      for (int64_t i = r0; i < r1; ++i) {
        T* row = py + i * n;
        if (pc == nullptr) {
          for (int64_t j = 0; j < n; ++j) row[j] = T(0);
        } else {
          const T* crow = pc + (cm == 1 ? 0 : i * cn);
          for (int64_t j = 0; j < n; ++j) row[j] = beta * crow[cn == 1 ? 0 : j];
        }
      }
      if (k == 0 || r1 <= r0) return;
      Eigen::Map<Mat> y(py + r0 * n, r1 - r0, n);
      if (!attrs.trans_a && !attrs.trans_b) y.noalias() += alpha * (am.middleRows(r0, r1 - r0) * bm);
      if (!attrs.trans_a && attrs.trans_b) y.noalias() += alpha * (am.middleRows(r0, r1 - r0) * bm.transpose());
      if (attrs.trans_a && !attrs.trans_b) y.noalias() += alpha * (am.transpose().middleRows(r0, r1 - r0) * bm);
      if (attrs.trans_a && attrs.trans_b)
        y.noalias() += alpha * (am.transpose().middleRows(r0, r1 - r0) * bm.transpose());
    });
  });
  return out;
}

namespace {

class Gemm final : public Kernel {
 public:
  explicit Gemm(const KernelInfo& info) : attrs_(info.node()) {
    const Tensor* b = info.constant_input(1);
    if (b == nullptr || b->dtype() != DataType::kFloat) return;
    DnnlMatMulSpec spec;
    spec.trans_a = attrs_.trans_a, spec.trans_b = attrs_.trans_b;
    spec.alpha = attrs_.alpha, spec.beta = attrs_.beta;
    spec.compute_type = dnnl_rt::compute_type(info);
    plan_ = std::make_unique<DnnlMatMul>(spec, b, dnnl_shape_hint(info, 2));
    if (plan_->prepacked()) info.mark_prepacked(1);
  }

  void compute(KernelContext& ctx) const override {
    gemm_forward(ctx, attrs_, ctx.required_input(0), ctx.required_input(1),
                 ctx.input_count() > 2 ? ctx.input(2) : nullptr, plan_.get());
  }

 private:
  GemmAttributes attrs_;
  std::unique_ptr<DnnlMatMul> plan_;  // null: B not a float constant (the shared one serves)
};

}  // namespace

void register_gemm_kernels(KernelRegistry& r) {
  r.add("Gemm", {7, 9, 11, 13}, make_kernel<Gemm>, FloatTypes::dtypes());
}

}  // namespace ferry::ep::cpu
