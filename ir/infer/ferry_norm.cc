// Inference for the ferry domain's normalisations and activations (ir/ferry_schemas_norm.cc):
// every output has X's type (SkipLayerNormalization's Sum too).
#include "ir/infer/common.h"

namespace ferry::ir::infer {

namespace {

void same_as_x(InferenceContext& ctx) {
  for (size_t i = 0; i < ctx.output_count(); ++i)
    if (ctx.node().output(i) != nullptr) ctx.set_output_type(i, ctx.input_type(0));
}

/// Gelu's Bias and SkipLayerNormalization's Scale / B / Bias: rank 1, X's last dimension.
void check_vector(InferenceContext& ctx, size_t i, const char* name) {
  if (i >= ctx.input_count() || !ctx.has_input(i)) return;
  const Shape* x = ranked_shape(ctx, 0);
  const Shape* v = ranked_shape(ctx, i);
  if (!x || !v || x->rank() == 0) return;
  if (v->rank() != 1) ctx.fail(std::string("input '") + name + "' has shape " + v->to_string() + ", expected rank 1");
  unify(ctx, v->dims[0], x->dims.back(), std::string("input '") + name + "' " + v->to_string() +
                                             " and the last dimension of X " + x->to_string());
}

void gelu(InferenceContext& ctx) {
  check_vector(ctx, 1, "Bias");
  same_as_x(ctx);
}

void skip_layer_norm(InferenceContext& ctx) {
  const Shape* x = ranked_shape(ctx, 0);
  const Shape* skip = ranked_shape(ctx, 1);
  if (x && skip && x->rank() != skip->rank())
    ctx.fail("input 'Skip' has shape " + skip->to_string() + ", expected X's shape " + x->to_string());
  check_vector(ctx, 2, "Scale");
  check_vector(ctx, 3, "B");
  check_vector(ctx, 4, "Bias");
  same_as_x(ctx);
}

}  // namespace

void register_ferry_norm() {
  register_inference("ferry", "Gelu", 1, gelu);
  register_inference("ferry", "LayerNormalization", 1, same_as_x);
  register_inference("ferry", "RMSNormalization", 1, same_as_x);
  register_inference("ferry", "SkipLayerNormalization", 1, skip_layer_norm);
  register_inference("ferry", "Silu", 1, same_as_x);
}

}  // namespace ferry::ir::infer
