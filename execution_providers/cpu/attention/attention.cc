// Attention (ai.onnx 23, 24, 25): scaled dot-product attention over 3-D [batch, seq, heads*size]
// or 4-D [batch, heads, seq, size] Q/K/V, with grouped-query heads, a boolean or additive mask,
// causal and sliding-window masking aligned bottom-right to the key cache, past/present key and
// value caches, nonpad_kv_seqlen (24+), softcap, softmax_precision and the qk_matmul output.
//
// Each (batch, query head) is one task on the thread pool: its Q·K^T and P·V are Eigen GEMMs in
// float (double for double inputs). Half-precision inputs are rounded back to their type where
// the ONNX reference rounds (scaled Q and K, the scores, the biased scores, the probabilities),
// so results agree with it to the suite's tolerance.
#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <limits>

#include "execution_providers/cpu/attention/attention.h"
#include "execution_providers/cpu/cpu_provider.h"

namespace ferry::ep::cpu {
namespace {

using attn::round_to;

struct AttentionAttributes {
  int64_t is_causal = 0;
  int64_t q_num_heads = 0;   // 3-D inputs only
  int64_t kv_num_heads = 0;  // 3-D inputs only
  int64_t qk_matmul_output_mode = 0;
  std::optional<double> scale;  // default 1/sqrt(head_size)
  double softcap = 0.0;
  DataType softmax_precision = DataType::kUndefined;  // default: the type of Q
  int64_t left_window_size = -1;   // opset 25
  int64_t right_window_size = -1;  // opset 25

  AttentionAttributes(const KernelInfo& info) {
    const ir::Node& n = info.node();
    is_causal = n.get_int("is_causal", 0);
    q_num_heads = n.get_int("q_num_heads", 0);
    kv_num_heads = n.get_int("kv_num_heads", 0);
    qk_matmul_output_mode = n.get_int("qk_matmul_output_mode", 0);
    if (n.find_attribute("scale")) scale = n.get_float("scale", 0.0f);
    softcap = n.get_float("softcap", 0.0f);
    if (n.find_attribute("softmax_precision")) {
      const int64_t p = n.get_int("softmax_precision", 1);
      switch (p) {
        case 1: softmax_precision = DataType::kFloat; break;
        case 10: softmax_precision = DataType::kFloat16; break;
        case 11: softmax_precision = DataType::kDouble; break;
        case 16: softmax_precision = DataType::kBFloat16; break;
        default:
          fail_model(info, "attribute 'softmax_precision' is " + std::to_string(p) +
                               "; valid: 1 (float), 10 (float16), 11 (double), 16 (bfloat16)");
      }
    }
    if (info.opset() >= 25) {
      left_window_size = n.get_int("left_window_size", -1);
      right_window_size = n.get_int("right_window_size", -1);
      if (left_window_size < -1 || right_window_size < -1)
        fail_model(info, "attributes 'left_window_size' and 'right_window_size' must be -1 or >= 0, got " +
                             std::to_string(left_window_size) + " and " + std::to_string(right_window_size));
    }
    if (qk_matmul_output_mode < 0 || qk_matmul_output_mode > 3)
      fail_model(info, "attribute 'qk_matmul_output_mode' is " + std::to_string(qk_matmul_output_mode) +
                           "; valid: 0, 1, 2, 3");
    if (q_num_heads < 0 || kv_num_heads < 0)
      fail_model(info, "attributes 'q_num_heads' and 'kv_num_heads' must be positive, got " +
                           std::to_string(q_num_heads) + " and " + std::to_string(kv_num_heads));
  }
};

/// Sizes of one call, and where row j of each head of Q, K, V lives (head_size contiguous).
struct Geometry {
  int64_t batch = 0, q_heads = 0, kv_heads = 0, q_seq = 0, kv_seq = 0, past = 0, total = 0;
  int64_t head = 0, v_head = 0;
  bool three_d = false;

  /// Offset (elements) of row `s` of head `h` in batch `b` of a [B, S, H*D] or [B, H, S, D] tensor.
  int64_t row(int64_t b, int64_t h, int64_t s, int64_t heads, int64_t seq, int64_t d) const {
    return three_d ? (b * seq + s) * heads * d + h * d : ((b * heads + h) * seq + s) * d;
  }
};

Geometry geometry(const KernelContext& ctx, const AttentionAttributes& a) {
  const Tensor& q = ctx.required_input(0);
  const Tensor& k = ctx.required_input(1);
  const Tensor& v = ctx.required_input(2);
  const Tensor* past_k = ctx.input(4);
  const Tensor* past_v = ctx.input(5);
  Geometry g;
  if (q.rank() != k.rank() || q.rank() != v.rank() || (q.rank() != 3 && q.rank() != 4))
    fail(ctx, ErrorCode::kInvalidArgument,
         "Q, K and V must all be 3-D or all 4-D, got " + q.describe() + ", " + k.describe() + ", " + v.describe());
  g.three_d = q.rank() == 3;
  g.batch = q.dim(0);
  if (k.dim(0) != g.batch || v.dim(0) != g.batch)
    fail(ctx, ErrorCode::kInvalidArgument,
         "Q, K and V must have one batch size, got " + q.describe() + ", " + k.describe() + ", " + v.describe());
  int64_t v_heads = 0;
  if (g.three_d) {
    if (a.q_num_heads <= 0 || a.kv_num_heads <= 0)
      fail(ctx, ErrorCode::kInvalidArgument,
           "3-D inputs need the attributes 'q_num_heads' and 'kv_num_heads' (> 0), got " +
               std::to_string(a.q_num_heads) + " and " + std::to_string(a.kv_num_heads));
    g.q_heads = a.q_num_heads;
    g.kv_heads = v_heads = a.kv_num_heads;
    if (q.dim(2) % g.q_heads != 0 || k.dim(2) % g.kv_heads != 0 || v.dim(2) % g.kv_heads != 0)
      fail(ctx, ErrorCode::kInvalidArgument,
           "hidden sizes of Q " + q.describe() + ", K " + k.describe() + ", V " + v.describe() +
               " must be multiples of q_num_heads " + std::to_string(g.q_heads) + " and kv_num_heads " +
               std::to_string(g.kv_heads));
    g.q_seq = q.dim(1);
    g.kv_seq = k.dim(1);
    g.head = q.dim(2) / g.q_heads;
    if (k.dim(2) / g.kv_heads != g.head)
      fail(ctx, ErrorCode::kInvalidArgument,
           "head sizes of Q " + q.describe() + " and K " + k.describe() + " differ");
    g.v_head = v.dim(2) / g.kv_heads;
    if (v.dim(1) != g.kv_seq)
      fail(ctx, ErrorCode::kInvalidArgument,
           "K " + k.describe() + " and V " + v.describe() + " must have one sequence length");
  } else {
    g.q_heads = q.dim(1);
    g.kv_heads = k.dim(1);
    v_heads = v.dim(1);
    g.q_seq = q.dim(2);
    g.kv_seq = k.dim(2);
    g.head = q.dim(3);
    g.v_head = v.dim(3);
    if (k.dim(3) != g.head || v_heads != g.kv_heads || v.dim(2) != g.kv_seq)
      fail(ctx, ErrorCode::kInvalidArgument,
           "K " + k.describe() + " must match Q " + q.describe() + " in head size, and V " + v.describe() +
               " must match K in heads and sequence length");
  }
  if (g.kv_heads <= 0 || g.q_heads % g.kv_heads != 0)
    fail(ctx, ErrorCode::kInvalidArgument,
         "the number of query heads (" + std::to_string(g.q_heads) + ") must be a multiple of the number of "
         "key/value heads (" + std::to_string(g.kv_heads) + ")");
  if ((past_k == nullptr) != (past_v == nullptr))
    fail(ctx, ErrorCode::kInvalidArgument, "past_key and past_value must be given together");
  if (past_k) {
    if (past_k->rank() != 4 || past_v->rank() != 4 || past_k->dim(0) != g.batch || past_k->dim(1) != g.kv_heads ||
        past_k->dim(3) != g.head || past_v->dim(0) != g.batch || past_v->dim(1) != g.kv_heads ||
        past_v->dim(2) != past_k->dim(2) || past_v->dim(3) != g.v_head)
      fail(ctx, ErrorCode::kInvalidArgument,
           "past_key " + past_k->describe() + " and past_value " + past_v->describe() + " must be [" +
               std::to_string(g.batch) + ", " + std::to_string(g.kv_heads) + ", past, " + std::to_string(g.head) +
               "] and [.., " + std::to_string(g.v_head) + "]");
    if (past_k->dtype() != k.dtype() || past_v->dtype() != v.dtype())
      fail(ctx, ErrorCode::kInvalidArgument, "past_key and past_value must have the types of K and V");
    g.past = past_k->dim(2);
  }
  g.total = g.past + g.kv_seq;
  return g;
}

/// The additive mask (bool: 0 / -inf) as C values, indexed with numpy broadcasting over
/// [batch, q_heads, q_seq, cols]; columns at and beyond `cols` are -inf (the spec pads a short
/// mask).
template <typename C>
struct Mask {
  std::vector<C> values;
  int64_t sb = 0, sh = 0, sq = 0;  // strides in elements, 0 where broadcast
  int64_t cols = 0;

  C at(int64_t b, int64_t h, int64_t i, int64_t j) const {
    if (j >= cols) return -std::numeric_limits<C>::infinity();
    return values[static_cast<size_t>(b * sb + h * sh + i * sq + j)];
  }
};

template <typename C>
Mask<C> read_mask(const KernelContext& ctx, const Tensor& m, const Geometry& g, DataType t1) {
  if (m.rank() < 1 || m.rank() > 4)
    fail(ctx, ErrorCode::kInvalidArgument, "attn_mask must have rank 1 to 4, got " + m.describe());
  Mask<C> mask;
  const std::vector<int64_t>& s = m.shape();
  mask.cols = s.back();
  if (mask.cols > g.total)
    fail(ctx, ErrorCode::kInvalidArgument,
         "attn_mask " + m.describe() + " has more columns than the " + std::to_string(g.total) + " keys");
  const int64_t want[3] = {g.batch, g.q_heads, g.q_seq};
  int64_t strides[3] = {0, 0, 0};
  int64_t stride = mask.cols;
  for (int d = 2; d >= 0; --d) {
    const int64_t md = static_cast<int64_t>(s.size()) - 1 - (3 - d);  // mask dim aligned with want[d]
    if (md < 0) break;
    const int64_t dim = s[static_cast<size_t>(md)];
    if (dim != 1 && dim != want[d])
      fail(ctx, ErrorCode::kInvalidArgument,
           "attn_mask " + m.describe() + " does not broadcast to [batch " + std::to_string(g.batch) + ", heads " +
               std::to_string(g.q_heads) + ", q_seq " + std::to_string(g.q_seq) + ", kv_seq " +
               std::to_string(g.total) + "]");
    strides[d] = dim == 1 ? 0 : stride;
    stride *= dim;
  }
  mask.sb = strides[0];
  mask.sh = strides[1];
  mask.sq = strides[2];
  mask.values.resize(static_cast<size_t>(m.element_count()));
  if (m.dtype() == DataType::kBool) {
    const bool* p = m.data<bool>();
    for (size_t i = 0; i < mask.values.size(); ++i)
      mask.values[i] = p[i] ? C(0) : -std::numeric_limits<C>::infinity();
  } else {
    using MaskTypes = Types<float, double, Float16, BFloat16, int8_t, uint8_t, int16_t, uint16_t, int32_t,
                            uint32_t, int64_t, uint64_t>;
    visit_dtype(MaskTypes{}, m.dtype(), "input 'attn_mask'", [&](auto tag) {
      using M = typename decltype(tag)::type;
      const M* p = m.data<M>();
      for (size_t i = 0; i < mask.values.size(); ++i) mask.values[i] = round_to(t1, attn::load<C>(p[i]));
    });
  }
  return mask;
}

class Attention final : public Kernel {
 public:
  explicit Attention(const KernelInfo& info) : a_(info), opset_(info.opset()) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& q = ctx.required_input(0);
    const Tensor& k = ctx.required_input(1);
    const Tensor& v = ctx.required_input(2);
    if (k.dtype() != q.dtype() || v.dtype() != q.dtype())
      fail(ctx, ErrorCode::kNotImplemented,
           "Q, K and V must have one element type, got " + q.describe() + ", " + k.describe() + ", " + v.describe());
    if (opset_ >= 25 && q.rank() == 4 && (a_.q_num_heads > 0 || a_.kv_num_heads > 0))
      fail(ctx, ErrorCode::kInvalidArgument, "q_num_heads and kv_num_heads must not be given with 4-D inputs");
    const Geometry g = geometry(ctx, a_);
    const Tensor* nonpad = ctx.input(6);
    if (nonpad) {
      if (ctx.input(4))
        fail(ctx, ErrorCode::kInvalidArgument, "nonpad_kv_seqlen cannot be combined with past_key/past_value");
      if (nonpad->rank() != 1 || nonpad->dim(0) != g.batch)
        fail(ctx, ErrorCode::kInvalidArgument,
             "nonpad_kv_seqlen must be [" + std::to_string(g.batch) + "], got " + nonpad->describe());
    }
    visit_dtype(attn::AttentionTypes{}, q.dtype(), "input 'Q'", [&](auto tag) {
      using T = typename decltype(tag)::type;
      using C = std::conditional_t<std::is_same_v<T, double>, double, float>;
      std::vector<int64_t> lengths = nonpad ? read_ints(*nonpad, "input 'nonpad_kv_seqlen'") : std::vector<int64_t>{};
      // Far beyond any sequence, so the frontier arithmetic below cannot overflow.
      for (int64_t& n : lengths) n = std::clamp<int64_t>(n, -(int64_t{1} << 40), int64_t{1} << 40);
      run<T, C>(ctx, g, lengths);
    });
  }

 private:
  template <typename T, typename C>
  void run(KernelContext& ctx, const Geometry& g, const std::vector<int64_t>& nonpad) const {
    using Mat = Eigen::Matrix<C, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    constexpr C kNegInf = -std::numeric_limits<C>::infinity();
    const DataType t1 = kDTypeOf<T>;
    const DataType sp = a_.softmax_precision == DataType::kUndefined ? t1 : a_.softmax_precision;
    const Tensor& q = ctx.required_input(0);
    const Tensor& k = ctx.required_input(1);
    const Tensor& v = ctx.required_input(2);
    const Tensor* past_k = ctx.input(4);
    const Tensor* past_v = ctx.input(5);
    const Mask<C> mask = ctx.input(3) ? read_mask<C>(ctx, *ctx.input(3), g, t1) : Mask<C>{};
    const bool has_mask = ctx.input(3) != nullptr;

    const T* pq = q.data<T>();
    const T* pk = k.data<T>();
    const T* pv = v.data<T>();
    const T* ppk = past_k ? past_k->data<T>() : nullptr;
    const T* ppv = past_v ? past_v->data<T>() : nullptr;
    // Row j of the key (value) cache of one kv head: the past rows, then this call's.
    auto key_row = [&](int64_t b, int64_t h, int64_t j) {
      return j < g.past ? ppk + ((b * g.kv_heads + h) * g.past + j) * g.head
                        : pk + g.row(b, h, j - g.past, g.kv_heads, g.kv_seq, g.head);
    };
    auto value_row = [&](int64_t b, int64_t h, int64_t j) {
      return j < g.past ? ppv + ((b * g.kv_heads + h) * g.past + j) * g.v_head
                        : pv + g.row(b, h, j - g.past, g.kv_heads, g.kv_seq, g.v_head);
    };

    std::vector<int64_t> y_shape = g.three_d ? std::vector<int64_t>{g.batch, g.q_seq, g.q_heads * g.v_head}
                                             : std::vector<int64_t>{g.batch, g.q_heads, g.q_seq, g.v_head};
    T* py = ctx.allocate_output(0, t1, y_shape).template data<T>();
    // present_key / present_value: the concatenated caches, always 4-D.
    for (int which = 0; which < 2; ++which) {
      const size_t out = static_cast<size_t>(1 + which);
      if (ctx.output_count() <= out || !ctx.output_wanted(out)) continue;
      const int64_t d = which == 0 ? g.head : g.v_head;
      T* dst = ctx.allocate_output(out, t1, {g.batch, g.kv_heads, g.total, d}).template data<T>();
      for (int64_t b = 0; b < g.batch; ++b)
        for (int64_t h = 0; h < g.kv_heads; ++h)
          for (int64_t j = 0; j < g.total; ++j) {
            const T* src = which == 0 ? key_row(b, h, j) : value_row(b, h, j);
            std::copy(src, src + d, dst + ((b * g.kv_heads + h) * g.total + j) * d);
          }
    }
    T* pqk = nullptr;
    if (ctx.output_count() > 3 && ctx.output_wanted(3))
      pqk = ctx.allocate_output(3, t1, {g.batch, g.q_heads, g.q_seq, g.total}).template data<T>();

    const C scale_sqrt = round_to(
        t1, static_cast<C>(std::sqrt(a_.scale ? *a_.scale : 1.0 / std::sqrt(static_cast<double>(g.head)))));
    const C softcap = round_to(t1, static_cast<C>(a_.softcap));
    const int64_t group = g.q_heads / g.kv_heads;
    const int64_t tasks = g.batch * g.q_heads;
    const double cost = static_cast<double>(g.q_seq * g.total * (g.head + g.v_head) + g.total * (g.head + g.v_head));

    ctx.thread_pool().parallel_for(tasks, cost, [&](int64_t begin, int64_t end) {
      Mat qs(g.q_seq, g.head), ks(g.total, g.head), vs(g.total, g.v_head), s(g.q_seq, g.total),
          bias(g.q_seq, g.total), y(g.q_seq, g.v_head);
      std::vector<char> row_masked(static_cast<size_t>(g.q_seq));
      for (int64_t task = begin; task < end; ++task) {
        const int64_t b = task / g.q_heads, h = task % g.q_heads, kvh = h / group;
        for (int64_t i = 0; i < g.q_seq; ++i) {
          const T* src = pq + g.row(b, h, i, g.q_heads, g.q_seq, g.head);
          for (int64_t d = 0; d < g.head; ++d) qs(i, d) = round_to(t1, attn::load<C>(src[d]) * scale_sqrt);
        }
        for (int64_t j = 0; j < g.total; ++j) {
          const T* kr = key_row(b, kvh, j);
          for (int64_t d = 0; d < g.head; ++d) ks(j, d) = round_to(t1, attn::load<C>(kr[d]) * scale_sqrt);
          const T* vr = value_row(b, kvh, j);
          for (int64_t d = 0; d < g.v_head; ++d) vs(j, d) = attn::load<C>(vr[d]);
        }
        s.noalias() = qs * ks.transpose();

        // Causal and window frontiers are aligned to the end of the valid keys.
        const int64_t offset = g.past > 0 ? g.past : (!nonpad.empty() ? nonpad[static_cast<size_t>(b)] - g.q_seq : 0);
        const int64_t valid = nonpad.empty() ? g.total : nonpad[static_cast<size_t>(b)];
        for (int64_t i = 0; i < g.q_seq; ++i) {
          bool all_masked = true;
          for (int64_t j = 0; j < g.total; ++j) {
            C bv = has_mask ? mask.at(b, h, i, j) : C(0);
            if (a_.is_causal && j > i + offset) bv = kNegInf;
            const int64_t diff = i + offset - j;
            if ((a_.left_window_size >= 0 && diff > a_.left_window_size) ||
                (a_.right_window_size >= 0 && -diff > a_.right_window_size))
              bv = kNegInf;
            if (j >= valid) bv = kNegInf;
            bias(i, j) = bv;
            if (!(bv == kNegInf)) all_masked = false;
          }
          row_masked[static_cast<size_t>(i)] = all_masked;
        }

        for (int64_t i = 0; i < g.q_seq; ++i) {
          C* sr = &s(i, 0);
          T* qk_out = pqk ? pqk + ((b * g.q_heads + h) * g.q_seq + i) * g.total : nullptr;
          for (int64_t j = 0; j < g.total; ++j) {
            C x = round_to(t1, sr[j]);
            if (a_.softcap > 0)
              x = round_to(t1, round_to(t1, std::tanh(round_to(t1, x / softcap))) * softcap);
            if (qk_out && a_.qk_matmul_output_mode <= 1) qk_out[j] = attn::store<T>(x);
            x = round_to(t1, x + bias(i, j));
            if (qk_out && a_.qk_matmul_output_mode == 2) qk_out[j] = attn::store<T>(x);
            sr[j] = round_to(sp, x);
          }
          if (row_masked[static_cast<size_t>(i)]) {
            for (int64_t j = 0; j < g.total; ++j) sr[j] = 0;
          } else {
            softmax_row(sr, g.total, sp);
          }
          for (int64_t j = 0; j < g.total; ++j) {
            sr[j] = round_to(t1, sr[j]);
            if (qk_out && a_.qk_matmul_output_mode == 3) qk_out[j] = attn::store<T>(sr[j]);
          }
        }
        y.noalias() = s * vs;
        for (int64_t i = 0; i < g.q_seq; ++i) {
          T* dst = py + g.row(b, h, i, g.q_heads, g.q_seq, g.v_head);
          for (int64_t d = 0; d < g.v_head; ++d) dst[d] = attn::store<T>(y(i, d));
        }
      }
    });
  }

  /// Softmax of one row in precision `sp` (each step rounded to it, as the reference computes
  /// in that type); a row whose maximum is -inf gives zeros.
  template <typename C>
  static void softmax_row(C* x, int64_t n, DataType sp) {
    C mx = -std::numeric_limits<C>::infinity();
    for (int64_t j = 0; j < n; ++j) mx = std::max(mx, x[j]);
    if (std::isinf(mx) && mx < 0) mx = 0;
    C sum = 0;
    for (int64_t j = 0; j < n; ++j) {
      x[j] = round_to(sp, std::exp(round_to(sp, x[j] - mx)));
      // As the reference sums: numpy's float16 in float, rounding once; ml_dtypes' bfloat16
      // element by element, rounding each partial sum.
      sum = sp == DataType::kBFloat16 ? round_to(sp, sum + x[j]) : sum + x[j];
    }
    sum = round_to(sp, sum);
    if (sum == 0) sum = 1;
    for (int64_t j = 0; j < n; ++j) x[j] = round_to(sp, x[j] / sum);
  }

  AttentionAttributes a_;
  int64_t opset_;
};

}  // namespace

void register_attention_kernels(KernelRegistry& r) {
  r.add("Attention", {23, 24, 25}, make_kernel<Attention>, attn::AttentionTypes::dtypes());
  register_rotary_embedding_kernels(r);
}

}  // namespace ferry::ep::cpu
