// Inference for the ferry domain's fusions (ir/ferry_schemas_fusion.cc): FusedConv has Conv's
// output shape (channels-last with channels_last = 1), FusedGemm Gemm's, FusedMatMul MatMul's
// after its transposes, ElementwiseChain its input's.
#include "ir/infer/common.h"

namespace ferry::ir::infer {

namespace {

void fused_matmul(InferenceContext& ctx) {
  const DataType dt = input_dtype(ctx, 0);
  const Shape* a = ranked_shape(ctx, 0);
  const Shape* b = ranked_shape(ctx, 1);
  if (!a || !b) return ctx.set_output_type(0, Type::tensor(dt));
  const bool ta = ctx.node().get_int("transA", 0) != 0;
  const bool tb = ctx.node().get_int("transB", 0) != 0;
  if (a->rank() == 0 || b->rank() == 0 || (ta && a->rank() < 2) || (tb && b->rank() < 2))
    ctx.fail("inputs have shapes " + shapes_text({*a, *b}) + "; need rank >= 1 (>= 2 when transposed)");
  std::vector<Dim> da = a->dims, db = b->dims;
  if (ta) std::swap(da[da.size() - 1], da[da.size() - 2]);
  if (tb) std::swap(db[db.size() - 1], db[db.size() - 2]);
  const bool a_vec = da.size() == 1, b_vec = db.size() == 1;
  if (a_vec) da.insert(da.begin(), Dim(1));
  if (b_vec) db.push_back(Dim(1));
  if (!(da[da.size() - 1] == db[db.size() - 2]))  // the message only when it may be needed
    unify(ctx, da[da.size() - 1], db[db.size() - 2],
          "inner dimensions of " + shapes_text({*a, *b}) + (ta ? " (A transposed)" : "") +
              (tb ? " (B transposed)" : "") + " differ");
  const Shape batch = broadcast_shapes(ctx, {Shape(std::vector<Dim>(da.begin(), da.end() - 2)),
                                             Shape(std::vector<Dim>(db.begin(), db.end() - 2))});
  std::vector<Dim> out = batch.dims;
  if (!a_vec) out.push_back(da[da.size() - 2]);
  if (!b_vec) out.push_back(db.back());
  ctx.set_output_type(0, Type::tensor(dt, Shape(std::move(out))));
}

/// FusedConv: Conv's shapes; with channels_last = 1, X is [N, d1..dk, C] and so is Y. X's type
/// is viewed channels-first while Conv's inference runs, then restored.
void fused_conv(InferenceContext& ctx) {
  Value* x = ctx.node().input(0);
  if (ctx.node().get_int("channels_last", 0) == 0 || !x || !x->type().is_tensor() || !x->shape().has_rank ||
      x->shape().rank() < 3)
    return conv_inference(ctx);
  const Type saved = x->type();
  std::vector<Dim> first = {saved.shape.dims[0], saved.shape.dims.back()};
  first.insert(first.end(), saved.shape.dims.begin() + 1, saved.shape.dims.end() - 1);
  struct Restore {
    Value* v;
    const Type& t;
    ~Restore() { v->set_type(t); }
  } restore{x, saved};
  x->set_type(Type::tensor(saved.elem, Shape(std::move(first))));
  conv_inference(ctx);
  const Value* y = ctx.node().output(0);
  if (!y || !y->type().is_tensor() || !y->shape().has_rank || y->shape().rank() < 3) return;
  const std::vector<Dim>& d = y->shape().dims;
  std::vector<Dim> last = {d[0]};
  last.insert(last.end(), d.begin() + 2, d.end());
  last.push_back(d[1]);
  ctx.set_output_type(0, Type::tensor(y->dtype(), Shape(std::move(last))));
}

void elementwise_chain(InferenceContext& ctx) {
  const size_t ops = ctx.node().get_strings("ops").size();
  const size_t constants = ctx.node().get_floats("constants").size();
  if (ops == 0 || ops != constants)
    ctx.fail("attributes 'ops' (" + std::to_string(ops) + " values) and 'constants' (" +
             std::to_string(constants) + " values) must be non-empty and of one length");
  ctx.set_output_type(0, ctx.input_type(0));
}

}  // namespace

void register_ferry_fusion() {
  register_inference("ferry", "FusedConv", 1, fused_conv);
  register_inference("ferry", "FusedGemm", 1, gemm_inference);
  register_inference("ferry", "FusedMatMul", 1, fused_matmul);
  register_inference("ferry", "ElementwiseChain", 1, elementwise_chain);
}

}  // namespace ferry::ir::infer
