// fuse_conv_activation (extended): a float32 Conv, its residual Add and its activation become one
// ferry.FusedConv computing Y = activation(Conv(X, W, B) + Z) in one pass over Y.
//
//   X  W  B                          X  W  B  Z
//    \ | /                            \ |  | /
//    Conv   Z                        FusedConv {Conv's attributes,
//       \  /          ==>                       activation: "Relu", activation_params: []}
//       Add                               |
//        |                                Y
//       Relu
//        |
//        Y
//
// Rules (each anchored at the pattern's last node; the driver's rounds compose them, so Conv+Add
// becomes FusedConv{""} first and the activation joins it next):
// - Conv -> activation (Relu, LeakyRelu, Sigmoid, Tanh, HardSigmoid, Clip with constant bounds):
//   FusedConv{activation}. Also FusedConv{""} -> activation.
// - Conv -> Add(., Z): FusedConv(X, W, B, Z){""}, only when Z's shape is provably equal to the
//   Conv output's and the Add's (same rank and the same dims, symbols included): FusedConv adds
//   Z element by element and never broadcasts.
// - SiLU: c = Conv(...) or FusedConv{""}; Mul(c, Sigmoid(c)) (either operand order), where c is
//   read only by that Sigmoid and that Mul: FusedConv{"SiLU"}.
// Every swallowed intermediate has no other consumer and is not a graph output; all values are
// float32; every swallowed node is in the graph the pass runs on (a Conv of an enclosing graph
// read only inside an If / Loop body stays where it is).
#include "optimizer/passes.h"
#include "optimizer/passes/fusable_activation.h"

namespace ferry::optimizer::passes {
namespace {

bool is_float(const ir::Value* v) { return v && v->dtype() == DataType::kFloat; }

/// `v`'s producer when it is a float32 Conv or a FusedConv without activation in `anchor`'s graph
/// (a Conv of an enclosing graph read inside a loop body stays outside it).
ir::Node* conv_producer(const ir::Value* v, const ir::Node& anchor) {
  if (!is_float(v)) return nullptr;
  ir::Node* conv = producer_of(v, "Conv");
  if (!conv) {
    conv = producer_of(v, "FusedConv", kFerryDomain);
    if (conv && !conv->get_string("activation", "").empty()) conv = nullptr;
  }
  return conv && conv->graph() == anchor.graph() ? conv : nullptr;
}

/// FusedConv with `conv`'s inputs (Z replaced when `z` is given) and attributes, plus activation.
std::optional<Patch> make_fused_conv(ir::Node& anchor, const ir::Node& conv, ir::Value* z,
                                     const FusableActivation& act, const PassContext& ctx) {
  Patch patch(anchor);
  std::vector<Patch::Ref> inputs;
  for (size_t i = 0; i < 4; ++i) inputs.push_back(patch.use(i == 3 && z ? z : conv.input(i)));
  while (!inputs.empty() && inputs.back() == Patch::kOmitted) inputs.pop_back();
  std::vector<ir::Attribute> attrs;
  for (const ir::Attribute& a : conv.attributes())
    if (a.name != "activation" && a.name != "activation_params") attrs.push_back(a);
  attrs.push_back(ir::Attribute::make_string("activation", act.name));
  attrs.push_back(ir::Attribute::make_floats("activation_params", act.params));
  Patch::Ref y = patch.add_node("FusedConv", inputs, std::move(attrs), 1, kFerryDomain, conv.name())[0];
  patch.replace(anchor.output(0), y);
  ctx.use_ferry_domain();
  return patch;
}

bool provably_same_shape(const ir::Value* a, const ir::Value* b) {
  return a->shape().has_rank && b->shape().has_rank && a->shape() == b->shape();
}

std::optional<Patch> conv_then_activation(ir::Node& node, const PassContext& ctx) {
  const std::optional<FusableActivation> act = fusable_activation(node, ctx.opset());
  if (!act) return std::nullopt;
  ir::Node* conv = conv_producer(node.input(0), node);
  if (!conv || !sole_consumer(*conv)) return std::nullopt;
  return make_fused_conv(node, *conv, nullptr, *act, ctx);
}

std::optional<Patch> conv_then_residual_add(ir::Node& node, const PassContext& ctx) {
  if (node.op_type() != "Add" || !node.domain().empty() || node.inputs().size() != 2) return std::nullopt;
  if (!is_float(node.output(0))) return std::nullopt;
  for (size_t side = 0; side < 2; ++side) {
    ir::Node* conv = producer_of(node.input(side), "Conv");
    ir::Value* z = node.input(1 - side);
    if (!conv || conv->graph() != node.graph() || !is_float(conv->output(0)) || !sole_consumer(*conv)) continue;
    if (!provably_same_shape(conv->output(0), z) || !provably_same_shape(z, node.output(0))) continue;
    return make_fused_conv(node, *conv, z, FusableActivation{"", {}}, ctx);
  }
  return std::nullopt;
}

std::optional<Patch> conv_then_silu(ir::Node& node, const PassContext& ctx) {
  if (node.op_type() != "Mul" || !node.domain().empty() || node.inputs().size() != 2) return std::nullopt;
  for (size_t side = 0; side < 2; ++side) {
    ir::Node* sigmoid = producer_of(node.input(side), "Sigmoid");
    ir::Value* c = node.input(1 - side);
    if (!sigmoid || sigmoid->graph() != node.graph() || sigmoid->input(0) != c || !sole_consumer(*sigmoid)) continue;
    ir::Node* conv = conv_producer(c, node);
    if (!conv || c->is_graph_output() || c->uses().size() != 2) continue;
    return make_fused_conv(node, *conv, nullptr, FusableActivation{"SiLU", {}}, ctx);
  }
  return std::nullopt;
}

}  // namespace

bool fuse_conv_activation(ir::Graph& graph, const PassContext& ctx) {
  bool changed = apply_rule(graph, ctx, conv_then_residual_add);
  changed |= apply_rule(graph, ctx, conv_then_activation);
  changed |= apply_rule(graph, ctx, conv_then_silu);
  return changed;
}

}  // namespace ferry::optimizer::passes
