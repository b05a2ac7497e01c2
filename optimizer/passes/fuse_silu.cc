// fuse_silu (extended): x * Sigmoid(x) becomes one ferry.Silu node (ai.onnx has no SiLU before
// Swish-24, which this pass does not target).
//
//   y = Mul(x, Sigmoid(x))   (either operand order)   ==>   y = ferry.Silu(x)
//
// Contract: the Sigmoid's output is read only by the Mul and is not a graph output; x has a
// floating element type and may have other readers. A SiLU of a Conv (ai.onnx Conv or
// ferry.FusedConv) output is left alone: fuse_conv_activation folds it into the Conv as one node.
#include "optimizer/passes.h"
#include "optimizer/passes/norm_patterns.h"

namespace ferry::optimizer::passes {

namespace {

using namespace norm_patterns;

std::optional<Patch> fuse_silu_rule(ir::Node& node, const PassContext& ctx) {
  if (node.op_type() != "Mul" || node.domain() != "" || node.inputs().size() != 2) return std::nullopt;
  for (int k = 0; k < 2; ++k) {
    ir::Node* sigmoid = sole_producer(node.input(k), "Sigmoid");
    ir::Value* x = node.input(1 - k);
    if (!sigmoid || sigmoid->input(0) != x || !is_float_type(x)) continue;
    if (producer_of(x, "Conv") || producer_of(x, "FusedConv", kFerryDomain)) return std::nullopt;
    ctx.use_ferry_domain();
    Patch patch(node);
    patch.replace(node.output(0), patch.add_node("Silu", {patch.use(x)}, {}, 1, kFerryDomain)[0]);
    return patch;
  }
  return std::nullopt;
}

}  // namespace

bool fuse_silu(ir::Graph& graph, const PassContext& ctx) { return apply_rule(graph, ctx, fuse_silu_rule); }

}  // namespace ferry::optimizer::passes
