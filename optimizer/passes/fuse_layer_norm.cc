// fuse_layer_norm (extended): a layer norm over the last axis written out in elementary ops (as
// exporters write it below opset 17) becomes one LayerNormalization node.
//
//   m = ReduceMean(x, axes=[-1])                       y = LayerNormalization(x, gamma, beta)
//   d = Sub(x, m)                                            {axis=-1, epsilon=eps}
//   v = ReduceMean(Pow(d, 2), axes=[-1])        ==>
//   n = Div(d, Sqrt(Add(v, eps)))                      (ai.onnx from opset 17; before that
//   y = Add(Mul(n, gamma), beta)                        ferry.LayerNormalization)
//   (or y = Mul(n, gamma), or y = n: scale of ones)
//
// Contract:
// - Add and Mul match with their operands in either order; the Add of beta may be absent, and so
//   may the Mul of gamma (basic passes remove a Mul by ones and an Add of zeros): the norm then
//   gets a constant scale of ones, which needs a constant last dimension and float or double.
// - Both ReduceMeans keep dims and reduce exactly the last axis; Pow's exponent is the
//   constant 2; eps is a constant scalar >= 0, copied into the epsilon attribute.
// - gamma and beta are rank-1 with x's element type and last dimension (constant or not);
//   x has a floating element type.
// - Every intermediate is read only inside the pattern (d by exactly the Pow and the Div) and
//   none is a graph output; the last node's output may have any readers.
#include "optimizer/passes.h"
#include "optimizer/passes/norm_patterns.h"

namespace ferry::optimizer::passes {

namespace {

using namespace norm_patterns;

struct LayerNormCore {
  ir::Value* x = nullptr;
  double epsilon = 0;
};

/// `div` = Div(x - mean(x), sqrt(var(x) + eps)) over the last axis, intermediates private.
std::optional<LayerNormCore> match_layer_norm_core(const ir::Node* div, const PassContext& ctx) {
  if (!div || div->op_type() != "Div" || !div->domain().empty()) return std::nullopt;
  ir::Node* sub = producer_of(div->input(0), "Sub");
  ir::Node* sqrt = sole_producer(div->input(1), "Sqrt");
  if (!sub || !sqrt) return std::nullopt;
  ir::Value* d = sub->output(0);
  if (d->uses().size() != 2 || d->is_graph_output()) return std::nullopt;
  ir::Node* add_eps = sole_producer(sqrt->input(0), "Add");
  if (!add_eps) return std::nullopt;
  ir::Node* var = nullptr;
  std::optional<double> eps;
  for (int k = 0; k < 2 && !var; ++k) {
    var = sole_producer(add_eps->input(k), "ReduceMean");
    eps = scalar(add_eps->input(1 - k));
    if (!eps) var = nullptr;
  }
  if (!var || *eps < 0 || !reduces_last_axis(*var, ctx)) return std::nullopt;
  ir::Node* pow = sole_producer(var->input(0), "Pow");
  if (!pow || pow->input(0) != d || !is_scalar(pow->input(1), 2.0)) return std::nullopt;
  ir::Value* x = sub->input(0);
  ir::Node* mean = sole_producer(sub->input(1), "ReduceMean");
  if (!mean || mean->input(0) != x || !reduces_last_axis(*mean, ctx) || !is_float_type(x)) return std::nullopt;
  return LayerNormCore{x, *eps};
}

/// Patch replacing `out` with a layer norm of core.x (gamma null: a scale of ones).
std::optional<Patch> layer_norm_patch(ir::Node& anchor, const PassContext& ctx, const LayerNormCore& core,
                                      ir::Value* gamma, ir::Value* beta, ir::Value* out) {
  std::optional<Tensor> ones;
  if (!gamma && !(ones = unit_scale_for(core.x))) return std::nullopt;
  const bool standard = ctx.opset() >= 17;
  if (!standard) ctx.use_ferry_domain();
  Patch patch(anchor);
  std::vector<Patch::Ref> inputs = {patch.use(core.x),
                                    gamma ? patch.use(gamma) : patch.add_initializer(std::move(*ones), "layer_norm_scale")};
  if (beta) inputs.push_back(patch.use(beta));
  Patch::Ref y = patch.add_node("LayerNormalization", inputs,
                                {ir::Attribute::make_int("axis", -1),
                                 ir::Attribute::make_float("epsilon", static_cast<float>(core.epsilon))},
                                1, standard ? "" : kFerryDomain)[0];
  patch.replace(out, y);
  return patch;
}

/// Mul(normalized, gamma) in either order, normalized read only here: {core, gamma}.
std::optional<std::pair<LayerNormCore, ir::Value*>> match_scaled(const ir::Node& mul, const PassContext& ctx) {
  if (mul.op_type() != "Mul" || mul.domain() != "" || mul.inputs().size() != 2) return std::nullopt;
  for (int k = 0; k < 2; ++k) {
    std::optional<LayerNormCore> core = match_layer_norm_core(sole_producer(mul.input(k), "Div"), ctx);
    if (core && is_last_axis_vector(mul.input(1 - k), core->x)) return std::make_pair(*core, mul.input(1 - k));
  }
  return std::nullopt;
}

/// Add(Mul(normalized, gamma), beta) or Add(normalized, beta), either order: {core, gamma or null, beta}.
struct Shifted {
  LayerNormCore core;
  ir::Value *gamma, *beta;
};
std::optional<Shifted> match_shifted(const ir::Node& add, const PassContext& ctx) {
  if (add.op_type() != "Add" || add.domain() != "" || add.inputs().size() != 2) return std::nullopt;
  for (int k = 0; k < 2; ++k) {
    ir::Value* beta = add.input(1 - k);
    if (ir::Node* mul = sole_producer(add.input(k), "Mul")) {
      auto scaled = match_scaled(*mul, ctx);
      if (scaled && is_last_axis_vector(beta, scaled->first.x)) return Shifted{scaled->first, scaled->second, beta};
    }
    auto core = match_layer_norm_core(sole_producer(add.input(k), "Div"), ctx);
    if (core && is_last_axis_vector(beta, core->x)) return Shifted{*core, nullptr, beta};
  }
  return std::nullopt;
}

// Anchored at the pattern's last node: the Add of beta, else the Mul of gamma, else the Div (a
// norm whose scale of ones and bias of zeros earlier passes removed).
std::optional<Patch> fuse_layer_norm_rule(ir::Node& node, const PassContext& ctx) {
  if (auto s = match_shifted(node, ctx)) return layer_norm_patch(node, ctx, s->core, s->gamma, s->beta, node.output(0));
  ir::Node* next = only_consumer(node.output(0));
  if (auto scaled = match_scaled(node, ctx)) {
    if (next && match_shifted(*next, ctx)) return std::nullopt;  // fused from that Add, as one node
    return layer_norm_patch(node, ctx, scaled->first, scaled->second, nullptr, node.output(0));
  }
  auto core = match_layer_norm_core(&node, ctx);
  if (!core || (next && (match_scaled(*next, ctx) || match_shifted(*next, ctx)))) return std::nullopt;
  return layer_norm_patch(node, ctx, *core, nullptr, nullptr, node.output(0));
}

}  // namespace

bool fuse_layer_norm(ir::Graph& graph, const PassContext& ctx) { return apply_rule(graph, ctx, fuse_layer_norm_rule); }

}  // namespace ferry::optimizer::passes
