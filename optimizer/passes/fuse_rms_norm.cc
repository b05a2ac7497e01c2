// fuse_rms_norm (extended): an RMS norm over the last axis written out in elementary ops (T5,
// LLaMA-style exports) becomes one RMSNormalization node.
//
//   v = ReduceMean(Pow(x, 2), axes=[-1])               y = RMSNormalization(x, gamma)
//   s = Sqrt(Add(v, eps))                      ==>          {axis=-1, epsilon=eps}
//   n = Mul(x, Reciprocal(s))  | Mul(x, Div(1, s))  | Div(x, s)
//   y = Mul(n, gamma)                                  (ai.onnx from opset 23; before that
//   (or y = n: scale of ones)                           ferry.RMSNormalization)
//
// Contract:
// - Add and Mul match with their operands in either order.
// - The ReduceMean keeps dims and reduces exactly the last axis; Pow's exponent is the constant
//   2; eps is a constant scalar >= 0, copied into the epsilon attribute; Div's numerator is 1.
// - gamma is rank-1 with x's element type and last dimension; x has a floating element type.
//   Without the Mul of gamma (basic passes remove a Mul by ones) the norm gets a constant
//   scale of ones, which needs a constant last dimension and float or double.
// - Every intermediate is read only inside the pattern and none is a graph output (x itself
//   may have other readers).
#include "optimizer/passes.h"
#include "optimizer/passes/norm_patterns.h"

namespace ferry::optimizer::passes {

namespace {

using namespace norm_patterns;

struct RmsCore {
  ir::Value* x = nullptr;
  double epsilon = 0;
};

/// `s` = sqrt(mean(x^2) + eps) over the last axis, intermediates private.
std::optional<RmsCore> match_root_mean_square(const ir::Value* s, const PassContext& ctx) {
  ir::Node* sqrt = sole_producer(s, "Sqrt");
  if (!sqrt) return std::nullopt;
  ir::Node* add_eps = sole_producer(sqrt->input(0), "Add");
  if (!add_eps) return std::nullopt;
  ir::Node* mean = nullptr;
  std::optional<double> eps;
  for (int k = 0; k < 2 && !mean; ++k) {
    mean = sole_producer(add_eps->input(k), "ReduceMean");
    eps = scalar(add_eps->input(1 - k));
    if (!eps) mean = nullptr;
  }
  if (!mean || *eps < 0 || !reduces_last_axis(*mean, ctx)) return std::nullopt;
  ir::Node* pow = sole_producer(mean->input(0), "Pow");
  if (!pow || !is_scalar(pow->input(1), 2.0) || !is_float_type(pow->input(0))) return std::nullopt;
  return RmsCore{pow->input(0), *eps};
}

/// `n` = x / rms(x) as Div(x, s), Mul(x, Reciprocal(s)) or Mul(x, Div(1, s)).
std::optional<RmsCore> match_rms_normalized(const ir::Node* n, const PassContext& ctx) {
  if (!n || !n->domain().empty() || n->inputs().size() != 2) return std::nullopt;
  if (n->op_type() == "Div") {
    auto core = match_root_mean_square(n->input(1), ctx);
    return core && core->x == n->input(0) ? core : std::nullopt;
  }
  if (n->op_type() != "Mul") return std::nullopt;
  for (int k = 0; k < 2; ++k) {
    const ir::Value* inv = n->input(k);
    const ir::Value* s = nullptr;
    if (ir::Node* rec = sole_producer(inv, "Reciprocal")) s = rec->input(0);
    else if (ir::Node* one_over = sole_producer(inv, "Div"); one_over && is_scalar(one_over->input(0), 1.0))
      s = one_over->input(1);
    if (!s) continue;
    auto core = match_root_mean_square(s, ctx);
    if (core && core->x == n->input(1 - k)) return core;
  }
  return std::nullopt;
}

/// Mul(n, gamma) in either order, n read only here: {core, gamma}.
std::optional<std::pair<RmsCore, ir::Value*>> match_scaled(const ir::Node& mul, const PassContext& ctx) {
  if (mul.op_type() != "Mul" || mul.domain() != "" || mul.inputs().size() != 2) return std::nullopt;
  for (int k = 0; k < 2; ++k) {
    ir::Node* n = producer_of(mul.input(k));
    if (!n || !sole_consumer(*n)) continue;
    std::optional<RmsCore> core = match_rms_normalized(n, ctx);
    if (core && is_last_axis_vector(mul.input(1 - k), core->x)) return std::make_pair(*core, mul.input(1 - k));
  }
  return std::nullopt;
}

// Anchored at the pattern's last node: the Mul of gamma, else n itself (a norm whose scale of
// ones an earlier pass removed; it gets a constant scale of ones).
std::optional<Patch> fuse_rms_norm_rule(ir::Node& node, const PassContext& ctx) {
  std::optional<RmsCore> core;
  ir::Value* gamma = nullptr;
  std::optional<Tensor> ones;
  if (auto scaled = match_scaled(node, ctx)) {
    core = scaled->first;
    gamma = scaled->second;
  } else {
    core = match_rms_normalized(&node, ctx);
    ir::Node* next = only_consumer(node.output(0));
    if (!core || (next && match_scaled(*next, ctx)) || !(ones = unit_scale_for(core->x))) return std::nullopt;
  }
  const bool standard = ctx.opset() >= 23;
  if (!standard) ctx.use_ferry_domain();
  Patch patch(node);
  Patch::Ref scale = gamma ? patch.use(gamma) : patch.add_initializer(std::move(*ones), "rms_norm_scale");
  Patch::Ref y = patch.add_node("RMSNormalization", {patch.use(core->x), scale},
                                {ir::Attribute::make_int("axis", -1),
                                 ir::Attribute::make_float("epsilon", static_cast<float>(core->epsilon))},
                                1, standard ? "" : kFerryDomain)[0];
  patch.replace(node.output(0), y);
  return patch;
}

}  // namespace

bool fuse_rms_norm(ir::Graph& graph, const PassContext& ctx) { return apply_rule(graph, ctx, fuse_rms_norm_rule); }

}  // namespace ferry::optimizer::passes
