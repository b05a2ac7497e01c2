// Inference for the ferry domain's attention ops (ir/ferry_schemas_attention.cc).
//   MultiHeadAttention, query [Bq, Hq, S, D], key [Bk, Hk, T, D], value [Bv, Hv, T, Dv], past P:
//     scores = broadcast([Bq, Hq, S, 1], [Bk, Hk, 1, P+T]), broadcast again with attention_bias;
//     output = broadcast(scores[.., .., .., 1], [Bv, Hv, 1, Dv]);
//     present_key [Bk, Hk, P+T, D], present_value [Bv, Hv, P+T, Dv]; all in query's type. A
//     "BSHD" layout attribute swaps dims 1 and 2 of that tensor ([B, S, H, D]).
//   RotaryEmbedding: X's type and shape.
#include <optional>
#include <utility>

#include "ir/infer/common.h"

namespace ferry::ir::infer {

namespace {

/// A 4-D shape in "BSHD" layout as its "BHSD" view (seq and heads swapped).
std::optional<Shape> as_bhsd(InferenceContext& ctx, size_t i, const char* layout_attr) {
  const Shape* s = ranked_shape(ctx, i);
  if (!s) return std::nullopt;
  if (s->rank() != 4 || ctx.node().get_string(layout_attr, "BHSD") != "BSHD") return *s;
  return Shape({s->dims[0], s->dims[2], s->dims[1], s->dims[3]});
}

void multi_head_attention(InferenceContext& ctx) {
  const DataType dt = input_dtype(ctx, 0);
  const std::optional<Shape> q_view = as_bhsd(ctx, 0, "query_layout"), k_view = as_bhsd(ctx, 1, "key_layout"),
                             v_view = as_bhsd(ctx, 2, "value_layout");
  const Shape* q = q_view ? &*q_view : nullptr;
  const Shape* k = k_view ? &*k_view : nullptr;
  const Shape* v = v_view ? &*v_view : nullptr;
  const Shape* bias = ctx.has_input(3) ? ranked_shape(ctx, 3) : nullptr;
  const Shape* past = ctx.has_input(4) ? ranked_shape(ctx, 4) : nullptr;
  for (const auto& [s, what] : {std::pair{q, "query"}, std::pair{k, "key"}, std::pair{v, "value"}, std::pair{past, "past_key"}})
    if (s && s->rank() != 4) ctx.fail(std::string("input '") + what + "' has shape " + s->to_string() + ", expected rank 4");
  if (bias && (bias->rank() < 1 || bias->rank() > 4))
    ctx.fail("input 'attention_bias' has shape " + bias->to_string() + ", expected rank 1 to 4");
  const bool bias_unknown = ctx.has_input(3) && !bias;
  const bool past_unknown = ctx.has_input(4) && !past;
  Dim total;
  if (k) total = past ? past->dims[2] + k->dims[2] : (past_unknown ? ctx.fresh_dim() : k->dims[2]);
  if (ctx.output_count() > 1 && ctx.node().output(1))
    ctx.set_output_type(1, k && !past_unknown ? Type::tensor(dt, Shape({k->dims[0], k->dims[1], total, k->dims[3]}))
                                              : Type::tensor(dt));
  if (ctx.output_count() > 2 && ctx.node().output(2))
    ctx.set_output_type(2, v && k && !past_unknown ? Type::tensor(dt, Shape({v->dims[0], v->dims[1], total, v->dims[3]}))
                                                   : Type::tensor(dt));
  if (!q || !k || !v || bias_unknown || past_unknown) {
    ctx.set_output_type(0, Type::tensor(dt));
    return;
  }
  Shape scores = broadcast_shapes(ctx, {Shape({q->dims[0], q->dims[1], q->dims[2], Dim(1)}),
                                        Shape({k->dims[0], k->dims[1], Dim(1), total})});
  if (bias) scores = broadcast_shapes(ctx, {scores, *bias});
  Shape out = broadcast_shapes(ctx, {Shape({scores.dims[0], scores.dims[1], scores.dims[2], Dim(1)}),
                                     Shape({v->dims[0], v->dims[1], Dim(1), v->dims[3]})});
  if (ctx.node().get_string("output_layout", "BHSD") == "BSHD") std::swap(out.dims[1], out.dims[2]);
  ctx.set_output_type(0, Type::tensor(dt, out));
}

}  // namespace

void register_ferry_attention() {
  register_inference("ferry", "MultiHeadAttention", 1, multi_head_attention);
  register_inference("ferry", "RotaryEmbedding", 1, rotary_embedding_inference);
}

}  // namespace ferry::ir::infer
