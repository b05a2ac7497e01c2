// fuse_matmul_transpose_scale (extended): Transposes of the last two axes feeding a float32
// MatMul, and multiplications / divisions by a scalar constant on its inputs or its output, fold
// into one ferry.FusedMatMul {transA, transB, alpha}.
//
//   A   Bt                              A   B
//   |   |                                \ /
//   |  Transpose {perm [0,1,3,2]}  ==>  FusedMatMul {transA: 0, transB: 1, alpha: 0.125}
//    \ /                                  |
//   MatMul                                Y
//     |
//   Div(., 8)
//     |
//     Y
//
// Contract:
// - A Transpose is folded only when it swaps exactly the last two axes (perm = [0..r-3, r-1,
//   r-2], r >= 2, or no perm at rank 2) and the MatMul is its only consumer.
// - A scale is Mul by / Div by a float32 constant of one element whose rank is at most the other
//   operand's (so it broadcasts without changing any shape); Div by 0 is left alone. An input-side
//   scale (Mul(x, c) feeding the MatMul) must have the MatMul as its only consumer; an output-side
//   one must be the MatMul's only consumer.
// - Every folded node is in the MatMul's graph (not an enclosing one).
// - Also extends an existing FusedMatMul without activation. Fires only when it folds something.
#include <cmath>
#include <numeric>

#include "optimizer/passes.h"
#include "optimizer/patch.h"

namespace ferry::optimizer::passes {
namespace {

/// The factor `node` multiplies its other input by, when it is a Mul / Div by a scalar float
/// constant that does not broadcast the other input; `data` receives that input.
std::optional<float> scale_of(const ir::Node& node, ir::Value** data) {
  if (!node.domain().empty() || node.inputs().size() != 2 || node.outputs().size() != 1) return std::nullopt;
  const bool is_div = node.op_type() == "Div";
  if (!is_div && node.op_type() != "Mul") return std::nullopt;
  for (size_t side = 0; side < (is_div ? 1u : 2u); ++side) {
    ir::Value* x = node.input(side);
    const ir::Value* c = node.input(1 - side);
    const Tensor* t = constant_of(c);
    if (!t || t->dtype() != DataType::kFloat || t->element_count() != 1 || constant_of(x)) continue;
    if (x->dtype() != DataType::kFloat || !x->shape().has_rank ||
        static_cast<size_t>(t->rank()) > x->shape().rank())
      continue;
    const float v = *t->data<float>();
    if (is_div && (v == 0.f || !std::isfinite(1.f / v))) continue;
    *data = x;
    return is_div ? 1.f / v : v;
  }
  return std::nullopt;
}

/// True when `t` is a Transpose swapping only the last two axes of its input.
bool swaps_last_two(const ir::Node& t) {
  const ir::Value* x = t.input(0);
  if (!x || !x->shape().has_rank || x->shape().rank() < 2) return false;
  const int64_t r = static_cast<int64_t>(x->shape().rank());
  std::vector<int64_t> want(static_cast<size_t>(r));
  std::iota(want.begin(), want.end(), 0);
  std::swap(want[static_cast<size_t>(r - 1)], want[static_cast<size_t>(r - 2)]);
  const ir::Attribute* perm = t.find_attribute("perm");
  if (!perm) return r == 2;
  return t.get_ints("perm") == want;
}

std::optional<Patch> fold_into_matmul(ir::Node& node, const PassContext& ctx) {
  const bool plain = node.domain().empty() && node.op_type() == "MatMul";
  const bool fused = node.domain() == kFerryDomain && node.op_type() == "FusedMatMul" &&
                     node.get_string("activation", "").empty();
  if ((!plain && !fused) || node.inputs().size() != 2) return std::nullopt;
  if (node.output(0)->dtype() != DataType::kFloat) return std::nullopt;
  bool trans[2] = {node.get_int("transA", 0) != 0, node.get_int("transB", 0) != 0};
  float alpha = node.get_float("alpha", 1.0f);
  ir::Value* operand[2] = {node.input(0), node.input(1)};
  bool folded = false;
  for (size_t i = 0; i < 2; ++i) {
    // Input-side scale first, then a transpose under it (Mul(Transpose(x), c) or the reverse).
    for (int step = 0; step < 2; ++step) {
      ir::Node* p = producer_of(operand[i]);
      if (!p || p->graph() != node.graph() || !sole_consumer(*p)) break;
      ir::Value* inner = nullptr;
      if (std::optional<float> s = scale_of(*p, &inner)) {
        alpha *= *s;
        operand[i] = inner;
        folded = true;
      } else if (p->domain().empty() && p->op_type() == "Transpose" && swaps_last_two(*p)) {
        trans[i] = !trans[i];
        operand[i] = p->input(0);
        folded = true;
      } else {
        break;
      }
    }
  }
  // Output-side scale.
  ir::Value* out = node.output(0);
  if (ir::Node* consumer = only_consumer(out); consumer && consumer->graph() == node.graph()) {
    ir::Value* data = nullptr;
    if (std::optional<float> s = scale_of(*consumer, &data); s && data == out) {
      alpha *= *s;
      out = consumer->output(0);
      folded = true;
    }
  }
  if (!folded) return std::nullopt;
  Patch patch(node);
  std::vector<ir::Attribute> attrs = {ir::Attribute::make_int("transA", trans[0] ? 1 : 0),
                                      ir::Attribute::make_int("transB", trans[1] ? 1 : 0),
                                      ir::Attribute::make_float("alpha", alpha)};
  Patch::Ref y = patch.add_node("FusedMatMul", {patch.use(operand[0]), patch.use(operand[1])}, std::move(attrs), 1,
                                kFerryDomain, node.name())[0];
  patch.replace(out, y);
  ctx.use_ferry_domain();
  return patch;
}

}  // namespace

bool fuse_matmul_transpose_scale(ir::Graph& graph, const PassContext& ctx) {
  return apply_rule(graph, ctx, fold_into_matmul);
}

}  // namespace ferry::optimizer::passes
