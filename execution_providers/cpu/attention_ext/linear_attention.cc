// LinearAttention (opset 27): the recurrent linear-attention family, run token by token.
// Q/K/V are packed [B, T, H*D]; the state S is [B, H_kv, d_k, d_v] per KV head, and query head
// h reads the state of KV head h / (q_num_heads / kv_num_heads). For each token t:
//   gated:   S *= exp(g_t)                     (g_t per KV head, or per key dim)
//   delta:   v_t = beta_t * (v_t - S^T k_t)
//   all:     S += k_t (x) v_t;   o_t = scale * q_t^T S
// Everything is computed in float and rounded once on store; (batch, KV head) pairs are
// independent and run in parallel.
#include <cmath>
#include <vector>

#include "execution_providers/cpu/attention_ext/attention_ext.h"
#include "execution_providers/cpu/common.h"

namespace ferry::ep::cpu {
namespace {

struct LinearAttentionAttributes {
  int64_t q_num_heads;   // "q_num_heads": required
  int64_t kv_num_heads;  // "kv_num_heads": required
  float scale;           // "scale": 0 = 1 / sqrt(d_k)
  bool gated;            // "update_rule": "gated_delta" (default), "gated", "delta", "linear"
  bool delta;
  explicit LinearAttentionAttributes(const ir::Node& n)
      : q_num_heads(n.require_int("q_num_heads")),
        kv_num_heads(n.require_int("kv_num_heads")),
        scale(n.get_float("scale", 0.0f)) {
    const std::string rule = n.get_string("update_rule", "gated_delta");
    if (rule != "linear" && rule != "gated" && rule != "delta" && rule != "gated_delta")
      throw Error(ErrorCode::kInvalidModel, "attribute 'update_rule' is '" + rule +
                                                "', expected 'linear', 'gated', 'delta' or 'gated_delta'");
    gated = rule == "gated" || rule == "gated_delta";
    delta = rule == "delta" || rule == "gated_delta";
    if (q_num_heads <= 0 || kv_num_heads <= 0 || q_num_heads % kv_num_heads != 0)
      throw Error(ErrorCode::kInvalidModel, "q_num_heads (" + std::to_string(q_num_heads) +
                                                ") must be a positive multiple of kv_num_heads (" +
                                                std::to_string(kv_num_heads) + ")");
  }
};

const Tensor* optional_input(const KernelContext& ctx, size_t i) {
  const Tensor* t = ctx.input_count() > i ? ctx.input(i) : nullptr;
  return t != nullptr && t->defined() ? t : nullptr;
}

class LinearAttention final : public Kernel {
 public:
  explicit LinearAttention(const KernelInfo& info) : a_(info.node()) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& q = ctx.required_input(0);
    const Tensor& k = ctx.required_input(1);
    const Tensor& v = ctx.required_input(2);
    const Tensor* past = optional_input(ctx, 3);
    const Tensor* decay = optional_input(ctx, 4);
    const Tensor* beta = optional_input(ctx, 5);
    const auto bad = [&](const std::string& msg) { fail(ctx, ErrorCode::kInvalidArgument, msg); };
    if (a_.gated != (decay != nullptr))
      bad(a_.gated ? "update_rule '" + rule() + "' requires the decay input"
                   : "update_rule '" + rule() + "' takes no decay input");
    if (a_.delta != (beta != nullptr))
      bad(a_.delta ? "update_rule '" + rule() + "' requires the beta input"
                   : "update_rule '" + rule() + "' takes no beta input");
    if (q.rank() != 3 || k.rank() != 3 || v.rank() != 3)
      bad("query, key and value must be rank 3 (B, T, H*D), got " + q.describe() + ", " + k.describe() + ", " +
          v.describe());
    const int64_t hq = a_.q_num_heads, hkv = a_.kv_num_heads;
    const int64_t b = q.dim(0), t = q.dim(1), dk = q.dim(2) / hq;
    const int64_t dv = v.dim(2) / hkv;
    if (q.dim(2) % hq != 0 || v.dim(2) % hkv != 0 || k.shape() != std::vector<int64_t>{b, t, hkv * dk} ||
        v.dim(0) != b || v.dim(1) != t)
      bad("query " + q.describe() + ", key " + k.describe() + " and value " + v.describe() +
          " do not fit q_num_heads " + std::to_string(hq) + " and kv_num_heads " + std::to_string(hkv) +
          " (need query [B, T, q_num_heads*d_k], key [B, T, kv_num_heads*d_k], value [B, T, kv_num_heads*d_v])");
    for (const Tensor* in : {&k, &v, decay, beta})
      if (in != nullptr && in->dtype() != q.dtype())
        bad("query, key, value, decay and beta must share one element type, got " + q.describe() + " and " +
            in->describe());
    const std::vector<int64_t> state_shape = {b, hkv, dk, dv};
    if (past != nullptr && past->shape() != state_shape)
      bad("past_state must have shape " + shape_to_string(state_shape) + " (B, kv_num_heads, d_k, d_v), got " +
          past->describe());
    if (decay != nullptr && (decay->rank() != 3 || decay->dim(0) != b || decay->dim(1) != t ||
                             (decay->dim(2) != hkv && decay->dim(2) != hkv * dk)))
      bad("decay must have shape [" + std::to_string(b) + ", " + std::to_string(t) + ", " + std::to_string(hkv) +
          " or " + std::to_string(hkv * dk) + "] (per KV head or per key dim), got " + decay->describe());
    if (beta != nullptr && (beta->rank() != 3 || beta->dim(0) != b || beta->dim(1) != t ||
                            (beta->dim(2) != hkv && beta->dim(2) != 1)))
      bad("beta must have shape [" + std::to_string(b) + ", " + std::to_string(t) + ", " + std::to_string(hkv) +
          " or 1], got " + beta->describe());
    const float scale = a_.scale != 0.0f ? a_.scale : static_cast<float>(1.0 / std::sqrt(static_cast<double>(dk)));
    const DataType state_dtype = past != nullptr ? past->dtype() : q.dtype();

    visit_dtype(FloatAndHalfTypes{}, q.dtype(), "query", [&](auto tag) {
      using T = typename decltype(tag)::type;
      visit_dtype(FloatAndHalfTypes{}, state_dtype, "past_state", [&](auto stag) {
        using S = typename decltype(stag)::type;
        T* out = ctx.allocate_output(0, q.dtype(), {b, t, hq * dv}).template data<T>();
        S* present = ctx.allocate_output(1, state_dtype, state_shape).template data<S>();
        Pointers<T, S> p{q.data<T>(), k.data<T>(), v.data<T>(), past ? past->data<S>() : nullptr,
                         decay ? decay->data<T>() : nullptr, beta ? beta->data<T>() : nullptr, out, present};
        const Dims d{b, t, hq, hkv, dk, dv, decay ? decay->dim(2) : 0, beta ? beta->dim(2) : 0, scale};
        ctx.thread_pool().parallel_for(b * hkv, static_cast<double>(t * dk * dv * (hq / hkv + 3) * 2),
                                       [&](int64_t i0, int64_t i1) {
                                         for (int64_t i = i0; i < i1; ++i) run_head(p, d, i / hkv, i % hkv);
                                       });
      });
    });
  }

 private:
  template <typename T, typename S> struct Pointers {
    const T *q, *k, *v;
    const S* past;
    const T *decay, *beta;
    T* out;
    S* present;
  };
  struct Dims {
    int64_t b, t, hq, hkv, dk, dv, decay_last, beta_last;
    float scale;
  };

  std::string rule() const {
    return a_.gated ? (a_.delta ? "gated_delta" : "gated") : (a_.delta ? "delta" : "linear");
  }

  /// The whole sequence for one batch entry and one KV head (and the query heads sharing it).
  template <typename T, typename S>
  void run_head(const Pointers<T, S>& p, const Dims& d, int64_t bi, int64_t h) const {
    const int64_t dk = d.dk, dv = d.dv, group = d.hq / d.hkv;
    std::vector<float> state(static_cast<size_t>(dk * dv), 0.0f), kt(dk), vt(dv), qt(dk), g(dk), acc(dv);
    const int64_t state_off = (bi * d.hkv + h) * dk * dv;
    if (p.past != nullptr) load_span(p.past + state_off, state.data(), dk * dv);
    for (int64_t ti = 0; ti < d.t; ++ti) {
      const int64_t row = bi * d.t + ti;
      load_span(p.k + (row * d.hkv + h) * dk, kt.data(), dk);
      load_span(p.v + (row * d.hkv + h) * dv, vt.data(), dv);
      if (a_.gated) {
        if (d.decay_last == d.hkv) std::fill(g.begin(), g.end(), std::exp(to_compute(p.decay[row * d.hkv + h])));
        else
          for (int64_t i = 0; i < dk; ++i) g[i] = std::exp(to_compute(p.decay[(row * d.hkv + h) * dk + i]));
        for (int64_t i = 0; i < dk; ++i)
          for (int64_t m = 0; m < dv; ++m) state[i * dv + m] *= g[i];
      }
      if (a_.delta) {
        const float bt = to_compute(p.beta[row * d.beta_last + (d.beta_last == 1 ? 0 : h)]);
        std::fill(acc.begin(), acc.end(), 0.0f);
        for (int64_t i = 0; i < dk; ++i)
          for (int64_t m = 0; m < dv; ++m) acc[m] += state[i * dv + m] * kt[i];
        for (int64_t m = 0; m < dv; ++m) vt[m] = bt * (vt[m] - acc[m]);
      }
      for (int64_t i = 0; i < dk; ++i)
        for (int64_t m = 0; m < dv; ++m) state[i * dv + m] += kt[i] * vt[m];
      for (int64_t hh = h * group; hh < (h + 1) * group; ++hh) {
        load_span(p.q + (row * d.hq + hh) * dk, qt.data(), dk);
        T* o = p.out + (row * d.hq + hh) * dv;
        std::fill(acc.begin(), acc.end(), 0.0f);
        for (int64_t i = 0; i < dk; ++i)
          for (int64_t m = 0; m < dv; ++m) acc[m] += qt[i] * state[i * dv + m];
        for (int64_t m = 0; m < dv; ++m) o[m] = from_compute<T>(d.scale * acc[m]);
      }
    }
    for (int64_t i = 0; i < dk * dv; ++i) p.present[state_off + i] = from_compute<S>(state[i]);
  }

  LinearAttentionAttributes a_;
};

}  // namespace

void register_linear_attention_kernels(KernelRegistry& r) {
  r.add("LinearAttention", {27}, make_kernel<LinearAttention>, FloatAndHalfTypes::dtypes());
}

}  // namespace ferry::ep::cpu
