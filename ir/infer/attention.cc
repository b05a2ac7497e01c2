// Inference for Attention (23+) and RotaryEmbedding (23).
//   Attention, 4-D Q [B, Hq, Sq, D], K [B, Hkv, Skv, D], V [B, Hkv, Skv, Dv]:
//     Y [B, Hq, Sq, Dv]; 3-D Q [B, Sq, Hq*D], V [B, Skv, Hkv*Dv]: Y [B, Sq, Hq*Dv].
//     present_key [B, Hkv, P+Skv, D], present_value [B, Hkv, P+Skv, Dv] (P: past length, 0
//     without past), qk_matmul_output [B, Hq, Sq, P+Skv]; all in Q's type.
//   RotaryEmbedding: the input's type and shape.
#include "ir/infer/common.h"

namespace ferry::ir::infer {

namespace {

Dim dim_or_fresh(InferenceContext& ctx, const Shape* s, size_t i) { return s ? s->dims[i] : ctx.fresh_dim(); }

/// d / heads for a constant d divisible by heads, else a fresh symbol (fails when not divisible).
Dim per_head(InferenceContext& ctx, const Dim& d, int64_t heads, const std::string& what) {
  const auto v = const_of(d);
  if (!v || heads <= 0) return ctx.fresh_dim();
  if (*v % heads != 0)
    ctx.fail("last dim of input '" + what + "' (" + std::to_string(*v) + ") is not divisible by " +
             std::to_string(heads) + " heads");
  return Dim(*v / heads);
}

void attention(InferenceContext& ctx) {
  const Node& n = ctx.node();
  const DataType dt = input_dtype(ctx, 0);
  const Shape* q = ranked_shape(ctx, 0);
  const Shape* k = ranked_shape(ctx, 1);
  const Shape* v = ranked_shape(ctx, 2);
  const Shape* past = ctx.has_input(4) ? ranked_shape(ctx, 4) : nullptr;
  size_t rank = 0;
  for (const Shape* s : {q, k, v}) {
    if (!s) continue;
    if (s->rank() != 3 && s->rank() != 4)
      ctx.fail("inputs Q, K, V must be 3-D or 4-D, got shape " + s->to_string());
    if (rank != 0 && s->rank() != rank) ctx.fail("inputs Q, K, V must have one rank, got " + s->to_string());
    rank = s->rank();
  }
  if (past && past->rank() != 4) ctx.fail("input 'past_key' has shape " + past->to_string() + ", expected rank 4");
  Dim b = q ? q->dims[0] : (k ? k->dims[0] : ctx.fresh_dim());
  Dim hq, hkv, sq, skv, d, dv;
  if (rank == 3) {
    const int64_t qh = n.get_int("q_num_heads", 0), kvh = n.get_int("kv_num_heads", 0);
    hq = qh > 0 ? Dim(qh) : ctx.fresh_dim();
    hkv = kvh > 0 ? Dim(kvh) : ctx.fresh_dim();
    sq = dim_or_fresh(ctx, q, 1);
    skv = dim_or_fresh(ctx, k, 1);
    d = q ? per_head(ctx, q->dims[2], qh, "Q") : ctx.fresh_dim();
    dv = v ? per_head(ctx, v->dims[2], kvh, "V") : ctx.fresh_dim();
  } else {
    hq = dim_or_fresh(ctx, q, 1);
    hkv = k ? k->dims[1] : dim_or_fresh(ctx, v, 1);
    sq = dim_or_fresh(ctx, q, 2);
    skv = k ? k->dims[2] : dim_or_fresh(ctx, v, 2);
    d = q ? q->dims[3] : dim_or_fresh(ctx, k, 3);
    dv = dim_or_fresh(ctx, v, 3);
  }
  Dim total = skv;
  if (ctx.has_input(4)) total = past ? past->dims[2] + skv : ctx.fresh_dim();
  if (rank == 0) {
    ctx.set_output_type(0, Type::tensor(dt));
  } else if (rank == 3) {
    const auto dvc = const_of(dv);
    const auto hqc = const_of(hq);
    ctx.set_output_type(0, Type::tensor(dt, Shape({b, sq, dvc && hqc ? Dim(*dvc * *hqc) : hq * dv})));
  } else {
    ctx.set_output_type(0, Type::tensor(dt, Shape({b, hq, sq, dv})));
  }
  if (ctx.output_count() > 1 && n.output(1)) ctx.set_output_type(1, Type::tensor(dt, Shape({b, hkv, total, d})));
  if (ctx.output_count() > 2 && n.output(2))
    ctx.set_output_type(2, Type::tensor(ctx.has_input(2) ? input_dtype(ctx, 2) : dt, Shape({b, hkv, total, dv})));
  if (ctx.output_count() > 3 && n.output(3)) ctx.set_output_type(3, Type::tensor(dt, Shape({b, hq, sq, total})));
}

}  // namespace

void rotary_embedding_inference(InferenceContext& ctx) {
  const Shape* x = ranked_shape(ctx, 0);
  if (x && x->rank() != 3 && x->rank() != 4)
    ctx.fail("input 'X' has shape " + x->to_string() + ", expected rank 3 or 4");
  ctx.set_output_type(0, Type::tensor(input_dtype(ctx, 0), x ? *x : Shape::unknown()));
}

void register_attention() {
  register_inference("", "Attention", 23, attention);
  register_inference("", "RotaryEmbedding", 23, rotary_embedding_inference);
}

}  // namespace ferry::ir::infer
