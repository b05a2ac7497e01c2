// fuse_gelu (extended): GELU written out in elementary ops becomes one Gelu node, and an Add of a
// constant bias feeding a Gelu folds into it.
//
//   exact:  t = Erf(Div(x, sqrt(2)))  | Erf(Mul(x, 1/sqrt(2)))
//   tanh:   t = Tanh(Mul(Add(x, Mul(Pow(x, 3), 0.044715)), sqrt(2/pi)))
//   y = 0.5 * x * Add(t, 1)                      ==>   y = Gelu(x) {approximate="none"|"tanh"}
//       (the three factors multiplied in any association and operand order)
//                                                      (ai.onnx from opset 20; before that
//                                                       ferry.Gelu)
//
//   y = Gelu(Add(h, bias))                       ==>   y = ferry.Gelu(h, bias)
//
// Contract:
// - Constants are checked within float rounding: 0.5, 1, sqrt(2) (or 1/sqrt(2) as a Mul),
//   sqrt(2/pi), 0.044715, the exponent 3. x has a floating element type.
// - Every intermediate is read only inside the pattern and none is a graph output; x may have
//   other readers.
// - The bias fold needs a constant rank-1 bias with h's element type and last dimension, the
//   Add's output shaped like h (the bias broadcasts along the last axis only) and read only by
//   the Gelu. It always gives ferry.Gelu (onnxruntime's BiasGelu / FastGelu with bias): ai.onnx
//   Gelu has no bias input.
#include "optimizer/passes.h"
#include "optimizer/passes/norm_patterns.h"

namespace ferry::optimizer::passes {

namespace {

using namespace norm_patterns;

/// `t` = Erf(x / sqrt(2)): x.
ir::Value* match_erf(const ir::Value* t) {
  ir::Node* erf = sole_producer(t, "Erf");
  if (!erf) return nullptr;
  if (ir::Node* div = sole_producer(erf->input(0), "Div"); div && is_scalar(div->input(1), std::sqrt(2.0)))
    return div->input(0);
  if (ir::Node* mul = sole_producer(erf->input(0), "Mul")) return operand_besides_scalar(*mul, std::sqrt(0.5));
  return nullptr;
}

/// `t` = Tanh(sqrt(2/pi) * (x + 0.044715 * x^3)): x.
ir::Value* match_tanh(const ir::Value* t) {
  ir::Node* tanh = sole_producer(t, "Tanh");
  if (!tanh) return nullptr;
  ir::Node* scale = sole_producer(tanh->input(0), "Mul");
  if (!scale) return nullptr;
  ir::Node* sum = sole_producer(operand_besides_scalar(*scale, 0.7978845608028654 /* sqrt(2 / pi) */), "Add");
  if (!sum) return nullptr;
  for (int k = 0; k < 2; ++k) {
    ir::Node* cubic = sole_producer(sum->input(k), "Mul");
    ir::Node* pow = cubic ? sole_producer(operand_besides_scalar(*cubic, 0.044715), "Pow") : nullptr;
    if (pow && is_scalar(pow->input(1), 3.0) && pow->input(0) == sum->input(1 - k)) return pow->input(0);
  }
  return nullptr;
}

struct GeluMatch {
  ir::Value* x = nullptr;
  bool tanh = false;
};

/// Factors {f0, f1, f2} = {0.5, x, 1 + t} in any order, t an erf or tanh branch of x.
std::optional<GeluMatch> match_factors(const std::vector<ir::Value*>& f) {
  for (int half = 0; half < 3; ++half) {
    if (!is_scalar(f[half], 0.5)) continue;
    for (int k = 0; k < 3; ++k) {
      if (k == half) continue;
      ir::Value* x = f[3 - half - k];
      ir::Node* plus_one = sole_producer(f[k], "Add");
      ir::Value* t = plus_one ? operand_besides_scalar(*plus_one, 1.0) : nullptr;
      if (!t || !is_float_type(x)) continue;
      if (match_erf(t) == x) return GeluMatch{x, false};
      if (match_tanh(t) == x) return GeluMatch{x, true};
    }
  }
  return std::nullopt;
}

std::optional<Patch> fuse_gelu_rule(ir::Node& node, const PassContext& ctx) {
  if (node.op_type() != "Mul" || node.domain() != "" || node.inputs().size() != 2) return std::nullopt;
  std::optional<GeluMatch> m;
  for (int k = 0; k < 2 && !m; ++k) {
    ir::Node* inner = sole_producer(node.input(k), "Mul");
    if (inner && inner->inputs().size() == 2) m = match_factors({inner->input(0), inner->input(1), node.input(1 - k)});
  }
  if (!m) return std::nullopt;
  const bool standard = ctx.opset() >= 20;
  if (!standard) ctx.use_ferry_domain();
  std::vector<ir::Attribute> attrs;
  if (m->tanh) attrs.push_back(ir::Attribute::make_string("approximate", "tanh"));
  Patch patch(node);
  Patch::Ref y = patch.add_node("Gelu", {patch.use(m->x)}, std::move(attrs), 1, standard ? "" : kFerryDomain)[0];
  patch.replace(node.output(0), y);
  return patch;
}

std::optional<Patch> fold_gelu_bias_rule(ir::Node& node, const PassContext& ctx) {
  const bool ferry_gelu = node.domain() == kFerryDomain;
  if (node.op_type() != "Gelu" || (node.domain() != "" && !ferry_gelu) || node.inputs().size() != 1) return std::nullopt;
  ir::Node* add = sole_producer(node.input(0), "Add");
  if (!add || add->inputs().size() != 2) return std::nullopt;
  for (int k = 0; k < 2; ++k) {
    ir::Value* h = add->input(k);
    ir::Value* bias = add->input(1 - k);
    if (!constant_tensor(bias) || !is_float_type(h) || !is_last_axis_vector(bias, h)) continue;
    if (!h->shape().has_rank || !(h->shape() == add->output(0)->shape())) continue;
    ctx.use_ferry_domain();
    Patch patch(node);
    Patch::Ref y = patch.add_node("Gelu", {patch.use(h), patch.use(bias)},
                                  {ir::Attribute::make_string("approximate", node.get_string("approximate", "none"))},
                                  1, kFerryDomain)[0];
    patch.replace(node.output(0), y);
    return patch;
  }
  return std::nullopt;
}

}  // namespace

bool fuse_gelu(ir::Graph& graph, const PassContext& ctx) {
  const bool fused = apply_rule(graph, ctx, fuse_gelu_rule);
  const bool folded = apply_rule(graph, ctx, fold_gelu_bias_rule);
  return fused || folded;
}

}  // namespace ferry::optimizer::passes
