// Inference for the newest-opset sequence-model ops: FlexAttention (ai.onnx.preview),
// LinearAttention and CausalConvWithState.
#include "ir/infer/common.h"

namespace ferry::ir::infer {

namespace {

/// Dim of a ranked input, or a fresh symbol when the rank is unknown.
Dim dim_or_fresh(InferenceContext& ctx, const Shape* s, size_t i) { return s ? s->dims[i] : ctx.fresh_dim(); }

void check_rank(const InferenceContext& ctx, const Shape* s, size_t rank, const std::string& what) {
  if (s && s->rank() != rank)
    ctx.fail("input '" + what + "' has shape " + s->to_string() + ", expected rank " + std::to_string(rank));
}

/// d / heads when d is a constant multiple of heads, else a fresh symbol; fails when a
/// constant d is not divisible.
Dim per_head(InferenceContext& ctx, const Dim& d, int64_t heads, const std::string& what) {
  const auto v = const_of(d);
  if (!v) return ctx.fresh_dim();
  if (heads <= 0 || *v % heads != 0)
    ctx.fail("last dim of '" + what + "' (" + std::to_string(*v) + ") is not divisible by " + std::to_string(heads) +
             " heads");
  return Dim(*v / heads);
}

// Y: [B, Hq, L, Ev] in Q's type. The modifier subgraphs see [B, Hq, L, S] in softmax_precision.
void flex_attention(InferenceContext& ctx) {
  const DataType dt = input_dtype(ctx, 0);
  const Shape* q = ranked_shape(ctx, 0);
  const Shape* k = ranked_shape(ctx, 1);
  const Shape* v = ranked_shape(ctx, 2);
  check_rank(ctx, q, 4, "Q");
  check_rank(ctx, k, 4, "K");
  check_rank(ctx, v, 4, "V");
  const Dim b = dim_or_fresh(ctx, q, 0), hq = dim_or_fresh(ctx, q, 1), l = dim_or_fresh(ctx, q, 2);
  const Dim s = dim_or_fresh(ctx, k, 2);
  const DataType precision = static_cast<DataType>(
      ctx.node().get_int("softmax_precision", static_cast<int64_t>(dt == DataType::kDouble ? DataType::kDouble
                                                                                            : DataType::kFloat)));
  for (const char* name : {"score_mod", "prob_mod"}) {
    if (ctx.node().find_attribute(name) != nullptr)
      ctx.infer_subgraph(ctx.node().require_graph(name), {Type::tensor(precision, Shape({b, hq, l, s}))});
  }
  ctx.set_output_type(0, Type::tensor(dt, Shape({b, hq, l, dim_or_fresh(ctx, v, 3)})));
}

// output: [B, T, Hq * d_v] in query's type; present_state: [B, Hkv, d_k, d_v] in past_state's
// type (query's when past_state is omitted).
void linear_attention(InferenceContext& ctx) {
  const Node& n = ctx.node();
  const int64_t hq = n.require_int("q_num_heads"), hkv = n.require_int("kv_num_heads");
  if (hq <= 0 || hkv <= 0 || hq % hkv != 0)
    ctx.fail("q_num_heads (" + std::to_string(hq) + ") must be a positive multiple of kv_num_heads (" +
             std::to_string(hkv) + ")");
  const DataType dt = input_dtype(ctx, 0);
  const Shape* q = ranked_shape(ctx, 0);
  const Shape* v = ranked_shape(ctx, 2);
  check_rank(ctx, q, 3, "query");
  check_rank(ctx, ranked_shape(ctx, 1), 3, "key");
  check_rank(ctx, v, 3, "value");
  const Dim b = dim_or_fresh(ctx, q, 0), t = dim_or_fresh(ctx, q, 1);
  const Dim dk = q ? per_head(ctx, q->dims[2], hq, "query") : ctx.fresh_dim();
  const Dim dv = v ? per_head(ctx, v->dims[2], hkv, "value") : ctx.fresh_dim();
  const auto dv_const = const_of(dv);
  const Dim out_last = dv_const ? Dim(*dv_const * hq) : (v ? Dim(hq) * dv : ctx.fresh_dim());
  ctx.set_output_type(0, Type::tensor(dt, Shape({b, t, out_last})));
  if (ctx.output_count() > 1) {
    const bool has_past = ctx.has_input(3);
    const DataType st = has_past ? input_dtype(ctx, 3) : dt;
    ctx.set_output_type(1, Type::tensor(st, Shape({b, Dim(hkv), dk, dv})));
  }
}

// output: input's shape; present_state: [B, C, k - 1] with k the weight's last dim.
void causal_conv_with_state(InferenceContext& ctx) {
  const DataType dt = input_dtype(ctx, 0);
  const Shape* x = ranked_shape(ctx, 0);
  const Shape* w = ranked_shape(ctx, 1);
  check_rank(ctx, x, 3, "input");
  check_rank(ctx, w, 3, "weight");
  ctx.set_output_type(0, Type::tensor(dt, x ? *x : Shape::unknown()));
  if (ctx.output_count() > 1) {
    Dim ctx_len = ctx.fresh_dim();
    if (w) {
      if (const auto k = const_of(w->dims[2])) ctx_len = Dim(*k - 1);
    }
    ctx.set_output_type(1, Type::tensor(dt, Shape({dim_or_fresh(ctx, x, 0), dim_or_fresh(ctx, x, 1), ctx_len})));
  }
}

}  // namespace

void register_attention_ext() {
  register_inference("ai.onnx.preview", "FlexAttention", 1, flex_attention);
  register_inference("", "LinearAttention", 27, linear_attention);
  register_inference("", "CausalConvWithState", 27, causal_conv_with_state);
}

}  // namespace ferry::ir::infer
