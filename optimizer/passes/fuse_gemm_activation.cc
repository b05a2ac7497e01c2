// fuse_gemm_activation (extended): a float32 Gemm, MatMul or FusedMatMul followed by an activation
// (directly or through a Reshape, Flatten, Squeeze or Unsqueeze) becomes one ferry.FusedGemm /
// ferry.FusedMatMul applying the activation to its output.
//
//   A  B  C                    A  B  C
//    \ | /                      \ | /
//    Gemm {alpha, beta,  ==>   FusedGemm {alpha, beta, transA, transB,
//     |    transA, transB}              activation: "Relu", activation_params: []}
//    Relu                          |
//     |                            Y
//     Y
//
//   MatMul(A, B) -> act            ==>  FusedMatMul(A, B) {activation}
//   FusedMatMul{activation ""} -> act  ==>  FusedMatMul {same attributes, activation}
//   product -> Reshape -> act      ==>  Fused product {activation} -> Reshape
//
// The activation is element-wise, so it commutes with a reshaping node (Reshape, Flatten,
// Squeeze, Unsqueeze) between the product and it (GPT-2's Gemm -> Reshape -> Gelu); that node
// must be the product's sole reader and the activation its own.
//
// Activations: Relu, LeakyRelu, Sigmoid, Tanh, HardSigmoid, Clip with constant bounds, SiLU, Gelu
// without bias (fusable_activation.h). The product's output must have no other consumer and not be a graph
// output, and the product must be in the graph the pass runs on (not an enclosing one). Runs after fuse_matmul_transpose_scale, which folds transposes and scales into
// FusedMatMul{""} first (this pass then adds the activation to it).
#include "optimizer/passes.h"
#include "optimizer/passes/fusable_activation.h"

namespace ferry::optimizer::passes {
namespace {

/// Ops that only relabel their input's shape: an element-wise activation commutes with them.
bool is_reshaping(const std::string& op) {
  return op == "Reshape" || op == "Flatten" || op == "Squeeze" || op == "Unsqueeze";
}

std::optional<Patch> product_then_activation(ir::Node& node, const PassContext& ctx) {
  const std::optional<FusableActivation> act = fusable_activation(node, ctx.opset());
  if (!act) return std::nullopt;
  ir::Node* product = producer_of(node.input(0));
  ir::Node* reshape = nullptr;  // a reshaping node between product and activation
  if (product && product->domain().empty() && is_reshaping(product->op_type())) {
    if (!sole_consumer(*product) || product->outputs().size() != 1) return std::nullopt;
    reshape = product;
    product = producer_of(reshape->input(0));
  }
  if (!product || product->graph() != node.graph() || !sole_consumer(*product) ||
      product->output(0)->dtype() != DataType::kFloat)
    return std::nullopt;
  std::string fused;
  if (product->domain().empty() && product->op_type() == "Gemm") fused = "FusedGemm";
  else if (product->domain().empty() && product->op_type() == "MatMul") fused = "FusedMatMul";
  else if (product->domain() == kFerryDomain && product->op_type() == "FusedMatMul" &&
           product->get_string("activation", "").empty())
    fused = "FusedMatMul";
  else
    return std::nullopt;
  Patch patch(node);
  std::vector<Patch::Ref> inputs;
  for (ir::Value* v : product->inputs()) inputs.push_back(patch.use(v));
  std::vector<ir::Attribute> attrs;
  for (const ir::Attribute& a : product->attributes())
    if (a.name != "activation" && a.name != "activation_params") attrs.push_back(a);
  attrs.push_back(ir::Attribute::make_string("activation", act->name));
  attrs.push_back(ir::Attribute::make_floats("activation_params", act->params));
  Patch::Ref y = patch.add_node(fused, inputs, std::move(attrs), 1, kFerryDomain, product->name())[0];
  if (reshape != nullptr) {
    std::vector<Patch::Ref> reshape_inputs{y};
    for (size_t i = 1; i < reshape->inputs().size(); ++i) reshape_inputs.push_back(patch.use(reshape->input(i)));
    y = patch.add_node(reshape->op_type(), reshape_inputs, reshape->attributes(), 1, "", reshape->name())[0];
  }
  patch.replace(node.output(0), y);
  ctx.use_ferry_domain();
  return patch;
}

}  // namespace

bool fuse_gemm_activation(ir::Graph& graph, const PassContext& ctx) {
  return apply_rule(graph, ctx, product_then_activation);
}

}  // namespace ferry::optimizer::passes
