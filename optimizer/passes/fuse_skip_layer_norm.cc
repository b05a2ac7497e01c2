// fuse_skip_layer_norm (extended; after fuse_layer_norm and fuse_rms_norm, whose outputs it
// reads): the residual Add feeding a layer norm or RMS norm over the last axis folds into one
// ferry.SkipLayerNormalization, together with a bias Add before it.
//
//   s = Add(Add(x, bias), skip)                        y, s = ferry.SkipLayerNormalization(
//   y = LayerNormalization(s, gamma, beta)   ==>              x, skip, gamma, beta, bias)
//       {axis=-1, epsilon=eps}                                {epsilon=eps, simplified=0}
//   (RMSNormalization(s, gamma): simplified=1, no beta; ai.onnx or ferry-domain norms alike)
//
// Contract:
// - The norm normalizes the last axis only (axis -1 or rank-1), LayerNormalization's Mean and
//   InvStdDev outputs are absent or unread, and its stash_type is 1.
// - gamma, beta and bias are rank-1 with s's element type and last dimension; bias is a
//   constant. x, skip and s have the same known shape (no broadcasting in the residual Add).
// - The bias Add is swallowed only when the residual Add is its one reader.
// - s may have other readers (pre-norm transformers carry the residual on): they then read the
//   fused node's Sum output. The fused node goes at the norm when they all come after it, else
//   (a Shape of s ahead of the norm, as in ViT's next block) at the residual Add when the norm's
//   scale and bias are initializers or graph inputs.
#include "optimizer/passes.h"
#include "optimizer/passes/norm_patterns.h"

namespace ferry::optimizer::passes {

namespace {

using namespace norm_patterns;

/// The norm node's epsilon and whether it is an RMS norm, when it qualifies.
struct NormInfo {
  float epsilon = 1e-5f;
  bool rms = false;
};
std::optional<NormInfo> qualifying_norm(const ir::Node& node) {
  const bool onnx = node.domain().empty(), ferry = node.domain() == kFerryDomain;
  if (!onnx && !ferry) return std::nullopt;
  NormInfo info;
  if (node.op_type() == "RMSNormalization") info.rms = true;
  else if (node.op_type() != "LayerNormalization") return std::nullopt;
  const ir::Value* s = node.input(0);
  const ir::Dim* last = last_dim(s);
  if (!last || !is_float_type(s)) return std::nullopt;
  const int64_t rank = static_cast<int64_t>(s->shape().rank());
  const int64_t axis = node.get_int("axis", -1);
  if (axis != -1 && axis != rank - 1) return std::nullopt;
  if (node.get_int("stash_type", 1) != 1) return std::nullopt;
  for (size_t k = 1; k < node.outputs().size(); ++k)
    if (node.output(k) && (!node.output(k)->uses().empty() || node.output(k)->is_graph_output())) return std::nullopt;
  const size_t scale_inputs = info.rms ? 2 : 3;
  if (node.inputs().size() > scale_inputs) return std::nullopt;
  for (size_t k = 1; k < node.inputs().size(); ++k)
    if (node.input(k) && !is_last_axis_vector(node.input(k), s)) return std::nullopt;
  if (!node.input(1)) return std::nullopt;
  info.epsilon = node.get_float("epsilon", 1e-5f);
  return info;
}

std::optional<Patch> fuse_skip_layer_norm_rule(ir::Node& node, const PassContext& ctx) {
  std::optional<NormInfo> norm = qualifying_norm(node);
  if (!norm) return std::nullopt;
  ir::Value* s = node.input(0);
  ir::Node* residual = producer_of(s, "Add");
  if (!residual || residual->inputs().size() != 2) return std::nullopt;
  ir::Value* a = residual->input(0);
  ir::Value* b = residual->input(1);
  if (!a || !b || !(a->shape() == s->shape()) || !(b->shape() == s->shape()) || a->dtype() != s->dtype() ||
      b->dtype() != s->dtype())
    return std::nullopt;
  // Other readers of s move to the Sum output, which the fused node (placed at the norm) makes.
  const bool sum_wanted = s->uses().size() > 1 || s->is_graph_output();
  ir::Node* anchor = &node;
  if (sum_wanted && !other_readers_follow(node, *s)) {
    // A reader ahead of the norm (the next block's Shape of the residual stream, say): the fused
    // node goes where the residual Add is instead, which every reader of s follows, when the
    // norm's scale and bias are initializers or graph inputs (no node between makes them).
    for (size_t k = 1; k < node.inputs().size(); ++k)
      if (node.input(k) && node.input(k)->producer() != nullptr) return std::nullopt;
    for (const ir::Use& u : s->uses())
      if (u.node->graph() != node.graph()) return std::nullopt;
    anchor = residual;
  }
  ir::Value *x = a, *skip = b, *bias = nullptr;
  for (int k = 0; k < 2 && !bias; ++k) {
    ir::Node* bias_add = sole_producer(residual->input(k), "Add");
    if (!bias_add || bias_add->inputs().size() != 2) continue;
    for (int j = 0; j < 2 && !bias; ++j) {
      ir::Value* h = bias_add->input(j);
      ir::Value* c = bias_add->input(1 - j);
      if (h && constant_tensor(c) && is_last_axis_vector(c, s) && h->shape() == s->shape() && h->dtype() == s->dtype()) {
        x = h;
        bias = c;
        skip = residual->input(1 - k);
      }
    }
  }
  ctx.use_ferry_domain();
  Patch patch(*anchor);
  std::vector<Patch::Ref> inputs = {patch.use(x), patch.use(skip), patch.use(node.input(1)),
                                    patch.use(norm->rms ? nullptr : node.input(2))};
  if (bias) inputs.push_back(patch.use(bias));
  while (inputs.back() == Patch::kOmitted) inputs.pop_back();
  std::vector<Patch::Ref> out = patch.add_node(
      "SkipLayerNormalization", inputs,
      {ir::Attribute::make_float("epsilon", norm->epsilon), ir::Attribute::make_int("simplified", norm->rms ? 1 : 0)},
      sum_wanted ? 2 : 1, kFerryDomain);
  patch.replace(node.output(0), out[0]);
  if (sum_wanted) patch.replace(s, out[1]);
  return patch;
}

}  // namespace

bool fuse_skip_layer_norm(ir::Graph& graph, const PassContext& ctx) {
  return apply_rule(graph, ctx, fuse_skip_layer_norm_rule);
}

}  // namespace ferry::optimizer::passes
