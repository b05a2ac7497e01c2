// Inference for the ferry domain's fusions (ir/ferry_schemas_fusion.cc): FusedConv has Conv's
// output shape, FusedGemm Gemm's, FusedMatMul MatMul's after its transposes, ElementwiseChain
// its input's.
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
  register_inference("ferry", "FusedConv", 1, conv_inference);
  register_inference("ferry", "FusedGemm", 1, gemm_inference);
  register_inference("ferry", "FusedMatMul", 1, fused_matmul);
  register_inference("ferry", "ElementwiseChain", 1, elementwise_chain);
}

}  // namespace ferry::ir::infer
