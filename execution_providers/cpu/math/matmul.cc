// MatMul with numpy semantics: 1-D operands are promoted (and the added dim removed again),
// leading batch dims broadcast. Float runs on oneDNN's matmul (dnnl/matmul_dnnl.h; a constant B
// prepacked at kernel creation). Other types: each row block is one Eigen GEMM; the thread pool splits the
// (batch x rows) space, so a single large matrix and many small ones both parallelise.
// float16 and bfloat16 are widened to float, multiplied, and each result rounded once.
// matmul_forward (fused/conv_gemm_compute.h) also serves ferry.FusedMatMul: either operand may be
// read transposed in its last two axes (Eigen maps it so, no copy) and the product scaled.
#include <Eigen/Core>

#include "execution_providers/cpu/common.h"
#include "execution_providers/cpu/dnnl/matmul_dnnl.h"
#include "execution_providers/cpu/families.h"
#include "execution_providers/cpu/fused/conv_gemm_compute.h"

namespace ferry::ep::cpu {
namespace {

using MatMulTypes = Types<float, double, int32_t, int64_t, uint32_t, uint64_t, Float16, BFloat16>;

/// The batched product's sizes, and the offsets (in matrices) of each output batch's A and B.
/// A batch's A is stored [k, m] when trans_a and B [n, k] when trans_b; Y = alpha * op(A) op(B).
struct Batches {
  int64_t count, m, k, n;
  const std::vector<int64_t>& a_off;
  const std::vector<int64_t>& b_off;
  bool trans_a = false, trans_b = false;
  float alpha = 1.0f;
};

template <typename T>
void gemm(const KernelContext& ctx, const T* pa, const T* pb, T* py, const Batches& s) {
  using Mat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  const int64_t m = s.m, k = s.k, n = s.n;
  ctx.thread_pool().parallel_for(
      s.count * m, static_cast<double>(k * n), [&](int64_t begin, int64_t end) {
        while (begin < end) {
          const int64_t batch = begin / m, r0 = begin % m;
          const int64_t r1 = std::min(m, r0 + (end - begin));
          Eigen::Map<Mat> y(py + batch * m * n + r0 * n, r1 - r0, n);
          if (k == 0) {
            y.setZero();
          } else {
            const T* a = pa + s.a_off[static_cast<size_t>(batch)] * m * k;
            const T* b = pb + s.b_off[static_cast<size_t>(batch)] * k * n;
            auto finish = [&](const auto& x) {
              auto product = [&](const auto& w) {
                if (s.alpha == 1.0f) y.noalias() = x * w;
                else if constexpr (std::is_floating_point_v<T>) y.noalias() = static_cast<T>(s.alpha) * (x * w);
              };
              if (s.trans_b) product(Eigen::Map<const Mat>(b, n, k).transpose());
              else product(Eigen::Map<const Mat>(b, k, n));
            };
            if (s.trans_a) finish(Eigen::Map<const Mat>(a, k, m).middleCols(r0, r1 - r0).transpose());
            else finish(Eigen::Map<const Mat>(a + r0 * k, r1 - r0, k));
          }
          begin += r1 - r0;
        }
      });
}

template <typename H>
std::vector<float> widen(const KernelContext& ctx, const H* p, int64_t count) {
  std::vector<float> out(static_cast<size_t>(count));
  ctx.thread_pool().parallel_for(count, 1.0, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) out[static_cast<size_t>(i)] = to_float(p[i]);
  });
  return out;
}

}  // namespace

Tensor& matmul_forward(KernelContext& ctx, const Tensor& a, const Tensor& b, bool trans_a, bool trans_b,
                       float alpha, const DnnlMatMul* plan, bool* post_ops_applied) {
  if (post_ops_applied != nullptr) *post_ops_applied = false;
  if (a.dtype() != b.dtype() || a.rank() == 0 || b.rank() == 0)
    fail(ctx, ErrorCode::kInvalidArgument,
         "MatMul needs two tensors of rank >= 1 and one element type, got " + a.describe() +
             " and " + b.describe());
  if ((trans_a && a.rank() < 2) || (trans_b && b.rank() < 2))
    fail(ctx, ErrorCode::kInvalidArgument,
         "a transposed operand needs rank >= 2, got " + a.describe() + (trans_a ? " (transposed)" : "") + " x " +
             b.describe() + (trans_b ? " (transposed)" : ""));
  if (alpha != 1.0f && a.dtype() != DataType::kFloat && a.dtype() != DataType::kDouble)
    fail(ctx, ErrorCode::kInvalidArgument, "alpha != 1 needs float or double operands, got " + a.describe());
  std::vector<int64_t> as = a.shape(), bs = b.shape();
  const bool a_vec = as.size() == 1, b_vec = bs.size() == 1;
  if (a_vec) as.insert(as.begin(), 1);
  if (b_vec) bs.push_back(1);
  // Logical (transposed) shapes: the batch offsets below only read the leading dims.
  if (trans_a) std::swap(as[as.size() - 1], as[as.size() - 2]);
  if (trans_b) std::swap(bs[bs.size() - 1], bs[bs.size() - 2]);
  const int64_t m = as[as.size() - 2], k = as.back(), n = bs.back();
  if (bs[bs.size() - 2] != k)
    fail(ctx, ErrorCode::kInvalidArgument,
         "inner dims differ: " + a.describe() + (trans_a ? " (transposed)" : "") + " x " + b.describe() +
             (trans_b ? " (transposed)" : ""));
  const std::vector<int64_t> a_batch(as.begin(), as.end() - 2), b_batch(bs.begin(), bs.end() - 2);
  std::vector<int64_t> out_shape = broadcast_shape(a_batch, b_batch, ctx.node());
  const size_t batch_rank = out_shape.size();
  const int64_t batches = product(out_shape);
  if (!a_vec) out_shape.push_back(m);
  if (!b_vec) out_shape.push_back(n);

  // Offsets (in matrices) of each output batch's A and B.
  std::vector<int64_t> a_off(static_cast<size_t>(batches)), b_off(static_cast<size_t>(batches));
  for (int64_t i = 0; i < batches; ++i) {
    int64_t rem = i, ao = 0, bo = 0, sa = 1, sb = 1;
    for (size_t d = batch_rank; d-- > 0;) {
      const int64_t idx = rem % out_shape[d];
      rem /= out_shape[d];
      const size_t pa = d + a_batch.size(), pb = d + b_batch.size();  // may underflow: checked below
      if (pa >= batch_rank) {
        const int64_t dim = a_batch[pa - batch_rank];
        if (dim != 1) ao += idx * sa;
        sa *= dim;
      }
      if (pb >= batch_rank) {
        const int64_t dim = b_batch[pb - batch_rank];
        if (dim != 1) bo += idx * sb;
        sb *= dim;
      }
    }
    a_off[static_cast<size_t>(i)] = ao;
    b_off[static_cast<size_t>(i)] = bo;
  }

  Tensor& y = ctx.allocate_output(0, a.dtype(), out_shape);
  if (a.dtype() == DataType::kFloat) {
    const DnnlMatMul& dnnl = plan != nullptr ? *plan : shared_dnnl_matmul(trans_a, trans_b, alpha);
    if (dnnl.run(ctx, a, b, nullptr, y)) {
      if (post_ops_applied != nullptr) *post_ops_applied = true;
      return y;
    }
  }
  visit_dtype(MatMulTypes{}, a.dtype(), "input", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const Batches shape{batches, m, k, n, a_off, b_off, trans_a, trans_b, alpha};
    if constexpr (std::is_same_v<T, Float16> || std::is_same_v<T, BFloat16>) {
      // Half types: widen both operands to float, multiply, round each result once.
      const std::vector<float> fa = widen(ctx, a.data<T>(), a.element_count());
      const std::vector<float> fb = widen(ctx, b.data<T>(), b.element_count());
      std::vector<float> fy(static_cast<size_t>(y.element_count()));
      gemm<float>(ctx, fa.data(), fb.data(), fy.data(), shape);
      T* py = y.template data<T>();
      ctx.thread_pool().parallel_for(y.element_count(), 1.0, [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) {
          if constexpr (std::is_same_v<T, Float16>) py[i] = to_float16(fy[static_cast<size_t>(i)]);
          else py[i] = to_bfloat16(fy[static_cast<size_t>(i)]);
        }
      });
    } else {
      gemm<T>(ctx, a.data<T>(), b.data<T>(), y.template data<T>(), shape);
    }
  });
  return y;
}

namespace {

class MatMul final : public Kernel {
 public:
  explicit MatMul(const KernelInfo& info) {
    const Tensor* b = info.constant_input(1);
    if (b == nullptr || b->dtype() != DataType::kFloat) return;
    DnnlMatMulSpec spec;
    spec.compute_type = dnnl_rt::compute_type(info);
    plan_ = std::make_unique<DnnlMatMul>(spec, b, dnnl_shape_hint(info));
    if (plan_->prepacked()) info.mark_prepacked(1);
  }

  void compute(KernelContext& ctx) const override {
    matmul_forward(ctx, ctx.required_input(0), ctx.required_input(1), false, false, 1.0f, plan_.get());
  }

 private:
  std::unique_ptr<DnnlMatMul> plan_;  // null: B not a float constant (the shared one serves)
};

}  // namespace

void register_matmul_kernels(KernelRegistry& r) {
  r.add("MatMul", {1, 9, 13}, make_kernel<MatMul>, MatMulTypes::dtypes());
}

}  // namespace ferry::ep::cpu
