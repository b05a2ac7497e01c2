// FlexAttention (ai.onnx.preview, opset 1): scaled dot-product attention over rank-4 inputs with
// optional modifier subgraphs:
//   scores = (Q * sqrt(scale)) @ (K * sqrt(scale))^T      in the input type, as the reference
//   scores = score_mod(scores)                            [B, Hq, L, S] in softmax_precision
//   probs  = prob_mod(softmax(scores, axis=-1))
//   Y      = probs @ V                                    rounded to the input type
// Query head h reads K/V head h / (Hq / Hkv) (grouped-query attention). The modifiers are
// compiled once at session creation and run once per call on the whole score tensor.
#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <optional>
#include <vector>

#include "execution_providers/cpu/attention_ext/attention_ext.h"
#include "execution_providers/cpu/common.h"

namespace ferry::ep::cpu {
namespace {

struct FlexAttentionAttributes {
  std::optional<float> scale;            // "scale": default 1 / sqrt(head_size)
  std::optional<DataType> precision;     // "softmax_precision": default float, double for double
  std::shared_ptr<SubgraphRunner> score_mod, prob_mod;  // "score_mod", "prob_mod": optional graphs

  explicit FlexAttentionAttributes(const KernelInfo& info) {
    const ir::Node& n = info.node();
    if (n.find_attribute("scale") != nullptr) scale = n.get_float("scale", 0.0f);
    if (n.find_attribute("softmax_precision") != nullptr) {
      const int64_t p = n.get_int("softmax_precision", 0);
      const auto dt = static_cast<DataType>(p);
      if (dt != DataType::kFloat && dt != DataType::kDouble && dt != DataType::kFloat16 &&
          dt != DataType::kBFloat16)
        throw Error(ErrorCode::kInvalidModel, "attribute 'softmax_precision' is " + std::to_string(p) +
                                                  ", expected 1 (float), 10 (float16), 11 (double) or 16 (bfloat16)");
      precision = dt;
    }
    if (n.find_attribute("score_mod") != nullptr) score_mod = info.compile_subgraph(n.require_graph("score_mod"));
    if (n.find_attribute("prob_mod") != nullptr) prob_mod = info.compile_subgraph(n.require_graph("prob_mod"));
  }
};

/// Rounds values held in C to the half precision `dt` (a no-op for float and double, which C
/// already is).
template <typename C> void round_to(DataType dt, C* data, int64_t n) {
  if (dt == DataType::kFloat16)
    for (int64_t i = 0; i < n; ++i) data[i] = to_float(to_float16(static_cast<float>(data[i])));
  else if (dt == DataType::kBFloat16)
    for (int64_t i = 0; i < n; ++i) data[i] = to_float(to_bfloat16(static_cast<float>(data[i])));
}

class FlexAttention final : public Kernel {
 public:
  explicit FlexAttention(const KernelInfo& info) : a_(info) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& q = ctx.required_input(0);
    const Tensor& k = ctx.required_input(1);
    const Tensor& v = ctx.required_input(2);
    if (q.rank() != 4 || k.rank() != 4 || v.rank() != 4 || k.dtype() != q.dtype() || v.dtype() != q.dtype())
      fail(ctx, ErrorCode::kInvalidArgument, "Q, K and V must be rank 4 with one element type, got Q " +
                                                 q.describe() + ", K " + k.describe() + ", V " + v.describe());
    const int64_t hq = q.dim(1), hkv = k.dim(1);
    if (k.dim(0) != q.dim(0) || v.dim(0) != q.dim(0) || v.dim(1) != hkv || v.dim(2) != k.dim(2) ||
        k.dim(3) != q.dim(3) || hkv <= 0 || hq % hkv != 0)
      fail(ctx, ErrorCode::kInvalidArgument,
           "Q " + q.describe() + ", K " + k.describe() + " and V " + v.describe() +
               " do not fit: need Q [B, Hq, L, E], K [B, Hkv, S, E], V [B, Hkv, S, Ev] with Hq a multiple of Hkv");
    const DataType precision = a_.precision.value_or(q.dtype() == DataType::kDouble ? DataType::kDouble
                                                                                     : DataType::kFloat);
    visit_dtype(FloatHalfTypes{}, q.dtype(), "Q", [&](auto tag) {
      using T = typename decltype(tag)::type;
      if (precision == DataType::kDouble) run<T, double>(ctx, q, k, v, precision);
      else run<T, float>(ctx, q, k, v, precision);
    });
  }

 private:
  /// T: the storage type; C: the softmax type (double or float, holding half precisions).
  template <typename T, typename C>
  void run(KernelContext& ctx, const Tensor& q, const Tensor& k, const Tensor& v, DataType precision) const {
    using A = compute_t<T>;  // the type Q @ K^T accumulates in, as numpy's matmul of T
    using MatA = Eigen::Matrix<A, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    using MatC = Eigen::Matrix<C, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    const int64_t b = q.dim(0), hq = q.dim(1), l = q.dim(2), e = q.dim(3);
    const int64_t hkv = k.dim(1), s = k.dim(2), ev = v.dim(3), group = hq / hkv;
    const auto& pool = ctx.thread_pool();
    const std::vector<int64_t> score_shape = {b, hq, l, s};
    Tensor& y = ctx.allocate_output(0, q.dtype(), {b, hq, l, ev});
    if (y.element_count() == 0) return;

    // Q and K pre-scaled by sqrt(scale), rounded to T as the reference's elementwise product.
    const float scale = a_.scale.value_or(static_cast<float>(1.0 / std::sqrt(static_cast<double>(e))));
    const A sqrt_scale = to_compute(from_compute<T>(std::sqrt(scale)));
    auto prescale = [&](const Tensor& x) {
      Tensor out = Tensor::empty(kDTypeOf<A>, x.shape());
      const T* src = x.data<T>();
      A* dst = out.data<A>();
      pool.parallel_for(x.element_count(), 2.0, [&](int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; ++i) dst[i] = to_compute(from_compute<T>(to_compute(src[i]) * sqrt_scale));
      });
      return out;
    };
    const Tensor qs = prescale(q), ks = prescale(k);
    Tensor scores = Tensor::empty(kDTypeOf<C>, score_shape);
    C* sc = scores.data<C>();
    pool.parallel_for(b * hq, static_cast<double>(l * s * e), [&](int64_t i0, int64_t i1) {
      MatA tmp(l, s);
      for (int64_t i = i0; i < i1; ++i) {
        const int64_t kv = (i / hq) * hkv + (i % hq) / group;
        Eigen::Map<const MatA> qm(qs.data<A>() + i * l * e, l, e);
        Eigen::Map<const MatA> km(ks.data<A>() + kv * s * e, s, e);
        tmp.noalias() = qm * km.transpose();
        C* dst = sc + i * l * s;
        for (int64_t j = 0; j < l * s; ++j) dst[j] = static_cast<C>(to_compute(from_compute<T>(tmp.data()[j])));
      }
    });
    round_to(precision, sc, scores.element_count());
    if (a_.score_mod) apply_mod<C>(ctx, *a_.score_mod, "score_mod", scores, precision);

    pool.parallel_for(b * hq * l, static_cast<double>(s * 4), [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        C* row = sc + r * s;
        C mx = -std::numeric_limits<C>::infinity();
        for (int64_t j = 0; j < s; ++j) mx = std::max(mx, row[j]);
        C sum = 0;
        for (int64_t j = 0; j < s; ++j) sum += (row[j] = std::exp(row[j] - mx));
        for (int64_t j = 0; j < s; ++j) row[j] /= sum;
      }
    });
    round_to(precision, sc, scores.element_count());
    if (a_.prob_mod) apply_mod<C>(ctx, *a_.prob_mod, "prob_mod", scores, precision);

    std::vector<C> vc(static_cast<size_t>(v.element_count()));
    load_span(v.data<T>(), vc.data(), v.element_count());
    round_to(precision, vc.data(), v.element_count());
    T* py = y.data<T>();
    pool.parallel_for(b * hq, static_cast<double>(l * s * ev), [&](int64_t i0, int64_t i1) {
      MatC out(l, ev);
      for (int64_t i = i0; i < i1; ++i) {
        const int64_t kv = (i / hq) * hkv + (i % hq) / group;
        Eigen::Map<const MatC> pm(sc + i * l * s, l, s);
        Eigen::Map<const MatC> vm(vc.data() + kv * s * ev, s, ev);
        out.noalias() = pm * vm;
        T* dst = py + i * l * ev;
        for (int64_t j = 0; j < l * ev; ++j) dst[j] = from_compute<T>(out.data()[j]);
      }
    });
  }

  /// Runs a modifier subgraph on `buf` (C values of shape [B, Hq, L, S]) as a tensor of the
  /// softmax precision, and reads its result back into `buf`.
  template <typename C>
  static void apply_mod(KernelContext& ctx, const SubgraphRunner& mod, const std::string& name, Tensor& buf,
                        DataType precision) {
    Tensor in = buf;
    if (precision != buf.dtype()) {
      in = Tensor::empty(precision, buf.shape());
      visit_dtype(FloatHalfTypes{}, precision, name, [&](auto tag) {
        using P = typename decltype(tag)::type;
        const C* src = buf.data<C>();
        P* dst = in.data<P>();
        for (int64_t i = 0; i < buf.element_count(); ++i) dst[i] = from_compute<P>(src[i]);
      });
    }
    std::vector<Value> outs = mod.run(ctx, {Value(in)});
    if (outs.size() != 1 || !outs[0].is_tensor())
      fail(ctx, ErrorCode::kInvalidArgument, name + " must produce exactly one tensor");
    const Tensor& out = outs[0].tensor();
    if (out.dtype() != precision || out.shape() != buf.shape())
      fail(ctx, ErrorCode::kInvalidArgument, name + " must return its input's type and shape " +
                                                 std::string(dtype_name(precision)) + shape_to_string(buf.shape()) +
                                                 ", got " + out.describe());
    visit_dtype(FloatHalfTypes{}, precision, name, [&](auto tag) {
      using P = typename decltype(tag)::type;
      load_span(out.data<P>(), buf.data<C>(), out.element_count());
    });
  }

  FlexAttentionAttributes a_;
};

}  // namespace

void register_flex_attention_kernels(KernelRegistry& r) {
  r.add("FlexAttention", {1}, make_kernel<FlexAttention>, FloatHalfTypes::dtypes(), "ai.onnx.preview");
}

}  // namespace ferry::ep::cpu
